package dwarfmodel

import (
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// kernelTypes are the types the issue names: with everything they reach
// they must equal pahole's reading of the same vmlinux.
var kernelTypes = []string{
	"task_struct", "mm_struct", "vm_area_struct", "cred", "files_struct",
	"pid", "signal_struct", "uts_namespace", "list_head",
}

// reach returns every type reachable from roots.
func reach(roots ...Type) []Type {
	seen := map[Type]bool{}
	var out []Type
	stack := append([]Type(nil), roots...)
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t == nil || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
		switch x := t.(type) {
		case *Struct:
			for _, m := range x.Members {
				stack = append(stack, m.Type)
			}
		case *Typedef:
			stack = append(stack, x.Type)
		case *Pointer:
			stack = append(stack, x.Elem)
		case *Array:
			stack = append(stack, x.Elem)
		case *Qualified:
			stack = append(stack, x.Type)
		case *Func:
			stack = append(stack, x.Return)
			stack = append(stack, x.Params...)
		}
	}
	return out
}

func BenchmarkOpenVmlinux(b *testing.B) {
	path := testfix.Path(b, "linux-amd64/vmlinux")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkKernelTypeSet(b *testing.B) {
	path := testfix.Path(b, "linux-amd64/vmlinux")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var roots []Type
		for _, n := range kernelTypes {
			t, err := f.Type(n)
			if err != nil {
				b.Fatal(err)
			}
			roots = append(roots, t)
		}
		if i == 0 {
			b.ReportMetric(float64(len(reach(roots...))), "types")
		}
		f.Close()
	}
}

// TestKernelIndex checks the index of the vmlinux against a full scan by
// Go's debug/dwarf (independent code): the same set of names of top-level
// structs, unions, enums, typedefs, base types and variables with an
// address.
func TestKernelIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("full debug/dwarf scan of the vmlinux")
	}
	path := testfix.Path(t, "linux-amd64/vmlinux")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	dw, err := ef.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	wantVars := map[string]bool{}
	r := dw.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit || e.Tag == dwarf.TagPartialUnit {
			continue
		}
		if e.Children {
			r.SkipChildren()
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		switch e.Tag {
		case dwarf.TagStructType:
			name = "struct " + name
		case dwarf.TagUnionType:
			name = "union " + name
		case dwarf.TagEnumerationType:
			name = "enum " + name
		case dwarf.TagTypedef, dwarf.TagBaseType:
		case dwarf.TagVariable:
			loc, _ := e.Val(dwarf.AttrLocation).([]byte)
			if len(loc) == 0 || loc[0] != 0x03 {
				continue
			}
			if name == "" {
				if spec, ok := e.Val(dwarf.AttrSpecification).(dwarf.Offset); ok {
					sr := dw.Reader()
					sr.Seek(spec)
					if se, err := sr.Next(); err == nil && se != nil {
						name, _ = se.Val(dwarf.AttrName).(string)
					}
				}
			}
			if name != "" {
				wantVars[name] = true
			}
			continue
		default:
			continue
		}
		if strings.HasSuffix(name, " ") || name == "" {
			continue
		}
		want[name] = true
	}
	got := f.TypeNames()
	if len(got) != len(want) {
		t.Errorf("%d type names, debug/dwarf %d", len(got), len(want))
	}
	for _, n := range got {
		if !want[n] {
			t.Errorf("extra type name %q", n)
		}
		delete(want, n)
	}
	for n := range want {
		t.Errorf("missing type name %q", n)
	}
	gv := f.VariableNames()
	if len(gv) != len(wantVars) {
		t.Errorf("%d variables, debug/dwarf %d", len(gv), len(wantVars))
	}
	for _, n := range gv {
		delete(wantVars, n)
	}
	for n := range wantVars {
		t.Errorf("missing variable %q", n)
	}
}

// kernelReach opens the fixture vmlinux (closed when the test ends) and
// returns its path and every type reached from kernelTypes.
func kernelReach(t *testing.T) (string, []Type) {
	t.Helper()
	path := testfix.Path(t, "linux-amd64/vmlinux")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var roots []Type
	for _, n := range kernelTypes {
		ty, err := f.Type(n)
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, ty)
	}
	return path, reach(roots...)
}

