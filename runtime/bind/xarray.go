package bind

import (
	"fmt"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"iter"
	"math/bits"
)

// XArray entry encoding (include/linux/xarray.h), which the kernel's types
// do not describe. The bottom two bits of an entry tell its kind: 00 a
// pointer, x1 a value entry (xa_mk_value: v<<1 | 1), 10 an internal entry
// (xa_mk_internal: v<<2 | 2): a node (xa_mk_node: the xa_node's address
// | 2, above 4096), a sibling of a multi-index entry (xa_mk_sibling: the
// canonical slot's offset), XA_RETRY_ENTRY (internal 256) or XA_ZERO_ENTRY
// (internal 257).
const (
	xaInternal   = 2
	xaRetryEntry = 256<<2 | xaInternal
	xaZeroEntry  = 257<<2 | xaInternal
	xaNodeMin    = 4096 // xa_is_node: an internal entry above 4096
)

// XAEntry is one entry of an XArray: its index, and the entry as the
// kernel stored it (a pointer, or a value entry: see XAIsValue).
type XAEntry struct {
	Index uint64
	Entry uint64
}

// XAIsValue reports whether an entry is a value entry (xa_is_value) rather
// than a pointer.
func XAIsValue(entry uint64) bool { return entry&1 != 0 }

// XAToValue is the integer a value entry holds (xa_to_value).
func XAToValue(entry uint64) uint64 { return entry >> 1 }

// xaLayout is where the bound kernel keeps the XArray's members.
type xaLayout struct {
	head                Field // xarray.xa_head
	shift, offset       Field // xa_node's
	parent              Field
	array               Field // Off -1 when not read
	slots               Field // void *slots[XA_CHUNK_SIZE]
	chunkShift          uint  // XA_CHUNK_SHIFT: log2 of slots' length
	nodeSize            int64
	ptrSize             int
	maxIndex            uint64
	indexBits, maxShift uint
}

func (b *Binding) xaLayout() (*xaLayout, error) {
	xa, err := b.shapeOf("struct xarray")
	if err != nil {
		return nil, err
	}
	node, err := b.shapeOf("struct xa_node")
	if err != nil {
		return nil, err
	}
	l := &xaLayout{nodeSize: node.size(), ptrSize: b.ptrSize, array: Field{Off: -1}}
	if l.head, err = xa.scalar("xa_head"); err != nil {
		return nil, err
	}
	for _, m := range []struct {
		f    *Field
		name string
	}{{&l.shift, "shift"}, {&l.offset, "offset"}, {&l.parent, "parent"}} {
		if *m.f, err = node.scalar(m.name); err != nil {
			return nil, err
		}
	}
	if f, err := node.scalar("array"); err == nil {
		l.array = f
	}
	if l.slots, err = node.array("slots", b.ptrSize); err != nil {
		return nil, err
	}
	// XA_CHUNK_SIZE is the length of slots: 1 << XA_CHUNK_SHIFT (6, or 4
	// with CONFIG_BASE_SMALL).
	c := uint64(l.slots.Count)
	if c < 2 || c&(c-1) != 0 {
		return nil, fmt.Errorf("struct xa_node.slots has %d elements: XA_CHUNK_SIZE must be a power of two", c)
	}
	l.chunkShift = uint(bits.TrailingZeros64(c))
	l.indexBits = uint(8 * b.ptrSize) // indices are unsigned longs
	l.maxIndex = ^uint64(0) >> (64 - l.indexBits)
	// The top node's shift: the first multiple of XA_CHUNK_SHIFT whose
	// chunk covers every index (xas_expand stops there).
	l.maxShift = (l.indexBits - 1) / l.chunkShift * l.chunkShift
	return l, nil
}

// XArray iterates, in index order, the entries of the XArray (or radix
// tree, or IDR's idr_rt) xa is a view of: each present entry once, with
// its index, as xa_for_each visits them. Value entries are yielded as
// stored (XAIsValue); XA_ZERO_ENTRY (a reserved, NULL-reading index) and
// the sibling slots of a multi-index entry (which is yielded at its first
// index) are not yielded. The layout of struct xarray and struct xa_node
// is the binding's (generated bindings including xa_node, or TreeBinding);
// XA_CHUNK_SHIFT is the log2 of xa_node.slots' length.
//
// Each node is checked once: it is entered once (a cycle is an error), its
// parent link names the node above (NULL for the top node), its offset its
// slot there, its array the XArray walked, and its shift is XA_CHUNK_SHIFT
// below its parent's (the top node's within an unsigned long), which
// bounds the depth. A NULL or misplaced node link, XA_RETRY_ENTRY (a node
// being freed when the dump was taken), an unknown internal entry, an
// index past an unsigned long, memory the target cannot read, or more than
// MaxListLen nodes yield one *ListError (Kind "xarray") naming the node,
// and end the iteration.
func XArray(xa View) iter.Seq2[XAEntry, error] { return XArrayAt(xa.b, xa.addr) }

// XArrayAt is XArray with the address of the struct xarray.
func XArrayAt(b *Binding, xa uint64) iter.Seq2[XAEntry, error] {
	return func(yield func(XAEntry, error) bool) {
		l, err := b.xaLayout()
		if err != nil {
			yield(XAEntry{}, fmt.Errorf("xarray at %#x: %w", xa, err))
			return
		}
		w := &xaWalk{b: b, l: l, xa: xa, yield: yield, seen: map[uint64]bool{}}
		head, err := b.readPtr(xa + uint64(l.head.Off))
		if err != nil {
			w.fail(xa, 0, 0, "cannot read the struct xarray", err)
			return
		}
		switch {
		case head == 0:
		case head&3 == xaInternal && head > xaNodeMin:
			w.node(xa, head-xaInternal, 0, 0, 0, -1, 0)
		case head&3 == xaInternal:
			w.internal(xa, head, 0, -1)
		default:
			w.emit(0, head)
		}
	}
}

