package gen

import (
	"bytes"
	"fmt"
	"go/format"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/dave/jennifer/jen"
	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/templates"
)

// oneLiners matches a function whose body is one short return statement,
// written on one line in the output (gofmt keeps it so).
var oneLiners = regexp.MustCompile(`(?m)^(func [^\n]*?) \{\n\treturn ([^\n]*)\n\}$`)

var headerTmpl = template.Must(template.ParseFS(templates.FS, "header.go.tmpl"))

// vkind classifies how a value is decoded.
type vkind int

const (
	vInt     vkind = iota // integers and characters
	vBool                 // _Bool
	vFloat                // float, double
	vComplex              // _Complex float, _Complex double
	vBytes                // anything else of a known size: long double, __int128
	vEnum                 // a generated enum type
	vAddr                 // a pointer whose pointee is not generated
	vPtr                  // a typed pointer to a generated aggregate
	vView                 // a struct or union by value
)

type vtype struct {
	kind   vkind
	size   int64
	signed bool
	enum   *enumT
	agg    *agg
}

// emitter writes the per-type parts of the file with jennifer; the fixed
// scaffolding comes from templates/header.go.tmpl.
type emitter struct {
	p       *planner
	f       *jen.File
	fixed   bool
	imports map[string]bool // standard packages the body uses
	nfields int
	specs   map[*agg][]jen.Code
}

// std is a qualified identifier of a standard package, recorded for the
// import block.
func (e *emitter) std(pkg, name string) *jen.Statement {
	e.imports[pkg] = true
	return jen.Id(pkg + "." + name)
}

// kvm is a qualified identifier of the runtime package (libkvm: targets,
// per-CPU addresses); bindID one of runtime/bind (views, layouts, iterators).
func kvm(name string) *jen.Statement { return jen.Id("kvm." + name) }

func bindID(name string) *jen.Statement { return jen.Id("bind." + name) }

func (p *planner) emit() ([]byte, error) {
	e := &emitter{p: p, f: jen.NewFile(p.in.Package), fixed: p.in.Fixed,
		imports: map[string]bool{}, specs: map[*agg][]jen.Code{}}
	for i, a := range p.aggList {
		a.index = i
	}
	for _, v := range p.in.Vars {
		e.variable(v)
	}
	if len(p.in.PerCPU) > 0 {
		e.f.Comment("NumCPUs returns the number of possible CPUs of the bound kernel (nr_cpu_ids):")
		e.f.Comment("the per-CPU accessors take a CPU below it.")
		e.f.Func().Params(jen.Id("k").Op("*").Id(p.names.Kernel)).Id("NumCPUs").Params().Params(jen.Int(), jen.Error()).Block(
			jen.Return(kvm("NumCPUs").Call(jen.Id("k").Dot("Target").Call())))
	}
	for _, a := range p.aggList {
		e.aggregate(a)
	}
	for _, en := range p.enumList {
		e.enum(en)
	}
	e.spec()
	var body bytes.Buffer
	if err := e.f.Render(&body); err != nil {
		return nil, fmt.Errorf("gen: formatting the generated code: %w", err)
	}
	// The body is rendered as a file of its own: drop its package clause.
	rest := oneLiners.ReplaceAllFunc(body.Bytes(), func(m []byte) []byte {
		sub := oneLiners.FindSubmatch(m)
		if len(sub[1])+len(sub[2]) > 150 {
			return m
		}
		return append(append(append(append([]byte{}, sub[1]...), " { return "...), sub[2]...), " }"...)
	})
	if i := bytes.Index(rest, []byte("\n")); i >= 0 {
		rest = rest[i+1:]
	}
	cmd := p.in.Command
	if cmd == "" {
		cmd = "kvmgen gen"
	}
	cmd = strings.NewReplacer("\n", " ", "\r", " ").Replace(cmd)
	id := p.in.BuildID
	if id == "" {
		id = "(none)"
	}
	var std []string
	for k := range e.imports {
		std = append(std, k)
	}
	sort.Strings(std)
	dm := p.in.DataModel
	var out bytes.Buffer
	err := headerTmpl.Execute(&out, map[string]any{
		"N":           p.names,
		"Neutral":     p.neutral(),
		"Command":     strconv.Quote(cmd),
		"BuildIDText": id,
		"BuildID":     p.in.BuildID,
		"Package":     p.in.Package,
		"Std":         std,
		"Arch":        dm.Arch,
		"PtrSize":     dm.PtrSize,
		"BigEndian":   dm.BigEndian(),
		"Relocatable": !p.in.Fixed,
	})
	if err != nil {
		return nil, fmt.Errorf("gen: header template: %w", err)
	}
	out.Write(rest)
	src, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("gen: formatting the generated code: %w", err)
	}
	return src, nil
}

