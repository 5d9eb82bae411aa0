package freebsd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sort"
	"testing"
)

// This file writes minidumps from the documented layout (minidump.h,
// minidump_machdep.c, vm_dumpset.h) holding known bytes at known physical
// pages, for the variants no real fixture covers, and reads them back.

type synthDump struct {
	magic     string
	pageSize  uint64
	fill      func(h []byte) // writes the architecture's header fields after magic
	msgbuf    []byte
	dumpAvail []uint64          // start/end pairs; nil: no dump_avail part
	pages     map[uint64][]byte // physical page -> its bytes
	pmap      []byte
}

// bitOfSpec numbers a page's bit as the kernel's dump_add_page does.
func (s *synthDump) bitOfSpec(pa uint64) uint64 {
	if s.dumpAvail == nil {
		return pa / s.pageSize
	}
	var adj uint64
	for i := 0; i+1 < len(s.dumpAvail) && s.dumpAvail[i+1] != 0; i += 2 {
		lo, hi := s.dumpAvail[i], s.dumpAvail[i+1]
		if pa >= lo && pa < hi {
			return pa/s.pageSize - lo/s.pageSize + adj
		}
		adj += (hi+s.pageSize-1)/s.pageSize - lo/s.pageSize
	}
	panic("page outside dump_avail")
}

func (s *synthDump) bytes(t testing.TB) (img []byte, bitmapSize, availSize uint32) {
	ps := int(s.pageSize)
	pad := func(b []byte) []byte {
		out := append([]byte(nil), b...)
		for len(out)%ps != 0 {
			out = append(out, 0)
		}
		return out
	}
	type held struct {
		bit uint64
		pa  uint64
	}
	var hs []held
	maxBit := uint64(0)
	for pa := range s.pages {
		b := s.bitOfSpec(pa)
		hs = append(hs, held{b, pa})
		maxBit = max(maxBit, b)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].bit < hs[j].bit })
	bitmap := make([]byte, (maxBit/8+1+uint64(ps)-1)/uint64(ps)*uint64(ps))
	for _, h := range hs {
		bitmap[h.bit/8] |= 1 << (h.bit % 8)
	}
	var avail []byte
	if s.dumpAvail != nil {
		for _, v := range s.dumpAvail {
			avail = binary.LittleEndian.AppendUint64(avail, v)
		}
		avail = pad(avail)
	}
	hdr := make([]byte, ps)
	copy(hdr, s.magic)
	le := binary.LittleEndian
	le.PutUint32(hdr[0x1c:], uint32(len(s.msgbuf)))
	le.PutUint32(hdr[0x20:], uint32(len(bitmap)))
	le.PutUint32(hdr[0x24:], uint32(len(s.pmap)))
	if s.fill != nil {
		s.fill(hdr)
	}
	img = append(img, hdr...)
	img = append(img, pad(s.msgbuf)...)
	img = append(img, avail...)
	img = append(img, bitmap...)
	img = append(img, pad(s.pmap)...)
	for _, h := range hs {
		p := s.pages[h.pa]
		if len(p) != ps {
			t.Fatalf("page %#x has %d bytes", h.pa, len(p))
		}
		img = append(img, p...)
	}
	return img, uint32(len(bitmap)), uint32(len(avail))
}

// pagePattern is a page whose every 8-byte word holds its own physical
// address, so any byte read says where it came from.
func pagePattern(pa, size uint64) []byte {
	b := make([]byte, size)
	for i := uint64(0); i < size; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], pa+i)
	}
	return b
}

func putEnt(pmap []byte, i int, size int, v uint64) {
	if size == 4 {
		binary.LittleEndian.PutUint32(pmap[i*4:], uint32(v))
	} else {
		binary.LittleEndian.PutUint64(pmap[i*8:], v)
	}
}

type vcheck struct {
	va, pa uint64 // va must read the bytes of physical pa
}

