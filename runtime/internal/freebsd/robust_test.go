package freebsd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
)

// flipped is a ReaderAt over r that inverts the bits of mask at offset at.
type flipped struct {
	r    io.ReaderAt
	at   int64
	mask byte
}

func (f *flipped) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.r.ReadAt(p, off)
	if f.at >= off && f.at < off+int64(n) {
		p[f.at-off] ^= f.mask
	}
	return n, err
}

var errEnough = errors.New("enough")

// exercise opens a (possibly damaged) dump and uses it: any outcome but a
// panic or a hang is acceptable, and a refusal must name file and offset.
func exercise(t *testing.T, what, name string, r io.ReaderAt, size int64, syms Symbols, probe []uint64) {
	t.Helper()
	d, err := Open(name, r, size, syms)
	if err != nil {
		if _, ok := IsNotFreeBSD(err); ok {
			return
		}
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: error %v (%T) is not a *FormatError", what, err, err)
			return
		}
		if fe.File != name || fe.Offset < 0 || size >= 0 && fe.Offset > size+1<<32 {
			t.Errorf("%s: error %v does not name file %s and an offset in it", what, err, name)
		}
		return
	}
	buf := make([]byte, 64)
	for _, a := range probe {
		d.ReadMemory(buf, a)
		d.ReadPhys(buf, a&0xffffffff)
	}
	n := 0
	err = d.WalkPages(func(Page) error {
		if n++; n > 5000 {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: walk error %v (%T) is not a *FormatError", what, err, err)
		}
	}
}

// TestDamagedRealDumps truncates the real dumps at every part their layout
// has and flips bits in the headers, dump_avail, bitmaps and page maps.
func TestDamagedRealDumps(t *testing.T) {
	for _, c := range realCases {
		t.Run(c.dump, func(t *testing.T) {
			syms := kernelSyms(t, c.arch)
			path := fbsdtest.Dump(t, c.dump)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			size := st.Size()
			probe := []uint64{syms["hz"], syms["allproc"], syms["dumptid"], syms["kernbase"]}
			var cuts, flips []int64
			for _, o := range []int64{0, 8, 0x18, 0x30, 0x4f, 0x50, 0x100, 0x1000, 0x2000, 0x19000, 0x19800, 0x1a000, 0x1a800, 0x1b000, 0x40000, 0x81a000, 0x81b000, size / 2, size - 4096, size - 1} {
				if o >= 0 && o < size {
					cuts = append(cuts, o)
				}
			}
			// The first and last byte of every header field (minidumps),
			// and of the ELF and program headers (full dump).
			flips = append(flips, 0x18, 0x1b, 0x1c, 0x1f, 0x20, 0x23, 0x24, 0x27, 0x28, 0x2b, 0x2f, 0x30, 0x37, 0x38, 0x3f,
				0x40, 0x43, 0x47, 0x48, 0x4b, 0x4c, 0x4f, 0x19000, 0x19008, 0x19010, 0x1a000, 0x1a003, 0x1b000, 0x1b7f8, 0x1bff0,
				0x58, 0x60, 0x78, 0x80, 0x90, 0xa8)
			masks := []byte{0x01, 0x80, 0xff}
			if raceEnabled || testing.Short() {
				cuts, flips, masks = every3(cuts), every3(flips), masks[2:]
			}
			for _, n := range cuts {
				exercise(t, fmt.Sprintf("cut at %#x", n), path, io.NewSectionReader(f, 0, n), n, lookupIn(syms), probe)
			}
			for _, o := range flips {
				for _, mask := range masks {
					exercise(t, fmt.Sprintf("flip %#x at %#x", mask, o), path, &flipped{f, o, mask}, size, lookupIn(syms), probe)
				}
			}
			// Flip the page-map entries (and page-table words) that
			// translate the probed addresses.
			if d, err := Open(path, f, size, lookupIn(syms)); err == nil {
				if m, ok := d.(*Minidump); ok {
					for _, a := range probe {
						for _, sh := range []uint{12, 21} {
							if a < m.hdr.KernBase {
								continue
							}
							i := int64((a - m.hdr.KernBase) >> sh * uint64(m.entSize))
							if i < int64(len(m.pmap)) {
								for _, mask := range masks {
									for k := int64(0); k < int64(m.entSize); k++ {
										exercise(t, fmt.Sprintf("flip pmap entry at %#x", m.pmapOff+i+k), path, &flipped{f, m.pmapOff + i + k, mask}, size, lookupIn(syms), probe)
									}
								}
							}
						}
					}
				}
			}
		})
	}
}

