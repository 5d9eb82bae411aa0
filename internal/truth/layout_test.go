package truth

import (
	"debug/elf"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// flattenModel lays out s as the oracles print it: every member with its
// absolute offset, anonymous members named {N}, nested aggregates (through
// qualifiers, not typedefs) expanded.
func flattenModel(s *dwarfmodel.Struct) map[string]field {
	out := map[string]field{}
	var walk func(s *dwarfmodel.Struct, prefix string, base int64, depth int)
	walk = func(s *dwarfmodel.Struct, prefix string, base int64, depth int) {
		if depth > 16 {
			return
		}
		anon := 0
		for i := range s.Members {
			m := &s.Members[i]
			name := m.Name
			if name == "" {
				name = fmt.Sprintf("{%d}", anon)
				anon++
			}
			f := field{Path: prefix + name, Offset: base + m.ByteOffset, Size: m.Type.Size()}
			if m.Name != "" {
				f.Decl = dwarfmodel.Declare(m.Type, m.Name)
				if m.IsBitfield() {
					f.Decl += fmt.Sprintf(":%d", m.BitSize)
				}
			}
			t := dwarfmodel.Underlying0(m.Type)
			if a, ok := t.(*dwarfmodel.Array); ok {
				var b strings.Builder
				for _, d := range a.Dims {
					if d < 0 {
						b.WriteString("[]")
					} else {
						fmt.Fprintf(&b, "[%d]", d)
					}
				}
				f.Dims = b.String()
				if f.Size < 0 { // flexible array: the oracles print 0
					f.Size = 0
				}
			}
			if m.IsBitfield() {
				f.BitSize = m.BitSize
				f.BitOffset = base*8 + m.DataBitOffset
				f.Offset = -1
			}
			if st, ok := t.(*dwarfmodel.Struct); ok {
				f.Expanded = true
				walk(st, f.Path+".", base+m.ByteOffset, depth+1)
			}
			out[f.Path] = f
		}
	}
	walk(s, "", 0, 0)
	return out
}

func parentPath(p string) string {
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[:i]
	}
	return ""
}

// compareLayout checks kvmgen's layout of one aggregate against an
// oracle's. Where both list an aggregate's members (the top level, and
// every nested aggregate both expanded), the two member lists are equal:
// same names, and for each the same offset, size, bit size, bit offset and
// array dimensions.
func compareLayout(t *testing.T, oracle, name string, want *layout, got map[string]field) (compared int) {
	t.Helper()
	wantExp := map[string]bool{"": true}
	for _, o := range want.Fields {
		if o.Expanded {
			wantExp[o.Path] = true
		}
	}
	gotExp := map[string]bool{"": true}
	for _, k := range got {
		if k.Expanded {
			gotExp[k.Path] = true
		}
	}
	for _, o := range want.Fields {
		if !gotExp[parentPath(o.Path)] {
			continue
		}
		k, ok := got[o.Path]
		if !ok {
			t.Errorf("%s.%s: %s prints it, kvmgen has no such member", name, o.Path, oracle)
			continue
		}
		compared++
		if (o.Offset >= 0 && o.Offset != k.Offset) || o.Size != k.Size || o.BitSize != k.BitSize ||
			o.BitOffset != k.BitOffset || o.Dims != k.Dims {
			t.Errorf("%s.%s:\n  kvmgen offset %d size %d bits %d bitoff %d dims %q\n  %s offset %d size %d bits %d bitoff %d dims %q",
				name, o.Path, k.Offset, k.Size, k.BitSize, k.BitOffset, k.Dims,
				oracle, o.Offset, o.Size, o.BitSize, o.BitOffset, o.Dims)
		}
	}
	var paths []string
	for p := range got {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if wantExp[parentPath(p)] && want.field(p) == nil {
			t.Errorf("%s.%s: kvmgen has it, %s does not print it", name, p, oracle)
		}
	}
	return compared
}

// TestLayout: kvmgen's DWARF model equals pahole and gdb for every member of
// every aggregate of truth.c, enum values equal gdb's, and global variable
// addresses and sizes equal the ELF symbol table's, on all 8 variants, for
// both the executable and the relocatable object.
func TestLayout(t *testing.T) {
	testfix.Tool(t, "pahole")
	for _, v := range layoutVariants {
		for _, file := range []string{"prog", "prog.o"} {
			t.Run(v.Pkg()+"/"+file, func(t *testing.T) {
				path := v.File(t, file)
				f, err := dwarfmodel.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				checkDataModel(t, f, v)
				pa, err := runPahole(t, path, tags(aggregates))
				if err != nil {
					t.Fatal(err)
				}
				gd, genums, err := runGDB(t, path, aggregates, enums)
				if err != nil {
					t.Fatal(err)
				}
				total := 0
				for _, name := range aggregates {
					ty, err := f.Type(name)
					if err != nil {
						t.Errorf("Type(%q): %v", name, err)
						continue
					}
					st, ok := dwarfmodel.Underlying(ty).(*dwarfmodel.Struct)
					if !ok {
						t.Errorf("Type(%q) is %T, want *dwarfmodel.Struct", name, ty)
						continue
					}
					if got := st.Kind.String() + " " + st.Name; got != name {
						t.Errorf("Type(%q) is %q", name, got)
					}
					if gd[name] == nil || pa[name] == nil {
						t.Fatalf("%s: missing from pahole (%v) or gdb (%v) output", name, pa[name] != nil, gd[name] != nil)
					}
					if st.Size() != gd[name].Size {
						t.Errorf("%s: size %d, gdb %d", name, st.Size(), gd[name].Size)
					}
					if pa[name].Size >= 0 && st.Size() != pa[name].Size {
						t.Errorf("%s: size %d, pahole %d", name, st.Size(), pa[name].Size)
					}
					got := flattenModel(st)
					total += compareLayout(t, "pahole", name, pa[name], got)
					total += compareLayout(t, "gdb", name, gd[name], got)
					compareDecls(t, name, pa[name], got)
				}
				t.Logf("%d member comparisons with pahole and gdb", total)
				if total < 200 {
					t.Errorf("only %d member comparisons: the oracles' output was not parsed", total)
				}
				for _, name := range enums {
					checkEnum(t, f, name, genums[name])
				}
				if file == "prog" {
					checkGlobals(t, f, path)
					checkGlobalTypes(t, f, path)
				}
			})
		}
	}
}

