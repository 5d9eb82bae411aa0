package bind

import (
	"fmt"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"iter"
)

// The maple node types, enum maple_type (include/linux/maple_tree.h): the
// type of a node is carried in its encoded pointer, not in the node.
const (
	mapleDense    = 0 // maple_dense: slot i holds index min+i
	mapleLeaf64   = 1 // maple_leaf_64: struct maple_range_64, entries
	mapleRange64  = 2 // maple_range_64: struct maple_range_64, children
	mapleARange64 = 3 // maple_arange_64: struct maple_arange_64, children (allocation trees)
)

// MapleHeightMax is MAPLE_HEIGHT_MAX (include/linux/maple_tree.h): no
// maple tree is deeper.
const MapleHeightMax = 31

// Maple tree encoding (include/linux/maple_tree.h, lib/maple_tree.c),
// which the kernel's types do not describe. Nodes are 256-byte aligned;
// an encoded node pointer (a "maple_enode") carries the node's type in
// bits 3-6 (MAPLE_NODE_TYPE_SHIFT, MAPLE_NODE_TYPE_MASK); the tree's
// ma_root is an enode with MAPLE_ROOT_NODE set, an XArray-style internal
// entry, when the tree has nodes. The root node's parent is the tree's
// address with MA_ROOT_PARENT set; another node's parent is its parent
// node's address with the slot and type in the low byte.
const (
	mapleNodeMask   = 0xff
	mapleTypeShift  = 3
	mapleTypeMask   = 0xf
	mapleRootNode   = 2
	mapleRootParent = 1
)

// MapleRange is one entry of a maple tree and the range of indices
// [First, Last] it is stored at.
type MapleRange struct {
	First, Last uint64
	Entry       uint64
}

// mapleKind is the layout of one node type: node-relative pivots and
// slots, and the metadata's end (the last slot in use).
type mapleKind struct {
	ok          bool
	why         string
	pivot, slot Field
	metaEnd     Field // Off -1 when the layout lacks the metadata
}

type mapleLayout struct {
	root     Field // maple_tree.ma_root
	nodeSize int64
	parent   Field // maple_node.parent; Off -1 when not read
	dense    Field // maple_node.slot; Off -1 when not read
	kinds    [4]mapleKind
	ptrSize  int
	maxIndex uint64
}

func (b *Binding) mapleLayout() (*mapleLayout, error) {
	tree, err := b.shapeOf("struct maple_tree")
	if err != nil {
		return nil, err
	}
	node, err := b.shapeOf("struct maple_node")
	if err != nil {
		return nil, err
	}
	l := &mapleLayout{nodeSize: node.size(), ptrSize: b.ptrSize, parent: Field{Off: -1}, dense: Field{Off: -1}}
	l.maxIndex = ^uint64(0) >> (64 - 8*uint(b.ptrSize))
	if l.root, err = tree.scalar("ma_root"); err != nil {
		return nil, err
	}
	if f, err := node.scalar("parent"); err == nil {
		l.parent = f
	}
	if f, err := node.array("slot", b.ptrSize); err == nil {
		l.dense = f
	}
	l.kinds[mapleLeaf64] = b.mapleKind(node, "mr64", "struct maple_range_64")
	l.kinds[mapleRange64] = l.kinds[mapleLeaf64]
	l.kinds[mapleARange64] = b.mapleKind(node, "ma64", "struct maple_arange_64")
	if !l.kinds[mapleLeaf64].ok {
		return nil, fmt.Errorf("struct maple_node: %s", l.kinds[mapleLeaf64].why)
	}
	return l, nil
}

// mapleKind lays out the node type whose struct c is maple_node's member
// m, with offsets from the start of the node.
func (b *Binding) mapleKind(node shape, m, c string) mapleKind {
	k := mapleKind{metaEnd: Field{Off: -1}}
	mf, err := node.field(m)
	if err != nil {
		k.why = err.Error()
		return k
	}
	s, err := b.shapeOf(c)
	if err != nil {
		k.why = err.Error()
		return k
	}
	if k.pivot, err = s.array("pivot", b.ptrSize); err == nil {
		k.slot, err = s.array("slot", b.ptrSize)
	}
	if err != nil {
		k.why = err.Error()
		return k
	}
	if k.slot.Count != k.pivot.Count+1 {
		k.why = fmt.Sprintf("%s has %d slots for %d pivots", c, k.slot.Count, k.pivot.Count)
		return k
	}
	k.pivot.Off += mf.Off
	k.slot.Off += mf.Off
	if int64(mf.Off)+s.size() > node.size() {
		k.why = fmt.Sprintf("%s lies outside struct maple_node", c)
		return k
	}
	if meta, ok := s.optField("meta"); ok {
		if md, err := b.shapeOf("struct maple_metadata"); err == nil {
			if end, err := md.scalar("end"); err == nil && end.Size == 1 {
				end.Off += mf.Off + meta.Off
				k.metaEnd = end
			}
		}
	}
	k.ok = true
	return k
}

