package bind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// The synthetic kernel of the traversal tests: testfix.FlatMem (the memory of the
// kallsyms tests) as a Target, and bindings laid out as x86-64 Linux 6.1
// lays the structs out (pahole), with a container "struct item" whose
// rb_node member is "node".

// memTarget is a Target over testfix.FlatMem: no symbols, no build ID.
type memTarget struct{ *synthMem }

func (memTarget) LookupSymbol(name string) (uint64, error) {
	return 0, fmt.Errorf("no symbol %s", name)
}
func (memTarget) BuildID() string { return "" }

const (
	synthBase = 0xffff888000000000
	synthSize = 1 << 20
	synthOut  = synthBase + 16<<20 // outside the synthetic dump
)

// synthMem is the synthetic dump: testfix.FlatMem, written by the tests.
type synthMem struct{ testfix.FlatMem }

func newSynth() *synthMem {
	return &synthMem{testfix.FlatMem{Base: synthBase, Data: make([]byte, synthSize)}}
}

func (m *synthMem) put64(addr, v uint64) {
	binary.LittleEndian.PutUint64(m.Data[addr-m.Base:], v)
}

func (m *synthMem) put8(addr uint64, v byte) { m.Data[addr-m.Base] = v }

var synthSpec = &Spec{Package: "synth", Arch: "x86_64", PtrSize: 8, Types: []TypeSpec{
	{C: "struct item", Name: "struct item", Parent: -1, Size: 32, Fields: []FieldSpec{
		M("key", KindUint, 0, 8),
		M("node", KindStruct, 8, 24),
	}},
	{C: "struct rb_node", Name: "struct rb_node", Parent: -1, Size: 24, Fields: []FieldSpec{
		M("__rb_parent_color", KindUint, 0, 8),
		M("rb_right", KindPtr, 8, 8),
		M("rb_left", KindPtr, 16, 8),
	}},
	{C: "struct rb_root", Name: "struct rb_root", Parent: -1, Size: 8, Fields: []FieldSpec{
		M("rb_node", KindPtr, 0, 8),
	}},
	{C: "struct rb_root_cached", Name: "struct rb_root_cached", Parent: -1, Size: 16, Fields: []FieldSpec{
		M("rb_root", KindStruct, 0, 8),
		M("rb_leftmost", KindPtr, 8, 8),
	}},
	{C: "struct xarray", Name: "struct xarray", Parent: -1, Size: 16, Fields: []FieldSpec{
		M("xa_head", KindPtr, 8, 8),
	}},
	{C: "struct xa_node", Name: "struct xa_node", Parent: -1, Size: 576, Fields: []FieldSpec{
		M("shift", KindUint, 0, 1),
		M("offset", KindUint, 1, 1),
		M("parent", KindPtr, 8, 8),
		M("array", KindPtr, 16, 8),
		Arr("slots", KindPtr, 40, 8, 64),
	}},
	{C: "struct maple_tree", Name: "struct maple_tree", Parent: -1, Size: 24, Fields: []FieldSpec{
		M("ma_root", KindPtr, 8, 8),
	}},
	{C: "struct maple_node", Name: "struct maple_node", Parent: -1, Size: 256, Fields: []FieldSpec{
		M("parent", KindPtr, 0, 8),
		Arr("slot", KindPtr, 8, 8, 31),
		M("mr64", KindStruct, 0, 256),
		M("ma64", KindStruct, 0, 248),
	}},
	{C: "struct maple_range_64", Name: "struct maple_range_64", Parent: -1, Size: 256, Fields: []FieldSpec{
		Arr("pivot", KindUint, 8, 8, 15),
		Arr("slot", KindPtr, 128, 8, 16),
		M("meta", KindStruct, 248, 2),
	}},
	{C: "struct maple_arange_64", Name: "struct maple_arange_64", Parent: -1, Size: 248, Fields: []FieldSpec{
		Arr("pivot", KindUint, 8, 8, 9),
		Arr("slot", KindPtr, 80, 8, 10),
		M("meta", KindStruct, 240, 2),
	}},
	{C: "struct maple_metadata", Name: "struct maple_metadata", Parent: -1, Size: 2, Fields: []FieldSpec{
		M("end", KindUint, 0, 1),
	}},
}}

