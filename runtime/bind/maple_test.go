package bind

import (
	"fmt"
	"strings"
	"testing"
)

// The synthetic maple tree: an arange_64 root over two leaves.
const (
	mtAddr = synthBase + 0x400 // struct maple_tree; ma_root at +8
	mtRoot = synthBase + 0x20000
	mtA    = synthBase + 0x20100 // [0, 0x4fff]: a full leaf, 16 slots
	mtB    = synthBase + 0x20200 // [0x5000, max]: 2 slots, the last pivot 0
	maxIdx = ^uint64(0)
)

func mtEnode(node uint64, typ int) uint64 { return node | uint64(typ)<<mapleTypeShift }

func mtA64(m *synthMem, node uint64, pivots, slots []uint64, end byte) {
	for i, p := range pivots {
		m.put64(node+8+uint64(i)*8, p)
	}
	for i, s := range slots {
		m.put64(node+80+uint64(i)*8, s)
	}
	m.put8(node+240, end)
}

func mtR64(m *synthMem, node uint64, pivots, slots []uint64, end byte) {
	for i, p := range pivots {
		m.put64(node+8+uint64(i)*8, p)
	}
	for i, s := range slots {
		m.put64(node+128+uint64(i)*8, s)
	}
	if end != 0xff {
		m.put8(node+248, end)
	}
}

func mtEntry(i int) uint64 { return synthBase + 0x90000 + uint64(i)*0x10 }

func mtSynth(m *synthMem) {
	m.put64(mtAddr+8, mtEnode(mtRoot, mapleARange64)|mapleRootNode)
	m.put64(mtRoot, mtAddr|mapleRootParent)
	// The root's third slot is stale, past its metadata's end.
	mtA64(m, mtRoot, []uint64{0x4fff, maxIdx, 0x9999}, []uint64{mtEnode(mtA, mapleLeaf64), mtEnode(mtB, mapleLeaf64), mtEnode(mtB, mapleLeaf64)}, 1)
	// A: slot i ends at i*0x100+0xff; its last pivot is below the node's
	// max, so all 16 slots are in use, the 16th up to the max. Slot 3
	// holds XA_ZERO_ENTRY, slot 5 nothing.
	m.put64(mtA, mtRoot|0<<3|6)
	var pivots, slots []uint64
	for i := 0; i < 16; i++ {
		if i < 15 {
			pivots = append(pivots, uint64(i)*0x100+0xff)
		}
		slots = append(slots, mtEntry(i))
	}
	slots[3], slots[5] = xaZeroEntry, 0
	mtR64(m, mtA, pivots, slots, 0xff)
	// B: [0x5000, 0x5fff], then [0x6000, max] with a 0 pivot (the
	// node's max, mas_logical_pivot); a stale third slot.
	m.put64(mtB, mtRoot|1<<3|6)
	mtR64(m, mtB, []uint64{0x5fff, 0, 0x7000}, []uint64{mtEntry(20), mtEntry(21), mtEntry(22)}, 1)
}

func mtWant() string {
	var s []string
	for i := 0; i < 16; i++ {
		if i == 3 || i == 5 {
			continue
		}
		last := uint64(i)*0x100 + 0xff
		if i == 15 {
			last = 0x4fff
		}
		s = append(s, fmt.Sprintf("%#x-%#x:%#x", uint64(i)*0x100, last, mtEntry(i)))
	}
	s = append(s, fmt.Sprintf("0x5000-0x5fff:%#x", mtEntry(20)), fmt.Sprintf("0x6000-%#x:%#x", maxIdx, mtEntry(21)))
	return strings.Join(s, " ")
}

func mtRanges(b *Binding, mt uint64) (string, error) {
	var s []string
	for r, err := range MapleTreeAt(b, mt) {
		if err != nil {
			return strings.Join(s, " "), err
		}
		s = append(s, fmt.Sprintf("%#x-%#x:%#x", r.First, r.Last, r.Entry))
	}
	return strings.Join(s, " "), nil
}

type mapleTreeView struct{ View }

func (mapleTreeView) KVMType() int { return 6 }

