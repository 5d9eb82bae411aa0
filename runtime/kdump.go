package kvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"sync"

	"github.com/anchore/go-lzo"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// kdump-compressed ("diskdump") format, as makedumpfile and QEMU write it.
const (
	kdumpSignature = "KDUMP   "
	diskdumpSig    = "DISKDUMP"

	kdumpZlib       = 0x01 // DUMP_DH_COMPRESSED_ZLIB
	kdumpLZO        = 0x02 // DUMP_DH_COMPRESSED_LZO
	kdumpSnappy     = 0x04 // DUMP_DH_COMPRESSED_SNAPPY
	kdumpIncomplete = 0x08 // DUMP_DH_COMPRESSED_INCOMPLETE
	kdumpZstd       = 0x20 // DUMP_DH_COMPRESSED_ZSTD

	pageDescSize = 24 // struct page_desc: off_t offset; u32 size, flags; u64 page_flags
)

// kdumpDump is an opened kdump-compressed file.
type kdumpDump struct {
	name      string
	r         io.ReaderAt
	size      int64
	bo        binary.ByteOrder
	blockSize uint64
	maxMapnr  uint64
	bitmap2   []byte   // dumped pages
	rank      []uint32 // pages set in bitmap2 before each 512-bit (64-byte) chunk
	descOff   int64    // file offset of the first page_desc
	info      DumpInfo
	vmci      *VMCoreInfo
	kmem      *kernelMem
	walker    *x86Walker
	status    uint32
	pool      sync.Pool // *kdumpScratch
	zstdDec   *zstd.Decoder

	xlatErr error // why no translation was set up
	cacheMu sync.Mutex
	cache   map[uint64][]byte // decompressed pages, for small reads
	noCache bool
}

// kdumpCacheBytes bounds the decompressed-page cache (8192 pages of 4 KiB;
// fewer of larger blocks: QEMU writes arm64 dumps in 64 KiB blocks).
const kdumpCacheBytes = 32 << 20

// cachedPage returns page pfn decompressed, from the cache when there.
// The returned slice must not be modified.
func (d *kdumpDump) cachedPage(pfn uint64, s *kdumpScratch) ([]byte, error) {
	if !d.noCache {
		d.cacheMu.Lock()
		p, ok := d.cache[pfn]
		d.cacheMu.Unlock()
		if ok {
			return p, nil
		}
	}
	p := make([]byte, d.blockSize)
	if err := d.readPage(p, pfn, s); err != nil {
		return nil, err
	}
	if !d.noCache {
		d.cacheMu.Lock()
		if d.cache == nil {
			d.cache = make(map[uint64][]byte)
		}
		if uint64(len(d.cache)) >= kdumpCacheBytes/d.blockSize {
			for k := range d.cache { // evict an arbitrary page
				delete(d.cache, k)
				break
			}
		}
		d.cache[pfn] = p
		d.cacheMu.Unlock()
	}
	return p, nil
}

type kdumpScratch struct {
	comp, page []byte
	br         bytes.Reader
	zr         io.ReadCloser // reused zlib reader
}

