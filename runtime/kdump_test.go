package kvm

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// openFixtureKdump opens the real QEMU kdump (zlib, flattened).
func openFixtureKdump(t *testing.T) *kdumpDump {
	t.Helper()
	name := testfix.Path(t, fxKdump)
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	d, err := openKdump(&openContext{Name: name, File: f, Size: st.Size()})
	if err != nil {
		t.Fatal(err)
	}
	return d.(*kdumpDump)
}

// dumpedPFNs lists the pages a kdump holds.
func dumpedPFNs(d *kdumpDump) []uint64 {
	var pfns []uint64
	d.WalkPages(func(p Page) error {
		pfns = append(pfns, p.Phys/d.blockSize)
		return nil
	})
	return pfns
}

// reencode writes a copy of the kdump d whose pages are compressed by enc
// (nil: stored plainly) with the given page_desc flags and header status,
// keeping the header, sub header, notes and bitmaps as they are.
func reencode(t *testing.T, d *kdumpDump, path string, status uint32, pages func(yield func(pfn uint64, data []byte, flags uint32))) {
	t.Helper()
	n := uint64(d.rank[len(d.rank)-1])
	prefixLen := d.descOff + int64(n)*pageDescSize
	prefix := make([]byte, prefixLen)
	if _, err := d.r.ReadAt(prefix, 0); err != nil {
		t.Fatal(err)
	}
	d.bo.PutUint32(prefix[424:], status) // disk_dump_header.status (64-bit layout)
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	w.Write(prefix)
	off := prefixLen
	i := int64(0)
	pages(func(pfn uint64, data []byte, flags uint32) {
		idx, ok := d.pageIndex(pfn)
		if !ok || int64(idx) != i {
			t.Fatalf("pfn %#x: index %d, want %d", pfn, idx, i)
		}
		desc := prefix[d.descOff+i*pageDescSize:]
		d.bo.PutUint64(desc[0:], uint64(off))
		d.bo.PutUint32(desc[8:], uint32(len(data)))
		d.bo.PutUint32(desc[12:], flags)
		d.bo.PutUint64(desc[16:], 0)
		w.Write(data)
		off += int64(len(data))
		i++
	})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Rewrite the descriptors now filled in.
	if _, err := out.WriteAt(prefix[d.descOff:], d.descOff); err != nil {
		t.Fatal(err)
	}
}