// spec writes the layout table: every aggregate and member the accessors
// read, with its generation-time layout.
func (e *emitter) spec() {
	var types []jen.Code
	for _, a := range e.p.aggList {
		if a.opaque {
			types = append(types, jen.Line().Commentf("%d: %s", a.index, a.goName).Line().Values(
				jen.Id("C").Op(":").Lit(a.cname), jen.Id("Opaque").Op(":").True()))
			continue
		}
		d := jen.Dict{jen.Id("C"): jen.Lit(a.cname), jen.Id("Size"): jen.Lit(int(a.s.ByteSize))}
		parent := -1
		switch {
		case a.s.Name != "":
			d[jen.Id("Name")] = jen.Lit(tagKey(a.s))
		case a.hint.typedef != "":
			d[jen.Id("Name")] = jen.Lit(a.hint.typedef)
		case a.hint.varName != "":
			d[jen.Id("Var")] = jen.Lit(a.hint.varName)
		case a.hint.parent != nil:
			parent = a.hint.parent.index
			d[jen.Id("Path")] = jen.Lit(a.hint.member)
		}
		d[jen.Id("Parent")] = jen.Lit(parent)
		if fs := e.specs[a]; len(fs) > 0 {
			d[jen.Id("Fields")] = jen.Index().Add(bindID("FieldSpec")).ValuesFunc(func(g *jen.Group) {
				for _, f := range fs {
					g.Line().Add(f)
				}
				g.Line()
			})
		}
		types = append(types, jen.Line().Commentf("%d: %s", a.index, a.goName).Line().Values(d))
	}
	dm := e.p.in.DataModel
	n := e.p.names
	e.f.Commentf("%s is the layout these bindings were generated with; %s resolves it", n.Spec, n.Bind)
	e.f.Comment("against the target's types (docs/generated-code.md).")
	d := jen.Dict{
		jen.Id("Package"):     jen.Lit(e.p.in.Package),
		jen.Id("BuildID"):     jen.Id(n.BuildID),
		jen.Id("Arch"):        jen.Lit(dm.Arch),
		jen.Id("PtrSize"):     jen.Lit(dm.PtrSize),
		jen.Id("BigEndian"):   jen.Lit(dm.BigEndian()),
		jen.Id("Relocatable"): jen.Lit(!e.p.in.Fixed),
		jen.Id("Types"):       jen.Index().Add(bindID("TypeSpec")).Values(append(types, jen.Line())...),
	}
	if e.p.neutral() {
		d[jen.Id("Neutral")] = jen.True()
	}
	e.f.Var().Id(n.Spec).Op("=").Add(bindID("Spec")).Values(d)
}

// classify decides how a value of type t is decoded; false when it has no
// value accessor (void, functions, arrays, incomplete types).
func (e *emitter) classify(t dwarfmodel.Type) (vtype, bool) {
	switch x := dwarfmodel.Underlying(t).(type) {
	case *dwarfmodel.Base:
		vt := vtype{size: x.ByteSize}
		if x.ByteSize <= 0 {
			return vt, false
		}
		switch x.Encoding {
		case dwarfmodel.EncSigned, dwarfmodel.EncSignedChar:
			vt.kind, vt.signed = vInt, true
		case dwarfmodel.EncBool:
			vt.kind = vBool
		case dwarfmodel.EncFloat:
			vt.kind = vFloat
			if x.ByteSize != 4 && x.ByteSize != 8 {
				vt.kind = vBytes
			}
			return vt, true
		case dwarfmodel.EncComplexFloat:
			vt.kind = vComplex
			if x.ByteSize != 8 && x.ByteSize != 16 {
				vt.kind = vBytes
			}
			return vt, true
		default:
			vt.kind = vInt
		}
		if !intSize(x.ByteSize) {
			vt.kind = vBytes
		}
		return vt, true
	case *dwarfmodel.Enum:
		vt := vtype{kind: vInt, size: x.ByteSize, signed: x.Signed}
		if x.ByteSize <= 0 {
			return vt, false
		}
		if !intSize(x.ByteSize) {
			vt.kind = vBytes
			return vt, true
		}
		if en := e.p.enums[x]; en != nil {
			vt.kind, vt.enum = vEnum, en
		} else if key := x.Name; key != "" || firstTypedef(t) != "" {
			if key == "" {
				key = "typedef " + firstTypedef(t)
			}
			sig := enumSignature(x)
			for _, en := range e.p.enumByTag[key] {
				if enumSignature(en.e) == sig {
					vt.kind, vt.enum = vEnum, en
					break
				}
			}
		}
		return vt, true
	case *dwarfmodel.Pointer:
		vt := vtype{kind: vAddr, size: x.ByteSize}
		if vt.size != 4 && vt.size != 8 {
			vt.size = int64(e.p.in.DataModel.PtrSize)
		}
		if s, ok := dwarfmodel.Underlying(x.Elem).(*dwarfmodel.Struct); ok {
			if a := e.p.lookupTypedef(s, firstTypedef(x.Elem)); a != nil {
				vt.kind, vt.agg = vPtr, a
			} else if a := e.p.opaqueFor(s, firstTypedef(x.Elem)); a != nil {
				vt.kind, vt.agg = vPtr, a
			}
		}
		return vt, true
	case *dwarfmodel.Struct:
		if a := e.p.lookupTypedef(x, firstTypedef(t)); a != nil {
			return vtype{kind: vView, size: a.s.ByteSize, agg: a}, true
		}
	}
	return vtype{}, false
}

// neutral reports whether no accessor of the file has a generation-time
// size compiled in: relocatable bindings whose globals are aggregates or
// pointers (bind.Spec.Neutral).
func (p *planner) neutral() bool {
	if p.in.Fixed {
		return false
	}
	for _, v := range p.in.Vars {
		switch dwarfmodel.Underlying(v.Type).(type) {
		case *dwarfmodel.Struct, *dwarfmodel.Pointer:
		default:
			return false
		}
	}
	return true
}

func intSize(n int64) bool { return n == 1 || n == 2 || n == 4 || n == 8 }

