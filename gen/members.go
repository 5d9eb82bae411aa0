package gen

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// Member selects one member of a generated aggregate (Input.Members): the
// aggregate then gets accessors for the members selected only.
type Member struct {
	// Name names the accessor (a C-like identifier, turned into a Go name
	// as member names are); "" names it after Paths[0], dots as
	// underscores ("thread_info.cpu" gives ThreadInfoCPU).
	Name string
	// Paths are where the member is looked for, in order, in the kernel
	// the bindings are generated from and, at Bind, in the target's types:
	// a member name (found through anonymous members, as C does) or names
	// joined by dots through named members of struct or union type
	// ("thread_info.cpu"). More than one path serves a member that was
	// renamed or moved between kernel versions: the accessor reads the
	// first the bound kernel has ("__state" or "state").
	Paths []string
	// Type, when set, is the member's type, for a shape the generation
	// kernel does not have (a member added, or whose type changed, in
	// another kernel version): the accessor decodes that type, and reads
	// the member only in kernels that have it so (in the generation
	// kernel too, when it has a member of that path and type).
	Type dwarfmodel.Type
}

// ParseMember parses a member selection as Config.Types spells it after
// the type name and its dot: [NAME=]PATH[|PATH...][:TYPE], where TYPE is
// a type lookup accepts ("struct percpu_counter"), optionally followed by
// one array dimension ("struct percpu_counter[4]", "[]" for a flexible
// array).
func ParseMember(spec string, lookup func(string) (dwarfmodel.Type, error)) (Member, error) {
	var m Member
	rest := strings.TrimSpace(spec)
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		ctype := strings.TrimSpace(rest[i+1:])
		rest = strings.TrimSpace(rest[:i])
		t, err := parseDeclType(ctype, lookup)
		if err != nil {
			return m, err
		}
		m.Type = t
	}
	if name, paths, ok := strings.Cut(rest, "="); ok {
		m.Name = strings.TrimSpace(name)
		rest = paths
		if !isCIdent(m.Name) {
			return m, fmt.Errorf("accessor name %q is not a C identifier", m.Name)
		}
	}
	for _, p := range strings.Split(rest, "|") {
		p = strings.TrimSpace(p)
		for _, part := range strings.Split(p, ".") {
			if !isCIdent(part) {
				return m, fmt.Errorf("member path %q: %q is not a C identifier", p, part)
			}
		}
		m.Paths = append(m.Paths, p)
	}
	if len(m.Paths) > 255 {
		return m, errors.New("more than 255 alternative paths")
	}
	return m, nil
}

func isCIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r != '_' && !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// parseDeclType reads "TYPE", "TYPE[N]" or "TYPE[]".
func parseDeclType(s string, lookup func(string) (dwarfmodel.Type, error)) (dwarfmodel.Type, error) {
	name, dim, arr := strings.Cut(s, "[")
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, fmt.Errorf("member type %q: no type name", s)
	}
	t, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if !arr {
		return t, nil
	}
	dim, ok := strings.CutSuffix(strings.TrimSpace(dim), "]")
	if !ok {
		return nil, fmt.Errorf("member type %q: want TYPE[N] or TYPE[]", s)
	}
	n := int64(-1)
	if dim = strings.TrimSpace(dim); dim != "" {
		v, err := strconv.ParseInt(dim, 0, 32)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("member type %q: bad dimension %q", s, dim)
		}
		n = v
	}
	return &dwarfmodel.Array{Elem: t, Dims: []int64{n}}, nil
}

// expandTypes replaces each "@FILE" entry by the entries FILE lists
// (comments run from # to the end of the line).
func expandTypes(in []string) ([]string, error) {
	var out []string
	for _, e := range in {
		e = strings.TrimSpace(e)
		file, ok := strings.CutPrefix(e, "@")
		if !ok {
			out = append(out, e)
			continue
		}
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("gen: -type @%s: %w", file, err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			for _, x := range strings.Split(line, ",") {
				if x = strings.TrimSpace(x); x != "" {
					out = append(out, x)
				}
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("gen: -type @%s: %w", file, err)
		}
	}
	return out, nil
}

// selectFields resolves the members selected for a (a.sel) in the
// generation kernel's layout of a: each becomes a field, at the first of
// its paths the kernel has (or absent, for a declared type the kernel
// does not have there).
func (p *planner) selectFields(a *agg) error {
	seen := map[string]bool{}
	for _, m := range a.sel {
		if len(m.Paths) == 0 {
			return fmt.Errorf("gen: %s: member selection without a path", describeAgg(a))
		}
		key := m.Name + "=" + strings.Join(m.Paths, "|")
		if m.Type != nil {
			key += ":" + dwarfmodel.Declare(m.Type, "")
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		name := m.Name
		if name == "" {
			name = strings.ReplaceAll(m.Paths[0], ".", "_")
		}
		fl := &field{accName: name, paths: m.Paths}
		for _, path := range m.Paths {
			mem, base, ok := dwarfmodel.FindPath(a.s, path)
			if !ok || mem.Type == nil {
				continue
			}
			if m.Type != nil && dwarfmodel.Declare(mem.Type, "") != dwarfmodel.Declare(m.Type, "") {
				continue
			}
			fl.m, fl.off, fl.path = mem, base+mem.ByteOffset, path
			if mem.IsBitfield() {
				fl.bitOff = base*8 + mem.DataBitOffset
			}
			break
		}
		if fl.m == nil {
			if m.Type == nil {
				return fmt.Errorf("gen: %s has no member %s", describeAgg(a), strings.Join(m.Paths, " or "))
			}
			// A shape of other kernels: absent from this one.
			if p.in.Fixed {
				return fmt.Errorf("gen: %s has no member %s of type %s: fixed bindings cannot read it in another kernel", describeAgg(a), strings.Join(m.Paths, " or "), dwarfmodel.Declare(m.Type, ""))
			}
			fl.m = &dwarfmodel.Member{Name: m.Paths[0], Type: m.Type}
			fl.path, fl.absent = m.Paths[0], true
		}
		if len(m.Paths) > 1 || strings.Contains(fl.path, ".") {
			fl.via = "member " + strings.Join(m.Paths, " or ")
		}
		a.selFields = append(a.selFields, fl)
	}
	return nil
}

func describeAgg(a *agg) string {
	if a.s.Name != "" {
		return a.s.Kind.String() + " " + a.s.Name
	}
	if a.hint.typedef != "" {
		return a.hint.typedef
	}
	return "an anonymous " + a.s.Kind.String()
}
