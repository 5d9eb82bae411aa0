// Package gen writes Go bindings for a kernel's types and globals from the
// typed DWARF model of its image (package dwarfmodel): views over structs
// and unions that decode each member at its offset in the target's byte
// order, enums with String methods, typed pointers, and accessors for named
// globals read through a runtime.Target.
//
// Generate is the entry used by `kvmgen gen`; GenerateModel takes model
// values directly (tests, or callers with their own DWARF reader). The
// output is gofmt'd and deterministic: the same model and configuration
// give the same bytes. docs/generated-code.md describes the generated API.
package gen

import (
	"errors"
	"fmt"
	"go/token"
	"sort"
	"strings"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// Source is what Generate reads types from: a kernel's DWARF
// (*dwarfmodel.File) or BTF (*btfmodel.File).
type Source = dwarfmodel.Source

// Config says what to generate.
type Config struct {
	Package string   // Go package name of the output; "kernel" when empty
	Types   []string // type names as dwarfmodel.File.Type accepts them: "task_struct", "struct pid", "atomic_t"
	Vars    []string // global variables: "init_task"
	// Depth is how many pointer hops are followed from the named types to
	// generate the types they point to: 0 generates the named types and
	// what they embed by value; 1 adds the types they point to; and so on.
	// A pointer to a generated type is typed (FooPtr); other pointers are
	// plain addresses (uint64).
	Depth int
	// Command is the command line recorded in the header comment.
	Command string
	// Fixed compiles the generation-time offsets into the accessors: the
	// bindings then bind only to the kernel they were generated from (its
	// build ID). The default is relocatable bindings, whose accessors read
	// offsets from a table Bind fills from the target's own types.
	Fixed bool
	// Prefix is prepended to the Go names of generated types, enums and
	// their constants ("K" gives KTaskStruct).
	Prefix string
}

// Input is a model to generate from without a Source.
type Input struct {
	Package   string
	Command   string
	DataModel dwarfmodel.DataModel
	BuildID   string
	// Types are the requested types: structs, unions, enums, or typedefs of
	// them.
	Types  []dwarfmodel.Type
	Vars   []*dwarfmodel.Variable
	Depth  int
	Fixed  bool   // see Config.Fixed
	Prefix string // see Config.Prefix
	// PerCPU names the variables of Vars that are per-CPU variables: their
	// accessors take a CPU number. Generate fills it from the Source.
	PerCPU map[string]bool
}

// MaxDepth bounds Config.Depth.
const MaxDepth = 16

// Generate resolves cfg's types and variables in f and writes their
// bindings. Unknown names fail with the Source's error (for a
// dwarfmodel.File, a *dwarfmodel.NotFoundError listing close names).
func Generate(f Source, cfg Config) ([]byte, error) {
	if len(cfg.Types) == 0 && len(cfg.Vars) == 0 {
		return nil, errors.New("gen: nothing to generate: give at least one type or variable")
	}
	in := Input{
		Package:   cfg.Package,
		Command:   cfg.Command,
		DataModel: f.DataModel(),
		BuildID:   f.BuildID(),
		Depth:     cfg.Depth,
		Fixed:     cfg.Fixed,
		Prefix:    cfg.Prefix,
	}
	seen := map[string]bool{}
	for _, name := range cfg.Types {
		name = strings.TrimSpace(name)
		if name == "" || seen["t:"+name] {
			continue
		}
		seen["t:"+name] = true
		t, err := f.Type(name)
		if err != nil {
			return nil, err
		}
		in.Types = append(in.Types, t)
	}
	for _, name := range cfg.Vars {
		name = strings.TrimSpace(name)
		if name == "" || seen["v:"+name] {
			continue
		}
		seen["v:"+name] = true
		v, err := f.Variable(name)
		if err != nil {
			return nil, err
		}
		in.Vars = append(in.Vars, v)
		if isPerCPU(f, v) {
			if in.PerCPU == nil {
				in.PerCPU = map[string]bool{}
			}
			in.PerCPU[v.Name] = true
		}
	}
	return GenerateModel(in)
}

// GenerateModel writes the bindings for the types and variables of in.
func GenerateModel(in Input) ([]byte, error) {
	if in.Package == "" {
		in.Package = "kernel"
	}
	if in.Prefix != "" && (!token.IsIdentifier(in.Prefix) || !token.IsExported(in.Prefix)) {
		return nil, fmt.Errorf("gen: prefix %q is not an exported Go identifier", in.Prefix)
	}
	if !token.IsIdentifier(in.Package) || in.Package == "_" {
		return nil, fmt.Errorf("gen: %q is not a valid Go package name", in.Package)
	}
	if in.Depth < 0 || in.Depth > MaxDepth {
		return nil, fmt.Errorf("gen: depth %d out of range [0, %d]", in.Depth, MaxDepth)
	}
	switch in.DataModel.PtrSize {
	case 4, 8:
	default:
		return nil, fmt.Errorf("gen: unsupported pointer size %d (want 4 or 8)", in.DataModel.PtrSize)
	}
	if in.DataModel.ByteOrder == nil {
		return nil, errors.New("gen: data model has no byte order")
	}
	p := newPlanner(in)
	for _, t := range in.Types {
		if err := p.root(t); err != nil {
			return nil, err
		}
	}
	for _, v := range in.Vars {
		if v == nil {
			return nil, errors.New("gen: nil variable")
		}
		p.walk(v.Type, 0, nameHint{varName: v.Name}, false)
	}
	p.run()
	p.name()
	return p.emit()
}

// agg is a struct or union to generate.
type agg struct {
	s      *dwarfmodel.Struct
	hint   nameHint
	order  int // discovery order: a deterministic tie-breaker
	depth  int
	done   int // depth at which members were last walked; -1 before
	goName string
	cname  string // how docs name the C type

	// Filled by name().
	ptrName, sizeofName, readName string
	index                         int // in the layout table (Spec.Types)
	fields                        []*field
	extraMethods                  map[*field][2]string // char arrays: Bytes and String helper names
}

// nameHint tells how an anonymous aggregate or enum was first reached, to
// name it: through a typedef, as a member of another aggregate, or as the
// type of a variable.
type nameHint struct {
	typedef string
	parent  *agg
	member  string
	varName string
}

type enumT struct {
	e      *dwarfmodel.Enum
	hint   nameHint
	order  int
	goName string
	cname  string
	consts []string // Go names of e.Values, same order
}

type planner struct {
	in        Input
	aggs      map[*dwarfmodel.Struct]*agg
	byTag     map[string][]*agg
	byTypedef map[string][]*agg // anonymous aggregates named by a typedef
	enums     map[*dwarfmodel.Enum]*enumT
	enumByTag map[string][]*enumT
	aggList   []*agg
	enumList  []*enumT
	levels    [][]*agg
	order     int
	varNames  map[*dwarfmodel.Variable][3]string // accessor, Addr, String helper
}

func newPlanner(in Input) *planner {
	return &planner{
		in:        in,
		aggs:      map[*dwarfmodel.Struct]*agg{},
		byTag:     map[string][]*agg{},
		byTypedef: map[string][]*agg{},
		enums:     map[*dwarfmodel.Enum]*enumT{},
		enumByTag: map[string][]*enumT{},
		levels:    make([][]*agg, in.Depth+2),
	}
}

// root adds a requested type.
func (p *planner) root(t dwarfmodel.Type) error {
	if t == nil {
		return errors.New("gen: nil type")
	}
	var hint nameHint
	u := t
	for i := 0; i < 100; i++ {
		switch x := u.(type) {
		case *dwarfmodel.Typedef:
			if hint.typedef == "" {
				hint.typedef = x.Name
			}
			u = x.Type
			continue
		case *dwarfmodel.Qualified:
			u = x.Type
			continue
		}
		break
	}
	switch x := u.(type) {
	case *dwarfmodel.Struct:
		if x.Incomplete || x.ByteSize < 0 {
			return fmt.Errorf("gen: %s is only declared: its definition is not in the DWARF", describe(t))
		}
		p.ensure(x, 0, hint)
	case *dwarfmodel.Enum:
		if x.Name == "" && hint.typedef == "" {
			return fmt.Errorf("gen: %s is an anonymous enum", describe(t))
		}
		p.ensureEnum(x, hint)
	default:
		return fmt.Errorf("gen: %s is %s, not a struct, union or enum", describe(t), kindOf(u))
	}
	return nil
}

func describe(t dwarfmodel.Type) string {
	if n := t.TypeName(); n != "" {
		return fmt.Sprintf("type %q", n)
	}
	return fmt.Sprintf("the type at .debug_info offset %#x", t.Offset())
}

func kindOf(t dwarfmodel.Type) string {
	switch x := t.(type) {
	case *dwarfmodel.Base:
		return "a base type (" + x.Name + ")"
	case *dwarfmodel.Pointer:
		return "a pointer"
	case *dwarfmodel.Array:
		return "an array"
	case *dwarfmodel.Func:
		return "a function type"
	case *dwarfmodel.Void:
		return "void"
	}
	return fmt.Sprintf("%T", t)
}

// signature identifies a struct layout, to merge the copies of one type
// that each compilation unit carries and to keep apart different types that
// share a tag.
func signature(s *dwarfmodel.Struct) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %d", s.Kind, s.ByteSize)
	for i := range s.Members {
		m := &s.Members[i]
		fmt.Fprintf(&b, "|%s %d %d %d %s", m.Name, m.ByteOffset, m.BitSize, m.DataBitOffset, dwarfmodel.Declare(m.Type, ""))
	}
	return b.String()
}