func intType(size int64, signed bool) *jen.Statement {
	switch size {
	case 1:
		if signed {
			return jen.Int8()
		}
		return jen.Uint8()
	case 2:
		if signed {
			return jen.Int16()
		}
		return jen.Uint16()
	case 4:
		if signed {
			return jen.Int32()
		}
		return jen.Uint32()
	}
	if signed {
		return jen.Int64()
	}
	return jen.Uint64()
}

func (vt vtype) goType() *jen.Statement {
	switch vt.kind {
	case vInt:
		return intType(vt.size, vt.signed)
	case vBool:
		return jen.Bool()
	case vFloat:
		if vt.size == 4 {
			return jen.Float32()
		}
		return jen.Float64()
	case vComplex:
		if vt.size == 8 {
			return jen.Complex64()
		}
		return jen.Complex128()
	case vEnum:
		return jen.Id(vt.enum.goName)
	case vAddr:
		return jen.Uint64()
	case vPtr:
		return jen.Id(vt.agg.ptrName)
	case vView:
		return jen.Id(vt.agg.goName)
	}
	return jen.Index().Byte()
}

// rtKind is the runtime's Kind of a value decoded as vt.
func rtKind(vt vtype) string {
	switch vt.kind {
	case vInt:
		if vt.signed {
			return "KindInt"
		}
		return "KindUint"
	case vBool:
		return "KindUint"
	case vEnum:
		if vt.enum.e.Signed {
			return "KindInt"
		}
		return "KindUint"
	case vFloat:
		return "KindFloat"
	case vComplex:
		return "KindComplex"
	case vAddr, vPtr:
		return "KindPtr"
	case vView:
		return "KindStruct"
	}
	return "KindBytes"
}

// fromUint converts x, a uint64 expression holding an integer decoded by
// the runtime (sign-extended when signed), to vt's Go type.
func fromUint(vt vtype, x *jen.Statement) *jen.Statement {
	switch vt.kind {
	case vBool:
		return x.Op("!=").Lit(0)
	case vEnum:
		return jen.Id(vt.enum.goName).Call(x)
	case vAddr:
		return x
	case vInt:
		if vt.size == 8 && !vt.signed {
			return x
		}
		return intType(vt.size, vt.signed).Call(x)
	}
	return x
}

// fixedRead is the expression reading an unsigned integer of size bytes at
// the constant offset off of the snapshot s, as a uint64.
func (e *emitter) fixedRead(size, off int64) *jen.Statement {
	return bindID("FixedUint").Call(jen.Id("s").Dot("Bytes").Call(), jen.Lit(int(off)), jen.Lit(int(size)), jen.Id(e.p.names.BigEndian))
}

// value is the expression of a scalar member's value: read at the bound
// kernel's offset (relocatable) or at the generation-time offset (fixed).
func (e *emitter) value(vt vtype, fl *field) *jen.Statement {
	v := jen.Id("s").Dot("View")
	i := jen.Lit(fl.index)
	if e.fixed {
		switch vt.kind {
		case vInt, vBool, vEnum, vAddr:
			r := e.fixedRead(vt.size, fl.off)
			switch vt.kind {
			case vBool:
				return r.Op("!=").Lit(0)
			case vEnum:
				return jen.Id(vt.enum.goName).Call(r)
			case vAddr:
				return r
			}
			if vt.signed || vt.size != 8 {
				return intType(vt.size, vt.signed).Call(r)
			}
			return r
		case vFloat:
			if vt.size == 4 {
				return e.std("math", "Float32frombits").Call(jen.Uint32().Call(e.fixedRead(4, fl.off)))
			}
			return e.std("math", "Float64frombits").Call(e.fixedRead(8, fl.off))
		case vPtr:
			r := e.fixedRead(vt.size, fl.off)
			return bindID("PtrTo").Types(jen.Id(vt.agg.goName)).Call(bindID("BindingOf").Call(v), r)
		case vView:
			return jen.Id(vt.agg.goName).Values(bindID("SubAt").Call(v, jen.Lit(int(fl.off)), jen.Lit(int(vt.size))))
		}
	}
	switch vt.kind {
	case vFloat:
		if vt.size == 4 {
			return jen.Float32().Call(bindID("Float").Call(v, i))
		}
		return bindID("Float").Call(v, i)
	case vComplex:
		if vt.size == 8 {
			return jen.Complex64().Call(bindID("Complex").Call(v, i))
		}
		return bindID("Complex").Call(v, i)
	case vBytes:
		return bindID("Raw").Call(v, i)
	case vPtr:
		return bindID("PtrAt").Types(jen.Id(vt.agg.goName)).Call(v, i)
	case vView:
		return jen.Id(vt.agg.goName).Values(bindID("Sub").Call(v, i))
	}
	return fromUint(vt, bindID("Uint").Call(v, i))
}

// elemValue decodes an array element view (from bind.Elem or bind.ReadElem)
// of field index i.
func (e *emitter) elemValue(vt vtype, el *jen.Statement, i int) *jen.Statement {
	switch vt.kind {
	case vFloat:
		if vt.size == 4 {
			return jen.Float32().Call(bindID("ElemFloat").Call(el))
		}
		return bindID("ElemFloat").Call(el)
	case vComplex:
		if vt.size == 8 {
			return jen.Complex64().Call(bindID("ElemComplex").Call(el))
		}
		return bindID("ElemComplex").Call(el)
	case vBytes:
		return el.Dot("Bytes").Call()
	case vPtr:
		return bindID("ElemPtr").Types(jen.Id(vt.agg.goName)).Call(el)
	case vView:
		return jen.Id(vt.agg.goName).Values(el)
	}
	return fromUint(vt, bindID("ElemUint").Call(el, jen.Lit(i)))
}

