package freebsd

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// Minidump architectures, as the header's magic names them.
const (
	magicAMD64 = "minidump FreeBSD/amd64"
	magicI386  = "minidump FreeBSD/i386"
	magicARM64 = "minidump FreeBSD/arm64"
)

// MinidumpHeader is a minidump's page-0 header, decoded for any of the
// architectures (fields an architecture lacks are zero).
type MinidumpHeader struct {
	Magic         string // e.g. "minidump FreeBSD/amd64"
	Version       uint32
	MsgBufSize    uint32
	BitmapSize    uint32
	PmapSize      uint32 // amd64/arm64 pmapsize; i386 ptesize
	KernBase      uint64 // first kernel virtual address the page map covers
	DMapPhys      uint64 // arm64 only
	DMapBase      uint64 // amd64, arm64
	DMapEnd       uint64 // amd64, arm64
	PAEMode       bool   // i386 only
	DumpAvailSize uint32 // version 3 on amd64, 2 on i386 and arm64
	Flags         uint32 // arm64 version 3
}

const (
	archAMD64 = iota
	archI386
	archARM64
)

// Minidump is an opened FreeBSD minidump.
type Minidump struct {
	name string
	r    io.ReaderAt
	size int64
	arch int
	hdr  MinidumpHeader

	pageSize  uint64
	pageShift uint
	msgbufOff int64
	pmapOff   int64
	pmap      []byte // the kernel page map as stored (little-endian entries)
	entSize   int    // bytes per page-map entry
	sparse    *sparseIndex
	tlb
}

var _ Dump = (*Minidump)(nil)

// maxPartUnsized bounds what the header can make the opener read from a
// file whose size is unknown (a device): 256 MiB of bitmap covers 8 TiB of
// memory in 4 KiB pages.
const maxPartUnsized = 256 << 20

func roundUp(x, p uint64) uint64 { return (x + p - 1) / p * p }