func enumSignature(e *dwarfmodel.Enum) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %v", e.ByteSize, e.Signed)
	for _, v := range e.Values {
		fmt.Fprintf(&b, "|%s=%d", v.Name, v.Value)
	}
	return b.String()
}

func tagKey(s *dwarfmodel.Struct) string { return s.Kind.String() + " " + s.Name }

// lookup finds the aggregate generated for s: the same object, or another
// copy of a named type with the same layout, or, for a declaration, the
// generated definition of that name.
func (p *planner) lookup(s *dwarfmodel.Struct) *agg {
	if a, ok := p.aggs[s]; ok {
		return a
	}
	if s.Name == "" {
		return nil
	}
	list := p.byTag[tagKey(s)]
	if s.Incomplete || s.ByteSize < 0 {
		if len(list) > 0 {
			return list[0]
		}
		return nil
	}
	sig := signature(s)
	for _, a := range list {
		if signature(a.s) == sig {
			p.aggs[s] = a
			return a
		}
	}
	return nil
}

// lookupTypedef is lookup, also matching an anonymous aggregate named by
// typedef with the generated copy of the same typedef and layout.
func (p *planner) lookupTypedef(s *dwarfmodel.Struct, typedef string) *agg {
	if a := p.lookup(s); a != nil || s.Name != "" || typedef == "" {
		return a
	}
	sig := signature(s)
	for _, a := range p.byTypedef[typedef] {
		if signature(a.s) == sig {
			p.aggs[s] = a
			return a
		}
	}
	return nil
}