// bytesValue decodes a value of type vt from the byte slice expression b
// read from the target at the address expression addr (globals).
func (e *emitter) bytesValue(vt vtype, b, addr *jen.Statement) *jen.Statement {
	k := jen.Id("k").Dot("Binding").Call()
	switch vt.kind {
	case vFloat:
		if vt.size == 4 {
			return e.std("math", "Float32frombits").Call(jen.Uint32().Call(k.Dot("Decode").Call(b, jen.False())))
		}
		return e.std("math", "Float64frombits").Call(k.Dot("Decode").Call(b, jen.False()))
	case vComplex:
		return bindID("ElemComplex").Call(bindID("MakeView").Call(k, addr, b))
	case vBytes:
		return b
	case vPtr:
		return bindID("PtrTo").Types(jen.Id(vt.agg.goName)).Call(jen.Id("k").Dot("Binding").Call(), k.Clone().Dot("Decode").Call(b, jen.False()))
	case vView:
		return jen.Id(vt.agg.goName).Values(bindID("MakeView").Call(k, addr, b))
	}
	return fromUint(vt, k.Dot("Decode").Call(b, jen.Lit(vt.signed)))
}

func (e *emitter) aggregate(a *agg) {
	f := e.f
	size := a.s.ByteSize
	recv := func() *jen.Statement { return jen.Params(jen.Id("s").Id(a.goName)) }
	if a.opaque {
		// One declaration group: the type, its pointer, its table index.
		f.Commentf("%s is C `%s`, opaque: only pointed to (generating it adds its members;", a.goName, a.cname)
		f.Commentf("%s, the typed pointer to it, stays). KVMType is its index in the layout table.", a.ptrName)
		f.Type().Defs(
			jen.Id(a.goName).Struct(bindID("View")),
			jen.Id(a.ptrName).Op("=").Add(bindID("Ptr")).Types(jen.Id(a.goName)),
		)
		f.Func().Params(jen.Id(a.goName)).Id("KVMType").Params().Int().Block(jen.Return(jen.Lit(a.index)))
		return
	}

	// Constants.
	var defs []jen.Code
	gt := ""
	if !e.fixed {
		gt = " in the kernel the bindings were generated from"
	}
	defs = append(defs, jen.Commentf("%s is the size of C `%s` in bytes%s.", a.sizeofName, a.cname, gt),
		jen.Id(a.sizeofName).Op("=").Lit(int(size)))
	first := true
	for _, fl := range a.fields {
		if fl.offsetofName != "" {
			if first {
				defs = append(defs, jen.Commentf("%sOffsetof%s… are the offsets of its members%s.", e.p.in.Prefix, a.base, gt))
				first = false
			}
			defs = append(defs, jen.Id(fl.offsetofName).Op("=").Lit(int(fl.off)).Commentf("// %s", fl.specName()))
		}
		if len(fl.lenNames) > 0 {
			dims, _ := arrayDims(dwarfmodel.Underlying(fl.m.Type).(*dwarfmodel.Array))
			for i, n := range fl.lenNames {
				d := dims[i]
				if d < 0 {
					d = 0
				}
				what := "the element count of"
				if len(dims) > 1 {
					what = fmt.Sprintf("dimension %d of", i)
				}
				if dims[i] <= 0 && i == 0 {
					what = "0 for the flexible array"
				}
				defs = append(defs, jen.Commentf("%s is %s `%s`.", n, what, dwarfmodel.Declare(fl.m.Type, fl.m.Name)),
					jen.Id(n).Op("=").Lit(int(d)))
			}
		}
	}
	f.Const().Defs(defs...)

	f.Commentf("%s is a snapshot of C `%s` read from the target:", a.goName, a.cname)
	f.Comment("its methods decode members from that snapshot. The zero value has no members")
	f.Comment("(every accessor returns zero values).")
	f.Type().Id(a.goName).Struct(bindID("View"))
	f.Commentf("%s is a typed pointer to a C `%s` in the target (Read, IsNil, Addr).", a.ptrName, a.cname)
	f.Type().Id(a.ptrName).Op("=").Add(bindID("Ptr")).Types(jen.Id(a.goName))
	f.Commentf("KVMType is %s's index in the layout table (for bind.Ptr and bind.ReadView).", a.goName)
	f.Func().Params(jen.Id(a.goName)).Id("KVMType").Params().Int().Block(jen.Return(jen.Lit(a.index)))
	f.Commentf("%s reads a C `%s` at addr in one read.", a.readName, a.cname)
	f.Func().Params(jen.Id("k").Op("*").Id(e.p.names.Kernel)).Id(a.readName).Params(jen.Id("addr").Uint64()).Params(jen.Id(a.goName), jen.Error()).Block(
		jen.Return(bindID("ReadView").Types(jen.Id(a.goName)).Call(jen.Id("k").Dot("Binding").Call(), jen.Id("addr"))),
	)
	for _, fl := range a.fields {
		fl.index = -1
		e.member(a, fl, recv)
	}
}