// MapleTree iterates, in index order, the entries of the maple tree mt
// is a view of (mm_struct.mm_mt: the VMAs), each with the range of
// indices it is stored at, as mt_for_each visits them: NULL and
// XA_ZERO_ENTRY slots are not yielded. The layout of struct maple_tree,
// struct maple_node and its node types (maple_range_64, maple_arange_64,
// maple_metadata) is the binding's (generated bindings including
// maple_node, or TreeBinding); the node type encoding is the kernel's
// (mapleLeaf64...).
//
// A node's last slot in use is the kernel's ma_data_end: from its
// metadata (maple_metadata.end) for maple_arange_64 nodes and for
// maple_range_64 nodes whose last pivot is 0, from the last pivot
// otherwise; a 0 pivot past slot 0 stands for the node's max
// (mas_logical_pivot). A layout without the metadata (a binding that
// does not read it) ends a node at its first pivot that is 0, below the
// slot's first index, or at least the node's max.
//
// Each node is checked once: it is entered once (a cycle is an error),
// its depth is below MapleHeightMax, its type is one the layout reads,
// its pivots ascend within the range its parent gives it, a child link
// within the data is not NULL, a leaf holds no internal entry other than
// XA_ZERO_ENTRY and, when the layout reads maple_node.parent, its parent
// link names the node above (the root's: the tree). Any failure, memory
// the target cannot read, or more than MaxListLen nodes yield one
// *ListError (Kind "maple tree") naming the node, and end the iteration.
func MapleTree(mt View) iter.Seq2[MapleRange, error] { return MapleTreeAt(mt.b, mt.addr) }

// MapleTreeAt is MapleTree with the address of the struct maple_tree.
func MapleTreeAt(b *Binding, mt uint64) iter.Seq2[MapleRange, error] {
	return func(yield func(MapleRange, error) bool) {
		l, err := b.mapleLayout()
		if err != nil {
			yield(MapleRange{}, fmt.Errorf("maple tree at %#x: %w", mt, err))
			return
		}
		w := &mapleWalk{b: b, l: l, mt: mt, yield: yield, seen: map[uint64]bool{}}
		root, err := b.readPtr(mt + uint64(l.root.Off))
		if err != nil {
			w.fail(mt, 0, 0, "cannot read the struct maple_tree", err)
			return
		}
		switch {
		case root == 0:
		case root&3 == xaInternal && root > xaNodeMin: // xa_is_node
			w.node(mt, root&^mapleRootNode, 0, l.maxIndex, 0, 0)
		default: // a single entry, at index 0
			w.leafEntry(mt, 0, root, 0, 0, 0)
		}
	}
}

type mapleWalk struct {
	b     *Binding
	l     *mapleLayout
	mt    uint64
	yield func(MapleRange, error) bool
	seen  map[uint64]bool
	n     int // entries yielded
	done  bool
}

func (w *mapleWalk) fail(node, next uint64, depth int, msg string, err error) bool {
	if !w.done {
		w.done = true
		w.yield(MapleRange{}, treeError("maple tree", "struct maple_tree", w.mt, node, next, depth, w.n, msg, err))
	}
	return false
}

// leafEntry yields entry e of slot i of leaf node, stored at [first, last].
func (w *mapleWalk) leafEntry(node uint64, i int, e, first, last uint64, depth int) bool {
	switch {
	case e == 0 || e == xaZeroEntry:
		return true
	case e&3 == xaInternal:
		return w.fail(node, e, depth, fmt.Sprintf("internal entry in slot %d of a leaf", i), nil)
	case w.done:
		return false
	}
	if !w.yield(MapleRange{First: first, Last: last, Entry: e}, nil) {
		w.done = true
		return false
	}
	w.n++
	return true
}