// item is the generated view type of struct item.
type item struct{ View }

func (item) KVMType() int { return 0 }

// rbRootView is a view of struct rb_root (or rb_root_cached) at addr.
type rbRootView struct{ View }

func (rbRootView) KVMType() int { return 2 }

type rbCachedView struct{ View }

func (rbCachedView) KVMType() int { return 3 }

func bindSynth(t *testing.T, m *synthMem) *Binding {
	t.Helper()
	b, err := New(memTarget{m}, synthSpec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantTreeError checks that err is a *ListError of kind naming node, whose
// message says msg (and, with read, wraps a *kvm.ReadError).
func wantTreeError(t *testing.T, err error, kind string, node uint64, msg string, read bool) *ListError {
	t.Helper()
	var le *ListError
	if !errors.As(err, &le) {
		t.Fatalf("error %v: want a *ListError", err)
	}
	if le.Kind != kind || le.Node != node || !strings.Contains(le.Msg, msg) {
		t.Fatalf("error %v: want a %s error at node %#x saying %q (got kind %q node %#x)", err, kind, node, msg, le.Kind, le.Node)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%#x", node)) {
		t.Fatalf("error %q does not name node %#x", err, node)
	}
	var re *kvm.ReadError
	if read != errors.As(err, &re) {
		t.Fatalf("error %v: wraps a *kvm.ReadError: %v, want %v", err, !read, read)
	}
	return le
}

// rbSynth lays out items with keys 1..n (item i at itemAddr(i)) as a
// balanced rb-tree under the rb_root at root, parents and colours as the
// kernel keeps them.
const (
	rbRoot   = synthBase + 0x100
	rbCached = synthBase + 0x200
	rbItems  = synthBase + 0x1000
)

func itemAddr(i int) uint64 { return rbItems + uint64(i)*0x40 }
func rbNodeOf(i int) uint64 { return itemAddr(i) + 8 }

func rbSynth(m *synthMem, n int) {
	var build func(lo, hi int, parent uint64) uint64
	build = func(lo, hi int, parent uint64) uint64 {
		if lo > hi {
			return 0
		}
		mid := (lo + hi) / 2
		a := itemAddr(mid)
		m.put64(a, uint64(mid))
		m.put64(a+8, parent|uint64(mid&1)) // the colour bit
		m.put64(a+8+16, build(lo, mid-1, a+8))
		m.put64(a+8+8, build(mid+1, hi, a+8))
		return a + 8
	}
	top := build(1, n, 0)
	m.put64(rbRoot, top)
	m.put64(rbCached, top)
	m.put64(rbCached+8, rbNodeOf(1))
}

func rbKeys(b *Binding, root uint64) ([]uint64, error) {
	var keys []uint64
	for e, err := range RBTreeAt[item](b, root, "node") {
		if err != nil {
			return keys, err
		}
		keys = append(keys, Uint(e.View, 0))
	}
	return keys, nil
}

func TestRBTreeSynthetic(t *testing.T) {
	m := newSynth()
	b := bindSynth(t, m)
	const n = 100
	rbSynth(m, n)
	keys, err := rbKeys(b, rbRoot)
	if err != nil || len(keys) != n {
		t.Fatalf("%d keys, %v; want %d", len(keys), err, n)
	}
	for i, k := range keys {
		if k != uint64(i+1) {
			t.Fatalf("key %d is %d: not in order", i, k)
		}
	}
	// Through views: of the rb_root, and of an rb_root_cached.
	for _, v := range []View{
		PtrTo[rbRootView](b, rbRoot).mustRead(t).View,
		PtrTo[rbCachedView](b, rbCached).mustRead(t).View,
	} {
		c := 0
		for e, err := range RBTree[item](v, "node") {
			if err != nil || Uint(e.View, 0) != uint64(c+1) {
				t.Fatalf("RBTree(view of %d bytes): entry %d: key %d, %v", len(v.Bytes()), c, Uint(e.View, 0), err)
			}
			c++
		}
		if c != n {
			t.Fatalf("RBTree(view of %d bytes): %d entries", len(v.Bytes()), c)
		}
	}
	// Breaking out early.
	c := 0
	for range RBTreeAt[item](b, rbRoot, "node") {
		if c++; c == 3 {
			break
		}
	}
	// The empty tree.
	m.put64(rbRoot+0x800, 0)
	if keys, err := rbKeys(b, rbRoot+0x800); len(keys) != 0 || err != nil {
		t.Fatalf("empty tree: %v, %v", keys, err)
	}
	// An rb_root the target cannot read.
	if _, err := rbKeys(b, 0); err == nil {
		t.Fatal("a tree at address 0 read")
	}
}

func (p Ptr[T]) mustRead(t *testing.T) T {
	t.Helper()
	v, err := p.Read()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRBTreeCorrupt(t *testing.T) {
	const n = 15 // a perfect tree: 8 at the top, 4 and 12 below it...
	cases := []struct {
		name    string
		corrupt func(m *synthMem)
		node    uint64 // the node the error names
		msg     string
		read    bool
	}{
		{"cycle", func(m *synthMem) { m.put64(rbNodeOf(13)+8, rbNodeOf(8)) }, rbNodeOf(13), "cycle", false},
		{"left into itself", func(m *synthMem) { m.put64(rbNodeOf(2)+16, rbNodeOf(2)) }, rbNodeOf(2), "cycle", false},
		{"NULL parent", func(m *synthMem) { m.put64(rbNodeOf(6), 0) }, rbNodeOf(6), "NULL parent link", false},
		{"wrong parent", func(m *synthMem) { m.put64(rbNodeOf(6), rbNodeOf(12)|1) }, rbNodeOf(6), "not 0x", false},
		{"root with a parent", func(m *synthMem) { m.put64(rbNodeOf(8), rbNodeOf(4)) }, rbNodeOf(8), "root's parent", false},
		{"outside the dump", func(m *synthMem) { m.put64(rbNodeOf(10)+8, synthOut) }, rbNodeOf(10), "cannot read", true},
		{"root outside the dump", func(m *synthMem) { m.put64(rbRoot, synthOut) }, rbRoot, "cannot read", true},
		{"misaligned", func(m *synthMem) { m.put64(rbNodeOf(4)+16, rbNodeOf(2)+3) }, rbNodeOf(4), "misaligned", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newSynth()
			b := bindSynth(t, m)
			rbSynth(m, n)
			c.corrupt(m)
			_, err := rbKeys(b, rbRoot)
			wantTreeError(t, err, "rbtree", c.node, c.msg, c.read)
		})
	}
	// Excessive depth: a chain of left children, each linked to its
	// parent as the kernel would, deeper than any rb-tree.
	t.Run("depth", func(t *testing.T) {
		m := newSynth()
		b := bindSynth(t, m)
		const deep = MaxTreeDepth + 10
		for i := 0; i < deep; i++ {
			parent := uint64(0)
			if i > 0 {
				parent = rbNodeOf(i - 1)
			}
			m.put64(itemAddr(i), uint64(deep-i))
			m.put64(rbNodeOf(i), parent)
			if i+1 < deep {
				m.put64(rbNodeOf(i)+16, rbNodeOf(i+1))
			}
		}
		m.put64(rbRoot, rbNodeOf(0))
		keys, err := rbKeys(b, rbRoot)
		le := wantTreeError(t, err, "rbtree", rbNodeOf(MaxTreeDepth-1), "deeper", false)
		if le.Depth != MaxTreeDepth || le.Next != rbNodeOf(MaxTreeDepth) || len(keys) != 0 {
			t.Fatalf("depth error %+v after %d keys", le, len(keys))
		}
	})
}

// openTreeFixture opens a fixture kernel's dump and DWARF, and names the
// directory of the guest's truth about that dump.
func openTreeFixture(t *testing.T, kernel, dump string) (*kvm.KVM, *dwarfmodel.File, string) {
	t.Helper()
	vml := testfix.Path(t, kernel+"/vmlinux")
	core := testfix.Path(t, kernel+"/dumps/"+dump)
	kd, err := kvm.OpenOptions(vml, core, kvm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kd.Close() })
	src, err := dwarfmodel.Open(vml)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return kd, src, filepath.Join(testfix.Dir(), kernel, "dumps", filepath.Dir(dump), "truth")
}

// vmapSpec is a relocatable binding of struct vmap_area and what links
// it, as generated bindings would have it; the offsets are resolved from
// the kernel's DWARF at Bind.
var vmapSpec = &Spec{Package: "vmaptest", Arch: "x86_64", PtrSize: 8, Relocatable: true, Types: []TypeSpec{
	{C: "struct vmap_area", Name: "struct vmap_area", Parent: -1, Fields: []FieldSpec{
		M("va_start", KindUint, 0, 8),
		M("va_end", KindUint, 0, 8),
		M("rb_node", KindStruct, 0, 0),
		M("list", KindStruct, 0, 0),
	}},
	{C: "struct rb_node", Name: "struct rb_node", Parent: -1, Fields: []FieldSpec{
		M("__rb_parent_color", KindUint, 0, 8),
		M("rb_right", KindPtr, 0, 8),
		M("rb_left", KindPtr, 0, 8),
	}},
	{C: "struct rb_root", Name: "struct rb_root", Parent: -1, Fields: []FieldSpec{
		M("rb_node", KindPtr, 0, 8),
	}},
}}

type vmapArea struct{ View }

func (vmapArea) KVMType() int { return 0 }

// TestRBTreeVmapAreas: the rb-tree of busy vmalloc areas (vmap_area_root,
// keyed by va_start) walked in order gives strictly ascending va_start,
// and the same areas as the kernel's sorted list of them (vmap_area_list,
// walked with List); so do the free areas (free_vmap_area_root and
// free_vmap_area_list) on every fixture kernel that has them.
func TestRBTreeVmapAreas(t *testing.T) {
	for _, k := range []struct{ kernel, dump string }{
		{"linux-amd64", "elf.vmcore"},
		{"linux-amd64-6.12", "elf.vmcore"},
	} {
		t.Run(k.kernel, func(t *testing.T) {
			if k.kernel != "linux-amd64" {
				if _, err := os.Stat(filepath.Join(testfix.Dir(), k.kernel, "vmlinux")); err != nil {
					t.Skipf("no %s fixture", k.kernel)
				}
			}
			kd, src, _ := openTreeFixture(t, k.kernel, k.dump)
			b, err := New(kd, vmapSpec, Types(src), relocate())
			if err != nil {
				t.Fatal(err)
			}
			compared := 0
			for _, pair := range [][2]string{{"vmap_area_root", "vmap_area_list"}, {"free_vmap_area_root", "free_vmap_area_list"}} {
				root, err1 := kd.LookupSymbol(pair[0])
				list, err2 := kd.LookupSymbol(pair[1])
				if err1 != nil || err2 != nil {
					t.Logf("%s: no %s or %s (Linux 6.9 keeps busy areas per node)", k.kernel, pair[0], pair[1])
					continue
				}
				var tree []uint64
				prev := uint64(0)
				for va, err := range RBTreeAt[vmapArea](b, root, "rb_node") {
					if err != nil {
						t.Fatalf("%s: %v", pair[0], err)
					}
					start := Uint(va.View, 0)
					if len(tree) > 0 && start <= prev {
						t.Fatalf("%s: va_start %#x after %#x: not ascending", pair[0], start, prev)
					}
					if end := Uint(va.View, 1); end <= start {
						t.Fatalf("%s: area %#x: va_end %#x not above va_start %#x", pair[0], va.Addr(), end, start)
					}
					prev = start
					tree = append(tree, va.Addr())
				}
				var sorted []uint64
				for va, err := range ListAt[vmapArea](b, list, "list") {
					if err != nil {
						t.Fatalf("%s: %v", pair[1], err)
					}
					sorted = append(sorted, va.Addr())
				}
				if len(tree) < 10 {
					t.Fatalf("%s: %d areas: too few for a booted kernel", pair[0], len(tree))
				}
				if fmt.Sprintf("%x", tree) != fmt.Sprintf("%x", sorted) {
					t.Fatalf("%s: %d areas in the tree, %d in %s, or not the same ones in the same order", pair[0], len(tree), len(sorted), pair[1])
				}
				t.Logf("%s: %s: %d areas, the same as %s's", k.kernel, pair[0], len(tree), pair[1])
				compared++
			}
			if compared == 0 {
				t.Fatal("no vmap area tree compared")
			}
		})
	}
}