func (e *emitter) memberDoc(fl *field, what string) {
	decl := dwarfmodel.Declare(fl.m.Type, fl.m.Name)
	if fl.m.IsBitfield() {
		decl += fmt.Sprintf(" : %d", fl.m.BitSize)
	}
	where := fmt.Sprintf("at offset %d", fl.off)
	if fl.absent {
		where = "(not in the kernel the bindings were generated from)"
	}
	if fl.m.IsBitfield() {
		where = fmt.Sprintf("at data bit offset %d (byte %d), %d bit(s)", fl.bitOff, fl.bitOff/8, fl.m.BitSize)
	} else if sz := fl.m.Type.Size(); sz >= 0 {
		where += fmt.Sprintf(", size %d", sz)
	}
	if fl.via != "" {
		where += ", " + fl.via
	}
	e.f.Commentf("%s is `%s;` %s.", fl.method, decl, where)
	if what != "" {
		e.f.Comment(what)
	}
}

// addField puts fl in the layout table, described by spec.
func (e *emitter) addField(a *agg, fl *field, spec *jen.Statement) {
	fl.index = e.nfields
	e.nfields++
	if len(fl.paths) > 1 {
		var lits []jen.Code
		for _, p := range fl.paths {
			lits = append(lits, jen.Lit(p))
		}
		spec = spec.Dot("Or").Call(lits...)
	}
	e.specs[a] = append(e.specs[a], spec)
}

// specName is how the layout table names fl: the member path the
// generation kernel has it at (for a selected member), else its name.
func (fl *field) specName() string {
	if fl.path != "" {
		return fl.path
	}
	return fl.m.Name
}

// specOff is fl's generation-time offset in the layout table: -1 when the
// generation kernel lacks it.
func (fl *field) specOff() int {
	if fl.absent {
		return -1
	}
	return int(fl.off)
}

// bounds are the offset and the size of the aggregate fl's accessor is
// checked against: an absent member has no generation-time place.
func (fl *field) bounds(a *agg) (off, size int64) {
	if fl.absent {
		return 0, 1<<31 - 1
	}
	return fl.off, a.s.ByteSize
}

// cDesc spells fl's C name or paths for docs.
func (fl *field) cDesc() string {
	if len(fl.paths) > 0 {
		return strings.Join(fl.paths, "` or `")
	}
	return fl.m.Name
}

// has writes HasX for a relocatable member.
func (e *emitter) has(a *agg, fl *field, recv func() *jen.Statement) {
	if e.fixed || fl.hasName == "" {
		return
	}
	e.f.Commentf("%s reports whether the bound kernel's `%s` has member `%s` of a type %s can read.", fl.hasName, a.cname, fl.cDesc(), fl.method)
	e.f.Func().Add(recv()).Id(fl.hasName).Params().Bool().Block(
		jen.Return(bindID("BindingOf").Call(jen.Id("s").Dot("View")).Dot("Has").Call(jen.Lit(fl.index))))
}

func (e *emitter) member(a *agg, fl *field, recv func() *jen.Statement) {
	f := e.f
	size := a.s.ByteSize
	m := fl.m
	if fl.absent && m.IsBitfield() {
		return
	}
	if m.IsBitfield() {
		vt, ok := e.classify(m.Type)
		if !ok || (vt.kind != vInt && vt.kind != vBool && vt.kind != vEnum) || m.BitSize <= 0 || m.BitSize > 64 ||
			fl.bitOff < 0 || fl.bitOff+m.BitSize > size*8 || fl.bitOff > 1<<31-1 {
			return
		}
		e.addField(a, fl, bindID("BF").Call(jen.Lit(fl.specName()), bindID(rtKind(vt)), jen.Lit(int(fl.bitOff)), jen.Lit(int(m.BitSize)), jen.Lit(int(vt.size))))
		var ex *jen.Statement
		if e.fixed {
			raw := bindID("BitsAt").Call(jen.Id("s").Dot("Bytes").Call(), jen.Lit(int(fl.bitOff)), jen.Lit(int(m.BitSize)), jen.Lit(vt.signed), jen.Id(e.p.names.BigEndian))
			ex = fromUint(vt, raw)
			if vt.kind == vInt && vt.size == 8 && !vt.signed {
				ex = raw
			}
		} else {
			ex = e.value(vt, fl)
		}
		e.memberDoc(fl, "")
		f.Func().Add(recv()).Id(fl.method).Params().Add(vt.goType()).Block(jen.Return(ex))
		e.has(a, fl, recv)
		return
	}
	if arr, ok := dwarfmodel.Underlying(m.Type).(*dwarfmodel.Array); ok {
		e.arrayMember(a, fl, arr, recv)
		return
	}
	vt, ok := e.classify(m.Type)
	off, size := fl.bounds(a)
	if !ok || off < 0 || off+vt.size > size || off > 1<<31-1 || vt.size > 1<<31-1 {
		return
	}
	e.addField(a, fl, bindID("M").Call(jen.Lit(fl.specName()), bindID(rtKind(vt)), jen.Lit(fl.specOff()), jen.Lit(int(vt.size))))
	e.memberDoc(fl, "")
	f.Func().Add(recv()).Id(fl.method).Params().Add(vt.goType()).Block(jen.Return(e.value(vt, fl)))
	e.has(a, fl, recv)
	if names, ok := a.extraMethods[fl]; ok && names[0] == "" && vt.kind == vAddr {
		f.Commentf("%s reads the NUL-terminated string `%s` points to, at most limit bytes.", names[1], fl.m.Name)
		f.Func().Add(recv()).Id(names[1]).Params(jen.Id("limit").Int()).Params(jen.String(), jen.Error()).Block(
			jen.Return(bindID("ReadString").Call(bindID("BindingOf").Call(jen.Id("s").Dot("View")).Dot("Target").Call(), jen.Id("s").Dot(fl.method).Call(), jen.Id("limit"))),
		)
	}
}

