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
	Package string // Go package name of the output; "kernel" when empty
	// Types are the types to generate: names as dwarfmodel.File.Type
	// accepts them ("task_struct", "struct pid", "atomic_t"), each with all
	// its members; or members of a type, which then gets only the members
	// named (see ParseMember): "task_struct.pid",
	// "task_struct.state=__state|state", "task_struct.cpu|thread_info.cpu",
	// "mm_struct.rss_counters=rss_stat:struct percpu_counter[4]". An entry
	// "@FILE" reads more entries from FILE: one or more per line (comma-
	// separated); # starts a comment, to the end of the line.
	Types []string
	Vars  []string // global variables: "init_task"
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
	// Prefix is prepended to every top-level name of the file: types,
	// enums and their constants, Sizeof/Offsetof constants, Kernel, Bind,
	// BuildID... ("K" gives KTaskStruct, KKernel, KBind), so that one
	// package holds the bindings of several kernels. A lower-case prefix
	// ("linux") makes them unexported: bindings private to a package.
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
	Types []dwarfmodel.Type
	// Members restricts the members generated for a type of Types to
	// those listed (a type absent from it gets all its members).
	Members map[dwarfmodel.Type][]Member
	Vars    []*dwarfmodel.Variable
	Depth   int
	Fixed   bool   // see Config.Fixed
	Prefix  string // see Config.Prefix
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
	entries, err := expandTypes(cfg.Types)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	types := map[string]dwarfmodel.Type{}
	for _, e := range entries {
		name, mspec, hasMember := strings.Cut(e, ".")
		name = strings.TrimSpace(name)
		key := "t:" + name
		if name == "" || (!hasMember && seen[key]) {
			continue
		}
		t, ok := types[name]
		if !ok {
			var err error
			if t, err = f.Type(name); err != nil {
				return nil, err
			}
			types[name] = t
			in.Types = append(in.Types, t)
		}
		if !hasMember {
			seen[key] = true
			continue
		}
		m, err := ParseMember(mspec, f.Type)
		if err != nil {
			return nil, fmt.Errorf("gen: -type %s: %w", e, err)
		}
		if seen["m:"+name+"."+mspec] {
			continue
		}
		seen["m:"+name+"."+mspec] = true
		if in.Members == nil {
			in.Members = map[dwarfmodel.Type][]Member{}
		}
		in.Members[t] = append(in.Members[t], m)
	}
	for name, t := range types {
		if seen["t:"+name] {
			delete(in.Members, t) // also requested whole
		}
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
	if in.Prefix != "" && (!token.IsIdentifier(in.Prefix) || in.Prefix == "_") {
		return nil, fmt.Errorf("gen: prefix %q is not a Go identifier", in.Prefix)
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
	for _, a := range p.aggList {
		if a.all {
			a.sel = nil
		}
		if len(a.sel) > 0 {
			if err := p.selectFields(a); err != nil {
				return nil, err
			}
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

	// Member selection (Input.Members): all says the type was also
	// requested whole; selFields are the selected members, resolved.
	all       bool
	sel       []Member
	selFields []*field
	// opaque: only pointed to, never generated: a type with no members,
	// so that pointers to it are typed.
	opaque bool

	// Filled by name().
	base                          string // goName without the prefix
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
	names     fixedNames
	opaque    map[string]*agg // pointees not generated, by opaqueKey
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

// fixedNames are the top-level names of the file's scaffolding, with the
// prefix.
type fixedNames struct {
	Kernel, Bind, BuildID, Arch, PtrSize, BigEndian, Relocatable, Spec string
}

func newFixedNames(pre string) fixedNames {
	n := fixedNames{Kernel: "Kernel", Bind: "Bind", BuildID: "BuildID", Arch: "Arch", PtrSize: "PtrSize",
		BigEndian: "BigEndian", Relocatable: "Relocatable", Spec: "kvmSpec"}
	if pre != "" {
		n = fixedNames{Kernel: pre + n.Kernel, Bind: pre + n.Bind, BuildID: pre + n.BuildID, Arch: pre + n.Arch,
			PtrSize: pre + n.PtrSize, BigEndian: pre + n.BigEndian, Relocatable: pre + n.Relocatable,
			Spec: "kvmSpec" + strings.ToUpper(pre[:1]) + pre[1:]}
	}
	return n
}

func newPlanner(in Input) *planner {
	return &planner{
		in:        in,
		names:     newFixedNames(in.Prefix),
		opaque:    map[string]*agg{},
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
		a := p.ensure(x, 0, hint)
		if a == nil {
			return nil
		}
		if sel, ok := p.in.Members[t]; ok {
			a.sel = append(a.sel, sel...)
		} else {
			a.all = true
		}
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

func (p *planner) ensure(s *dwarfmodel.Struct, depth int, hint nameHint) *agg {
	if s.Incomplete || s.ByteSize < 0 {
		return nil
	}
	if a := p.lookupTypedef(s, hint.typedef); a != nil {
		if depth < a.depth {
			a.depth = depth
			p.levels[depth] = append(p.levels[depth], a)
		}
		return a
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
	return a
}

// opaqueKey names the type a pointer to s points to, when it has a name to
// give its opaque type: its tag, or the typedef naming it.
func opaqueKey(s *dwarfmodel.Struct, typedef string) string {
	switch {
	case s.Name != "":
		return tagKey(s)
	case typedef != "":
		return "typedef " + typedef
	}
	return ""
}

// noteOpaque records that a pointer to s, not generated, needs an opaque
// type (unless s turns out to be generated: see finishOpaque).
func (p *planner) noteOpaque(s *dwarfmodel.Struct, hint nameHint) {
	key := opaqueKey(s, hint.typedef)
	if key == "" || p.opaque[key] != nil {
		return
	}
	p.opaque[key] = &agg{s: s, hint: nameHint{typedef: hint.typedef}, order: p.order, done: -1, opaque: true}
	p.order++
}

// finishOpaque adds the opaque types of the pointees that were not
// generated.
func (p *planner) finishOpaque() {
	keys := make([]string, 0, len(p.opaque))
	for k := range p.opaque {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := p.opaque[k]
		if a.s.Name != "" && len(p.byTag[k]) > 0 || a.s.Name == "" && len(p.byTypedef[a.hint.typedef]) > 0 {
			delete(p.opaque, k)
			continue
		}
		p.aggList = append(p.aggList, a)
	}
}

// opaqueFor returns the opaque type of the pointee s, if any.
func (p *planner) opaqueFor(s *dwarfmodel.Struct, typedef string) *agg {
	if k := opaqueKey(s, typedef); k != "" {
		return p.opaque[k]
	}
	return nil
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
	p.finishOpaque()
}

func (p *planner) walkMembers(a *agg, s *dwarfmodel.Struct, d int) {
	if len(a.sel) > 0 {
		for _, fl := range a.selFields {
			p.walk(fl.m.Type, d, nameHint{parent: a, member: fl.path}, false)
		}
		return
	}
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
					p.noteOpaque(x, hint)
					return
				}
				if x.Incomplete || x.ByteSize < 0 {
					if a := p.lookup(x); a != nil {
						x = a.s
					} else {
						p.noteOpaque(x, hint)
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
	n := p.names
	top := newNamer(n.Kernel, n.Bind, n.BuildID, n.Arch, n.PtrSize, n.BigEndian, n.Relocatable, n.Spec)
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
			a.goName = top.claim(a.hint.parent.goName + GoName(strings.ReplaceAll(a.hint.member, ".", "_")))
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
		a.base = strings.TrimPrefix(a.goName, pre)
		a.ptrName = top.claim(a.goName + "Ptr")
		if a.opaque {
			continue
		}
		a.sizeofName = top.claim(pre + "Sizeof" + a.base)
		a.readName = kernel.claim("Read" + a.base)
	}
	for _, e := range enums {
		for _, v := range e.e.Values {
			e.consts = append(e.consts, top.claim(pre+GoName(v.Name)))
		}
	}
	for _, a := range aggs {
		if a.opaque {
			continue
		}
		methods := newNamer("Addr", "Bytes", "KVMType", "View")
		if len(a.sel) > 0 {
			a.fields = a.selFields
		} else {
			a.fields = flatten(a.s, 0, "")
		}
		for _, f := range a.fields {
			name := f.accName
			if name == "" {
				name = f.m.Name
			}
			g := GoName(name)
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
			if !f.m.IsBitfield() && !f.absent {
				f.offsetofName = top.claim(pre + "Offsetof" + a.base + f.method)
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

	// Selected members (Input.Members): the accessor's C-like name, the
	// paths the member is looked for by, the one found in the generation
	// kernel, and whether it has none of them (a declared type).
	accName string
	paths   []string
	path    string
	absent  bool

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
