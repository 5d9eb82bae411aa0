package btfmodel_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/btfmodel"
	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
)

// The kernels whose images carry both DWARF and .BTF: the BTF layout must
// equal the DWARF layout, member by member, for every struct and union
// reachable from the roots below.
var btfKernels = []struct{ name, vmlinux string }{
	{"6.1 amd64", "linux-amd64/vmlinux"},
	{"6.12 amd64", "linux-amd64-6.12/vmlinux"},
	{"6.1 arm64", "linux-arm64/vmlinux"},
}

var layoutRoots = []string{"struct task_struct", "struct mm_struct", "struct vm_area_struct", "struct cred", "struct files_struct", "struct signal_struct"}

func TestBTFEqualsDWARF(t *testing.T) {
	for _, k := range btfKernels {
		t.Run(k.name, func(t *testing.T) {
			path := testfix.Path(t, k.vmlinux)
			df, err := dwarfmodel.OpenWith(path, dwarfmodel.Options{CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer df.Close()
			bf, err := btfmodel.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if bf.DataModel() != df.DataModel() {
				t.Fatalf("data model: BTF %+v, DWARF %+v", bf.DataModel(), df.DataModel())
			}
			if bf.BuildID() != df.BuildID() {
				t.Errorf("build ID: BTF source %s, DWARF %s", bf.BuildID(), df.BuildID())
			}
			c := &comparer{t: t, seen: map[string]bool{}, known: map[string]int{}}
			for _, root := range layoutRoots {
				dt, err := df.Type(root)
				if err != nil {
					t.Fatal(err)
				}
				bt, err := bf.Type(root)
				if err != nil {
					t.Fatal(err)
				}
				c.compare(root, dt, bt)
			}
			if c.structs < 200 || c.members < 2000 {
				t.Errorf("compared only %d structs/unions and %d members: the walk is broken", c.structs, c.members)
			}
			t.Logf("%s: %d structs and unions, %d members equal; known BTF limits: %v", k.name, c.structs, c.members, c.knownSummary())
		})
	}
}

type comparer struct {
	t                testing.TB
	seen             map[string]bool
	structs, members int
	known            map[string]int // justified differences, by kind
	queue            []pair
}

type pair struct {
	path   string
	dw, bt dwarfmodel.Type
}

func (c *comparer) knownSummary() string {
	var ks []string
	for k, n := range c.known {
		ks = append(ks, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// compare walks both graphs from a root breadth-first, comparing each
// named aggregate once.
func (c *comparer) compare(path string, dw, bt dwarfmodel.Type) {
	c.queue = append(c.queue, pair{path, dw, bt})
	for len(c.queue) > 0 {
		p := c.queue[0]
		c.queue = c.queue[1:]
		c.one(p.path, p.dw, p.bt, 0)
	}
}

// one compares two types; aggregates reached through pointers are queued.
func (c *comparer) one(path string, dw, bt dwarfmodel.Type, depth int) {
	t := c.t
	if depth > 64 {
		t.Fatalf("%s: nesting deeper than 64", path)
	}
	dwu, btu := dwarfmodel.Underlying(dw), dwarfmodel.Underlying(bt)
	if dw.Size() != bt.Size() {
		if isFlexible(dwu, btu) {
			c.known["trailing zero-length array: DWARF T [0], BTF (T [0] read as T [])"]++
			return
		}
		t.Errorf("%s: size DWARF %d, BTF %d (%s vs %s)", path, dw.Size(), bt.Size(), dwarfmodel.Declare(dw, ""), dwarfmodel.Declare(bt, ""))
		return
	}
	switch d := dwu.(type) {
	case *dwarfmodel.Struct:
		b, ok := btu.(*dwarfmodel.Struct)
		if !ok {
			t.Errorf("%s: DWARF %s, BTF %T", path, d.TypeName(), btu)
			return
		}
		if d.Name != "" {
			key := d.Kind.String() + " " + d.Name
			if c.seen[key] {
				return
			}
			c.seen[key] = true
		}
		if d.Kind != b.Kind || d.Name != b.Name {
			t.Errorf("%s: DWARF %s %q, BTF %s %q", path, d.Kind, d.Name, b.Kind, b.Name)
			return
		}
		if d.Incomplete != b.Incomplete {
			t.Errorf("%s: complete in one source only (DWARF incomplete %v)", path, d.Incomplete)
			return
		}
		c.structs++
		if len(d.Members) != len(b.Members) {
			t.Errorf("%s: %d members in DWARF, %d in BTF", path, len(d.Members), len(b.Members))
			return
		}
		for i := range d.Members {
			dm, bm := &d.Members[i], &b.Members[i]
			mp := path + "." + dm.Name
			if dm.Name == "" {
				mp = fmt.Sprintf("%s.<anon#%d>", path, i)
			}
			c.members++
			if dm.Name != bm.Name || dm.BitSize != bm.BitSize || dm.DataBitOffset != bm.DataBitOffset {
				t.Errorf("%s: DWARF %q bits %d at bit %d; BTF %q bits %d at bit %d", mp, dm.Name, dm.BitSize, dm.DataBitOffset, bm.Name, bm.BitSize, bm.DataBitOffset)
				continue
			}
			if dm.ByteOffset != bm.ByteOffset {
				t.Errorf("%s: offset DWARF %d, BTF %d", mp, dm.ByteOffset, bm.ByteOffset)
				continue
			}
			if dd, bd := dwarfmodel.Declare(dm.Type, ""), dwarfmodel.Declare(bm.Type, ""); dd != bd {
				if isFlexible(dwarfmodel.Underlying(dm.Type), dwarfmodel.Underlying(bm.Type)) {
					c.known["trailing zero-length array: DWARF T [0], BTF (T [0] read as T [])"]++
					continue
				}
				if isFlattened(dwarfmodel.Underlying(dm.Type), dwarfmodel.Underlying(bm.Type)) {
					c.known["multi-dimensional array: DWARF T [a][b], BTF T [a*b]"]++
					continue
				}
				t.Errorf("%s: type DWARF %q, BTF %q", mp, dd, bd)
				continue
			}
			c.one(mp, dm.Type, bm.Type, depth+1)
		}
	case *dwarfmodel.Enum:
		b, ok := btu.(*dwarfmodel.Enum)
		if !ok || len(d.Values) != len(b.Values) {
			t.Errorf("%s: enum %s differs", path, d.TypeName())
			return
		}
		for i := range d.Values {
			if d.Values[i] != b.Values[i] {
				t.Errorf("%s: enumerator %v in DWARF, %v in BTF", path, d.Values[i], b.Values[i])
			}
		}
	case *dwarfmodel.Array:
		b, ok := btu.(*dwarfmodel.Array)
		if !ok || fmt.Sprint(d.Dims) != fmt.Sprint(b.Dims) {
			t.Errorf("%s: array %s vs %s", path, dwarfmodel.Declare(dw, ""), dwarfmodel.Declare(bt, ""))
			return
		}
		c.one(path+"[]", d.Elem, b.Elem, depth+1)
	case *dwarfmodel.Pointer:
		b, ok := btu.(*dwarfmodel.Pointer)
		if !ok {
			t.Errorf("%s: pointer in DWARF, %T in BTF", path, btu)
			return
		}
		de, be := dwarfmodel.Underlying(d.Elem), dwarfmodel.Underlying(b.Elem)
		if ds, ok := de.(*dwarfmodel.Struct); ok && ds.Name != "" {
			c.queue = append(c.queue, pair{"(" + ds.Kind.String() + " " + ds.Name + ")", de, be})
		}
	case *dwarfmodel.Base:
		b, ok := btu.(*dwarfmodel.Base)
		if !ok || d.Name != b.Name || d.ByteSize != b.ByteSize || d.Encoding != b.Encoding {
			t.Errorf("%s: base %v vs %v", path, d, btu)
		}
	}
}

// isFlattened accepts BTF's one-dimensional array for DWARF's
// multi-dimensional one of the same element type and count (pahole
// flattens them).
func isFlattened(dw, bt dwarfmodel.Type) bool {
	da, ok1 := dw.(*dwarfmodel.Array)
	ba, ok2 := bt.(*dwarfmodel.Array)
	if !ok1 || !ok2 || len(da.Dims) < 2 || len(ba.Dims) != 1 {
		return false
	}
	n := int64(1)
	for _, d := range da.Dims {
		n *= d
	}
	return n == ba.Dims[0] && dwarfmodel.Declare(da.Elem, "") == dwarfmodel.Declare(ba.Elem, "")
}

func isFlexible(dw, bt dwarfmodel.Type) bool {
	da, ok1 := dw.(*dwarfmodel.Array)
	ba, ok2 := bt.(*dwarfmodel.Array)
	return ok1 && ok2 && len(da.Dims) > 0 && len(ba.Dims) > 0 && da.Dims[0] == 0 && ba.Dims[0] == -1
}

// TestGlobalsTable checks the globals table against the kernel's own
// DWARF: each global's type, as the table spells it and found in the BTF,
// is the type DWARF gives the variable (array lengths the table leaves
// open aside).
func TestGlobalsTable(t *testing.T) {
	for _, k := range btfKernels {
		t.Run(k.name, func(t *testing.T) {
			path := testfix.Path(t, k.vmlinux)
			df, err := dwarfmodel.OpenWith(path, dwarfmodel.Options{CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer df.Close()
			bf, err := btfmodel.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			checked, skipped := 0, 0
			for _, g := range btfmodel.Globals() {
				if strings.Contains(g.Src, "x86-64 only") && bf.DataModel().Arch != "x86_64" {
					skipped++
					continue
				}
				dv, err := df.Variable(g.Name)
				if err != nil && strings.Contains(g.Src, "an alias of") {
					skipped++
					continue // a linker alias: no DWARF variable of its own
				}
				if err != nil {
					t.Errorf("%s: not in the DWARF: %v", g.Name, err)
					continue
				}
				bv, err := bf.Variable(g.Name)
				if err != nil {
					t.Errorf("%s: %v", g.Name, err)
					continue
				}
				dd, bd := dwarfmodel.Declare(dv.Type, ""), dwarfmodel.Declare(bv.Type, "")
				if dd != bd && !sameOpenArray(dv.Type, bv.Type) {
					t.Errorf("%s: DWARF %q, table %q (%s)", g.Name, dd, bd, g.Type)
					continue
				}
				if ds, ok := dwarfmodel.Underlying(dv.Type).(*dwarfmodel.Struct); ok {
					bs, _ := dwarfmodel.Underlying(bv.Type).(*dwarfmodel.Struct)
					if bs == nil || ds.ByteSize != bs.ByteSize {
						t.Errorf("%s: DWARF %s, table %s", g.Name, dwarfmodel.Declare(dv.Type, ""), dwarfmodel.Declare(bv.Type, ""))
					} else if d, b := memberOffsets(ds), memberOffsets(bs); fmt.Sprint(d) != fmt.Sprint(b) {
						for i := range min(len(d), len(b)) {
							if d[i] != b[i] {
								t.Errorf("%s: member %d: DWARF %s, table %s", g.Name, i, d[i], b[i])
								break
							}
						}
						if len(d) != len(b) {
							t.Errorf("%s: %d members in DWARF, %d by the table", g.Name, len(d), len(b))
						}
					}
				}
				checked++
			}
			if checked+skipped != len(btfmodel.Globals()) || checked < 15 {
				t.Errorf("%d of %d globals checked, %d skipped", checked, len(btfmodel.Globals()), skipped)
			}
		})
	}
}

// sameOpenArray accepts "T [N]" in DWARF for "T []" in the table.
func sameOpenArray(dw, tab dwarfmodel.Type) bool {
	da, ok1 := dwarfmodel.Underlying(dw).(*dwarfmodel.Array)
	ta, ok2 := dwarfmodel.Underlying(tab).(*dwarfmodel.Array)
	if !ok1 || !ok2 || len(da.Dims) != len(ta.Dims) || ta.Dims[0] != -1 {
		return false
	}
	return dwarfmodel.Declare(da.Elem, "") == dwarfmodel.Declare(ta.Elem, "")
}

func memberOffsets(st *dwarfmodel.Struct) []string {
	var out []string
	for _, m := range st.Members {
		out = append(out, fmt.Sprintf("%s@bit%d", m.Name, m.DataBitOffset))
	}
	return out
}

// TestEnumsBTFEqualsDWARF: every named enum, its enumerators and values,
// in BTF (written by pahole) and in dwarfmodel's reading of the DWARF. It
// caught dwarfmodel sign-extending GCC's DW_FORM_data1 values of a signed
// 4-byte enum (cpuhp_state read -128 for 128).
func TestEnumsBTFEqualsDWARF(t *testing.T) {
	for _, k := range btfKernels {
		t.Run(k.name, func(t *testing.T) {
			path := testfix.Path(t, k.vmlinux)
			df, err := dwarfmodel.OpenWith(path, dwarfmodel.Options{CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer df.Close()
			bf, err := btfmodel.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			n, differ := 0, 0
			for _, name := range bf.TypeNames() {
				if !strings.HasPrefix(name, "enum ") {
					continue
				}
				bt, err1 := bf.Type(name)
				dt, err2 := df.Type(name)
				if err1 != nil || err2 != nil {
					continue // a function-scope enum (BTF only), or none
				}
				be, ok1 := bt.(*dwarfmodel.Enum)
				de, ok2 := dt.(*dwarfmodel.Enum)
				if !ok1 || !ok2 || be.Incomplete || de.Incomplete {
					continue
				}
				n++
				if fmt.Sprint(be.Values) != fmt.Sprint(de.Values) || be.ByteSize != de.ByteSize {
					// Two definitions of one name: each source may keep another.
					if len(be.Values) != len(de.Values) || be.Values[0].Name != de.Values[0].Name {
						differ++
						continue
					}
					t.Errorf("%s: BTF %v, DWARF %v", name, be.Values, de.Values)
				}
			}
			if n < 500 {
				t.Errorf("only %d enums compared", n)
			}
			if differ > 10 {
				t.Errorf("%d enums with other enumerators in DWARF than in BTF", differ)
			}
			t.Logf("%d enums equal, %d names with two definitions", n-differ, differ)
		})
	}
}
