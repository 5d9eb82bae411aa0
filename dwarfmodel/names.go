package dwarfmodel

import (
	"fmt"
	"strings"
)

func (*Void) isType()      {}
func (*Base) isType()      {}
func (*Struct) isType()    {}
func (*Enum) isType()      {}
func (*Typedef) isType()   {}
func (*Pointer) isType()   {}
func (*Array) isType()     {}
func (*Func) isType()      {}
func (*Qualified) isType() {}

func (t *Void) Offset() uint64      { return t.Off }
func (t *Base) Offset() uint64      { return t.Off }
func (t *Struct) Offset() uint64    { return t.Off }
func (t *Enum) Offset() uint64      { return t.Off }
func (t *Typedef) Offset() uint64   { return t.Off }
func (t *Pointer) Offset() uint64   { return t.Off }
func (t *Array) Offset() uint64     { return t.Off }
func (t *Func) Offset() uint64      { return t.Off }
func (t *Qualified) Offset() uint64 { return t.Off }

func (t *Void) Size() int64 { return -1 }
func (t *Base) Size() int64 { return t.ByteSize }
func (t *Struct) Size() int64 {
	if t.Incomplete {
		return -1
	}
	return t.ByteSize
}
func (t *Enum) Size() int64    { return t.ByteSize }
func (t *Typedef) Size() int64 { return sizeOf(t.Type, 0) }
func (t *Pointer) Size() int64 { return t.ByteSize }
func (t *Array) Size() int64 {
	n := sizeOf(t.Elem, 0)
	if n < 0 {
		return -1
	}
	for _, d := range t.Dims {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}
func (t *Func) Size() int64      { return -1 }
func (t *Qualified) Size() int64 { return sizeOf(t.Type, 0) }

// sizeOf bounds the typedef/qualifier chain so a malformed cycle cannot hang.
func sizeOf(t Type, depth int) int64 {
	if t == nil || depth > 100 {
		return -1
	}
	switch x := t.(type) {
	case *Typedef:
		return sizeOf(x.Type, depth+1)
	case *Qualified:
		return sizeOf(x.Type, depth+1)
	}
	return t.Size()
}

func (t *Void) TypeName() string { return "void" }
func (t *Base) TypeName() string { return t.Name }
func (t *Struct) TypeName() string {
	if t.Name == "" {
		return ""
	}
	return t.Kind.String() + " " + t.Name
}
func (t *Enum) TypeName() string {
	if t.Name == "" {
		return ""
	}
	return "enum " + t.Name
}
func (t *Typedef) TypeName() string   { return t.Name }
func (t *Pointer) TypeName() string   { return Declare(t, "") }
func (t *Array) TypeName() string     { return Declare(t, "") }
func (t *Func) TypeName() string      { return Declare(t, "") }
func (t *Qualified) TypeName() string { return Declare(t, "") }

// Declare spells a C declaration of name with type t, as pahole prints it:
// Declare(ptr-to-func, "fn") is "int (*fn)(int, char *)"; name "" gives the
// abstract type name.
func Declare(t Type, name string) string {
	return strings.TrimSpace(declare(t, name, 0))
}

func declare(t Type, inner string, depth int) string {
	if depth > 64 {
		return "... " + inner
	}
	switch x := t.(type) {
	case nil:
		return "void " + inner
	case *Pointer:
		s := "*" + inner
		switch Underlying0(x.Elem).(type) {
		case *Array, *Func:
			s = "(" + s + ")"
		}
		return declare(x.Elem, s, depth+1)
	case *Array:
		var b strings.Builder
		b.WriteString(inner)
		for _, d := range x.Dims {
			if d < 0 {
				b.WriteString("[]")
			} else {
				fmt.Fprintf(&b, "[%d]", d)
			}
		}
		return declare(x.Elem, b.String(), depth+1)
	case *Func:
		var ps []string
		for _, p := range x.Params {
			ps = append(ps, Declare(p, ""))
		}
		if x.Variadic {
			ps = append(ps, "...")
		}
		if len(ps) == 0 {
			ps = []string{"void"}
		}
		return declare(x.Return, inner+"("+strings.Join(ps, ", ")+")", depth+1)
	case *Qualified:
		if arr, ok := Underlying0(x.Type).(*Array); ok {
			// A qualified array is an array of qualified elements in C
			// (gcc emits const -> array -> const char): spell the
			// qualifiers once, on the elements.
			if eq, ok := arr.Elem.(*Qualified); !ok || (x.Const && !eq.Const) || (x.Volatile && !eq.Volatile) {
				elem := &Qualified{Const: x.Const, Volatile: x.Volatile, Restrict: x.Restrict, Atomic: x.Atomic, Type: arr.Elem}
				if ok {
					elem.Const = elem.Const || eq.Const
					elem.Volatile = elem.Volatile || eq.Volatile
					elem.Restrict = elem.Restrict || eq.Restrict
					elem.Atomic = elem.Atomic || eq.Atomic
					elem.Type = eq.Type
				}
				return declare(&Array{Elem: elem, Dims: arr.Dims, Off: arr.Off}, inner, depth+1)
			}
			return declare(arr, inner, depth+1)
		}
		var q []string
		if x.Const {
			q = append(q, "const")
		}
		if x.Volatile {
			q = append(q, "volatile")
		}
		if x.Restrict {
			q = append(q, "restrict")
		}
		if x.Atomic {
			q = append(q, "_Atomic")
		}
		qs := strings.Join(q, " ")
		switch Underlying0(x.Type).(type) {
		case *Pointer:
			// int *const p: the qualifier binds to the pointer.
			return declare(x.Type, qs+" "+inner, depth+1)
		}
		return qs + " " + declare(x.Type, inner, depth+1)
	default:
		n := t.TypeName()
		if n == "" {
			switch y := t.(type) {
			case *Struct:
				n = y.Kind.String() + " {...}"
			case *Enum:
				n = "enum {...}"
			}
		}
		if inner == "" {
			return n
		}
		return n + " " + inner
	}
}

// Underlying0 is the type itself unless it is a qualifier, which it strips
// (but not typedefs, which keep their names in declarations).
func Underlying0(t Type) Type {
	for i := 0; i < 100; i++ {
		q, ok := t.(*Qualified)
		if !ok {
			return t
		}
		t = q.Type
	}
	return t
}