func TestKdumpCodecs(t *testing.T) {
	orig := openFixtureKdump(t)
	pfns := dumpedPFNs(orig)
	if len(pfns) == 0 {
		t.Fatal("the fixture kdump holds no pages")
	}
	dir := t.TempDir()

	// The reference: each page as zlib (an independent decoder, Go's
	// compress/zlib, reading the fixture's own page data) — checks our
	// reading of the original file first.
	raw := filepath.Join(dir, "pages.raw")
	rf, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	rw := bufio.NewWriter(rf)
	var desc [pageDescSize]byte
	comp := make([]byte, orig.blockSize)
	for i, pfn := range pfns {
		orig.r.ReadAt(desc[:], orig.descOff+int64(i)*pageDescSize)
		off, size, flags := int64(orig.bo.Uint64(desc[:])), orig.bo.Uint32(desc[8:]), orig.bo.Uint32(desc[12:])
		c := comp[:size]
		if _, err := orig.r.ReadAt(c, off); err != nil {
			t.Fatal(err)
		}
		var want []byte
		if flags&kdumpZlib != 0 {
			zr, err := zlib.NewReader(bytes.NewReader(c))
			if err != nil {
				t.Fatalf("pfn %#x: %v", pfn, err)
			}
			want, _ = io.ReadAll(zr)
		} else {
			want = c
		}
		got := make([]byte, orig.blockSize)
		if _, err := orig.ReadPhys(got, pfn*orig.blockSize); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("pfn %#x: our reader differs from compress/zlib", pfn)
		}
		rw.Write(want)
	}
	rw.Flush()
	rf.Close()

	type codec struct {
		name, format string
		status       uint32
		file         string
	}
	var codecs []codec
	// fromRaw re-encodes the reference pages; encoders return nil for a
	// page they cannot shrink, which is then stored plainly, as
	// makedumpfile does.
	fromRaw := func(name string, status uint32, encode func(page []byte) []byte) {
		file := filepath.Join(dir, name+".kdump")
		ref, err := os.Open(raw)
		if err != nil {
			t.Fatal(err)
		}
		defer ref.Close()
		br := bufio.NewReaderSize(ref, 1<<20)
		page := make([]byte, orig.blockSize)
		reencode(t, orig, file, status, func(yield func(uint64, []byte, uint32)) {
			for _, pfn := range pfns {
				if _, err := io.ReadFull(br, page); err != nil {
					t.Fatal(err)
				}
				if c := encode(page); c != nil && len(c) < len(page) {
					yield(pfn, c, status)
				} else {
					yield(pfn, page, 0)
				}
			}
		})
		format := "kdump-compressed (" + name + ")"
		codecs = append(codecs, codec{name, format, status, file})
	}
	fromRaw("snappy", kdumpSnappy, func(p []byte) []byte { return snappy.Encode(nil, p) })
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	fromRaw("zstd", kdumpZstd, func(p []byte) []byte { return enc.EncodeAll(p, nil) })
	fromRaw("uncompressed", 0, func(p []byte) []byte { return nil })
	// LZO: python3-lzo compresses (we have only a decoder).
	if err := exec.Command("/usr/bin/python3", "-c", "import lzo").Run(); err != nil {
		if testfix.Required() {
			t.Fatalf("python3-lzo is required: %v", err)
		}
		t.Log("python3-lzo not installed: LZO not tested")
	} else {
		lz := filepath.Join(dir, "pages.lzo")
		if out, err := exec.Command("/usr/bin/python3", "testdata/lzo_pages.py", "4096", raw, lz).CombinedOutput(); err != nil {
			t.Fatalf("lzo_pages.py: %v\n%s", err, out)
		}
		lf, err := os.Open(lz)
		if err != nil {
			t.Fatal(err)
		}
		lr := bufio.NewReaderSize(lf, 1<<20)
		fromRaw("lzo", kdumpLZO, func(p []byte) []byte {
			var l [4]byte
			if _, err := io.ReadFull(lr, l[:]); err != nil {
				t.Fatal(err)
			}
			c := make([]byte, binary.LittleEndian.Uint32(l[:]))
			if _, err := io.ReadFull(lr, c); err != nil {
				t.Fatal(err)
			}
			return c
		})
		lf.Close()
	}
	// The flattened format around the LZO (or snappy) file, records out
	// of order and one rewritten.
	inner := codecs[len(codecs)-1]
	flatFile := filepath.Join(dir, "flat.kdump")
	flatten(t, inner.file, flatFile)
	codecs = append(codecs, codec{"flattened " + inner.name, "kdump-compressed flattened (" + inner.name + ")", inner.status, flatFile})

	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			kd, err := OpenOptions(testfix.Path(t, fxVmlinux), c.file, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer kd.Close()
			if kd.Info().Format != c.format {
				t.Errorf("format %q, want %q", kd.Info().Format, c.format)
			}
			ref, err := os.Open(raw)
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			br := bufio.NewReaderSize(ref, 1<<20)
			want := make([]byte, orig.blockSize)
			got := make([]byte, orig.blockSize)
			for _, pfn := range pfns {
				io.ReadFull(br, want)
				if _, err := kd.ReadPhys(got, pfn*orig.blockSize); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("pfn %#x differs from the original", pfn)
				}
			}
			// Kernel virtual reads work the same through any codec.
			a, _ := kd.LookupSymbol("linux_banner")
			b := make([]byte, 14)
			if _, err := kd.Read2(a, b); err != nil || string(b) != "Linux version " {
				t.Errorf("linux_banner: %q, %v", b, err)
			}
		})
	}
}