func checkDataModel(t *testing.T, f *dwarfmodel.File, v variant) {
	t.Helper()
	dm := f.DataModel()
	want := map[string]struct {
		ptr int
		big bool
	}{"x86_64": {8, false}, "i386": {4, false}, "aarch64": {8, false}, "s390x": {8, true}}[v.Arch]
	if dm.Arch != v.Arch || dm.PtrSize != want.ptr || dm.BigEndian() != want.big {
		t.Errorf("DataModel = %s ptr %d big-endian %v, want %s ptr %d big-endian %v",
			dm.Arch, dm.PtrSize, dm.BigEndian(), v.Arch, want.ptr, want.big)
	}
}

func checkEnum(t *testing.T, f *dwarfmodel.File, name string, want map[string]int64) {
	t.Helper()
	if len(want) == 0 {
		t.Errorf("%s: gdb printed no enumerators", name)
		return
	}
	ty, err := f.Type(name)
	if err != nil {
		t.Errorf("Type(%q): %v", name, err)
		return
	}
	e, ok := ty.(*dwarfmodel.Enum)
	if !ok {
		t.Errorf("Type(%q) is %T", name, ty)
		return
	}
	got := map[string]int64{}
	for _, v := range e.Values {
		got[v.Name] = v.Value
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s values: kvmgen %v, gdb %v", name, got, want)
	}
	// Signedness: only enum delta has a negative value; GCC gives the
	// others an unsigned underlying type (DW_AT_type) on these ABIs.
	if wantSigned := name == "enum delta"; e.Signed != wantSigned {
		t.Errorf("%s: Signed = %v, want %v", name, e.Signed, wantSigned)
	}
}

// checkGlobals compares each global's address and size with the ELF symbol
// table read by debug/elf.
func checkGlobals(t *testing.T, f *dwarfmodel.File, path string) {
	t.Helper()
	bySym := map[string]elf.Symbol{}
	for _, s := range testfix.ELFSymbols(t, path) {
		bySym[s.Name] = s
	}
	for _, g := range globals {
		v, err := f.Variable(g)
		if err != nil {
			t.Errorf("Variable(%q): %v", g, err)
			continue
		}
		s, ok := bySym[g]
		if !ok {
			t.Errorf("%s: not in the ELF symbol table", g)
			continue
		}
		if v.Address != s.Value {
			t.Errorf("%s: address %#x, symbol table %#x", g, v.Address, s.Value)
		}
		if sz := v.Type.Size(); sz != int64(s.Size) {
			t.Errorf("%s: type %s size %d, symbol size %d", g, dwarfmodel.Declare(v.Type, ""), sz, s.Size)
		}
	}
}

// normDecl makes pahole's and kvmgen's spellings of a declaration
// comparable: pahole writes qualifiers as "volatile const" and spaces
// around '*'; whitespace carries no meaning once removed around
// punctuation, so it is dropped.
func normDecl(d string) string {
	d = strings.ReplaceAll(d, "volatile const", "const volatile")
	// pahole's "void (*h)(int)[2]" is C's "void (*h[2])(int)".
	if m := paholeFnArray.FindStringSubmatch(d); m != nil {
		d = m[1] + m[3] + ")" + m[2]
	}
	return strings.Join(strings.Fields(d), "")
}

var paholeFnArray = regexp.MustCompile(`^(.*\(\s*\*+\s*\w+\s*)\)(\(.*\))((?:\[\d*\])+)$`)

// compareDecls checks that kvmgen spells each member's C declaration
// (type and name) as pahole does.
func compareDecls(t *testing.T, name string, want *layout, got map[string]field) {
	t.Helper()
	for _, o := range want.Fields {
		k, ok := got[o.Path]
		if !ok || o.Decl == "" || k.Decl == "" {
			continue
		}
		if normDecl(o.Decl) != normDecl(k.Decl) {
			t.Errorf("%s.%s: kvmgen declares %q, pahole %q", name, o.Path, k.Decl, o.Decl)
		}
	}
}

// checkGlobalTypes compares the C spelling of each global's type with gdb's
// `whatis` (the globals of truth.c have types whose names gdb and DWARF
// spell alike: int, enum, struct, char).
func checkGlobalTypes(t *testing.T, f *dwarfmodel.File, path string) {
	t.Helper()
	var cmds []string
	for _, g := range globals {
		cmds = append(cmds, "whatis "+g)
	}
	out := testfix.GDB(t, path, cmds...)
	var types []string
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(line, "type = "); ok {
			types = append(types, s)
		}
	}
	if len(types) != len(globals) {
		t.Fatalf("gdb whatis printed %d types for %d globals:\n%s", len(types), len(globals), out)
	}
	for i, g := range globals {
		v, err := f.Variable(g)
		if err != nil {
			continue // reported by checkGlobals
		}
		if got := dwarfmodel.Declare(v.Type, ""); normDecl(got) != normDecl(types[i]) {
			t.Errorf("%s: kvmgen spells its type %q, gdb %q", g, got, types[i])
		}
	}
}