// OpenMinidump opens a FreeBSD minidump of amd64, i386 or arm64.
func OpenMinidump(name string, r io.ReaderAt, size int64) (*Minidump, error) {
	var h [0x50]byte
	n, err := r.ReadAt(h[:], 0)
	if n < 8 || string(h[:8]) != "minidump" {
		return nil, &notMine{reason: "no \"minidump\" magic"}
	}
	if n < len(h) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, formatErr(name, int64(n), "minidump header cut short (%d of %d bytes): %v", n, len(h), err)
	}
	magic := string(h[:24])
	if i := strings.IndexByte(magic, 0); i >= 0 {
		magic = magic[:i]
	}
	le := binary.LittleEndian
	m := &Minidump{name: name, r: r, size: size, pageSize: 4096, pageShift: 12}
	hd := &m.hdr
	hd.Magic = magic
	hd.Version = le.Uint32(h[0x18:])
	hd.MsgBufSize = le.Uint32(h[0x1c:])
	hd.BitmapSize = le.Uint32(h[0x20:])
	hd.PmapSize = le.Uint32(h[0x24:])
	switch magic {
	case magicAMD64:
		m.arch = archAMD64
		if hd.Version < 1 || hd.Version > 3 {
			return nil, formatErr(name, 0x18, "amd64 minidump version %d not supported (1 to 3 are)", hd.Version)
		}
		hd.KernBase = le.Uint64(h[0x28:])
		hd.DMapBase = le.Uint64(h[0x30:])
		hd.DMapEnd = le.Uint64(h[0x38:])
		if hd.Version >= 3 {
			hd.DumpAvailSize = le.Uint32(h[0x40:])
		}
		m.entSize = 8
	case magicI386:
		m.arch = archI386
		if hd.Version < 1 || hd.Version > 2 {
			return nil, formatErr(name, 0x18, "i386 minidump version %d not supported (1 and 2 are)", hd.Version)
		}
		hd.KernBase = uint64(le.Uint32(h[0x28:]))
		hd.PAEMode = le.Uint32(h[0x2c:]) != 0
		if hd.Version >= 2 {
			hd.DumpAvailSize = le.Uint32(h[0x30:])
		}
		m.entSize = 4
		if hd.PAEMode {
			m.entSize = 8
		}
	case magicARM64:
		m.arch = archARM64
		if hd.Version < 1 || hd.Version > 3 {
			return nil, formatErr(name, 0x18, "arm64 minidump version %d not supported (1 to 3 are)", hd.Version)
		}
		hd.KernBase = le.Uint64(h[0x28:])
		hd.DMapPhys = le.Uint64(h[0x30:])
		hd.DMapBase = le.Uint64(h[0x38:])
		hd.DMapEnd = le.Uint64(h[0x40:])
		if hd.Version >= 2 {
			hd.DumpAvailSize = le.Uint32(h[0x48:])
		}
		if hd.Version >= 3 {
			hd.Flags = le.Uint32(h[0x4c:])
			switch hd.Flags & 3 {
			case 0:
			case 1:
				m.pageSize, m.pageShift = 16384, 14
			default:
				return nil, formatErr(name, 0x4c, "arm64 minidump page-size flag %d not supported (0 = 4 KiB, 1 = 16 KiB)", hd.Flags&3)
			}
		}
		m.entSize = 8
	default:
		return nil, formatErr(name, 0, "minidump magic %q names no architecture read here (amd64, i386, arm64)", magic)
	}

	// Lay out the parts, each rounded up to a page, and check they fit.
	ps := m.pageSize
	type part struct {
		what string
		size uint64
		off  int64
	}
	off := ps
	parts := []*part{
		{what: "message buffer", size: uint64(hd.MsgBufSize)},
		{what: "dump_avail", size: uint64(hd.DumpAvailSize)},
		{what: "page bitmap", size: uint64(hd.BitmapSize)},
		{what: "kernel page map", size: uint64(hd.PmapSize)},
	}
	for _, p := range parts {
		p.off = int64(off)
		if size >= 0 && int64(off)+int64(p.size) > size {
			return nil, formatErr(name, int64(off), "%s of %d bytes (header says) runs past the end of the file (%d bytes)", p.what, p.size, size)
		}
		if size < 0 && p.size > maxPartUnsized {
			return nil, formatErr(name, int64(off), "%s of %d bytes (header says) exceeds %d bytes, the most read from a file of unknown size", p.what, p.size, maxPartUnsized)
		}
		off += roundUp(p.size, ps)
	}
	if hd.PmapSize%uint32(m.entSize) != 0 {
		return nil, formatErr(name, 0x24, "kernel page map size %d is not a multiple of its %d-byte entries", hd.PmapSize, m.entSize)
	}
	m.msgbufOff = parts[0].off
	pagesOff := int64(off)

	var ranges []availRange
	if hd.DumpAvailSize > 0 {
		b := make([]byte, hd.DumpAvailSize)
		if err := m.readFile(b, parts[1].off, "dump_avail"); err != nil {
			return nil, err
		}
		ranges = parseDumpAvail(b, ps)
		if len(ranges) == 0 {
			return nil, formatErr(name, parts[1].off, "dump_avail holds no range")
		}
	}
	bitmap := make([]byte, hd.BitmapSize)
	if err := m.readFile(bitmap, parts[2].off, "page bitmap"); err != nil {
		return nil, err
	}
	m.sparse = newSparseIndex(bitmap, ranges, ps, pagesOff, size)
	m.pmapOff = parts[3].off
	m.pmap = make([]byte, hd.PmapSize)
	if err := m.readFile(m.pmap, m.pmapOff, "kernel page map"); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Minidump) readFile(b []byte, off int64, what string) error {
	n, err := m.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return formatErr(m.name, off+int64(n), "reading %s (%d bytes at %#x): %v", what, len(b), off, err)
}

// Header returns the decoded minidump header.
func (m *Minidump) Header() MinidumpHeader { return m.hdr }

// PagesHeld is the number of physical pages the bitmap says the dump holds.
func (m *Minidump) PagesHeld() uint64 { return m.sparse.npages }

// PagesStored is the number of physical pages whose bytes the file holds:
// PagesHeld less those a truncated file has lost.
func (m *Minidump) PagesStored() uint64 { return min(m.sparse.npages, m.sparse.stored) }