// utsname field offsets in disk_dump_header (6 fields of 65 bytes from 12).
const (
	utsRelease = 12 + 2*65
	utsMachine = 12 + 4*65
)

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func openKdump(ctx *openContext) (coreDump, error) {
	var sig [8]byte
	if n, _ := ctx.File.ReadAt(sig[:], 0); n < 8 || (string(sig[:]) != kdumpSignature && string(sig[:]) != diskdumpSig) {
		// The flattened format wraps a kdump file.
		if isFlattened(ctx.File) {
			fr, err := newFlatReader(ctx.Name, ctx.File, ctx.Size)
			if err != nil {
				return nil, err
			}
			c := *ctx
			c.File, c.Size = fr, fr.Size()
			d, err := openKdump(&c)
			if err != nil {
				return nil, err
			}
			kd := d.(*kdumpDump)
			kd.info.Format = strings.Replace(kd.info.Format, "kdump-compressed", "kdump-compressed flattened", 1)
			return kd, nil
		}
		return nil, &notMineError{Format: "kdump-compressed", Reason: "no KDUMP signature"}
	}
	hdr := make([]byte, 512)
	if n, err := ctx.File.ReadAt(hdr, 0); n < 472 {
		return nil, &FormatError{File: ctx.Name, Offset: int64(n), Msg: fmt.Sprintf("disk_dump_header truncated: %v", err)}
	}
	machine := cstr(hdr[utsMachine : utsMachine+65])
	d := &kdumpDump{name: ctx.Name, r: ctx.File, size: ctx.Size}
	// Byte order and word size of the dumped machine: from the execfile
	// when given, else from utsname.machine.
	ptr := 8
	d.bo = binary.LittleEndian
	switch machine {
	case "i386", "i486", "i586", "i686", "arm", "armv7l", "mips", "ppc":
		ptr = 4
	}
	switch machine {
	case "s390x", "ppc64", "ppc", "mips", "sparc64":
		d.bo = binary.BigEndian
	}
	if ctx.Exec != nil && ctx.Exec.ByteOrder != nil {
		d.bo = ctx.Exec.ByteOrder
	}
	// The header version must be small; a wrong guess of byte order shows.
	version := d.bo.Uint32(hdr[8:])
	if version == 0 || version > 100 {
		return nil, &FormatError{File: ctx.Name, Offset: 8, Msg: fmt.Sprintf("header_version %d is not a known version (1..6+)", version)}
	}
	// struct timeval follows utsname (which ends at 402), aligned to the
	// word size of the machine that wrote the file: makedumpfile's is the
	// kernel's; QEMU writes the 64-bit layout for every guest whose dump
	// it makes ELF64 (i386 included). Take the layout whose block_size is
	// sane, preferring the target's word size.
	word := ptr
	validBS := func(o int) bool {
		bs := d.bo.Uint32(hdr[o+4:])
		return bs >= 1024 && bs <= 1<<20 && bs&(bs-1) == 0
	}
	if !validBS((402+word-1)&^(word-1) + 2*word) {
		if other := 12 - word; validBS((402+other-1)&^(other-1) + 2*other) {
			word = other
		}
	}
	tv := (402 + word - 1) &^ (word - 1)
	o := tv + 2*word
	d.status = d.bo.Uint32(hdr[o:])
	blockSize := int64(int32(d.bo.Uint32(hdr[o+4:])))
	subHdrSize := int64(int32(d.bo.Uint32(hdr[o+8:])))
	bitmapBlocks := int64(d.bo.Uint32(hdr[o+12:]))
	maxMapnr := uint64(d.bo.Uint32(hdr[o+16:]))
	if blockSize < 1024 || blockSize > 1<<20 || blockSize&(blockSize-1) != 0 {
		return nil, &FormatError{File: ctx.Name, Offset: int64(o + 4), Msg: fmt.Sprintf("block_size %d is not a power of two in 1 KiB..1 MiB", blockSize)}
	}
	if subHdrSize < 0 || subHdrSize > 1<<20 {
		return nil, &FormatError{File: ctx.Name, Offset: int64(o + 8), Msg: fmt.Sprintf("sub_hdr_size %d blocks is out of range", subHdrSize)}
	}
	d.blockSize = uint64(blockSize)
	d.pool.New = func() any { return &kdumpScratch{comp: make([]byte, d.blockSize), page: make([]byte, d.blockSize)} }
	d.info = DumpInfo{Version: int(version), PtrSize: ptr, BigEndian: d.bo == binary.BigEndian, PageSize: int(blockSize)}
	d.info.Arch = archOfUname(machine)
	if x := ctx.Exec; x != nil && x.Machine != 0 && archOf(x.Machine, x.Class, d.bo) != d.info.Arch {
		// QEMU writes "Unknown" for some targets: the execfile knows.
		d.info.Arch = archOf(x.Machine, x.Class, d.bo)
	}
	d.info.OSRelease = cstr(hdr[utsRelease : utsRelease+65])

	// kdump_sub_header, one block in.
	sub := make([]byte, 13*8)
	subOff := blockSize
	if subHdrSize > 0 {
		if n, err := ctx.File.ReadAt(sub, subOff); n < len(sub) {
			return nil, &FormatError{File: ctx.Name, Offset: subOff + int64(n), Msg: fmt.Sprintf("kdump_sub_header truncated: %v", err)}
		}
	}
	// Layout (unsigned long = ptr, off_t = 8 bytes):
	// phys_base; int dump_level; int split; start_pfn; end_pfn;
	// off_t offset_vmcoreinfo; size_vmcoreinfo; off_t offset_note;
	// size_note; off_t offset_eraseinfo; size_eraseinfo;
	// u64 start_pfn_64, end_pfn_64, max_mapnr_64.
	var offVI, sizeVI, offNote, sizeNote int64
	if subHdrSize > 0 && word == 8 {
		offVI, sizeVI = int64(d.bo.Uint64(sub[32:])), int64(d.bo.Uint64(sub[40:]))
		offNote, sizeNote = int64(d.bo.Uint64(sub[48:])), int64(d.bo.Uint64(sub[56:]))
		if version >= 6 {
			maxMapnr = d.bo.Uint64(sub[96:])
		}
	} else if subHdrSize > 0 {
		// 32-bit: phys_base 0, dump_level 4, split 8, start_pfn 12,
		// end_pfn 16, offset_vmcoreinfo 20 (8-byte off_t, 4-aligned),
		// size_vmcoreinfo 28, offset_note 32, size_note 40, ...
		offVI, sizeVI = int64(d.bo.Uint64(sub[20:])), int64(d.bo.Uint32(sub[28:]))
		offNote, sizeNote = int64(d.bo.Uint64(sub[32:])), int64(d.bo.Uint32(sub[40:]))
		if version >= 6 {
			maxMapnr = d.bo.Uint64(sub[64:])
		}
	}
	if version < 3 {
		offVI, sizeVI = 0, 0
	}
	if version < 4 {
		offNote, sizeNote = 0, 0
	}
	if sizeVI > 0 && sizeVI <= maxVMCoreInfo && offVI > 0 && (ctx.Size < 0 || offVI+sizeVI <= ctx.Size) {
		b := make([]byte, sizeVI)
		if _, err := ctx.File.ReadAt(b, offVI); err == nil || err == io.EOF {
			d.vmci = parseVMCoreInfo(b)
		}
	}
	if d.vmci == nil && sizeNote > 0 && sizeNote <= maxNoteSize && offNote > 0 && (ctx.Size < 0 || offNote+sizeNote <= ctx.Size) {
		b := make([]byte, sizeNote)
		if _, err := ctx.File.ReadAt(b, offNote); err == nil || err == io.EOF {
			for _, n := range parseNotes(b, d.bo) {
				if n.Name == "VMCOREINFO" {
					d.vmci = parseVMCoreInfo(n.Desc)
					break
				}
			}
		}
	}
	// Bitmaps: two halves of bitmap_blocks blocks after the sub header.
	bmOff := (1 + subHdrSize) * blockSize
	bmLen := bitmapBlocks * blockSize
	if bitmapBlocks <= 0 || bitmapBlocks > 1<<30 || (ctx.Size >= 0 && bmOff+bmLen > ctx.Size) {
		return nil, &FormatError{File: ctx.Name, Offset: int64(o + 12), Msg: fmt.Sprintf("bitmap of %d blocks at %#x does not fit the file", bitmapBlocks, bmOff)}
	}
	if ctx.Size < 0 && bmLen > 1<<32 {
		return nil, &FormatError{File: ctx.Name, Offset: int64(o + 12), Msg: fmt.Sprintf("bitmap of %d blocks is too large", bitmapBlocks)}
	}
	half := bmLen / 2
	if maxMapnr > uint64(half)*8 {
		maxMapnr = uint64(half) * 8
	}
	d.maxMapnr = maxMapnr
	d.bitmap2 = make([]byte, half)
	if n, err := ctx.File.ReadAt(d.bitmap2, bmOff+half); int64(n) < half {
		return nil, &FormatError{File: ctx.Name, Offset: bmOff + half + int64(n), Msg: fmt.Sprintf("second bitmap truncated: %v", err)}
	}
	d.rank = make([]uint32, (len(d.bitmap2)+63)/64+1)
	var cnt uint32
	for i := 0; i < len(d.bitmap2); i += 64 {
		d.rank[i/64] = cnt
		end := min(i+64, len(d.bitmap2))
		for _, b := range d.bitmap2[i:end] {
			cnt += uint32(bits.OnesCount8(b))
		}
	}
	d.rank[len(d.rank)-1] = cnt
	d.descOff = bmOff + bmLen
	if ctx.Size >= 0 && d.descOff+int64(cnt)*pageDescSize > ctx.Size {
		return nil, &FormatError{File: ctx.Name, Offset: d.descOff, Msg: fmt.Sprintf("%d page descriptors do not fit the file", cnt)}
	}
	codec := "uncompressed"
	switch {
	case d.status&kdumpZstd != 0:
		codec = "zstd"
	case d.status&kdumpSnappy != 0:
		codec = "snappy"
	case d.status&kdumpLZO != 0:
		codec = "lzo"
	case d.status&kdumpZlib != 0:
		codec = "zlib"
	}
	d.info.Format = "kdump-compressed (" + codec + ")"
	if d.status&kdumpIncomplete != 0 {
		d.info.Format += " incomplete"
	}
	if d.vmci != nil {
		if _, ok := d.vmci.Number("kimage_voffset"); ok && d.info.Arch != "aarch64" && (ctx.Exec == nil || ctx.Exec.Machine == 0) {
			// QEMU writes "Unknown" as an arm64 guest's machine; only
			// arm64 records kimage_voffset.
			d.info.Arch = "aarch64"
		}
		if ps, ok := d.vmci.PageSize(); ok {
			d.info.PageSize = ps // the kernel's page, not the dump's block
		}
		if r, ok := d.vmci.Get("OSRELEASE"); ok {
			d.info.OSRelease = r
		}
		d.info.BuildID, _ = d.vmci.Get("BUILD-ID")
		if off, ok := d.vmci.KernelOffset(); ok {
			d.info.KernDisp, d.info.KernDispKnown = off, true
		} else if disp, ok := dispFromStext(d.vmci, ctx.Exec); ok {
			d.info.KernDisp, d.info.KernDispKnown = disp, true
		}
		if root, levels, ok := x86RootFromVMCoreInfo(d.vmci); ok && d.info.Arch == "x86_64" {
			d.walker = &x86Walker{phys: d, root: root, levels: levels, cache: newTLB()}
			d.kmem = &kernelMem{phys: d, xlat: d.walker}
		}
		if d.info.Arch == "i386" {
			if w, err := i386FromVMCoreInfo(d.vmci, d); err == nil {
				d.kmem = &kernelMem{phys: d, xlat: w}
			} else {
				d.xlatErr = err
			}
		}
		if d.info.Arch == "aarch64" {
			if w, err := arm64FromVMCoreInfo(d.vmci, d, d.bo); err == nil {
				d.kmem = &kernelMem{phys: d, xlat: w}
			} else {
				d.xlatErr = err
			}
		}
	}
	if d.kmem == nil && d.info.Arch == "x86_64" && ctx.Exec != nil {
		if loc, err := findX86Kernel(d, []physRange{{0, d.maxMapnr * d.blockSize}}, ctx.Exec, 0); err == nil {
			d.walker = loc.walker
			d.kmem = &kernelMem{phys: d, xlat: loc.walker}
			d.info.KernDisp, d.info.KernDispKnown = loc.disp, true
		}
	}
	if d.kmem != nil {
		from := "VMCOREINFO"
		if d.vmci == nil {
			from = "linux_banner scan"
		}
		d.info.Translation = describe(d.kmem.xlat, from)
	}
	return d, nil
}