func indexNames(n int) []string {
	if n == 1 {
		return []string{"i"}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = "i" + strconv.Itoa(i)
	}
	return out
}

// flatIndex is the row-major element index of idx in dims (dims[0] unused).
func flatIndex(idx []string, dims []int64) *jen.Statement {
	ex := jen.Id(idx[0])
	for i := 1; i < len(idx); i++ {
		ex = jen.Parens(ex).Op("*").Lit(int(dims[i])).Op("+").Id(idx[i])
	}
	return ex
}

func (e *emitter) arrayMember(a *agg, fl *field, arr *dwarfmodel.Array, recv func() *jen.Statement) {
	f := e.f
	off, size := fl.bounds(a)
	dims, elem := arrayDims(arr)
	vt, ok := e.classify(elem)
	if !ok || len(dims) == 0 || vt.size <= 0 || off < 0 || off > size || off > 1<<31-1 || vt.size > 1<<31-1 {
		return
	}
	for _, d := range dims[1:] {
		if d <= 0 {
			return
		}
	}
	idx := indexNames(len(dims))
	params := make([]jen.Code, len(idx))
	for i, n := range idx {
		params[i] = jen.Id(n)
	}
	var conds []jen.Code
	for i, n := range idx {
		c := jen.Id(n).Op("<").Lit(0)
		if dims[i] > 0 {
			c = c.Op("||").Id(n).Op(">=").Id(fl.lenNames[i])
		}
		if i > 0 {
			conds = append(conds, jen.Op("||"))
		}
		conds = append(conds, c)
	}
	cond := jen.Null().Add(conds...)
	v := jen.Id("s").Dot("View")
	if dims[0] <= 0 {
		// Flexible or zero-length array: elements lie past the snapshot.
		e.addField(a, fl, bindID("Arr").Call(jen.Lit(fl.specName()), bindID(rtKind(vt)), jen.Lit(fl.specOff()), jen.Lit(int(vt.size)), jen.Lit(0))) // flexible or zero-length: 0 either way
		e.memberDoc(fl, "It reads element "+strings.Join(idx, ", ")+" from the target, past the snapshot (a flexible array member).")
		f.Func().Add(recv()).Id(fl.method).Params(jen.List(params...).Int()).Params(jen.Id("v").Add(vt.goType()), jen.Err().Error()).Block(
			jen.If(cond).Block(jen.Return(jen.Id("v"), e.std("errors", "New").Call(jen.Lit(a.cname+" member "+fl.m.Name+": index out of range")))),
			jen.List(jen.Id("el"), jen.Err()).Op(":=").Add(bindID("ReadElem").Call(v, jen.Lit(fl.index), flatIndex(idx, dims))),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("v"), jen.Err())),
			jen.Return(e.elemValue(vt, jen.Id("el"), fl.index), jen.Nil()),
		)
		e.has(a, fl, recv)
		if names, ok := a.extraMethods[fl]; ok && names[0] == "" {
			f.Commentf("%s reads the NUL-terminated string in `%s` from the target, at most limit bytes.", names[1], dwarfmodel.Declare(fl.m.Type, fl.m.Name))
			f.Func().Add(recv()).Id(names[1]).Params(jen.Id("limit").Int()).Params(jen.String(), jen.Error()).Block(
				jen.If(jen.Id("addr").Op(":=").Add(bindID("MemberAddr").Call(v, jen.Lit(fl.index))), jen.Id("addr").Op("!=").Lit(0)).Block(
					jen.Return(bindID("ReadString").Call(bindID("BindingOf").Call(v).Dot("Target").Call(), jen.Id("addr"), jen.Id("limit")))),
				jen.Return(jen.Lit(""), bindID("BindingOf").Call(v).Dot("Err").Call()),
			)
		}
		return
	}
	total := vt.size
	for _, d := range dims {
		if total > size/d { // also guards against overflow
			return
		}
		total *= d
	}
	if off+total > size {
		return
	}
	e.addField(a, fl, bindID("Arr").Call(jen.Lit(fl.specName()), bindID(rtKind(vt)), jen.Lit(fl.specOff()), jen.Lit(int(vt.size)), jen.Lit(int(total/vt.size))))
	e.memberDoc(fl, "It returns false when an index is out of range.")
	f.Func().Add(recv()).Id(fl.method).Params(jen.List(params...).Int()).Params(jen.Id("v").Add(vt.goType()), jen.Id("ok").Bool()).Block(
		jen.If(cond).Block(jen.Return()),
		jen.List(jen.Id("el"), jen.Id("ok")).Op(":=").Add(bindID("Elem").Call(v, jen.Lit(fl.index), flatIndex(idx, dims))),
		jen.If(jen.Op("!").Id("ok")).Block(jen.Return()),
		jen.Return(e.elemValue(vt, jen.Id("el"), fl.index), jen.True()),
	)
	e.has(a, fl, recv)
	names, ok := a.extraMethods[fl]
	if !ok {
		return
	}
	row := dims[len(dims)-1]
	if len(dims) == 1 {
		f.Commentf("%s returns the bytes of `%s`, shared with the snapshot.", names[0], dwarfmodel.Declare(fl.m.Type, fl.m.Name))
		f.Func().Add(recv()).Id(names[0]).Params().Index().Byte().Block(
			jen.Return(bindID("Raw").Call(v, jen.Lit(fl.index))))
		f.Commentf("%s returns `%s` up to its first NUL byte.", names[1], dwarfmodel.Declare(fl.m.Type, fl.m.Name))
		f.Func().Add(recv()).Id(names[1]).Params().String().Block(
			jen.Return(bindID("Cstring").Call(bindID("Raw").Call(v, jen.Lit(fl.index)))))
		return
	}
	outer := idx[:len(idx)-1]
	oparams := params[:len(params)-1]
	var oconds []jen.Code
	for i, n := range outer {
		if i > 0 {
			oconds = append(oconds, jen.Op("||"))
		}
		oconds = append(oconds, jen.Id(n).Op("<").Lit(0).Op("||").Id(n).Op(">=").Id(fl.lenNames[i]))
	}
	rowBytes := func() *jen.Statement {
		return bindID("RawElems").Call(v, jen.Lit(fl.index), jen.Parens(flatIndex(outer, dims[:len(dims)-1])).Op("*").Lit(int(row)), jen.Lit(int(row)))
	}
	f.Commentf("%s returns one row of `%s`, shared with the snapshot; false when an index is out of range.", names[0], dwarfmodel.Declare(fl.m.Type, fl.m.Name))
	f.Func().Add(recv()).Id(names[0]).Params(jen.List(oparams...).Int()).Params(jen.Index().Byte(), jen.Bool()).Block(
		jen.If(jen.Null().Add(oconds...)).Block(jen.Return(jen.Nil(), jen.False())),
		jen.Return(rowBytes(), jen.True()),
	)
	f.Commentf("%s returns one row of `%s` up to its first NUL byte; false when an index is out of range.", names[1], dwarfmodel.Declare(fl.m.Type, fl.m.Name))
	f.Func().Add(recv()).Id(names[1]).Params(jen.List(oparams...).Int()).Params(jen.String(), jen.Bool()).Block(
		jen.If(jen.Null().Add(oconds...)).Block(jen.Return(jen.Lit(""), jen.False())),
		jen.Return(bindID("Cstring").Call(rowBytes()), jen.True()),
	)
}