// Truncated reports whether the file is too short to hold every page its
// bitmap lists (savecore or a copy cut it): those pages read as an error.
func (m *Minidump) Truncated() bool { return m.sparse.stored < m.sparse.npages }

// MsgBuf returns the kernel message buffer saved in the dump (the raw
// struct msgbuf area: message text in a ring, as the kernel left it).
func (m *Minidump) MsgBuf() ([]byte, error) {
	b := make([]byte, m.hdr.MsgBufSize)
	if err := m.readFile(b, m.msgbufOff, "message buffer"); err != nil {
		return nil, err
	}
	return b, nil
}

// Info describes the dump.
func (m *Minidump) Info() Info {
	in := Info{Version: int(m.hdr.Version), PageSize: int(m.pageSize)}
	switch m.arch {
	case archAMD64:
		in.Format, in.Arch, in.PtrSize = "FreeBSD amd64 minidump", "x86_64", 8
	case archI386:
		in.Format, in.Arch, in.PtrSize, in.PAE = "FreeBSD i386 minidump", "i386", 4, m.hdr.PAEMode
		if m.hdr.PAEMode {
			in.Format += " (PAE)"
		}
	case archARM64:
		in.Format, in.Arch, in.PtrSize = "FreeBSD arm64 minidump", "aarch64", 8
	}
	return in
}

// entry returns page-map entry i, or false past the map's end.
func (m *Minidump) entry(i uint64) (uint64, bool) {
	if i >= uint64(len(m.pmap)/m.entSize) {
		return 0, false
	}
	if m.entSize == 4 {
		return uint64(binary.LittleEndian.Uint32(m.pmap[i*4:])), true
	}
	return binary.LittleEndian.Uint64(m.pmap[i*8:]), true
}

// physOffset returns the file offset holding physical address pa.
func (m *Minidump) physOffset(pa uint64) (int64, error) {
	page := pa &^ (m.pageSize - 1)
	off, ok, trunc := m.sparse.lookup(page)
	if trunc {
		return 0, formatErr(m.name, off, "page of physical address %#x lies past the end of the file (%d bytes): truncated dump", pa, m.size)
	}
	if !ok {
		return 0, &AddrError{Addr: pa, Phys: true, Reason: "not in minidump"}
	}
	return off + int64(pa-page), nil
}

// ReadPhys reads physical memory.
func (m *Minidump) ReadPhys(buf []byte, pa uint64) (int, error) {
	done := 0
	for done < len(buf) {
		a := pa + uint64(done)
		off, err := m.physOffset(a)
		if err != nil {
			return done, err
		}
		chunk := int(m.pageSize - a%m.pageSize)
		if chunk > len(buf)-done {
			chunk = len(buf) - done
		}
		n, err := m.r.ReadAt(buf[done:done+chunk], off)
		done += n
		if n < chunk {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return done, formatErr(m.name, off+int64(n), "reading physical page: %v", err)
		}
	}
	return done, nil
}

func (m *Minidump) readPhysU64(pa uint64) (uint64, error) {
	var b [8]byte
	if _, err := m.ReadPhys(b[:], pa); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// ReadMemory reads kernel virtual memory.
func (m *Minidump) ReadMemory(buf []byte, va uint64) (int, error) {
	done := 0
	for done < len(buf) {
		a := va + uint64(done)
		pa, err := m.Translate(a)
		if err != nil {
			return done, err
		}
		chunk := int(m.pageSize - a%m.pageSize)
		if chunk > len(buf)-done {
			chunk = len(buf) - done
		}
		n, err := m.ReadPhys(buf[done:done+chunk], pa)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Translate returns the physical address of kernel virtual address va, as
// the dump's page map (or the direct map) says.
func (m *Minidump) Translate(va uint64) (uint64, error) {
	switch m.arch {
	case archAMD64:
		return m.translateAMD64(va)
	case archI386:
		return m.translateI386(va)
	default:
		return m.translateARM64(va)
	}
}

func notMapped(va uint64, format string, args ...any) error {
	return &AddrError{Addr: va, Reason: fmt.Sprintf(format, args...)}
}