// firstTypedef is the name of the outermost typedef of t ("" if none),
// looking through qualifiers.
func firstTypedef(t dwarfmodel.Type) string {
	for i := 0; i < 100 && t != nil; i++ {
		switch x := t.(type) {
		case *dwarfmodel.Typedef:
			return x.Name
		case *dwarfmodel.Qualified:
			t = x.Type
		default:
			return ""
		}
	}
	return ""
}

func (p *planner) ensure(s *dwarfmodel.Struct, depth int, hint nameHint) {
	if s.Incomplete || s.ByteSize < 0 {
		return
	}
	if a := p.lookupTypedef(s, hint.typedef); a != nil {
		if depth < a.depth {
			a.depth = depth
			p.levels[depth] = append(p.levels[depth], a)
		}
		return
	}
	a := &agg{s: s, hint: hint, order: p.order, depth: depth, done: -1}
	p.order++
	p.aggs[s] = a
	if s.Name != "" {
		p.byTag[tagKey(s)] = append(p.byTag[tagKey(s)], a)
	} else if hint.typedef != "" {
		p.byTypedef[hint.typedef] = append(p.byTypedef[hint.typedef], a)
	}
	p.aggList = append(p.aggList, a)
	p.levels[depth] = append(p.levels[depth], a)
}

func (p *planner) ensureEnum(e *dwarfmodel.Enum, hint nameHint) *enumT {
	if x, ok := p.enums[e]; ok {
		return x
	}
	if e.Name == "" && hint.typedef == "" {
		return nil
	}
	key := e.Name
	if key == "" {
		key = "typedef " + hint.typedef
	}
	{
		sig := enumSignature(e)
		for _, x := range p.enumByTag[key] {
			if enumSignature(x.e) == sig {
				p.enums[e] = x
				return x
			}
		}
	}
	x := &enumT{e: e, hint: hint, order: p.order}
	p.order++
	p.enums[e] = x
	p.enumByTag[key] = append(p.enumByTag[key], x)
	p.enumList = append(p.enumList, x)
	return x
}