// flatten writes src in the makedumpfile flattened format: 4 KiB header,
// then {offset, size} records (big-endian) in shuffled order, with the
// first block written twice (garbage first, then the real bytes).
func flatten(t *testing.T, src, dst string) {
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	hdr := make([]byte, flatHeaderSize)
	copy(hdr, flatSignature)
	binary.BigEndian.PutUint64(hdr[16:], 1) // type
	binary.BigEndian.PutUint64(hdr[24:], 1) // version
	w.Write(hdr)
	rec := func(off int64, b []byte) {
		var h [16]byte
		binary.BigEndian.PutUint64(h[0:], uint64(off))
		binary.BigEndian.PutUint64(h[8:], uint64(len(b)))
		w.Write(h[:])
		w.Write(b)
	}
	rec(0, bytes.Repeat([]byte{0xee}, 8192))
	const chunk = 1 << 16
	var offs []int64
	for o := int64(0); o < int64(len(data)); o += chunk {
		offs = append(offs, o)
	}
	rand.New(rand.NewSource(1)).Shuffle(len(offs), func(i, j int) { offs[i], offs[j] = offs[j], offs[i] })
	for _, o := range offs {
		rec(o, data[o:min(o+chunk, int64(len(data)))])
	}
	var end [16]byte
	binary.BigEndian.PutUint64(end[0:], ^uint64(0))
	w.Write(end[:])
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestKdumpDamaged checks that damaged kdump files give errors with
// offsets, not panics or huge allocations.
func TestKdumpDamaged(t *testing.T) {
	orig := openFixtureKdump(t)
	// The fixture without its flattened wrapping.
	fr := orig.r.(*flatReader)
	data := make([]byte, fr.Size())
	if _, err := fr.ReadAt(data, 0); err != nil {
		t.Fatal(err)
	}
	open := func(b []byte) (coreDump, error) {
		return openDump(&openContext{Name: "damaged", File: bytes.NewReader(b), Size: int64(len(b))})
	}
	// Truncated in the page data: opens; reading the lost pages fails
	// with a FormatError naming the offset.
	cut := data[:len(data)-4096*3]
	d, err := open(cut)
	if err != nil {
		t.Fatalf("truncated: %v", err)
	}
	pfns := dumpedPFNs(orig)
	last := pfns[len(pfns)-1]
	_, err = d.(physReader).ReadPhys(make([]byte, 4096), last*4096)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset == 0 {
		t.Errorf("reading a lost page: %v, want a FormatError with an offset", err)
	}
	// Block size garbage.
	bad := bytes.Clone(data)
	binary.LittleEndian.PutUint32(bad[428:], 12345)
	if _, err := open(bad); !errors.As(err, &fe) || fe.Offset != 428 {
		t.Errorf("bad block_size: %v, want a FormatError at 0x1ac", err)
	}
	// Bitmap claiming more blocks than the file holds.
	bad = bytes.Clone(data)
	binary.LittleEndian.PutUint32(bad[436:], 1<<29)
	if _, err := open(bad); !errors.As(err, &fe) {
		t.Errorf("huge bitmap: %v, want a FormatError", err)
	}
	// A page descriptor pointing past the end of the file.
	bad = bytes.Clone(data)
	binary.LittleEndian.PutUint64(bad[orig.descOff:], 1<<40)
	d, err = open(bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.(physReader).ReadPhys(make([]byte, 8), pfns[0]*4096)
	if !errors.As(err, &fe) || fe.Offset != orig.descOff {
		t.Errorf("page past the end: %v, want a FormatError at the descriptor %#x", err, orig.descOff)
	}
	// An excluded page reads as an error naming the physical address.
	var hole uint64
	for p := uint64(0); p < orig.maxMapnr; p++ {
		if _, ok := orig.pageIndex(p); !ok {
			hole = p
			break
		}
	}
	_, err = orig.ReadPhys(make([]byte, 8), hole*4096)
	if !errors.Is(err, errPageExcluded) {
		t.Errorf("excluded page %#x: %v", hole, err)
	}
}

// TestKdumpWithoutVMCoreInfo hides the fixture's VMCOREINFO (sub header
// size 0, note renamed): the kernel is then found by its linux_banner and
// reads match drgn's.
func TestKdumpWithoutVMCoreInfo(t *testing.T) {
	objs := kernelOracle(t)
	orig := openFixtureKdump(t)
	fr := orig.r.(*flatReader)
	data := make([]byte, fr.Size())
	if _, err := fr.ReadAt(data, 0); err != nil {
		t.Fatal(err)
	}
	sub := int(orig.blockSize)
	binary.LittleEndian.PutUint64(data[sub+40:], 0) // size_vmcoreinfo
	if i := bytes.Index(data[:orig.descOff], []byte("VMCOREINFO\x00")); i >= 0 {
		copy(data[i:], "XXXX")
	}
	img, err := loadExec(testfix.Path(t, fxVmlinux))
	if err != nil {
		t.Fatal(err)
	}
	d, err := openDump(&openContext{Name: "novmci", File: bytes.NewReader(data), Size: int64(len(data)), Exec: &img.info})
	if err != nil {
		t.Fatal(err)
	}
	i := d.Info()
	want := objs["linux_banner"].addr - linkAddr(t, "linux_banner")
	if i.BuildID != "" || !i.KernDispKnown || i.KernDisp != want {
		t.Errorf("Info() = %+v, want no build ID and displacement %#x", i, want)
	}
	for _, name := range []string{"linux_banner", "init_uts_ns", "comm1"} {
		o := objs[name]
		buf := make([]byte, len(o.bytes))
		if _, err := d.ReadMemory(buf, o.addr); err != nil || !bytes.Equal(buf, o.bytes) {
			t.Errorf("%s: %v (%d bytes differ)", name, err, diffCount(buf, o.bytes))
		}
	}
}

// TestWalkPages counts the pages each dump reports: the ELF dump's
// PT_LOADs as readelf lists them; the kdump's as set bits in its second
// bitmap counted by hand.
func TestWalkPages(t *testing.T) {
	out, err := exec.Command("readelf", "-lW", testfix.Path(t, fxELF)).Output()
	if err != nil {
		t.Skipf("readelf: %v", err)
	}
	var want uint64
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[0] == "LOAD" {
			sz, _ := strconv.ParseUint(strings.TrimPrefix(f[4], "0x"), 16, 64)
			want += (sz + 4095) / 4096
		}
	}
	kd := openFixture(t, fxELF, Options{})
	var got uint64
	if err := kd.WalkPages(func(p Page) error {
		if p.VirtKnown || p.Offset < 0 {
			t.Fatalf("page %+v of a physical dump", p)
		}
		got++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("ELF: %d pages, readelf's PT_LOADs hold %d", got, want)
	}
	orig := openFixtureKdump(t)
	var bits uint64
	for _, b := range orig.bitmap2 {
		for ; b != 0; b &= b - 1 {
			bits++
		}
	}
	kk := openFixture(t, fxKdump, Options{})
	got = 0
	kk.WalkPages(func(p Page) error { got++; return nil })
	if got != bits || got == 0 {
		t.Errorf("kdump: %d pages, bitmap has %d", got, bits)
	}
}