// TestKernelAgainstPahole decodes the kernel types and every named
// struct and union they reach, and compares each one's size and every
// member's offset, size, bit size and data bit offset with one run of
// `pahole -F dwarf` on the same vmlinux.
func TestKernelAgainstPahole(t *testing.T) {
	if testing.Short() {
		t.Skip("pahole on the vmlinux takes ~20 s and 3 GB")
	}
	path, reached := kernelReach(t)
	byName := map[string]*Struct{}
	for _, ty := range reached {
		if s, ok := ty.(*Struct); ok && s.Name != "" && !s.Incomplete {
			if old, dup := byName[s.TypeName()]; dup && old != s {
				// Two different definitions of one tag (only possible
				// when they differ in size or place): pahole would print
				// one of them, compare only the indexed one.
				continue
			}
			byName[s.TypeName()] = s
		}
	}
	if len(byName) < 500 {
		t.Fatalf("only %d named aggregates reached", len(byName))
	}
	var names []string
	for n := range byName {
		names = append(names, stripTag(n))
	}
	sort.Strings(names)
	// pahole -C with a long list stops at the first name it misses in
	// the first units: print everything instead (one run).
	ph := runPahole(t, path, nil)
	compared, members := 0, 0
	for _, n := range names {
		for _, kind := range []string{"struct ", "union "} {
			s := byName[kind+n]
			if s == nil {
				continue
			}
			want, ok := ph[kind+n]
			if !ok {
				t.Errorf("pahole printed no %s%s", kind, n)
				continue
			}
			if len(want) != len(s.Members) {
				t.Errorf("%s: %d members, pahole %d", s.TypeName(), len(s.Members), len(want))
				continue
			}
			compared++
			for i, m := range s.Members {
				p := want[i]
				members++
				where := fmt.Sprintf("%s.%s (member %d, pahole %q)", s.TypeName(), m.Name, i, p.decl)
				size := m.Type.Size()
				if size < 0 {
					size = 0
				}
				if m.ByteOffset != p.off || size != p.size || m.BitSize != p.bits || m.DataBitOffset != p.off*8+p.bit {
					t.Errorf("%s: offset %d size %d bits %d dbo %d; pahole %d size %d bits %d dbo %d",
						where, m.ByteOffset, size, m.BitSize, m.DataBitOffset, p.off, p.size, p.bits, p.off*8+p.bit)
				}
			}
		}
	}
	t.Logf("compared %d aggregates, %d members with pahole", compared, members)
}

// TestIndexCache opens the vmlinux with an index cache twice (writing it,
// then reading it) and checks that both opens give the same index and the
// same decoded types; then damages the cache file and checks it is
// ignored.
func TestIndexCache(t *testing.T) {
	path := testfix.Path(t, "linux-amd64/vmlinux")
	dir := t.TempDir()
	describe := func(f *File) string {
		var b strings.Builder
		fmt.Fprintln(&b, len(f.TypeNames()), len(f.VariableNames()), f.TypeNames()[:20], f.VariableNames()[:20])
		for _, n := range []string{"task_struct", "mm_struct"} {
			ty, err := f.Type(n)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ty.(*Struct).Members {
				fmt.Fprintf(&b, "%s@%d:%d,", Declare(m.Type, m.Name), m.DataBitOffset, m.BitSize)
			}
		}
		v, err := f.Variable("init_task")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "init_task@%#x", v.Address)
		return b.String()
	}
	var results []string
	for i := 0; i < 3; i++ {
		f, err := OpenWith(path, Options{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, describe(f))
		if f.fromCache != (i == 1) {
			t.Errorf("open %d: index from the cache %v", i, f.fromCache)
		}
		f.Close()
		files, _ := os.ReadDir(dir)
		if len(files) != 1 {
			t.Fatalf("cache dir holds %d files", len(files))
		}
		if i == 1 {
			// Damage the cache: the next open must ignore it.
			p := dir + "/" + files[0].Name()
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}
	}
	f, _ := Open(path)
	want := describe(f)
	f.Close()
	for i, r := range results {
		if r != want {
			t.Errorf("open %d with the cache differs from the uncached open", i)
		}
	}
}