// run walks the aggregates level by level: by-value members at the same
// depth, pointees one level deeper, up to in.Depth.
func (p *planner) run() {
	for d := 0; d <= p.in.Depth; d++ {
		for i := 0; i < len(p.levels[d]); i++ {
			a := p.levels[d][i]
			if a.depth != d || (a.done >= 0 && a.done <= d) {
				continue
			}
			a.done = d
			p.walkMembers(a, a.s, d)
		}
	}
}

func (p *planner) walkMembers(a *agg, s *dwarfmodel.Struct, d int) {
	p.walkMembersOnce(a, s, d, map[*dwarfmodel.Struct]bool{})
}

// walkMembersOnce walks each anonymous member's type once, so that a
// malformed model whose anonymous members contain each other (or repeat)
// cannot hang.
func (p *planner) walkMembersOnce(a *agg, s *dwarfmodel.Struct, d int, seen map[*dwarfmodel.Struct]bool) {
	if seen[s] {
		return
	}
	seen[s] = true
	for i := range s.Members {
		m := &s.Members[i]
		if m.Type == nil {
			continue
		}
		if m.Anonymous() {
			if in, ok := dwarfmodel.Underlying(m.Type).(*dwarfmodel.Struct); ok {
				p.walkMembersOnce(a, in, d, seen)
			}
			continue
		}
		p.walk(m.Type, d, nameHint{parent: a, member: m.Name}, false)
	}
}

// walk registers what a value of type t at depth d needs generated.
func (p *planner) walk(t dwarfmodel.Type, d int, hint nameHint, viaPtr bool) {
	for i := 0; i < 100 && t != nil; i++ {
		switch x := t.(type) {
		case *dwarfmodel.Typedef:
			if hint.typedef == "" {
				hint.typedef = x.Name
			}
			t = x.Type
		case *dwarfmodel.Qualified:
			t = x.Type
		case *dwarfmodel.Array:
			if viaPtr {
				return
			}
			t = x.Elem
			hint.typedef = ""
		case *dwarfmodel.Pointer:
			if viaPtr {
				return
			}
			viaPtr = true
			t = x.Elem
			hint = nameHint{}
		case *dwarfmodel.Struct:
			if viaPtr {
				if d+1 > p.in.Depth {
					return
				}
				if x.Incomplete || x.ByteSize < 0 {
					if a := p.lookup(x); a != nil {
						x = a.s
					} else {
						return
					}
				}
				if x.Name == "" && hint.typedef == "" {
					return
				}
				p.ensure(x, d+1, hint)
				return
			}
			p.ensure(x, d, hint)
			return
		case *dwarfmodel.Enum:
			if !viaPtr {
				p.ensureEnum(x, hint)
			}
			return
		default:
			return
		}
	}
}

