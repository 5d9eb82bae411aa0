package btfmodel

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
	"github.com/kvmgen/kvmgen/dwarfmodel"
)

//go:embed globals.txt
var globalsTxt string

// Global is one entry of the globals table: a kernel global whose type BTF
// does not record.
type Global struct {
	Name string // "init_task"
	Type string // its C type as ParseType reads it: "struct task_struct", "long unsigned int [3]"
	Src  string // where the kernel defines it
}

// Globals returns the built-in table of globals (globals.txt), sorted by
// name.
func Globals() []Global {
	var out []Global
	for _, line := range strings.Split(globalsTxt, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Split(line, "\t")
		if len(fs) < 2 {
			continue
		}
		g := Global{Name: fs[0], Type: fs[1]}
		if len(fs) > 2 {
			g.Src = fs[2]
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AddGlobal declares (or redeclares) a global's type for Variable: what
// `kvmgen gen -var NAME:TYPE` does. typ is parsed as ParseType reads it.
func (f *File) AddGlobal(name, typ string) error {
	if _, err := f.ParseType(typ); err != nil {
		return fmt.Errorf("global %s: %w", name, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.extra == nil {
		f.extra = map[string]string{}
	}
	f.extra[name] = typ
	return nil
}

func (f *File) globalType(name string) (string, bool) {
	f.mu.Lock()
	t, ok := f.extra[name]
	f.mu.Unlock()
	if ok {
		return t, true
	}
	for _, g := range Globals() {
		if g.Name == name {
			return g.Type, true
		}
	}
	return "", false
}

// Variable returns a global and its type: from the BTF when it records the
// variable (per-CPU variables, in the .data..percpu section), else from
// the globals table or AddGlobal. Address is Options.Symbol's, 0 without.
func (f *File) Variable(name string) (*dwarfmodel.Variable, error) {
	v := &dwarfmodel.Variable{Name: name}
	if f.opts.Symbol != nil {
		if a, ok := f.opts.Symbol(name); ok {
			v.Address = a
		}
	}
	if spec, ok := f.globalType(name); ok {
		t, err := f.ParseType(spec)
		if err != nil {
			return nil, fmt.Errorf("%s: global %s: %w", f.opts.Name, name, err)
		}
		v.Type = t
		return v, nil
	}
	for _, t := range f.candidates(name) {
		if bv, ok := t.(*btf.Var); ok {
			ct, err := f.convert(bv.Type)
			if err != nil {
				return nil, err
			}
			v.Type = ct
			f.mu.Lock()
			v.Off = f.typeID(bv)
			f.mu.Unlock()
			return v, nil
		}
	}
	return nil, &dwarfmodel.NotFoundError{File: f.opts.Name, Kind: "variable (BTF records only per-CPU variables: give its type with -var NAME:TYPE)", Name: name, Suggestions: dwarfmodel.Suggest(name, f.VariableNames())}
}

// VariableNames lists the variables Variable knows: the BTF's own (per-CPU)
// and the globals table's, sorted.
func (f *File) VariableNames() []string {
	seen := map[string]bool{}
	var names []string
	for t, err := range f.spec.All() {
		if err != nil {
			break
		}
		if v, ok := t.(*btf.Var); ok && !seen[v.Name] {
			seen[v.Name] = true
			names = append(names, v.Name)
		}
	}
	for _, g := range Globals() {
		if !seen[g.Name] {
			seen[g.Name] = true
			names = append(names, g.Name)
		}
	}
	f.mu.Lock()
	for n := range f.extra {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	f.mu.Unlock()
	sort.Strings(names)
	return names
}

// TypeError is returned by ParseType for a type it cannot read or find.
type TypeError struct {
	Spec string
	Msg  string
}

func (e *TypeError) Error() string { return fmt.Sprintf("type %q: %s", e.Spec, e.Msg) }

// ParseType reads a C type name and finds it in the BTF:
//
//	struct task_struct        a struct (likewise union, enum)
//	long unsigned int         a typedef or base type name
//	const char []             qualifiers first; [N] and [] (unknown length) last
//	struct swap_info_struct * pointers
//	struct { seq, timekeeper } the anonymous struct with exactly these members
func (f *File) ParseType(spec string) (dwarfmodel.Type, error) {
	s := strings.Join(strings.Fields(spec), " ")
	var dims []int64
	for strings.HasSuffix(s, "]") {
		i := strings.LastIndex(s, "[")
		if i < 0 {
			return nil, &TypeError{spec, "unbalanced ]"}
		}
		n := int64(-1)
		if in := strings.TrimSpace(s[i+1 : len(s)-1]); in != "" {
			v, err := strconv.ParseInt(in, 0, 64)
			if err != nil || v < 0 || v > 1<<32 {
				return nil, &TypeError{spec, fmt.Sprintf("bad array length %q", in)}
			}
			n = v
		}
		dims = append([]int64{n}, dims...)
		s = strings.TrimSpace(s[:i])
	}
	ptrs := 0
	for strings.HasSuffix(s, "*") {
		ptrs++
		s = strings.TrimSpace(s[:len(s)-1])
	}
	var q dwarfmodel.Qualified
	for {
		switch {
		case strings.HasPrefix(s, "const "):
			q.Const, s = true, s[6:]
			continue
		case strings.HasPrefix(s, "volatile "):
			q.Volatile, s = true, s[9:]
			continue
		}
		break
	}
	var t dwarfmodel.Type
	if strings.HasPrefix(s, "struct {") || strings.HasPrefix(s, "union {") {
		at, err := f.anonymous(spec, s)
		if err != nil {
			return nil, err
		}
		t = at
	} else {
		nt, err := f.Type(s)
		if err != nil {
			return nil, &TypeError{spec, err.Error()}
		}
		t = nt
	}
	if q.Const || q.Volatile {
		t = &dwarfmodel.Qualified{Const: q.Const, Volatile: q.Volatile, Type: t}
	}
	for i := 0; i < ptrs; i++ {
		t = &dwarfmodel.Pointer{Elem: t, ByteSize: int64(f.dm.PtrSize)}
	}
	if len(dims) > 0 {
		t = &dwarfmodel.Array{Elem: t, Dims: dims}
	}
	return t, nil
}

// anonymous finds the anonymous struct or union whose members are named as
// in "struct { a, b }".
func (f *File) anonymous(spec, s string) (dwarfmodel.Type, error) {
	union := strings.HasPrefix(s, "union")
	open, end := strings.Index(s, "{"), strings.LastIndex(s, "}")
	if end < open {
		return nil, &TypeError{spec, "expected \"struct { member, ... }\""}
	}
	var want []string
	for _, m := range strings.Split(s[open+1:end], ",") {
		if m = strings.TrimSpace(m); m != "" {
			want = append(want, m)
		}
	}
	if len(want) == 0 {
		return nil, &TypeError{spec, "no member names"}
	}
	same := func(ms []btf.Member) bool {
		if len(ms) != len(want) {
			return false
		}
		for i, m := range ms {
			if m.Name != want[i] {
				return false
			}
		}
		return true
	}
	match := func(t btf.Type) (dwarfmodel.Type, bool) {
		switch x := t.(type) {
		case *btf.Struct:
			if !union && x.Name == "" && same(x.Members) {
				ct, err := f.convert(x)
				return ct, err == nil
			}
		case *btf.Union:
			if union && x.Name == "" && same(x.Members) {
				ct, err := f.convert(x)
				return ct, err == nil
			}
		}
		return nil, false
	}
	// pahole emits an anonymous type beside the first use of the types of
	// its members: look near a type named like a member first (tk_core's
	// struct is a few IDs from struct timekeeper), then everywhere. This
	// spares decoding all of the kernel's 100,000 types.
	for _, m := range want {
		for _, near := range f.candidates(m) {
			id, err := f.spec.TypeID(near)
			if err != nil {
				continue
			}
			for d := btf.TypeID(1); d < 256; d++ {
				for _, cand := range []btf.TypeID{id + d, id - d} {
					if t, err := f.spec.TypeByID(cand); err == nil {
						if ct, ok := match(t); ok {
							return ct, nil
						}
					}
				}
			}
		}
	}
	for t, err := range f.spec.All() {
		if err != nil {
			return nil, &TypeError{spec, err.Error()}
		}
		if ct, ok := match(t); ok {
			return ct, nil
		}
	}
	return nil, &TypeError{spec, "no anonymous aggregate with these members in the BTF"}
}