// node walks the node enode encodes, linked from from (the parent node, or
// the tree for the root), covering [lo, hi].
func (w *mapleWalk) node(from, enode, lo, hi uint64, depth int, parent uint64) bool {
	b, l := w.b, w.l
	addr := enode &^ mapleNodeMask
	typ := int(enode>>mapleTypeShift) & mapleTypeMask
	switch {
	case addr == 0:
		return w.fail(from, enode, depth, "NULL node link", nil)
	case w.seen[addr]:
		return w.fail(from, enode, depth, "cycle: the link leads to a node already visited", nil)
	case depth >= MapleHeightMax:
		return w.fail(from, enode, depth, fmt.Sprintf("tree deeper than MAPLE_HEIGHT_MAX (%d)", MapleHeightMax), nil)
	case len(w.seen) >= MaxListLen:
		return w.fail(from, enode, depth, fmt.Sprintf("more than %d nodes", MaxListLen), nil)
	case typ > mapleARange64:
		return w.fail(from, enode, depth, fmt.Sprintf("node link of unknown type %d", typ), nil)
	case typ == mapleDense && l.dense.Off < 0:
		return w.fail(from, enode, depth, "dense node: the layout lacks struct maple_node.slot", nil)
	case typ != mapleDense && !l.kinds[typ].ok:
		return w.fail(from, enode, depth, fmt.Sprintf("node of type %d: %s", typ, l.kinds[typ].why), nil)
	}
	w.seen[addr] = true
	snap := make([]byte, l.nodeSize)
	if err := kvm.ReadFull(b.t, snap, addr); err != nil {
		return w.fail(from, enode, depth, "cannot read the struct maple_node", err)
	}
	if l.parent.Off >= 0 {
		p := b.word(snap, l.parent)
		switch {
		case depth == 0 && p != w.mt|mapleRootParent:
			return w.fail(addr, p, depth, fmt.Sprintf("the root node's parent link is not the tree %#x | MA_ROOT_PARENT", w.mt), nil)
		case depth > 0 && (p&mapleRootParent != 0 || p&^mapleNodeMask != parent):
			msg := fmt.Sprintf("parent link %#x does not name %#x, the node it hangs from", p, parent)
			if p&^mapleNodeMask == addr {
				msg = "dead node: its parent link is itself (freed when the dump was taken)"
			}
			return w.fail(addr, p, depth, msg, nil)
		}
	}
	ps := l.ptrSize
	word := func(f Field, i int) uint64 { return b.uintAt(snap, int(f.Off)+i*ps, ps) }
	if typ == mapleDense {
		for i := 0; i < int(l.dense.Count) && uint64(i) <= hi-lo; i++ {
			if !w.leafEntry(addr, i, word(l.dense, i), lo+uint64(i), lo+uint64(i), depth) {
				return false
			}
		}
		return true
	}
	k := &l.kinds[typ]
	npiv := int(k.pivot.Count)
	// ma_data_end: the last slot in use; scan when the layout lacks the
	// metadata the kernel would read.
	last, scan := npiv, false
	if lp := word(k.pivot, npiv-1); typ == mapleARange64 || lp == 0 {
		if k.metaEnd.Off < 0 {
			scan = true
		} else {
			last = int(b.word(snap, k.metaEnd))
			if last > npiv {
				return w.fail(addr, uint64(last), depth, fmt.Sprintf("metadata end %d past the node's %d slots", last, npiv+1), nil)
			}
		}
	} else if lp == hi {
		last = npiv - 1
	}
	leaf := typ == mapleLeaf64
	first := lo
	for i := 0; i <= last; i++ {
		piv := hi
		if i < npiv {
			piv = word(k.pivot, i)
		}
		switch {
		case piv == 0 && i > 0: // mas_logical_pivot
			if !scan && i < last {
				return w.fail(addr, piv, depth, fmt.Sprintf("pivot %d is 0 before the node's last slot %d", i, last), nil)
			}
			piv, last = hi, i
		case piv < first:
			if scan {
				return true // past the node's data
			}
			return w.fail(addr, piv, depth, fmt.Sprintf("pivot %d (%#x) below the slot's first index %#x", i, piv, first), nil)
		case piv > hi:
			if !scan {
				return w.fail(addr, piv, depth, fmt.Sprintf("pivot %d (%#x) past the node's last index %#x", i, piv, hi), nil)
			}
			piv = hi
		}
		e := word(k.slot, i)
		if leaf {
			if !w.leafEntry(addr, i, e, first, piv, depth) {
				return false
			}
		} else if e == 0 {
			return w.fail(addr, e, depth, fmt.Sprintf("NULL child link in slot %d (indices %#x-%#x)", i, first, piv), nil)
		} else if !w.node(addr, e, first, piv, depth+1, addr) {
			return false
		}
		if piv >= hi {
			break
		}
		first = piv + 1
	}
	return true
}