func openSynth(t *testing.T, s *synthDump) *Minidump {
	t.Helper()
	img, _, _ := s.bytes(t)
	m, err := OpenMinidump("synth", bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func checkReads(t *testing.T, m *Minidump, checks []vcheck) {
	t.Helper()
	for _, c := range checks {
		var b [8]byte
		if _, err := m.ReadMemory(b[:], c.va); err != nil {
			t.Errorf("read %#x: %v", c.va, err)
			continue
		}
		if got := binary.LittleEndian.Uint64(b[:]); got != c.pa {
			t.Errorf("va %#x read the word of physical %#x, want %#x", c.va, got, c.pa)
		}
	}
}

func checkUnmapped(t *testing.T, m *Minidump, vas ...uint64) {
	t.Helper()
	for _, va := range vas {
		var b [8]byte
		_, err := m.ReadMemory(b[:], va)
		var ae *AddrError
		if !errors.As(err, &ae) || !errors.Is(err, ErrNotInDump) {
			t.Errorf("read %#x: err = %v, want an *AddrError", va, err)
		}
	}
}

type walkKey struct {
	pa, va uint64
	known  bool
	prot   Prot
}

func walkSet(t *testing.T, m *Minidump) map[walkKey]bool {
	t.Helper()
	got := map[walkKey]bool{}
	err := m.WalkPages(func(p Page) error {
		got[walkKey{p.Phys, p.Virt, p.VirtKnown, p.Prot}] = true
		if p.Size != m.pageSize {
			t.Errorf("page %#x size %d", p.Phys, p.Size)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sameSet(t *testing.T, got map[walkKey]bool, want []walkKey) {
	t.Helper()
	w := map[walkKey]bool{}
	for _, k := range want {
		w[k] = true
	}
	for k := range got {
		if !w[k] {
			t.Errorf("walk reported unexpected %+v", k)
		}
	}
	for k := range w {
		if !got[k] {
			t.Errorf("walk missed %+v", k)
		}
	}
}

const (
	kbAMD64   = 0xfffffe0000000000
	dmapAMD64 = 0xfffff80000000000
	dmapEnd64 = 0xfffffc0000000000
	rwx       = ProtRead | ProtWrite | ProtExec
)

func amd64Fill(version uint32, dumpAvailSize uint32) func([]byte) {
	return func(h []byte) {
		le := binary.LittleEndian
		le.PutUint32(h[0x18:], version)
		le.PutUint64(h[0x28:], kbAMD64)
		le.PutUint64(h[0x30:], dmapAMD64)
		le.PutUint64(h[0x38:], dmapEnd64)
		if version >= 3 {
			le.PutUint32(h[0x40:], dumpAvailSize)
		}
	}
}

func TestSynthAMD64V1(t *testing.T) {
	// Version 1: one PTE per 4 KiB page from kernbase.
	pmap := make([]byte, 4096)
	putEnt(pmap, 3, 8, 0x5000|amd64PGV|amd64PGRW|amd64PGNX)
	putEnt(pmap, 4, 8, 0x7000|amd64PGV)
	putEnt(pmap, 5, 8, 0x9000|amd64PGV) // valid, but page not dumped
	s := &synthDump{magic: magicAMD64, pageSize: 4096, fill: amd64Fill(1, 0), msgbuf: []byte("hello, world\n"), pmap: pmap,
		pages: map[uint64][]byte{0x5000: pagePattern(0x5000, 4096), 0x7000: pagePattern(0x7000, 4096), 0x200000: pagePattern(0x200000, 4096)}}
	m := openSynth(t, s)
	if in := m.Info(); in.Version != 1 || in.Arch != "x86_64" {
		t.Errorf("Info = %+v", in)
	}
	checkReads(t, m, []vcheck{{kbAMD64 + 0x3010, 0x5010}, {kbAMD64 + 0x4ff8, 0x7ff8}, {dmapAMD64 + 0x200008, 0x200008}})
	// A read across the page boundary takes bytes from both pages.
	var b [16]byte
	if _, err := m.ReadMemory(b[:], kbAMD64+0x3ff8); err != nil {
		t.Fatal(err)
	}
	if a, c := binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[8:]); a != 0x5ff8 || c != 0x7000 {
		t.Errorf("cross-page read got %#x %#x", a, c)
	}
	checkUnmapped(t, m, kbAMD64+0x5000, kbAMD64+0x6000, dmapAMD64+0x300000, 0x1000)
	mb, err := m.MsgBuf()
	if err != nil || string(mb) != "hello, world\n" {
		t.Errorf("MsgBuf = %q, %v", mb, err)
	}
	sameSet(t, walkSet(t, m), []walkKey{
		{0x5000, kbAMD64 + 0x3000, true, ProtRead | ProtWrite},
		{0x7000, kbAMD64 + 0x4000, true, ProtRead | ProtExec},
		{0x200000, dmapAMD64 + 0x200000, true, ProtRead | ProtWrite},
	})
}

func TestSynthAMD64V2(t *testing.T) {
	// Version 2: one PDE per 2 MiB. PDE 0 points to a page-table page
	// (itself dumped); PDE 1 maps a 2 MiB page of which one 4 KiB page
	// is dumped.
	pmap := make([]byte, 4096)
	putEnt(pmap, 0, 8, 0x2000|amd64PGV|amd64PGRW)
	putEnt(pmap, 1, 8, 0x400000|amd64PGV|amd64PGPS|amd64PGNX)
	pt := make([]byte, 4096)
	putEnt(pt, 3, 8, 0x5000|amd64PGV|amd64PGRW)
	s := &synthDump{magic: magicAMD64, pageSize: 4096, fill: amd64Fill(2, 0), pmap: pmap,
		pages: map[uint64][]byte{0x2000: pt, 0x5000: pagePattern(0x5000, 4096), 0x401000: pagePattern(0x401000, 4096)}}
	m := openSynth(t, s)
	checkReads(t, m, []vcheck{{kbAMD64 + 0x3000, 0x5000}, {kbAMD64 + 0x200000 + 0x1ff0, 0x401ff0}, {dmapAMD64 + 0x401000, 0x401000}})
	checkUnmapped(t, m, kbAMD64+0x4000, kbAMD64+0x200000, kbAMD64+0x400000)
	sameSet(t, walkSet(t, m), []walkKey{
		{0x5000, kbAMD64 + 0x3000, true, rwx},
		{0x401000, kbAMD64 + 0x201000, true, ProtRead},
		{0x2000, dmapAMD64 + 0x2000, true, ProtRead | ProtWrite},
	})
}

func TestSynthAMD64V3DumpAvail(t *testing.T) {
	// Version 3 with dump_avail: two ranges (a hole at 640 KiB - 1 MiB,
	// an unaligned end), thousands of pages so that lookups cross many
	// cached population-count bins, counted up and down.
	avail := []uint64{0, 0x9f000, 0x100000, 0x3000800, 0, 0}
	pages := map[uint64][]byte{}
	for pa := uint64(0x1000); pa < 0x9f000; pa += 0x3000 {
		pages[pa] = pagePattern(pa, 4096)
	}
	for pa := uint64(0x100000); pa < 0x3000800; pa += 0x1000 {
		if (pa/0x1000)%7 == 0 || (pa/0x1000)%11 == 3 {
			pages[pa] = pagePattern(pa, 4096)
		}
	}
	last := uint64(0x3000000) // the page holding the unaligned end
	pages[last] = pagePattern(last, 4096)
	pmap := make([]byte, 4096)
	putEnt(pmap, 0, 8, 0x200000|amd64PGV|amd64PGPS|amd64PGRW)
	s := &synthDump{magic: magicAMD64, pageSize: 4096, pmap: pmap, dumpAvail: avail, pages: pages}
	_, _, as := s.bytes(t)
	s.fill = amd64Fill(3, as)
	m := openSynth(t, s)
	if m.PagesHeld() != uint64(len(pages)) {
		t.Errorf("PagesHeld = %d, wrote %d", m.PagesHeld(), len(pages))
	}
	var b [8]byte
	for pa := range pages {
		if _, err := m.ReadPhys(b[:], pa+8); err != nil {
			t.Fatalf("ReadPhys %#x: %v", pa, err)
		}
		if got := binary.LittleEndian.Uint64(b[:]); got != pa+8 {
			t.Fatalf("physical %#x read the word of %#x", pa+8, got)
		}
	}
	for _, pa := range []uint64{0x0, 0xa0000, 0x101000, 0x4000000} { // not dumped, or outside dump_avail
		if _, err := m.ReadPhys(b[:], pa); !errors.Is(err, ErrNotInDump) {
			t.Errorf("ReadPhys %#x: %v, want not in dump", pa, err)
		}
	}
	checkReads(t, m, []vcheck{{kbAMD64 + 0x6008, 0x206008}, {dmapAMD64 + last, last}})
	n := 0
	if err := m.WalkPages(func(p Page) error { n++; return nil }); err != nil || n != len(pages) {
		t.Errorf("walk: %d pages, %v; want %d", n, err, len(pages))
	}
}

func TestSynthI386(t *testing.T) {
	const kb = 0x00400000
	for _, pae := range []bool{false, true} {
		es := 4
		frame := uint64(0x12345000)
		version := uint32(1)
		var avail []uint64
		if pae {
			es, frame, version = 8, 0x1_2345_6000, 2 // a frame above 4 GiB
			avail = []uint64{0, 0x9f000, 0x100000, 0x2_0000_0000, 0, 0}
		}
		pmap := make([]byte, 4096)
		putEnt(pmap, 0, es, 0x3000|i386PGV|i386PGRW)
		putEnt(pmap, 1, es, frame|i386PGV)
		pages := map[uint64][]byte{0x3000: pagePattern(0x3000, 4096), frame: pagePattern(frame, 4096)}
		s := &synthDump{magic: magicI386, pageSize: 4096, pmap: pmap, dumpAvail: avail, pages: pages}
		var as uint32
		if pae {
			_, _, as = s.bytes(t)
		}
		s.fill = func(h []byte) {
			le := binary.LittleEndian
			le.PutUint32(h[0x18:], version)
			le.PutUint32(h[0x28:], kb)
			if pae {
				le.PutUint32(h[0x2c:], 1)
				le.PutUint32(h[0x30:], as)
			}
		}
		m := openSynth(t, s)
		if in := m.Info(); in.PAE != pae || in.PtrSize != 4 || in.Arch != "i386" || in.Version != int(version) {
			t.Errorf("Info = %+v", in)
		}
		checkReads(t, m, []vcheck{{kb + 0x10, 0x3010}, {kb + 0x1ff8, frame + 0xff8}})
		checkUnmapped(t, m, kb+0x2000, kb-0x1000, 0x1_0000_0000)
		sameSet(t, walkSet(t, m), []walkKey{
			{0x3000, kb, true, rwx},
			{frame, kb + 0x1000, true, ProtRead | ProtExec},
		})
	}
}

func TestSynthARM64(t *testing.T) {
	const kb = 0xffff000000000000
	const dmapBase, dmapEnd, dmapPhys = 0xffffa00000000000, 0xffffff0000000000, 0x40000000
	const af = 1 << 10
	for _, ps := range []uint64{4096, 16384} {
		version := uint32(1)
		var avail []uint64
		if ps == 16384 {
			version = 3
			avail = []uint64{0x40000000, 0x48000000, 0x50000000, 0x50100000, 0, 0}
		}
		p1, p2, p3 := uint64(0x40000000+5*ps), uint64(0x40000000+9*ps), uint64(0x41000000)
		if ps == 16384 {
			p3 = 0x50000000 + 2*ps // in the second range
		}
		pmap := make([]byte, ps)
		putEnt(pmap, 0, 8, p1|af|arm64L3Page)
		putEnt(pmap, 1, 8, p2|af|arm64APRO|arm64XN|arm64L3Page)
		putEnt(pmap, 2, 8, p3|af|1) // a block descriptor: not an L3 page
		pages := map[uint64][]byte{p1: pagePattern(p1, ps), p2: pagePattern(p2, ps), p3: pagePattern(p3, ps)}
		s := &synthDump{magic: magicARM64, pageSize: ps, pmap: pmap, dumpAvail: avail, pages: pages}
		var as uint32
		if avail != nil {
			_, _, as = s.bytes(t)
		}
		s.fill = func(h []byte) {
			le := binary.LittleEndian
			le.PutUint32(h[0x18:], version)
			le.PutUint64(h[0x28:], kb)
			le.PutUint64(h[0x30:], dmapPhys)
			le.PutUint64(h[0x38:], dmapBase)
			le.PutUint64(h[0x40:], dmapEnd)
			if version >= 2 {
				le.PutUint32(h[0x48:], as)
			}
			if version >= 3 && ps == 16384 {
				le.PutUint32(h[0x4c:], 1)
			}
		}
		m := openSynth(t, s)
		if in := m.Info(); in.PageSize != int(ps) || in.Arch != "aarch64" {
			t.Errorf("Info = %+v", in)
		}
		checkReads(t, m, []vcheck{{kb + 8, p1 + 8}, {kb + ps + ps - 8, p2 + ps - 8}, {dmapBase + p3 - dmapPhys + 16, p3 + 16}})
		checkUnmapped(t, m, kb+2*ps, kb+3*ps, dmapBase+0x100*ps)
		sameSet(t, walkSet(t, m), []walkKey{
			{p1, kb, true, rwx},
			{p2, kb + ps, true, ProtRead},
			{p3, dmapBase + p3 - dmapPhys, true, ProtRead | ProtWrite},
		})
	}
}

func TestMinidumpHeaderErrors(t *testing.T) {
	pmap := make([]byte, 4096)
	s := &synthDump{magic: magicAMD64, pageSize: 4096, fill: amd64Fill(2, 0), pmap: pmap, pages: map[uint64][]byte{0x1000: pagePattern(0x1000, 4096)}}
	img, _, _ := s.bytes(t)
	cases := []struct {
		name   string
		mutate func([]byte) []byte
		off    int64
	}{
		{"version 9", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[0x18:], 9); return b }, 0x18},
		{"huge bitmap", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[0x20:], 0xfffff000); return b }, 0x1000},
		{"huge pmap", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[0x24:], 0xfffff000); return b }, 0x2000},
		{"odd pmap", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[0x24:], 0xffc); return b }, 0x24},
		{"unknown arch", func(b []byte) []byte { copy(b, "minidump FreeBSD/vax\x00\x00"); return b }, 0},
		{"header cut", func(b []byte) []byte { return b[:0x30] }, 0x30},
		{"page map cut", func(b []byte) []byte { return b[:0x2800] }, 0x2000},
	}
	for _, c := range cases {
		b := c.mutate(append([]byte(nil), img...))
		_, err := OpenMinidump("synth.core", bytes.NewReader(b), int64(len(b)))
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want *FormatError", c.name, err)
			continue
		}
		if fe.File != "synth.core" || fe.Offset != c.off {
			t.Errorf("%s: %v: want file synth.core offset %#x", c.name, err, c.off)
		}
	}
	if _, err := Open("x", bytes.NewReader([]byte("not a dump at all")), 17, nil); !errors.Is(err, ErrNotFreeBSD) {
		t.Errorf("plain text: %v, want ErrNotFreeBSD", err)
	}
}

// TestMinidumpUnknownSize opens from a reader of unknown size (-1), as for a
// device: the header's sizes are then bounded by a limit instead.
func TestMinidumpUnknownSize(t *testing.T) {
	pmap := make([]byte, 4096)
	putEnt(pmap, 0, 8, 0x3000|amd64PGV)
	s := &synthDump{magic: magicAMD64, pageSize: 4096, fill: amd64Fill(1, 0), pmap: pmap, pages: map[uint64][]byte{0x3000: pagePattern(0x3000, 4096)}}
	img, _, _ := s.bytes(t)
	m, err := OpenMinidump("dev", bytes.NewReader(img), -1)
	if err != nil {
		t.Fatal(err)
	}
	checkReads(t, m, []vcheck{{kbAMD64 + 8, 0x3008}})
	binary.LittleEndian.PutUint32(img[0x24:], 0xfffff000)
	var fe *FormatError
	if _, err := OpenMinidump("dev", bytes.NewReader(img), -1); !errors.As(err, &fe) || fe.Offset != 0x2000 {
		t.Errorf("4 GiB page map from a file of unknown size: %v", err)
	}
}