// TestTruncatedPageIsFormatError reads a page the bitmap lists but the
// file, cut short, no longer holds: the error names file and offset.
func TestTruncatedPageIsFormatError(t *testing.T) {
	c := realCases[0]
	path := fbsdtest.Dump(t, c.dump)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	m, err := OpenMinidump(path, f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated() {
		t.Skip("dump not truncated")
	}
	// The last bit set is a page past the end of the file.
	s := m.sparse
	var last uint64
	for bit := uint64(0); bit < s.nbits; bit++ {
		if s.isSet(bit) {
			last = bit
		}
	}
	pa, _ := s.paOf(last)
	_, err = m.ReadPhys(make([]byte, 8), pa)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.File != path || fe.Offset < st.Size() {
		t.Fatalf("reading lost page %#x: %v, want a FormatError past offset %#x", pa, err, st.Size())
	}
}

// fuzzSyms resolves the two symbols a full dump needs.
func fuzzSyms(n string) (uint64, bool) {
	switch n {
	case "kernbase":
		return 0xffffffff80000000, true
	case "KPML4phys":
		return 0xffffffff80000000 + 0x1000, true
	}
	return 0, false
}

// tinyFullDump is a one-segment amd64 ELF core of 16 KiB of physical
// memory whose page tables map 0xffffffff80000000 to physical 0.
func tinyFullDump() []byte {
	const phys = 0x4000
	b := make([]byte, 0x1000+phys)
	copy(b, "\x7fELF\x02\x01\x01\xff")
	le := binary.LittleEndian
	le.PutUint16(b[16:], etCore)
	le.PutUint16(b[18:], emX86_64)
	le.PutUint64(b[32:], 64)
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[54:], 56)
	le.PutUint16(b[56:], 1)
	ph := b[64:]
	le.PutUint32(ph, ptLoad)
	le.PutUint64(ph[8:], 0x1000)
	le.PutUint64(ph[32:], phys)
	le.PutUint64(ph[40:], phys)
	mem := b[0x1000:]
	le.PutUint64(mem[0x1000:], 0x1000)                      // KPML4phys -> PML4 at 0x1000
	le.PutUint64(mem[0x1000+511*8:], 0x2000|amd64PGV)       // PML4[511] -> PDP at 0x2000
	le.PutUint64(mem[0x2000+510*8:], 0x3000|amd64PGV)       // PDP[510] -> PD at 0x3000
	le.PutUint64(mem[0x3000:], 0|amd64PGV|amd64PGPS)        // PD[0] -> 2 MiB at 0
	le.PutUint64(mem[0x3000+8:], 0x1000|amd64PGV|amd64PGRW) // PD[1] -> a PT (the PML4 page)
	copy(mem[0x10:], "tiny full dump")
	return b
}

func TestTinyFullDump(t *testing.T) {
	img := tinyFullDump()
	d, err := Open("tiny", bytes.NewReader(img), int64(len(img)), fuzzSyms)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 14)
	if _, err := d.ReadMemory(buf, 0xffffffff80000010); err != nil || string(buf) != "tiny full dump" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if _, err := d.ReadMemory(buf, 0xffffffff80000000+0x4000); err == nil {
		t.Errorf("read past physical memory succeeded")
	}
	if _, err := d.ReadMemory(buf, 0xffff800000000000); !errors.Is(err, ErrNotInDump) {
		t.Errorf("unmapped read: %v", err)
	}
	var pages []Page
	d.WalkPages(func(p Page) error { pages = append(pages, p); return nil })
	if len(pages) == 0 || pages[0].Virt != 0xffffffff80000000 || pages[0].Size != 2<<20 || pages[0].Offset != -1 {
		t.Errorf("walk: %+v", pages)
	}
	if _, err := Open("tiny", bytes.NewReader(img), int64(len(img)), nil); err == nil {
		t.Errorf("full dump opened without symbols")
	}
}