func (e *emitter) variable(v *dwarfmodel.Variable) {
	f := e.f
	names := e.p.varNames[v]
	decl := dwarfmodel.Declare(v.Type, v.Name)
	kr := func() *jen.Statement { return jen.Params(jen.Id("k").Op("*").Id(e.p.names.Kernel)) }
	percpu := e.p.in.PerCPU[v.Name]
	var cpuParam []jen.Code
	var cpuArg []jen.Code
	if percpu {
		cpuParam = []jen.Code{jen.Id("cpu").Int()}
		cpuArg = []jen.Code{jen.Id("cpu")}
		f.Commentf("%s returns the run-time address of CPU cpu's copy of the per-CPU variable", names[1])
		f.Commentf("`%s;` (__per_cpu_offset[cpu] + its address; cpu < NumCPUs()).", decl)
		f.Func().Add(kr()).Id(names[1]).Params(cpuParam...).Params(jen.Uint64(), jen.Error()).Block(
			jen.Return(kvm("PerCPUAddr").Call(jen.Id("k").Dot("Target").Call(), jen.Lit(v.Name), jen.Id("cpu"))),
		)
	} else {
		f.Commentf("%s returns the run-time address of `%s;` (link-time address %#x;", names[1], decl, v.Address)
		f.Comment("the target applies any KASLR displacement).")
		f.Func().Add(kr()).Id(names[1]).Params().Params(jen.Uint64(), jen.Error()).Block(
			jen.Return(bindID("LookupSymbol").Call(jen.Id("k").Dot("Target").Call(), jen.Lit(v.Name))),
		)
	}
	getAddr := []jen.Code{
		jen.List(jen.Id("addr"), jen.Err()).Op(":=").Id("k").Dot(names[1]).Call(cpuArg...),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("v"), jen.Err())),
	}
	readBytes := func(n *jen.Statement) []jen.Code {
		return []jen.Code{
			jen.List(jen.Id("b"), jen.Err()).Op(":=").Add(bindID("ReadBytes").Call(jen.Id("k").Dot("Target").Call(), jen.Id("addr"), n)),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("v"), e.std("fmt", "Errorf").Call(jen.Lit(v.Name+" at %#x: %w"), jen.Id("addr"), jen.Err()))),
		}
	}
	read := func(vt vtype) []jen.Code {
		if vt.kind == vView {
			return []jen.Code{jen.Return(bindID("ReadView").Types(jen.Id(vt.agg.goName)).Call(jen.Id("k").Dot("Binding").Call(), jen.Id("addr")))}
		}
		n := jen.Lit(int(vt.size))
		if (vt.kind == vPtr || vt.kind == vAddr) && !e.fixed {
			n = jen.Id("k").Dot("Binding").Call().Dot("PtrSize").Call() // the bound kernel's
		}
		return append(readBytes(n), jen.Return(e.bytesValue(vt, jen.Id("b"), jen.Id("addr")), jen.Nil()))
	}
	if arr, ok := dwarfmodel.Underlying(v.Type).(*dwarfmodel.Array); ok {
		dims, elem := arrayDims(arr)
		vt, ok := e.classify(elem)
		if !ok || len(dims) == 0 || vt.size <= 0 {
			return
		}
		for _, d := range dims[1:] {
			if d <= 0 {
				return
			}
		}
		idx := indexNames(len(dims))
		params := make([]jen.Code, len(idx))
		var conds []jen.Code
		for i, n := range idx {
			params[i] = jen.Id(n)
			c := jen.Id(n).Op("<").Lit(0)
			if dims[i] > 0 {
				c = c.Op("||").Id(n).Op(">=").Lit(int(dims[i]))
			}
			if i > 0 {
				conds = append(conds, jen.Op("||"))
			}
			conds = append(conds, c)
		}
		f.Commentf("%s reads element %s of `%s;` from the target.", names[0], strings.Join(idx, ", "), decl)
		body := []jen.Code{
			jen.If(jen.Null().Add(conds...)).Block(jen.Return(jen.Id("v"), e.std("errors", "New").Call(jen.Lit(v.Name+": index out of range")))),
		}
		body = append(body, getAddr...)
		body = append(body, jen.Id("addr").Op("+=").Uint64().Call(flatIndex(idx, dims)).Op("*").Lit(int(vt.size)))
		body = append(body, read(vt)...)
		f.Func().Add(kr()).Id(names[0]).Params(append(cpuParam, jen.List(params...).Int())...).Params(jen.Id("v").Add(vt.goType()), jen.Err().Error()).Block(body...)
		if names[2] != "" && len(dims) == 1 && dims[0] <= 0 {
			f.Commentf("%s reads `%s;` from the target up to its first NUL byte, at most limit bytes.", names[2], decl)
			f.Func().Add(kr()).Id(names[2]).Params(append(cpuParam, jen.Id("limit").Int())...).Params(jen.String(), jen.Error()).Block(
				jen.List(jen.Id("addr"), jen.Err()).Op(":=").Id("k").Dot(names[1]).Call(cpuArg...),
				jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(""), jen.Err())),
				jen.Return(bindID("ReadString").Call(jen.Id("k").Dot("Target").Call(), jen.Id("addr"), jen.Id("limit"))),
			)
		} else if names[2] != "" && len(dims) == 1 {
			f.Commentf("%s reads `%s;` from the target, up to its first NUL byte.", names[2], decl)
			body := append(append([]jen.Code{}, getAddr...), readBytes(jen.Lit(int(dims[0])))...)
			body = append(body, jen.Return(bindID("Cstring").Call(jen.Id("b")), jen.Nil()))
			f.Func().Add(kr()).Id(names[2]).Params(cpuParam...).Params(jen.Id("v").String(), jen.Err().Error()).Block(body...)
		}
		return
	}
	vt, ok := e.classify(v.Type)
	if !ok {
		return
	}
	if percpu {
		f.Commentf("%s reads CPU cpu's `%s;` (%d bytes) from the target.", names[0], decl, vt.size)
	} else {
		f.Commentf("%s reads `%s;` (%d bytes) from the target.", names[0], decl, vt.size)
	}
	body := append([]jen.Code{}, getAddr...)
	body = append(body, read(vt)...)
	f.Func().Add(kr()).Id(names[0]).Params(cpuParam...).Params(jen.Id("v").Add(vt.goType()), jen.Err().Error()).Block(body...)
}