func (d *kdumpDump) Info() DumpInfo { return d.info }
func (d *kdumpDump) Close() error {
	zstdOnce.Lock()
	defer zstdOnce.Unlock()
	if d.zstdDec != nil {
		d.zstdDec.Close()
		d.zstdDec = nil
	}
	return nil
}
func (d *kdumpDump) VMCoreInfo() *VMCoreInfo { return d.vmci }
func (d *kdumpDump) disableCache() {
	d.noCache = true
	if d.kmem != nil {
		dropCache(d.kmem.xlat)
	}
}

// ReadMemory reads kernel virtual memory through the page tables.
func (d *kdumpDump) ReadMemory(buf []byte, addr uint64) (int, error) {
	if d.kmem == nil {
		if d.xlatErr != nil {
			return 0, &ReadError{Addr: addr, Len: len(buf), Err: d.xlatErr}
		}
		return 0, &ReadError{Addr: addr, Len: len(buf), Err: errors.New("no page tables known for this dump (no VMCOREINFO with init_top_pgt)")}
	}
	return d.kmem.ReadMemory(buf, addr)
}

// errPageExcluded is returned for a page the dump does not hold.
var errPageExcluded = errors.New("page not in the dump (excluded or not memory)")

// pageIndex returns the page_desc index of pfn, or false when it was not
// dumped.
func (d *kdumpDump) pageIndex(pfn uint64) (uint64, bool) {
	if pfn >= d.maxMapnr || pfn/8 >= uint64(len(d.bitmap2)) {
		return 0, false
	}
	byteI := pfn / 8
	if d.bitmap2[byteI]&(1<<(pfn%8)) == 0 {
		return 0, false
	}
	chunk := byteI / 64
	r := uint64(d.rank[chunk])
	for _, b := range d.bitmap2[chunk*64 : byteI] {
		r += uint64(bits.OnesCount8(b))
	}
	r += uint64(bits.OnesCount8(d.bitmap2[byteI] & (1<<(pfn%8) - 1)))
	return r, true
}