// BenchmarkKernelTypeSetCached is BenchmarkKernelTypeSet with the index
// read from Options.CacheDir (written once before the timer starts).
func BenchmarkKernelTypeSetCached(b *testing.B) {
	path := testfix.Path(b, "linux-amd64/vmlinux")
	opts := Options{CacheDir: b.TempDir()}
	f, err := OpenWith(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := OpenWith(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		if !f.fromCache {
			b.Fatal("index not read from the cache")
		}
		for _, n := range kernelTypes {
			if _, err := f.Type(n); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}

// TestKernelVariables checks the address of every indexed global variable
// of the vmlinux whose name the ELF symbol table holds exactly once
// against that symbol (the symbol table is written by the linker, not
// from DWARF).
func TestKernelVariables(t *testing.T) {
	path := testfix.Path(t, "linux-amd64/vmlinux")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range syms {
		count[s.Name]++
	}
	checked := 0
	for _, n := range f.VariableNames() {
		if count[n] != 1 {
			continue
		}
		v, err := f.Variable(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		s, _ := f.Symbol(n)
		if v.Address != s.Value {
			t.Errorf("%s: address %#x, symbol %#x", n, v.Address, s.Value)
		}
		// An object of a struct ending in a flexible array can be larger
		// than its type (init_mm and its cpu_bitmap[]).
		if sz := v.Type.Size(); sz > 0 && s.Size != 0 && uint64(sz) != s.Size && !(uint64(sz) < s.Size && endsFlexible(v.Type)) {
			t.Errorf("%s: type %s of %d bytes, symbol of %d", n, Declare(v.Type, ""), sz, s.Size)
		}
		checked++
	}
	if checked < 10000 {
		t.Errorf("only %d variables checked", checked)
	}
	t.Logf("%d variables checked against .symtab", checked)
}

// TestKernelEnumsAgainstDrgn compares every named enum reached from the
// kernel types with drgn's reading of the same vmlinux: enumerator names,
// values and signedness.
func TestKernelEnumsAgainstDrgn(t *testing.T) {
	path, reached := kernelReach(t)
	enums := map[string]*Enum{}
	for _, ty := range reached {
		if e, ok := ty.(*Enum); ok && e.Name != "" {
			enums[e.Name] = e
		}
	}
	if len(enums) < 20 {
		t.Fatalf("only %d enums reached", len(enums))
	}
	var names []string
	for n := range enums {
		names = append(names, n)
	}
	sort.Strings(names)
	out := testfix.Drgn(t, "enums", path, "", names...)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(names) {
		t.Fatalf("drgn printed %d lines for %d enums", len(lines), len(names))
	}
	for _, l := range lines {
		fs := strings.Fields(l)
		e := enums[fs[0]]
		var got []string
		for _, v := range e.Values {
			if e.Signed {
				got = append(got, fmt.Sprintf("%s=%d", v.Name, v.Value))
			} else {
				got = append(got, fmt.Sprintf("%s=%d", v.Name, uint64(v.Value)))
			}
		}
		signed := "0"
		if e.Signed {
			signed = "1"
		}
		if signed != fs[1] || strings.Join(got, " ") != strings.Join(fs[2:], " ") {
			t.Errorf("enum %s: signed %s %v; drgn %s", e.Name, signed, got, l)
		}
	}
	t.Logf("%d enums compared with drgn", len(names))
}

// endsFlexible reports whether t is a struct whose last member is a
// flexible array.
func endsFlexible(t Type) bool {
	s, ok := Underlying(t).(*Struct)
	if !ok || len(s.Members) == 0 {
		return false
	}
	a, ok := Underlying(s.Members[len(s.Members)-1].Type).(*Array)
	return ok && a.Dims[0] == -1
}