func FuzzOpen(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name := "fuzz.core"
		d, err := Open(name, bytes.NewReader(data), int64(len(data)), fuzzSyms)
		if err != nil {
			var fe *FormatError
			if _, ok := IsNotFreeBSD(err); !ok && (!errors.As(err, &fe) || fe.File != name) {
				t.Fatalf("error %v (%T) is not a FormatError naming the file", err, err)
			}
			return
		}
		buf := make([]byte, 32)
		for _, a := range []uint64{0xffffffff80000010, 0xfffffe0000003000, 0xfffff80000001000, 0x400000, 0xffff000000000000} {
			d.ReadMemory(buf, a)
		}
		n := 0
		d.WalkPages(func(Page) error {
			if n++; n > 10000 {
				return errEnough
			}
			return nil
		})
	})
}

// fuzzSeeds are small dumps of each kind: the synthetic minidumps and the
// tiny full dump.
func fuzzSeeds(tb testing.TB) [][]byte {
	pmap := make([]byte, 4096)
	putEnt(pmap, 0, 8, 0x2000|amd64PGV|amd64PGRW)
	putEnt(pmap, 1, 8, 0x400000|amd64PGV|amd64PGPS)
	pt := make([]byte, 4096)
	putEnt(pt, 3, 8, 0x5000|amd64PGV)
	amd := &synthDump{magic: magicAMD64, pageSize: 4096, pmap: pmap, dumpAvail: []uint64{0, 0x9f000, 0x100000, 0x800000, 0, 0},
		pages: map[uint64][]byte{0x2000: pt, 0x5000: pagePattern(0x5000, 4096), 0x401000: pagePattern(0x401000, 4096)}}
	_, _, as := amd.bytes(tb)
	amd.fill = amd64Fill(3, as)
	a, _, _ := amd.bytes(tb)

	ipmap := make([]byte, 4096)
	putEnt(ipmap, 0, 4, 0x3000|i386PGV)
	i386 := &synthDump{magic: magicI386, pageSize: 4096, pmap: ipmap, pages: map[uint64][]byte{0x3000: pagePattern(0x3000, 4096)},
		fill: func(h []byte) {
			binary.LittleEndian.PutUint32(h[0x18:], 1)
			binary.LittleEndian.PutUint32(h[0x28:], 0x400000)
		}}
	i, _, _ := i386.bytes(tb)

	apmap := make([]byte, 4096)
	putEnt(apmap, 0, 8, 0x40005000|1<<10|arm64L3Page)
	arm := &synthDump{magic: magicARM64, pageSize: 4096, pmap: apmap, pages: map[uint64][]byte{0x40005000: pagePattern(0x40005000, 4096)},
		fill: func(h []byte) {
			le := binary.LittleEndian
			le.PutUint32(h[0x18:], 1)
			le.PutUint64(h[0x28:], 0xffff000000000000)
			le.PutUint64(h[0x30:], 0x40000000)
			le.PutUint64(h[0x38:], 0xffffa00000000000)
			le.PutUint64(h[0x40:], 0xffffff0000000000)
		}}
	r, _, _ := arm.bytes(tb)
	return [][]byte{a, i, r, tinyFullDump()}
}

// TestWriteFuzzSeeds (re)writes testdata/fuzz/FuzzOpen from fuzzSeeds when
// KVMGEN_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("KVMGEN_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set KVMGEN_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzOpen")
	}
	dir := "testdata/fuzz/FuzzOpen"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(fmt.Sprintf("%s/seed-%d", dir, i), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// every3 keeps every third element.
func every3(xs []int64) []int64 {
	var out []int64
	for i := 0; i < len(xs); i += 3 {
		out = append(out, xs[i])
	}
	return out
}
