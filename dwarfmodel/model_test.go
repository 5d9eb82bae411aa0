package dwarfmodel

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// structNames are the aggregates of the truth program (testdata/c/truth.c,
// section 3 mostly) compared member by member against pahole and Go's
// debug/dwarf.
var structNames = []string{
	"list_head", "bits", "packed_units", "number", "anon_members", "ops",
	"array_dims", "flex", "quals", "uses_incomplete", "nested", "inner",
}

func openObj(t *testing.T, o object) *File {
	t.Helper()
	f, err := Open(o.path)
	if err != nil {
		t.Fatalf("%s: %v", o.name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestDataModel(t *testing.T) {
	for _, o := range objects(t) {
		f := openObj(t, o)
		dm := f.DataModel()
		if dm.Arch != o.tc.Arch || dm.PtrSize != o.tc.ptrSize || dm.ByteOrder != o.tc.order {
			t.Errorf("%s: data model %+v, want arch %s ptr %d order %v", o.name, dm, o.tc.Arch, o.tc.ptrSize, o.tc.order)
		}
		// The C data model: long and pointers are the pointer size on
		// every target here (LP64 / ILP32).
		longs := []string{"long int", "long unsigned int"}
		if o.tc.prefix == "clang-" {
			longs = []string{"long", "unsigned long"} // clang's spelling
		}
		for _, n := range longs {
			ty, err := f.Type(n)
			if err != nil {
				t.Errorf("%s: %v", o.name, err)
				continue
			}
			if ty.Size() != int64(o.tc.ptrSize) {
				t.Errorf("%s: sizeof(%s) = %d, want %d", o.name, n, ty.Size(), o.tc.ptrSize)
			}
		}
	}
}

// paholeMember is one top-level member line of pahole's output.
type paholeMember struct {
	decl      string
	off, bit  int64
	hasBit    bool
	size      int64
	bits      int64
	anonymous bool
}

var (
	paholeLine = regexp.MustCompile(`^\s*(.*?);\s+/\*\s+(\d+)(?::\s*(\d+))?\s+(\d+)\s+\*/\s*$`)
	paholeBits = regexp.MustCompile(`:(\d+)$`)
	paholeHead = regexp.MustCompile(`^(struct|union) (\w+) \{$`)
)

// runPahole runs `pahole -F dwarf -C names path` (every type when names is
// nil) and returns the top-level members of each aggregate, by "struct x" /
// "union x".
func runPahole(t testing.TB, path string, names []string) map[string][]paholeMember {
	t.Helper()
	args := []string{"-F", "dwarf"}
	if names != nil {
		args = append(args, "-C", strings.Join(names, ","))
	}
	stdout := testfix.Pahole(t, append(args, path)...)
	out := map[string][]paholeMember{}
	var cur string
	depth := 0
	for _, line := range strings.Split(stdout, "\n") {
		if depth == 0 {
			if m := paholeHead.FindStringSubmatch(line); m != nil {
				cur = m[1] + " " + m[2]
				if _, dup := out[cur]; dup {
					// A second definition of one tag: keep the first,
					// the one earliest in the file.
					cur = "dup " + cur
				}
				out[cur] = []paholeMember{}
				depth = 1
			}
			continue
		}
		trim := strings.TrimSpace(line)
		closing := strings.HasPrefix(trim, "}")
		if closing {
			depth--
			if depth == 0 {
				continue
			}
		}
		m := paholeLine.FindStringSubmatch(line)
		if depth == 1 && m != nil {
			pm := paholeMember{decl: m[1], anonymous: closing && strings.TrimSpace(strings.TrimPrefix(m[1], "}")) == ""}
			pm.off, _ = strconv.ParseInt(m[2], 10, 64)
			if m[3] != "" {
				pm.bit, _ = strconv.ParseInt(m[3], 10, 64)
				pm.hasBit = true
			}
			pm.size, _ = strconv.ParseInt(m[4], 10, 64)
			if b := paholeBits.FindStringSubmatch(m[1]); b != nil {
				pm.bits, _ = strconv.ParseInt(b[1], 10, 64)
			}
			out[cur] = append(out[cur], pm)
		}
		if strings.HasSuffix(trim, "{") {
			depth++
		}
	}
	return out
}

// paholeAtomic makes up for pahole 1.24, which does not know
// DW_TAG_atomic_type and drops struct quals' last member, _Atomic int ai:
// it adds that member where the model has it (its offset is not checked).
func paholeAtomic(s *Struct, want []paholeMember) []paholeMember {
	if s.TypeName() == "struct quals" && len(want) == len(s.Members)-1 {
		want = append(want, paholeMember{decl: "ai", off: s.Members[len(s.Members)-1].ByteOffset, size: 4})
	}
	return want
}

// TestMembersAgainstPahole compares every member's offset, size, bit size
// and data bit offset with pahole's reading of the same object.
func TestMembersAgainstPahole(t *testing.T) {
	for _, o := range objects(t) {
		t.Run(o.name, func(t *testing.T) {
			f := openObj(t, o)
			ph := runPahole(t, o.oracle, structNames)
			for _, n := range structNames {
				ty, err := f.Type(n)
				if err != nil {
					t.Errorf("Type(%q): %v", n, err)
					continue
				}
				s, ok := ty.(*Struct)
				if !ok {
					t.Errorf("Type(%q) is %T", n, ty)
					continue
				}
				want, ok := ph[s.TypeName()]
				if !ok {
					t.Errorf("pahole printed no %s", s.TypeName())
					continue
				}
				want = paholeAtomic(s, want)
				if len(want) != len(s.Members) {
					t.Errorf("%s: %d members, pahole has %d", s.TypeName(), len(s.Members), len(want))
					continue
				}
				for i, m := range s.Members {
					p := want[i]
					where := fmt.Sprintf("%s.%s (member %d, pahole %q)", s.TypeName(), m.Name, i, p.decl)
					if m.Name == "" != p.anonymous {
						t.Errorf("%s: anonymous %v, pahole %v", where, m.Name == "", p.anonymous)
					}
					if m.Name != "" && !regexp.MustCompile(`\b`+m.Name+`\b`).MatchString(p.decl) {
						t.Errorf("%s: name not in pahole's declaration", where)
					}
					if m.ByteOffset != p.off {
						t.Errorf("%s: byte offset %d, pahole %d", where, m.ByteOffset, p.off)
					}
					size := m.Type.Size()
					if size < 0 {
						size = 0 // pahole prints 0 for flexible arrays
					}
					if size != p.size {
						t.Errorf("%s: size %d, pahole %d", where, size, p.size)
					}
					if m.BitSize != p.bits {
						t.Errorf("%s: bit size %d, pahole %d", where, m.BitSize, p.bits)
					}
					wantDBO := p.off*8 + p.bit
					if m.DataBitOffset != wantDBO {
						t.Errorf("%s: data bit offset %d, pahole %d:%d = %d", where, m.DataBitOffset, p.off, p.bit, wantDBO)
					}
				}
				if sz, psz := s.Size(), paholeSize(t, o.oracle, n); sz != psz {
					t.Errorf("%s: size %d, pahole %d", s.TypeName(), sz, psz)
				}
			}
		})
	}
}

// paholeSize is the size pahole --sizes reports for the aggregate n.
func paholeSize(t testing.TB, path, n string) int64 {
	t.Helper()
	for _, l := range strings.Split(testfix.Pahole(t, "-F", "dwarf", "--sizes", path), "\n") {
		if fs := strings.Fields(l); len(fs) >= 2 && fs[0] == n {
			size, _ := strconv.ParseInt(fs[1], 10, 64)
			return size
		}
	}
	return 0
}

// TestAgainstGoDWARF walks every named top-level type of each object with
// Go's debug/dwarf (independent code) and compares the decoded graphs.
func TestAgainstGoDWARF(t *testing.T) {
	for _, o := range objects(t) {
		t.Run(o.name, func(t *testing.T) {
			f := openObj(t, o)
			ef, err := elf.Open(o.oracle)
			if err != nil {
				t.Fatal(err)
			}
			defer ef.Close()
			if o.tc.prefix == "clang-" && o.tc.order == binary.BigEndian && !o.linked {
				// Go's debug/dwarf fails on clang's s390x objects
				// ("decoding dwarf section str at offset 0x0: underflow");
				// pahole still checks them.
				t.Skip("debug/dwarf cannot read clang's s390x objects")
			}
			dw, err := ef.DWARF()
			if err != nil {
				t.Fatal(err)
			}
			r := dw.Reader()
			checked := 0
			seen := map[uint64]bool{}
			for {
				e, err := r.Next()
				if err != nil {
					t.Fatal(err)
				}
				if e == nil {
					break
				}
				if e.Tag == dwarf.TagCompileUnit {
					continue
				}
				if e.Children {
					r.SkipChildren()
				}
				name, _ := e.Val(dwarf.AttrName).(string)
				if name == "" || e.Val(dwarf.AttrDeclaration) != nil {
					continue
				}
				var spelled string
				switch e.Tag {
				case dwarf.TagStructType:
					spelled = "struct " + name
				case dwarf.TagUnionType:
					spelled = "union " + name
				case dwarf.TagEnumerationType:
					spelled = "enum " + name
				case dwarf.TagTypedef, dwarf.TagBaseType:
					spelled = name
				default:
					continue
				}
				gt, err := dw.Type(e.Offset)
				if err != nil {
					t.Fatalf("debug/dwarf: %v", err)
				}
				ours, err := f.Type(spelled)
				if err != nil {
					t.Errorf("Type(%q): %v", spelled, err)
					continue
				}
				compareGo(t, spelled, ours, gt, o, seen, 0)
				checked++
			}
			if checked < 20 {
				t.Errorf("only %d types checked", checked)
			}
		})
	}
}

func compareGo(t *testing.T, path string, ours Type, gt dwarf.Type, o object, seen map[uint64]bool, depth int) {
	t.Helper()
	if depth > 50 {
		t.Errorf("%s: too deep", path)
		return
	}
	if ours == nil {
		t.Errorf("%s: nil type", path)
		return
	}
	if _, ok := ours.(*Void); ok {
		if _, ok := gt.(*dwarf.VoidType); !ok {
			if _, ok := gt.(*dwarf.UnspecifiedType); !ok {
				t.Errorf("%s: void, Go has %T", path, gt)
			}
		}
		return
	}
	if seen[ours.Offset()] {
		return
	}
	seen[ours.Offset()] = true
	switch g := gt.(type) {
	case *dwarf.UnsupportedType:
		// Go does not know DW_TAG_atomic_type (TestShapes checks it).
		if q, ok := ours.(*Qualified); !ok || !q.Atomic {
			t.Errorf("%s: %T, Go %v", path, ours, g)
		}
	case *dwarf.StructType:
		s, ok := ours.(*Struct)
		if !ok {
			t.Errorf("%s: %T, Go %T", path, ours, gt)
			return
		}
		if s.Kind.String() != g.Kind || s.Name != g.StructName || s.Incomplete != g.Incomplete {
			t.Errorf("%s: %s %q incomplete %v, Go %s %q %v", path, s.Kind, s.Name, s.Incomplete, g.Kind, g.StructName, g.Incomplete)
		}
		if !s.Incomplete && s.ByteSize != g.ByteSize {
			t.Errorf("%s: size %d, Go %d", path, s.ByteSize, g.ByteSize)
		}
		if len(s.Members) != len(g.Field) {
			t.Errorf("%s: %d members, Go %d", path, len(s.Members), len(g.Field))
			return
		}
		for i, m := range s.Members {
			gf := g.Field[i]
			p := path + "." + m.Name
			if m.Name != gf.Name || m.BitSize != gf.BitSize {
				t.Errorf("%s: name %q bits %d, Go %q %d", p, m.Name, m.BitSize, gf.Name, gf.BitSize)
			}
			if m.BitSize == 0 && m.ByteOffset != gf.ByteOffset {
				t.Errorf("%s: offset %d, Go %d", p, m.ByteOffset, gf.ByteOffset)
			}
			// Go fills DataBitOffset from DW_AT_data_bit_offset only (clang
			// writes DWARF 2 style DW_AT_bit_offset even in DWARF 5).
			if m.BitSize != 0 && o.version >= 5 && gf.DataBitOffset != 0 && m.DataBitOffset != gf.DataBitOffset {
				t.Errorf("%s: data bit offset %d, Go %d", p, m.DataBitOffset, gf.DataBitOffset)
			}
			compareGo(t, p, m.Type, gf.Type, o, seen, depth+1)
		}
	case *dwarf.EnumType:
		e, ok := ours.(*Enum)
		if !ok {
			t.Errorf("%s: %T, Go %T", path, ours, gt)
			return
		}
		if e.Name != g.EnumName || e.ByteSize != g.ByteSize || len(e.Values) != len(g.Val) {
			t.Errorf("%s: enum %q size %d %d values, Go %q %d %d", path, e.Name, e.ByteSize, len(e.Values), g.EnumName, g.ByteSize, len(g.Val))
			return
		}
		for i, v := range e.Values {
			if v.Name != g.Val[i].Name {
				t.Errorf("%s: enumerator %d %q, Go %q", path, i, v.Name, g.Val[i].Name)
			}
		}
	case *dwarf.TypedefType:
		td, ok := ours.(*Typedef)
		if !ok || td.Name != g.Name {
			t.Errorf("%s: %T %q, Go typedef %q", path, ours, ours.TypeName(), g.Name)
			return
		}
		compareGo(t, path+"=", td.Type, g.Type, o, seen, depth+1)
	case *dwarf.PtrType:
		p, ok := ours.(*Pointer)
		if !ok {
			t.Errorf("%s: %T, Go pointer", path, ours)
			return
		}
		if p.ByteSize != int64(o.tc.ptrSize) {
			t.Errorf("%s: pointer size %d, want %d", path, p.ByteSize, o.tc.ptrSize)
		}
		compareGo(t, path+"*", p.Elem, g.Type, o, seen, depth+1)
	case *dwarf.ArrayType:
		a, ok := ours.(*Array)
		if !ok {
			t.Errorf("%s: %T, Go array", path, ours)
			return
		}
		// Go nests one ArrayType per dimension.
		var dims []int64
		var elem dwarf.Type = g
		for {
			ga, ok := elem.(*dwarf.ArrayType)
			if !ok {
				break
			}
			dims = append(dims, ga.Count)
			elem = ga.Type
		}
		// Go reports an unbounded subrange (a flexible array) as 0;
		// TestShapes checks [] against [0] by the C source.
		for i := range dims {
			if i < len(a.Dims) && a.Dims[i] == -1 && dims[i] == 0 {
				dims[i] = -1
			}
		}
		if fmt.Sprint(a.Dims) != fmt.Sprint(dims) {
			t.Errorf("%s: dims %v, Go %v", path, a.Dims, dims)
		}
		compareGo(t, path+"[]", a.Elem, elem, o, seen, depth+1)
	case *dwarf.FuncType:
		fn, ok := ours.(*Func)
		if !ok {
			t.Errorf("%s: %T, Go func", path, ours)
			return
		}
		params := g.ParamType
		variadic := false
		if n := len(params); n > 0 {
			if _, ok := params[n-1].(*dwarf.DotDotDotType); ok {
				variadic = true
				params = params[:n-1]
			}
		}
		if fn.Variadic != variadic || len(fn.Params) != len(params) {
			t.Errorf("%s: %d params variadic %v, Go %d %v", path, len(fn.Params), fn.Variadic, len(params), variadic)
			return
		}
		if g.ReturnType != nil {
			compareGo(t, path+"()", fn.Return, g.ReturnType, o, seen, depth+1)
		} else if _, ok := fn.Return.(*Void); !ok {
			t.Errorf("%s: returns %T, Go void", path, fn.Return)
		}
		for i, p := range fn.Params {
			compareGo(t, fmt.Sprintf("%s(%d)", path, i), p, params[i], o, seen, depth+1)
		}
	case *dwarf.QualType:
		q, ok := ours.(*Qualified)
		if !ok {
			t.Errorf("%s: %T, Go %s", path, ours, g.Qual)
			return
		}
		want := map[string]bool{"const": q.Const, "volatile": q.Volatile, "restrict": q.Restrict, "_Atomic": q.Atomic}
		if !want[g.Qual] {
			t.Errorf("%s: %+v, Go %s", path, q, g.Qual)
		}
		compareGo(t, path+" "+g.Qual, q.Type, g.Type, o, seen, depth+1)
	default:
		b, ok := ours.(*Base)
		if !ok {
			t.Errorf("%s: %T, Go %T", path, ours, gt)
			return
		}
		goName := gt.Common().Name
		if _, ok := gt.(*dwarf.ComplexType); ok && b.Name == "complex" && (goName == "complex float" || goName == "complex double") {
			// clang names its complex base types "complex" (pahole
			// prints that name too); Go's debug/dwarf renames them by size.
			goName = b.Name
		}
		if b.Name != goName || b.ByteSize != gt.Size() {
			t.Errorf("%s: base %q size %d, Go %q %d", path, b.Name, b.ByteSize, gt.Common().Name, gt.Size())
		}
		var enc Encoding
		switch gt.(type) {
		case *dwarf.IntType:
			enc = EncSigned
		case *dwarf.UintType:
			enc = EncUnsigned
		case *dwarf.CharType:
			enc = EncSignedChar
		case *dwarf.UcharType:
			enc = EncUnsignedChar
		case *dwarf.BoolType:
			enc = EncBool
		case *dwarf.FloatType:
			enc = EncFloat
		case *dwarf.ComplexType:
			enc = EncComplexFloat
		}
		if enc != 0 && enc != b.Encoding {
			t.Errorf("%s: encoding %d, Go %T", path, b.Encoding, gt)
		}
	}
}

// TestEnums checks enumerator values and signedness against the C source
// (testdata/c/truth.c), the independent oracle for values.
func TestEnums(t *testing.T) {
	want := map[string]struct {
		size   int64
		signed bool
		vals   []int64
	}{
		"hue":          {4, false, []int64{0, 5, 1000}},
		"negative":     {4, true, []int64{-2147483648, -1, 0}},
		"big_unsigned": {4, false, []int64{0xffffffff, 1}},
		"small":        {1, false, []int64{1, 2}},
	}
	for _, o := range objects(t) {
		f := openObj(t, o)
		for name, w := range want {
			ty, err := f.Type("enum " + name)
			if err != nil {
				t.Errorf("%s: %v", o.name, err)
				continue
			}
			e := ty.(*Enum)
			var got []int64
			for _, v := range e.Values {
				got = append(got, v.Value)
			}
			if e.ByteSize != w.size || fmt.Sprint(got) != fmt.Sprint(w.vals) {
				t.Errorf("%s: enum %s size %d values %v, want %d %v", o.name, name, e.ByteSize, got, w.size, w.vals)
			}
			// DWARF 2 has no DW_AT_type on enums: signedness comes from the
			// values, so an enum without negative values reads unsigned.
			if e.Signed != w.signed {
				t.Errorf("%s: enum %s signed %v, want %v", o.name, name, e.Signed, w.signed)
			}
		}
	}
}

// TestShapes checks constructs by the C source: arrays, function pointers,
// qualifiers, anonymous members, cycles, declarations, name lookup.
func TestShapes(t *testing.T) {
	for _, o := range objects(t) {
		f := openObj(t, o)
		must := func(n string) Type {
			ty, err := f.Type(n)
			if err != nil {
				t.Fatalf("%s: Type(%q): %v", o.name, n, err)
			}
			return ty
		}
		lh := must("struct list_head").(*Struct)
		if p := lh.Members[0].Type.(*Pointer); p.Elem != Type(lh) {
			t.Errorf("%s: list_head.next does not point to the same list_head object", o.name)
		}
		if must("list_head") != Type(lh) {
			t.Errorf("%s: bare tag lookup differs", o.name)
		}
		arr := must("struct array_dims").(*Struct)
		dims := map[string]string{"one": "[4]", "two": "[2 3]", "three": "[2 3 4]", "heads": "[2]", "big": "[256]", "zero": "[0]"}
		for _, m := range arr.Members {
			if got := fmt.Sprint(m.Type.(*Array).Dims); got != dims[m.Name] {
				t.Errorf("%s: arrays.%s dims %s, want %s", o.name, m.Name, got, dims[m.Name])
			}
		}
		flex := must("struct flex").(*Struct)
		if a := flex.Members[1].Type.(*Array); a.Dims[0] != -1 || a.Size() != -1 {
			t.Errorf("%s: flex.items dims %v size %d, want [-1] -1", o.name, a.Dims, a.Size())
		}
		ops := must("struct ops").(*Struct)
		decls := []string{
			"binop_fn add", "int (*sub)(int, int)", "void (*log)(const char *, ...)",
			"char *(*lookup)(const struct ops *, long unsigned int)", "void (*noargs)(void)",
		}
		if o.tc.prefix == "clang-" {
			for i := range decls {
				decls[i] = strings.ReplaceAll(decls[i], "long unsigned int", "unsigned long")
			}
		}
		for i, m := range ops.Members {
			if got := Declare(m.Type, m.Name); got != decls[i] {
				t.Errorf("%s: ops member %d is %q, want %q", o.name, i, got, decls[i])
			}
		}
		q := must("struct quals").(*Struct)
		qd := []string{"const int ci", "volatile long unsigned int vl", "const volatile char cvc",
			"const char *pcc", "char *const cpc", "int *restrict rp", "_Atomic int ai"}
		if o.tc.prefix == "clang-" {
			qd[1] = "volatile unsigned long vl"
		}
		for i, m := range q.Members {
			got := Declare(m.Type, m.Name)
			// DWARF 2 has no restrict, DWARF 2-4 no _Atomic: GCC drops them.
			if o.version < 3 && i == 5 || o.version < 5 && i == 6 {
				qd[i] = strings.Replace(strings.Replace(qd[i], "restrict ", "", 1), "_Atomic ", "", 1)
			}
			if got != qd[i] && !(qd[i] == "const volatile char cvc" && got == "volatile const char cvc") {
				t.Errorf("%s: quals member %d is %q, want %q", o.name, i, got, qd[i])
			}
		}
		am := must("struct anon_members").(*Struct)
		if !am.Members[1].Anonymous() || !am.Members[2].Anonymous() || am.Members[3].Anonymous() {
			t.Errorf("%s: anonymous members misdetected: %+v", o.name, am.Members)
		}
		inc := must("struct uses_incomplete").(*Struct).Members[0].Type.(*Pointer).Elem.(*Struct)
		if !inc.Incomplete || inc.Size() != -1 || inc.Name != "incomplete" {
			t.Errorf("%s: struct incomplete: %+v", o.name, inc)
		}
		if td := must("u32_alias").(*Typedef); td.Type.(*Typedef).Name != "u32" || Underlying(td).(*Base).Name != "unsigned int" {
			t.Errorf("%s: u32_alias chain wrong", o.name)
		}
		if at := must("anon_typedef").(*Typedef); at.Type.(*Struct).Name != "" || at.Size() != 4 {
			t.Errorf("%s: anon_typedef wrong", o.name)
		}
		if _, err := f.Type("struct task_struct"); err == nil {
			t.Errorf("%s: found a task_struct", o.name)
		} else {
			var nf *NotFoundError
			if !errors.As(err, &nf) || nf.Name != "struct task_struct" {
				t.Errorf("%s: %v is not a NotFoundError", o.name, err)
			}
		}
		var nf *NotFoundError
		if _, err := f.Type("list_haed"); !errors.As(err, &nf) || !contains(nf.Suggestions, "struct list_head") {
			t.Errorf("%s: no suggestion for list_haed: %v", o.name, err)
		}
		if o.linked {
			h := must("struct holder").(*Struct)
			if el := h.Members[0].Type.(*Pointer).Elem.(*Struct); el.Incomplete || el.Size() != int64(2*o.tc.ptrSize) {
				t.Errorf("%s: holder.head's declaration did not resolve to the definition: %+v", o.name, el)
			}
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestVariables checks global variables' addresses against the ELF symbol
// table and their types.
func TestVariables(t *testing.T) {
	for _, o := range objects(t) {
		f := openObj(t, o)
		names := f.VariableNames()
		if !contains(names, "global_bits") || !contains(names, "global_matrix") {
			t.Errorf("%s: variables %v", o.name, names)
		}
		for _, n := range []string{"global_const", "global_matrix", "global_bits", "global_color", "global_logger"} {
			v, err := f.Variable(n)
			if err != nil {
				t.Errorf("%s: %v", o.name, err)
				continue
			}
			s, ok := f.Symbol(n)
			if !ok {
				t.Errorf("%s: no symbol %s", o.name, n)
				continue
			}
			if v.Address != s.Value {
				t.Errorf("%s: %s at %#x, symbol %#x", o.name, n, v.Address, s.Value)
			}
			if v.Type.Size() != int64(s.Size) {
				t.Errorf("%s: %s type %s size %d, symbol size %d", o.name, n, Declare(v.Type, ""), v.Type.Size(), s.Size)
			}
		}
		v, _ := f.Variable("global_matrix")
		if v != nil && Declare(v.Type, "m") != "int m[3][5]" {
			t.Errorf("%s: global_matrix is %s", o.name, Declare(v.Type, "m"))
		}
		if _, err := f.Variable("no_such_variable"); err == nil {
			t.Errorf("%s: found no_such_variable", o.name)
		}
	}
}

// TestBuildID compares with readelf's reading of the GNU build-id note.
func TestBuildID(t *testing.T) {
	for _, o := range objects(t) {
		f := openObj(t, o)
		id := f.BuildID()
		out, err := exec.Command(testfix.Tool(t, "readelf"), "-n", o.path).Output()
		if err != nil {
			t.Fatalf("readelf -n %s: %v", o.path, err)
		}
		m := regexp.MustCompile(`Build ID: ([0-9a-f]+)`).FindSubmatch(out)
		switch {
		case m != nil && id != string(m[1]):
			t.Errorf("%s: build ID %s, readelf %s", o.name, id, m[1])
		case m == nil && (!strings.HasPrefix(id, "sha256:") || len(id) != 7+64):
			t.Errorf("%s: build ID %q without a note", o.name, id)
		case o.linked && m == nil:
			t.Errorf("%s: linked with --build-id but readelf shows none", o.name)
		}
	}
}

// TestTypeNames checks that every listed name resolves.
func TestTypeNames(t *testing.T) {
	for _, o := range objects(t) {
		f := openObj(t, o)
		names := f.TypeNames()
		for _, want := range []string{"struct bits", "union number", "enum color", "u32", "int", "binop_fn"} {
			if !contains(names, want) {
				t.Errorf("%s: TypeNames lacks %q", o.name, want)
			}
		}
		for _, n := range names {
			if _, err := f.Type(n); err != nil {
				t.Errorf("%s: Type(%q): %v", o.name, n, err)
			}
		}
	}
}

// TestSmallWindows decodes with 64-byte read windows and 16-byte first
// reads of abbreviation tables, so that nearly every DIE, member list and
// table crosses the end of what was read, and checks that the result equals
// the decoding with the normal sizes.
func TestSmallWindows(t *testing.T) {
	for _, o := range objects(t) {
		if !o.linked {
			continue // relocatable objects are decoded from memory
		}
		describe := func() string {
			f := openObj(t, o)
			var b strings.Builder
			for _, n := range structNames {
				ty, err := f.Type(n)
				if err != nil {
					t.Fatalf("%s: %v", o.name, err)
				}
				for _, x := range reach(ty) {
					fmt.Fprintf(&b, "%s %d|", Declare(x, ""), x.Size())
					if s, ok := x.(*Struct); ok {
						for _, m := range s.Members {
							fmt.Fprintf(&b, "%s@%d/%d:%d,", Declare(m.Type, m.Name), m.ByteOffset, m.DataBitOffset, m.BitSize)
						}
					}
				}
			}
			return b.String()
		}
		want := describe()
		old, oldChunk := windowBlock, abbrevChunk
		windowBlock, abbrevChunk = 64, 16
		got := describe()
		windowBlock, abbrevChunk = old, oldChunk
		if got != want {
			t.Errorf("%s: decoding differs with 64-byte windows", o.name)
		}
	}
}

// TestProgress checks that Options.Progress reports monotonically up to
// the size of .debug_info and .debug_types (as debug/elf gives them).
func TestProgress(t *testing.T) {
	for _, o := range objects(t) {
		if !o.linked {
			continue
		}
		var calls int
		var last, total int64
		f, err := OpenWith(o.path, Options{Progress: func(done, tot int64) {
			if done < last || (total != 0 && tot != total) {
				t.Errorf("%s: progress went from %d to %d/%d", o.name, last, done, tot)
			}
			calls++
			last, total = done, tot
		}})
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		ef, err := elf.Open(o.path)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(ef.Section(".debug_info").Size)
		if ts := ef.Section(".debug_types"); ts != nil {
			want += int64(ts.Size)
		}
		ef.Close()
		if calls == 0 || last != total || total != want {
			t.Errorf("%s: %d progress calls, last %d/%d, .debug_info has %d bytes", o.name, calls, last, total, want)
		}
	}
}

// TestCrossFixtures compares every named aggregate of the fixture
// programs (cross/<arch>-dwarf<N>/prog and prog.o, built by the fixtures
// pipeline from testdata/c) with pahole's reading of the same file.
func TestCrossFixtures(t *testing.T) {
	dir := testfix.Path(t, "cross")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		for _, name := range []string{"prog", "prog.o"} {
			path := filepath.Join(dir, e.Name(), name)
			if _, err := os.Stat(path); err != nil {
				continue
			}
			t.Run(e.Name()+"/"+name, func(t *testing.T) {
				f, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				ph := runPahole(t, path, nil)
				for tag, want := range ph {
					if strings.HasPrefix(tag, "dup ") {
						continue
					}
					ty, err := f.Type(tag)
					if err != nil {
						t.Errorf("%s: %v", tag, err)
						continue
					}
					s := ty.(*Struct)
					want = paholeAtomic(s, want)
					if len(s.Members) != len(want) {
						t.Errorf("%s: %d members, pahole %d", tag, len(s.Members), len(want))
						continue
					}
					for i, m := range s.Members {
						p := want[i]
						size := m.Type.Size()
						if size < 0 {
							size = 0
						}
						if m.ByteOffset != p.off || size != p.size || m.BitSize != p.bits || m.DataBitOffset != p.off*8+p.bit {
							t.Errorf("%s.%s: offset %d size %d bits %d dbo %d; pahole %d size %d bits %d dbo %d",
								tag, m.Name, m.ByteOffset, size, m.BitSize, m.DataBitOffset, p.off, p.size, p.bits, p.off*8+p.bit)
						}
					}
					checked++
				}
			})
		}
	}
	if checked == 0 {
		t.Errorf("no aggregate compared under %s", dir)
	}
}

// TestConcurrent decodes from several goroutines at once (run with -race).
func TestConcurrent(t *testing.T) {
	for _, o := range objects(t) {
		if !o.linked {
			continue
		}
		f := openObj(t, o)
		var wg sync.WaitGroup
		results := make([]string, 4)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				var b strings.Builder
				for _, n := range structNames {
					ty, err := f.Type(n)
					if err != nil {
						t.Error(err)
						return
					}
					fmt.Fprintf(&b, "%p ", ty)
				}
				f.Symbols()
				f.BuildID()
				f.Variable("global_bits")
				results[g] = b.String()
			}(g)
		}
		wg.Wait()
		for g := 1; g < 4; g++ {
			if results[g] != results[0] {
				t.Errorf("%s: goroutines got different type objects", o.name)
			}
		}
	}
}

// TestConflictingDefinitions links two units that define different
// struct dup (same size, same line): each unit's uses must keep its own.
func TestConflictingDefinitions(t *testing.T) {
	out := testfix.BuildC(t, testfix.CBuild{
		TC:      testfix.GCC["x86_64"],
		Sources: []string{"testdata/dup_a.c", "testdata/dup_b.c"},
		Flags:   []string{"-gdwarf-5", "-nostdlib", "-static", "-Wl,-e,0"},
		Out:     "dup",
	})
	f, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	first, err := f.Type("struct dup")
	if err != nil {
		t.Fatal(err)
	}
	if m := first.(*Struct).Members[0]; m.Name != "a" {
		t.Errorf("struct dup (first in the file) has member %q, want a", m.Name)
	}
	h, err := f.Type("struct holder_b")
	if err != nil {
		t.Fatal(err)
	}
	d := h.(*Struct).Members[0].Type.(*Struct)
	if d == first || d.Members[0].Name != "b" || Declare(d.Members[0].Type, "") != "float" {
		t.Errorf("holder_b.d is %s { %s }, want dup_b.c's struct dup { float b }", d.TypeName(), Declare(d.Members[0].Type, d.Members[0].Name))
	}
}