// readPage decompresses page pfn into dst (len blockSize).
func (d *kdumpDump) readPage(dst []byte, pfn uint64, s *kdumpScratch) error {
	idx, ok := d.pageIndex(pfn)
	if !ok {
		return errPageExcluded
	}
	var desc [pageDescSize]byte
	dOff := d.descOff + int64(idx)*pageDescSize
	if n, err := d.r.ReadAt(desc[:], dOff); n < pageDescSize {
		return &FormatError{File: d.name, Offset: dOff + int64(n), Msg: fmt.Sprintf("page descriptor of pfn %#x truncated: %v", pfn, err)}
	}
	off := int64(d.bo.Uint64(desc[0:]))
	size := uint64(d.bo.Uint32(desc[8:]))
	flags := d.bo.Uint32(desc[12:])
	if size > d.blockSize || off < 0 || (d.size >= 0 && off+int64(size) > d.size) {
		return &FormatError{File: d.name, Offset: dOff, Msg: fmt.Sprintf("page descriptor of pfn %#x: %d bytes at %#x do not fit (page size %d, file size %d)", pfn, size, off, d.blockSize, d.size)}
	}
	comp := s.comp[:size]
	if n, err := d.r.ReadAt(comp, off); uint64(n) < size {
		return &FormatError{File: d.name, Offset: off + int64(n), Msg: fmt.Sprintf("page data of pfn %#x truncated: %v", pfn, err)}
	}
	bad := func(err error) error {
		return &FormatError{File: d.name, Offset: off, Msg: fmt.Sprintf("page of pfn %#x (flags %#x): %v", pfn, flags, err)}
	}
	var n int
	var err error
	switch {
	case flags&kdumpZlib != 0:
		s.br.Reset(comp)
		if s.zr == nil {
			zr, e := zlib.NewReader(&s.br)
			if e != nil {
				return bad(e)
			}
			s.zr = zr
		} else if e := s.zr.(zlib.Resetter).Reset(&s.br, nil); e != nil {
			return bad(e)
		}
		zr := s.zr
		n, err = io.ReadFull(zr, dst)
		if err == nil {
			// The stream must end here.
			var one [1]byte
			if m, _ := zr.Read(one[:]); m != 0 {
				err = errors.New("zlib data longer than a page")
			}
		}
	case flags&kdumpLZO != 0:
		n, err = lzo.Decompress(comp, dst)
	case flags&kdumpSnappy != 0:
		l, e := snappy.DecodedLen(comp)
		if e != nil {
			return bad(e)
		}
		if uint64(l) != d.blockSize {
			return bad(fmt.Errorf("snappy data decodes to %d bytes, not a page", l))
		}
		var out []byte
		out, err = snappy.Decode(s.page, comp)
		n = copy(dst, out)
	case flags&kdumpZstd != 0:
		dec, e := d.zstd()
		if e != nil {
			return bad(e)
		}
		var out []byte
		out, err = dec.DecodeAll(comp, s.page[:0])
		if uint64(len(out)) > d.blockSize {
			return bad(fmt.Errorf("zstd data decodes to %d bytes, more than a page", len(out)))
		}
		n = copy(dst, out)
	default:
		if size != d.blockSize {
			return bad(fmt.Errorf("uncompressed page of %d bytes", size))
		}
		n = copy(dst, comp)
	}
	if err != nil {
		return bad(err)
	}
	if uint64(n) != d.blockSize {
		return bad(fmt.Errorf("decompressed to %d bytes, want %d", n, d.blockSize))
	}
	return nil
}

