package bind

import (
	"fmt"
	kvm "github.com/kvmgen/kvmgen/runtime"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// Typed traversal of the kernel's trees: rb-trees (tree_rb.go), XArrays
// and radix trees (xarray.go), maple trees (maple.go). Like the list
// iterators (list.go) they read the layout of every struct they walk from
// a Binding — the bound kernel's own types, relocated by Bind — check every
// link once (NULL, cycles, memory outside the dump, depth, count) and end
// with one *ListError naming the node at fault.
//
// The structs a walk needs are found in the binding's Spec by their C
// names ("struct rb_node", "struct xa_node", "struct maple_node"...), so
// generated bindings that include them serve as they are; TreeBinding gives
// a binding of all of them from a dwarfmodel.Source.

// MaxTreeDepth bounds the depth of an rb-tree walk: a red-black tree of
// MaxListLen nodes is at most 2*log2(MaxListLen+1), 46, levels deep.
// XArrays and maple trees have tighter bounds of their own (the shift of
// a node; MAPLE_HEIGHT_MAX).
const MaxTreeDepth = 64

// maxNodeSize bounds the size of the structs a walk reads (an xa_node is
// 576 bytes, a maple_node 256).
const maxNodeSize = 1 << 16

// treeSpecTypes are the structs and members the tree iterators read, as
// TreeBinding resolves them from a kernel's types. The generation-time
// offsets are placeholders: a binding of them is always relocated.
var treeSpecTypes = []TypeSpec{
	{C: "struct rb_root", Name: "struct rb_root", Parent: -1, Fields: []FieldSpec{
		M("rb_node", KindPtr, 0, 0),
	}},
	{C: "struct rb_root_cached", Name: "struct rb_root_cached", Parent: -1, Fields: []FieldSpec{
		M("rb_root", KindStruct, 0, 0),
	}},
	{C: "struct rb_node", Name: "struct rb_node", Parent: -1, Fields: []FieldSpec{
		M("__rb_parent_color", KindUint, 0, 0),
		M("rb_right", KindPtr, 0, 0),
		M("rb_left", KindPtr, 0, 0),
	}},
	{C: "struct xarray", Name: "struct xarray", Parent: -1, Fields: []FieldSpec{
		M("xa_head", KindPtr, 0, 0),
	}},
	{C: "struct xa_node", Name: "struct xa_node", Parent: -1, Fields: []FieldSpec{
		M("shift", KindUint, 0, 0),
		M("offset", KindUint, 0, 0),
		M("parent", KindPtr, 0, 0),
		M("array", KindPtr, 0, 0),
		Arr("slots", KindPtr, 0, 0, 1),
	}},
	{C: "struct maple_tree", Name: "struct maple_tree", Parent: -1, Fields: []FieldSpec{
		M("ma_root", KindPtr, 0, 0),
	}},
	{C: "struct maple_node", Name: "struct maple_node", Parent: -1, Fields: []FieldSpec{
		M("parent", KindPtr, 0, 0),
		Arr("slot", KindPtr, 0, 0, 1),
		M("mr64", KindStruct, 0, 0),
		M("ma64", KindStruct, 0, 0),
	}},
	{C: "struct maple_range_64", Name: "struct maple_range_64", Parent: -1, Fields: []FieldSpec{
		Arr("pivot", KindUint, 0, 0, 1),
		Arr("slot", KindPtr, 0, 0, 1),
		M("meta", KindStruct, 0, 0),
	}},
	{C: "struct maple_arange_64", Name: "struct maple_arange_64", Parent: -1, Fields: []FieldSpec{
		Arr("pivot", KindUint, 0, 0, 1),
		Arr("slot", KindPtr, 0, 0, 1),
		M("meta", KindStruct, 0, 0),
	}},
	{C: "struct maple_metadata", Name: "struct maple_metadata", Parent: -1, Fields: []FieldSpec{
		M("end", KindUint, 0, 0),
	}},
}

// TreeBinding binds t to the structs the tree iterators walk (rb_root,
// rb_root_cached, rb_node, xarray, xa_node, maple_tree, maple_node and its
// 64-bit node kinds), laid out as src, the target kernel's own types
// (its DWARF or BTF), describes them: the relocatable layout of Bind.
// Structs the kernel lacks (maple trees before Linux 6.1) are recorded as
// missing, and the iterators that need them fail with a
// *MissingMemberError. The binding serves XArrayAt and MapleTreeAt;
// RBTreeAt reads the containers' layout from generated bindings.
func TreeBinding(t kvm.Target, src dwarfmodel.Source) (*Binding, error) {
	if src == nil {
		return nil, fmt.Errorf("bind: TreeBinding: no types")
	}
	dm := src.DataModel()
	arch := dm.Arch
	if in, ok := t.(interface{ Info() kvm.DumpInfo }); ok && arch == "" {
		arch = in.Info().Arch
	}
	spec := &Spec{
		Package:     "bind trees",
		BuildID:     src.BuildID(),
		Arch:        arch,
		PtrSize:     dm.PtrSize,
		BigEndian:   dm.BigEndian(),
		Relocatable: true,
		Types:       treeSpecTypes,
	}
	return New(t, spec, Types(src), relocate())
}

// shape is one struct a walk reads, as the binding lays it out.
type shape struct {
	b   *Binding
	typ int
	c   string
}

// shapeOf finds the struct named c ("struct xa_node") in b's Spec.
func (b *Binding) shapeOf(c string) (shape, error) {
	if b == nil || b.spec == nil {
		return shape{}, errNotBound
	}
	for i := range b.spec.Types {
		if b.spec.Types[i].C == c {
			if err := b.MissingError(i, -1); err != nil {
				return shape{}, err
			}
			// Nodes are read whole: a size the types cannot mean is
			// refused rather than allocated.
			if n := b.Sizeof(i); n <= 0 || n > maxNodeSize {
				return shape{}, fmt.Errorf("%s of %d bytes: not a size the walk reads", c, n)
			}
			return shape{b: b, typ: i, c: c}, nil
		}
	}
	return shape{}, fmt.Errorf("the bindings have no %s (generate it, or bind the trees' types with TreeBinding)", c)
}

// size is the bound kernel's size of the struct.
func (s shape) size() int64 { return s.b.Sizeof(s.typ) }

// field is member name's layout in the bound kernel: an error when the
// bindings do not read it or the kernel lacks it.
func (s shape) field(name string) (Field, error) {
	i, ok := s.b.FieldIndex(s.typ, name)
	if !ok {
		return Field{}, fmt.Errorf("%s: the bindings have no member %s (generate it)", s.c, name)
	}
	if err := s.b.MissingError(s.typ, i); err != nil {
		return Field{}, err
	}
	f := s.b.fields[i]
	if f.Bits != 0 {
		return Field{}, fmt.Errorf("%s.%s is a bitfield", s.c, name)
	}
	return f, nil
}

// optField is field, with ok false instead of an error when the bindings
// or the kernel lack the member.
func (s shape) optField(name string) (Field, bool) {
	f, err := s.field(name)
	return f, err == nil
}

// scalar is field for a member read as one integer or pointer of 1 to 8
// bytes lying within the struct.
func (s shape) scalar(name string) (Field, error) {
	f, err := s.field(name)
	if err != nil {
		return f, err
	}
	if f.Array || f.Size < 1 || f.Size > 8 || f.Off < 0 || int64(f.Off)+int64(f.Size) > s.size() {
		return Field{}, fmt.Errorf("%s.%s (offset %d, %d bytes) is not a scalar within the struct's %d bytes", s.c, name, f.Off, f.Size, s.size())
	}
	return f, nil
}

// array is field for an array member of fixed length, its elements of
// elem bytes lying within the struct.
func (s shape) array(name string, elem int) (Field, error) {
	f, err := s.field(name)
	if err != nil {
		return f, err
	}
	if !f.Array || f.Count <= 0 || int(f.Size) != elem || int64(f.Off)+int64(f.Size)*int64(f.Count) > s.size() {
		return Field{}, fmt.Errorf("%s.%s is not an array of %d-byte elements within the struct", s.c, name, elem)
	}
	return f, nil
}

// word decodes the scalar f in a snapshot p of its struct.
func (b *Binding) word(p []byte, f Field) uint64 { return b.uintAt(p, int(f.Off), int(f.Size)) }

// treeError is the *ListError of a tree walk.
func treeError(kind, name string, root, node, next uint64, depth, n int, msg string, err error) *ListError {
	return &ListError{Kind: kind, List: name, Root: root, Node: node, Next: next, Depth: depth, Index: n, Msg: msg, Err: err}
}