func TestMapleSynthetic(t *testing.T) {
	m := newSynth()
	b := bindSynth(t, m)
	mtSynth(m)
	if got, err := mtRanges(b, mtAddr); got != mtWant() || err != nil {
		t.Fatalf("ranges\n%s, %v; want\n%s", got, err, mtWant())
	}
	n := 0
	for _, err := range MapleTree(PtrTo[mapleTreeView](b, mtAddr).mustRead(t).View) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 16 {
		t.Fatalf("MapleTree(view): %d entries, want 16", n)
	}
	// A root that is an entry: index 0 alone.
	for _, c := range []struct {
		root uint64
		want string
	}{{0, ""}, {mtEntry(0), fmt.Sprintf("0x0-0x0:%#x", mtEntry(0))}, {xaZeroEntry, ""}} {
		m.put64(mtAddr+8, c.root)
		if got, err := mtRanges(b, mtAddr); got != c.want || err != nil {
			t.Errorf("root %#x: %q, %v; want %q", c.root, got, err, c.want)
		}
	}
}

func TestMapleCorrupt(t *testing.T) {
	cases := []struct {
		name    string
		corrupt func(m *synthMem)
		node    uint64
		msg     string
		read    bool
	}{
		{"cycle", func(m *synthMem) { m.put64(mtRoot+88, mtEnode(mtRoot, mapleARange64)) }, mtRoot, "cycle", false},
		{"shared child", func(m *synthMem) { m.put64(mtRoot+88, mtEnode(mtA, mapleLeaf64)) }, mtRoot, "cycle", false},
		{"NULL child", func(m *synthMem) { m.put64(mtRoot+88, 0) }, mtRoot, "NULL child link", false},
		{"NULL node", func(m *synthMem) { m.put64(mtRoot+88, mtEnode(0, mapleLeaf64)) }, mtRoot, "NULL node link", false},
		{"outside the dump", func(m *synthMem) { m.put64(mtRoot+88, mtEnode(synthOut, mapleLeaf64)) }, mtRoot, "cannot read", true},
		{"root outside the dump", func(m *synthMem) { m.put64(mtAddr+8, mtEnode(synthOut, mapleLeaf64)|2) }, mtAddr, "cannot read", true},
		{"dead node", func(m *synthMem) { m.put64(mtB, mtB|6) }, mtB, "dead node", false},
		{"wrong parent", func(m *synthMem) { m.put64(mtB, mtA|6) }, mtB, "does not name", false},
		{"root's parent", func(m *synthMem) { m.put64(mtRoot, 0) }, mtRoot, "root node's parent", false},
		{"pivot below", func(m *synthMem) { m.put64(mtA+8+3*8, 0x50) }, mtA, "below the slot's first index", false},
		{"pivot past max", func(m *synthMem) { m.put64(mtA+8+14*8, 0x6000) }, mtA, "past the node's last index", false},
		{"metadata end", func(m *synthMem) { m.put8(mtRoot+240, 12) }, mtRoot, "metadata end 12", false},
		{"zero pivot", func(m *synthMem) { m.put8(mtB+248, 2) }, mtB, "pivot 1 is 0", false},
		{"internal entry", func(m *synthMem) { m.put64(mtB+128, 0x10002) }, mtB, "internal entry", false},
		{"unknown type", func(m *synthMem) { m.put64(mtRoot+80, mtEnode(mtA, 7)) }, mtRoot, "unknown type 7", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newSynth()
			b := bindSynth(t, m)
			mtSynth(m)
			c.corrupt(m)
			_, err := mtRanges(b, mtAddr)
			wantTreeError(t, err, "maple tree", c.node, c.msg, c.read)
		})
	}
	// Excessive depth: range_64 nodes each the only child of the one
	// above, parents linked as the kernel links them.
	t.Run("depth", func(t *testing.T) {
		m := newSynth()
		b := bindSynth(t, m)
		node := func(i int) uint64 { return mtRoot + uint64(i)*0x100 }
		m.put64(mtAddr+8, mtEnode(node(0), mapleRange64)|mapleRootNode)
		for i := 0; i < MapleHeightMax+10; i++ {
			parent := uint64(mtAddr | mapleRootParent)
			if i > 0 {
				parent = node(i-1) | 6
			}
			m.put64(node(i), parent)
			mtR64(m, node(i), []uint64{maxIdx}, []uint64{mtEnode(node(i+1), mapleRange64)}, 0)
		}
		_, err := mtRanges(b, mtAddr)
		le := wantTreeError(t, err, "maple tree", node(MapleHeightMax-1), "MAPLE_HEIGHT_MAX", false)
		if le.Depth != MapleHeightMax {
			t.Fatalf("depth %d, want %d", le.Depth, MapleHeightMax)
		}
	})
}