func (e *emitter) enum(en *enumT) {
	f := e.f
	x := en.e
	size := x.ByteSize
	if !intSize(size) {
		size = 8
	}
	under := intType(size, x.Signed)
	f.Commentf("%s is C `%s` (%d bytes).", en.goName, en.cname, x.ByteSize)
	f.Type().Id(en.goName).Add(under)
	if len(x.Values) > 0 {
		var defs []jen.Code
		for i, v := range x.Values {
			defs = append(defs, jen.Id(en.consts[i]).Id(en.goName).Op("=").Op(enumLit(v.Value, size, x.Signed)))
		}
		f.Commentf("Values of %s.", en.cname)
		f.Const().Defs(defs...)
	}
	// String: the first name of each value, in declaration order.
	var cases []jen.Code
	seen := map[string]bool{}
	for i, v := range x.Values {
		lit := enumLit(v.Value, size, x.Signed)
		if seen[lit] {
			continue
		}
		seen[lit] = true
		cases = append(cases, jen.Case(jen.Id(en.consts[i])).Block(jen.Return(jen.Lit(v.Name))))
	}
	conv := e.std("strconv", "FormatUint").Call(jen.Uint64().Call(jen.Id("e")), jen.Lit(10))
	if x.Signed {
		conv = e.std("strconv", "FormatInt").Call(jen.Int64().Call(jen.Id("e")), jen.Lit(10))
	}
	f.Commentf("String returns the C name of e, or %s(N) for a value with no name.", en.goName)
	body := []jen.Code{}
	if len(cases) > 0 {
		body = append(body, jen.Switch(jen.Id("e")).Block(cases...))
	}
	body = append(body, jen.Return(jen.Lit(en.goName+"(").Op("+").Add(conv).Op("+").Lit(")")))
	f.Func().Params(jen.Id("e").Id(en.goName)).Id("String").Params().String().Block(body...)
}

// enumLit is v as a literal of an integer type of size bytes.
func enumLit(v int64, size int64, signed bool) string {
	bits := uint(size * 8)
	if signed {
		if bits < 64 {
			shift := 64 - bits
			v = v << shift >> shift
		}
		return strconv.FormatInt(v, 10)
	}
	u := uint64(v)
	if bits < 64 {
		u &= 1<<bits - 1
	}
	return strconv.FormatUint(u, 10)
}