// name gives every generated declaration its Go name, in an order that
// depends only on the model.
func (p *planner) name() {
	top := newNamer("Kernel", "Bind", "BuildID", "Arch", "PtrSize", "BigEndian", "Relocatable")
	pre := p.in.Prefix
	aggs := append([]*agg(nil), p.aggList...)
	rank := func(h nameHint, named bool) int {
		switch {
		case named:
			return 0
		case h.typedef != "":
			return 1
		case h.varName != "":
			return 2
		}
		return 3
	}
	sort.SliceStable(aggs, func(i, j int) bool {
		a, b := aggs[i], aggs[j]
		ra, rb := rank(a.hint, a.s.Name != ""), rank(b.hint, b.s.Name != "")
		if ra != rb {
			return ra < rb
		}
		ka, kb := aggKey(a), aggKey(b)
		if ka != kb && ra < 3 {
			return ka < kb
		}
		return a.order < b.order
	})
	for _, a := range aggs {
		kind := a.s.Kind.String()
		switch {
		case a.s.Name != "":
			a.goName = top.claim(pre + GoName(a.s.Name))
			a.cname = kind + " " + a.s.Name
		case a.hint.typedef != "":
			a.goName = top.claim(pre + GoName(a.hint.typedef))
			a.cname = a.hint.typedef + " (an anonymous " + kind + ")"
		case a.hint.varName != "":
			a.goName = top.claim(pre + GoName(a.hint.varName) + "Type")
			a.cname = "the anonymous " + kind + " of variable " + a.hint.varName
		case a.hint.parent != nil:
			a.goName = top.claim(a.hint.parent.goName + GoName(a.hint.member))
			a.cname = "the anonymous " + kind + " of " + a.hint.parent.cname + " member " + a.hint.member
		default:
			a.goName = top.claim(pre + "Anon" + kind)
			a.cname = "an anonymous " + kind
		}
	}
	enums := append([]*enumT(nil), p.enumList...)
	sort.SliceStable(enums, func(i, j int) bool {
		a, b := enums[i], enums[j]
		return enumKey(a) < enumKey(b) || (enumKey(a) == enumKey(b) && a.order < b.order)
	})
	for _, e := range enums {
		if e.e.Name != "" {
			e.goName = top.claim(pre + GoName(e.e.Name))
			e.cname = "enum " + e.e.Name
		} else {
			e.goName = top.claim(pre + GoName(e.hint.typedef))
			e.cname = e.hint.typedef + " (an anonymous enum)"
		}
	}
	sort.Slice(aggs, func(i, j int) bool { return aggs[i].goName < aggs[j].goName })
	sort.Slice(enums, func(i, j int) bool { return enums[i].goName < enums[j].goName })
	p.aggList, p.enumList = aggs, enums

	kernel := newNamer("Target", "Binding", "Err", "NumCPUs")
	for _, a := range aggs {
		a.ptrName = top.claim(a.goName + "Ptr")
		a.sizeofName = top.claim("Sizeof" + a.goName)
		a.readName = kernel.claim("Read" + a.goName)
	}
	for _, e := range enums {
		for _, v := range e.e.Values {
			e.consts = append(e.consts, top.claim(pre+GoName(v.Name)))
		}
	}
	for _, a := range aggs {
		methods := newNamer("Addr", "Bytes", "KVMType", "View")
		a.fields = flatten(a.s, 0, "")
		for _, f := range a.fields {
			g := GoName(f.m.Name)
			f.method = methods.claimOr(g, g+"Field")
		}
		a.extraMethods = map[*field][2]string{}
		for _, f := range a.fields {
			if isCharArray(f.m.Type) {
				a.extraMethods[f] = [2]string{methods.claim(f.method + "Bytes"), methods.claim(f.method + "String")}
			} else if isFlexCharArray(f.m.Type) {
				a.extraMethods[f] = [2]string{"", methods.claim(f.method + "String")}
			} else if isCharPtr(f.m.Type) && !f.m.IsBitfield() {
				a.extraMethods[f] = [2]string{"", methods.claim(f.method + "String")}
			}
		}
		for _, f := range a.fields {
			if !p.in.Fixed {
				f.hasName = methods.claim("Has" + f.method)
			}
		}
		for _, f := range a.fields {
			if !f.m.IsBitfield() {
				f.offsetofName = top.claim("Offsetof" + a.goName + f.method)
			}
			if arr, ok := dwarfmodel.Underlying(f.m.Type).(*dwarfmodel.Array); ok {
				dims, _ := arrayDims(arr)
				if len(dims) == 1 {
					f.lenNames = []string{top.claim(a.goName + f.method + "Len")}
				} else {
					for i := range dims {
						f.lenNames = append(f.lenNames, top.claim(fmt.Sprintf("%s%sLen%d", a.goName, f.method, i)))
					}
				}
			}
		}
	}
	p.varNames = map[*dwarfmodel.Variable][3]string{}
	vars := append([]*dwarfmodel.Variable(nil), p.in.Vars...)
	sort.SliceStable(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
	p.in.Vars = vars
	for _, v := range vars {
		g := GoName(v.Name)
		var names [3]string
		names[0] = kernel.claim(g)
		names[1] = kernel.claim(g + "Addr")
		if isCharArray(v.Type) || isFlexCharArray(v.Type) {
			names[2] = kernel.claim(g + "String")
		}
		p.varNames[v] = names
	}
}

func aggKey(a *agg) string {
	switch {
	case a.s.Name != "":
		return tagKey(a.s)
	case a.hint.typedef != "":
		return a.hint.typedef
	}
	return a.hint.varName
}

func enumKey(e *enumT) string {
	if e.e.Name != "" {
		return "0" + e.e.Name
	}
	return "1" + e.hint.typedef
}

// field is one member accessor of an aggregate: a member of the aggregate
// itself or of an anonymous struct or union inside it, whose names C lets
// the aggregate use directly.
type field struct {
	m      *dwarfmodel.Member
	off    int64  // byte offset from the start of the generated aggregate
	bitOff int64  // bitfields: data bit offset from the start of the generated aggregate
	via    string // "" or where the anonymous member lies, for docs

	method       string
	hasName      string
	offsetofName string
	index        int // flat index in the layout table; -1 when not in it
	lenNames     []string
}

// maxFields bounds the accessors of one aggregate (task_struct has about
// 250), against malformed models that repeat anonymous members.
const maxFields = 1 << 14

func flatten(s *dwarfmodel.Struct, base int64, via string) []*field {
	budget := maxFields
	return flattenDepth(s, base, via, map[*dwarfmodel.Struct]bool{}, &budget)
}

// flattenDepth lists s's fields, promoting anonymous members' fields;
// onPath breaks cycles and budget bounds the total.
func flattenDepth(s *dwarfmodel.Struct, base int64, via string, onPath map[*dwarfmodel.Struct]bool, budget *int) []*field {
	if onPath[s] || *budget <= 0 {
		return nil
	}
	onPath[s] = true
	defer delete(onPath, s)
	var out []*field
	for i := range s.Members {
		m := &s.Members[i]
		if m.Type != nil && m.Anonymous() {
			in := dwarfmodel.Underlying(m.Type).(*dwarfmodel.Struct)
			w := fmt.Sprintf("in an anonymous %s at offset %d", in.Kind, base+m.ByteOffset)
			out = append(out, flattenDepth(in, base+m.ByteOffset, w, onPath, budget)...)
			continue
		}
		if m.Name == "" || m.Type == nil {
			continue // unnamed bitfield padding
		}
		if *budget <= 0 {
			break
		}
		*budget--
		f := &field{m: m, off: base + m.ByteOffset, via: via}
		if m.IsBitfield() {
			f.bitOff = base*8 + m.DataBitOffset
		}
		out = append(out, f)
	}
	return out
}

// arrayDims flattens arrays of arrays (also through typedefs) into one
// list of dimensions and the element type.
func arrayDims(a *dwarfmodel.Array) ([]int64, dwarfmodel.Type) {
	dims := append([]int64(nil), a.Dims...)
	elem := a.Elem
	for i := 0; i < 32; i++ {
		in, ok := dwarfmodel.Underlying(elem).(*dwarfmodel.Array)
		if !ok {
			break
		}
		dims = append(dims, in.Dims...)
		elem = in.Elem
	}
	return dims, elem
}

// isChar reports whether t is a character type.
func isChar(t dwarfmodel.Type) bool {
	b, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Base)
	if !ok || b.ByteSize != 1 {
		return false
	}
	return b.Encoding == dwarfmodel.EncSignedChar || b.Encoding == dwarfmodel.EncUnsignedChar ||
		b.Encoding == dwarfmodel.EncUTF || strings.Contains(b.Name, "char")
}

// isCharPtr reports whether t is a pointer to a character type.
func isCharPtr(t dwarfmodel.Type) bool {
	p, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Pointer)
	return ok && isChar(p.Elem)
}

// isFlexCharArray reports whether t is a one-dimensional char array of
// unknown or zero length ("extern const char linux_banner[];").
func isFlexCharArray(t dwarfmodel.Type) bool {
	a, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Array)
	if !ok {
		return false
	}
	dims, elem := arrayDims(a)
	return len(dims) == 1 && dims[0] <= 0 && isChar(elem)
}

// isCharArray reports whether t is an array of char (any signedness).
func isCharArray(t dwarfmodel.Type) bool {
	a, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Array)
	if !ok {
		return false
	}
	dims, elem := arrayDims(a)
	if len(dims) == 0 || dims[0] <= 0 {
		return false
	}
	for _, d := range dims[1:] {
		if d <= 0 {
			return false
		}
	}
	return isChar(elem)
}