type xaWalk struct {
	b     *Binding
	l     *xaLayout
	xa    uint64
	yield func(XAEntry, error) bool
	seen  map[uint64]bool
	n     int // entries yielded
	done  bool
}

func (w *xaWalk) fail(node, next uint64, depth int, msg string, err error) bool {
	if !w.done {
		w.done = true
		w.yield(XAEntry{}, treeError("xarray", "struct xarray", w.xa, node, next, depth, w.n, msg, err))
	}
	return false
}

func (w *xaWalk) emit(index, entry uint64) bool {
	if w.done {
		return false
	}
	if !w.yield(XAEntry{Index: index, Entry: entry}, nil) {
		w.done = true
		return false
	}
	w.n++
	return true
}

// internal handles an internal entry e that is not a node link, in slot i
// of node (the struct xarray for its head, i < 0): XA_ZERO_ENTRY reads as
// NULL, and a sibling (xa_is_sibling: the offset of an earlier slot) is
// its canonical slot, already yielded. Anything else is an error.
func (w *xaWalk) internal(node, e uint64, depth, i int) bool {
	v := e >> 2
	switch {
	case e == xaZeroEntry:
		return true
	case e == xaRetryEntry:
		return w.fail(node, e, depth, "XA_RETRY_ENTRY: the node was being changed or freed when the dump was taken", nil)
	case i > 0 && v < uint64(i):
		return true
	case i >= 0 && v < uint64(1)<<w.l.chunkShift-1:
		return w.fail(node, e, depth, fmt.Sprintf("sibling entry in slot %d names slot %d, not an earlier one", i, v), nil)
	}
	return w.fail(node, e, depth, "internal entry that is no node, sibling, retry or zero entry", nil)
}

// node walks the xa_node at addr, linked from slot offset of parent (the
// top node: from the struct xarray, wantShift < 0), covering the indices
// from base.
func (w *xaWalk) node(from, addr, parent uint64, offset int, base uint64, wantShift, depth int) bool {
	b, l := w.b, w.l
	switch {
	case w.seen[addr]:
		return w.fail(from, addr, depth, "cycle: the link leads to a node already visited", nil)
	case len(w.seen) >= MaxListLen:
		return w.fail(from, addr, depth, fmt.Sprintf("more than %d nodes", MaxListLen), nil)
	case addr%uint64(l.ptrSize) != 0:
		return w.fail(from, addr, depth, "misaligned node link", nil)
	}
	w.seen[addr] = true
	snap := make([]byte, l.nodeSize)
	if err := kvm.ReadFull(b.t, snap, addr); err != nil {
		return w.fail(from, addr, depth, "cannot read the struct xa_node", err)
	}
	shift := uint(b.word(snap, l.shift))
	switch {
	case wantShift < 0 && (shift%l.chunkShift != 0 || shift > l.maxShift):
		return w.fail(addr, uint64(shift), depth, fmt.Sprintf("the top node's shift %d is not a multiple of XA_CHUNK_SHIFT (%d) up to %d", shift, l.chunkShift, l.maxShift), nil)
	case wantShift >= 0 && shift != uint(wantShift):
		return w.fail(addr, uint64(shift), depth, fmt.Sprintf("shift %d, not %d: XA_CHUNK_SHIFT below its parent's", shift, wantShift), nil)
	}
	if p := b.word(snap, l.parent); p != parent {
		msg := fmt.Sprintf("parent link %#x is not %#x, the node it hangs from", p, parent)
		if p == 0 {
			msg = fmt.Sprintf("NULL parent link: the node hangs from slot %d of %#x", offset, parent)
		} else if parent == 0 {
			msg = "the top node's parent link is not NULL"
		}
		return w.fail(addr, p, depth, msg, nil)
	}
	if o := b.word(snap, l.offset); wantShift >= 0 && o != uint64(offset) {
		return w.fail(addr, o, depth, fmt.Sprintf("offset %d, but the node hangs from slot %d", o, offset), nil)
	}
	if l.array.Off >= 0 {
		if a := b.word(snap, l.array); a != w.xa {
			return w.fail(addr, a, depth, fmt.Sprintf("the node's array %#x is not the XArray walked", a), nil)
		}
	}
	ps := int(l.slots.Size)
	room := (l.maxIndex - base) >> shift // slots left below the index limit
	for i := 0; i < 1<<l.chunkShift; i++ {
		e := b.uintAt(snap, int(l.slots.Off)+i*ps, ps)
		if e == 0 {
			continue
		}
		if uint64(i) > room {
			return w.fail(addr, e, depth, fmt.Sprintf("entry in slot %d: its index is past an unsigned long", i), nil)
		}
		idx := base + uint64(i)<<shift
		switch {
		case e&3 == xaInternal && e > xaNodeMin:
			if shift == 0 {
				return w.fail(addr, e, depth, fmt.Sprintf("node link in slot %d of a node of shift 0", i), nil)
			}
			if !w.node(addr, e-xaInternal, addr, i, idx, int(shift-l.chunkShift), depth+1) {
				return false
			}
		case e&3 == xaInternal:
			if !w.internal(addr, e, depth, i) {
				return false
			}
		default:
			if !w.emit(idx, e) {
				return false
			}
		}
	}
	return true
}