var zstdOnce sync.Mutex

func (d *kdumpDump) zstd() (*zstd.Decoder, error) {
	zstdOnce.Lock()
	defer zstdOnce.Unlock()
	if d.zstdDec == nil {
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return nil, err
		}
		d.zstdDec = dec
	}
	return d.zstdDec, nil
}

// ReadPhys reads physical memory.
func (d *kdumpDump) ReadPhys(buf []byte, paddr uint64) (int, error) {
	s := d.pool.Get().(*kdumpScratch)
	defer d.pool.Put(s)
	done := 0
	for done < len(buf) {
		pa := paddr + uint64(done)
		pfn := pa / d.blockSize
		off := pa % d.blockSize
		n := min(uint64(len(buf)-done), d.blockSize-off)
		var err error
		if off == 0 && n == d.blockSize {
			err = d.readPage(buf[done:done+int(n)], pfn, s)
		} else {
			var page []byte
			page, err = d.cachedPage(pfn, s)
			if err == nil {
				copy(buf[done:done+int(n)], page[off:])
			}
		}
		if err != nil {
			return done, &ReadError{Addr: pa, Len: int(n), Err: err}
		}
		done += int(n)
	}
	return done, nil
}

// WalkPages reports the dumped pages.
func (d *kdumpDump) WalkPages(fn func(Page) error) error {
	for pfn := uint64(0); pfn < d.maxMapnr; pfn++ {
		if d.bitmap2[pfn/8]&(1<<(pfn%8)) == 0 {
			continue
		}
		if err := fn(Page{Phys: pfn * d.blockSize, Size: d.blockSize, Prot: ProtRead, Offset: -1}); err != nil {
			return err
		}
	}
	return nil
}
