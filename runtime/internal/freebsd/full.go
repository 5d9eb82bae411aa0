package freebsd

import (
	"encoding/binary"
	"io"
	"sort"
)

// segment is one PT_LOAD of a full dump: physical [paddr, paddr+memsz),
// of which filesz bytes are stored at off (the rest reads as zeros).
type segment struct {
	paddr, memsz, filesz uint64
	stored               uint64 // bytes of filesz present in the file
	off                  int64
}

// FullDump is an opened FreeBSD full (non-mini) dump of amd64: an ELF core
// whose PT_LOAD segments are physical memory. Virtual addresses are
// translated by walking the kernel's page tables from KPML4phys.
type FullDump struct {
	name string
	r    io.ReaderAt
	size int64
	segs []segment // sorted by paddr
	pml4 uint64    // physical address of the kernel's PML4 page

	truncated bool // some PT_LOAD runs past the end of the file
	tlb
}

var _ Dump = (*FullDump)(nil)

const (
	etCore   = 4
	emX86_64 = 62
	em386    = 3
	ptLoad   = 1
	ptNote   = 4
)

// ELFCoreKind describes an ELF core's header as the format detection needs
// it, without opening it.
type ELFCoreKind struct {
	Class64  bool
	Machine  uint16
	OSABI    uint8
	HasNotes bool // some program header is PT_NOTE
}

// ProbeELFCore reads an ELF core's identification. It returns an error
// wrapping ErrNotFreeBSD when the file is no little-endian ELF core.
func ProbeELFCore(r io.ReaderAt, size int64) (ELFCoreKind, error) {
	var k ELFCoreKind
	var id [64]byte
	if n, _ := r.ReadAt(id[:], 0); n < 52 || string(id[:4]) != "\x7fELF" {
		return k, &notMine{reason: "not an ELF file"}
	}
	if id[5] != 1 {
		return k, &notMine{reason: "not a little-endian ELF file"}
	}
	k.Class64 = id[4] == 2
	k.OSABI = id[7]
	le := binary.LittleEndian
	if le.Uint16(id[16:]) != etCore {
		return k, &notMine{reason: "ELF file is not a core (e_type != ET_CORE)"}
	}
	k.Machine = le.Uint16(id[18:])
	phoff, phentsize, phnum, err := phdrTable(id[:], k.Class64)
	if err != nil {
		return k, err
	}
	for i := 0; i < phnum && i < 4096; i++ {
		var t [4]byte
		if _, err := r.ReadAt(t[:], phoff+int64(i*phentsize)); err != nil {
			break
		}
		if le.Uint32(t[:]) == ptNote {
			k.HasNotes = true
		}
	}
	return k, nil
}

func phdrTable(id []byte, class64 bool) (phoff int64, phentsize, phnum int, err error) {
	le := binary.LittleEndian
	if class64 {
		return int64(le.Uint64(id[32:])), int(le.Uint16(id[54:])), int(le.Uint16(id[56:])), nil
	}
	return int64(le.Uint32(id[28:])), int(le.Uint16(id[42:])), int(le.Uint16(id[44:])), nil
}

// OpenFull opens a FreeBSD amd64 full dump. syms must resolve "kernbase"
// and "KPML4phys" (the kernel's symbol table gives both).
func OpenFull(name string, r io.ReaderAt, size int64, syms Symbols) (*FullDump, error) {
	k, err := ProbeELFCore(r, size)
	if err != nil {
		return nil, err
	}
	if !k.Class64 || k.Machine != emX86_64 {
		return nil, &notMine{reason: "ELF core is not x86-64 (FreeBSD full dumps are read for amd64)"}
	}
	var id [64]byte
	r.ReadAt(id[:], 0)
	phoff, phentsize, phnum, _ := phdrTable(id[:], true)
	if phentsize < 56 {
		return nil, formatErr(name, 54, "program header size %d is less than the 56 bytes of Elf64_Phdr", phentsize)
	}
	if phoff < 0 || size >= 0 && phoff+int64(phnum)*int64(phentsize) > size {
		return nil, formatErr(name, 32, "program header table (%d entries of %d bytes at %#x) runs past the end of the file (%d bytes)", phnum, phentsize, phoff, size)
	}
	d := &FullDump{name: name, r: r, size: size}
	le := binary.LittleEndian
	ph := make([]byte, 56)
	for i := 0; i < phnum; i++ {
		at := phoff + int64(i*phentsize)
		if n, err := r.ReadAt(ph, at); n < len(ph) {
			return nil, formatErr(name, at+int64(n), "reading program header %d: %v", i, err)
		}
		if le.Uint32(ph) != ptLoad {
			continue
		}
		s := segment{off: int64(le.Uint64(ph[8:])), paddr: le.Uint64(ph[24:]), filesz: le.Uint64(ph[32:]), memsz: le.Uint64(ph[40:])}
		if s.off < 0 || s.filesz > 1<<62 || size >= 0 && s.off > size {
			return nil, formatErr(name, at+8, "PT_LOAD %d: file offset %#x is past the end of the file (%d bytes)", i, s.off, size)
		}
		if s.memsz < s.filesz {
			s.memsz = s.filesz
		}
		s.stored = s.filesz
		if size >= 0 && s.off+int64(s.filesz) > size {
			// savecore or a copy cut the file short: the missing
			// bytes read as an error naming the offset.
			s.stored = uint64(size - s.off)
			d.truncated = true
		}
		if s.paddr+s.memsz < s.paddr {
			return nil, formatErr(name, at+24, "PT_LOAD %d: physical range %#x+%#x wraps around", i, s.paddr, s.memsz)
		}
		if s.memsz > 0 {
			d.segs = append(d.segs, s)
		}
	}
	if len(d.segs) == 0 {
		return nil, formatErr(name, phoff, "ELF core has no PT_LOAD segment of physical memory")
	}
	sort.Slice(d.segs, func(i, j int) bool { return d.segs[i].paddr < d.segs[j].paddr })

	if syms == nil {
		return nil, formatErr(name, 0, "a FreeBSD full dump needs the kernel's symbols (kernbase, KPML4phys) to translate addresses: give the kernel image")
	}
	kernbase, ok1 := syms("kernbase")
	kpml4, ok2 := syms("KPML4phys")
	if !ok1 || !ok2 {
		return nil, formatErr(name, 0, "the kernel image lacks the symbols kernbase and KPML4phys needed to read an amd64 full dump")
	}
	// Before the page tables are known, a kernel address maps to its
	// physical address by subtracting kernbase (the kernel is loaded at
	// the physical address its link address names).
	var b [8]byte
	if _, err := d.ReadPhys(b[:], kpml4-kernbase); err != nil {
		return nil, formatErr(name, 0, "reading KPML4phys at physical %#x: %v", kpml4-kernbase, err)
	}
	d.pml4 = le.Uint64(b[:]) &^ 0xfff
	if _, err := d.ReadPhys(b[:], d.pml4); err != nil {
		return nil, formatErr(name, 0, "kernel PML4 page at physical %#x (from KPML4phys) is not in the dump: %v", d.pml4, err)
	}
	return d, nil
}

// Truncated reports whether the file is shorter than its program headers
// say: physical memory in the missing part cannot be read.
func (d *FullDump) Truncated() bool { return d.truncated }

// PML4 returns the physical address of the kernel's top-level page table.
func (d *FullDump) PML4() uint64 { return d.pml4 }

// Info describes the dump.
func (d *FullDump) Info() Info {
	return Info{Format: "FreeBSD amd64 full dump (ELF)", Arch: "x86_64", PtrSize: 8, PageSize: 4096}
}

// seg returns the segment holding pa.
func (d *FullDump) seg(pa uint64) (*segment, bool) {
	i := sort.Search(len(d.segs), func(i int) bool { return d.segs[i].paddr+d.segs[i].memsz > pa })
	if i < len(d.segs) && pa >= d.segs[i].paddr {
		return &d.segs[i], true
	}
	return nil, false
}

// ReadPhys reads physical memory.
func (d *FullDump) ReadPhys(buf []byte, pa uint64) (int, error) {
	done := 0
	for done < len(buf) {
		a := pa + uint64(done)
		s, ok := d.seg(a)
		if !ok {
			return done, &AddrError{Addr: a, Phys: true, Reason: "not in any PT_LOAD of the dump"}
		}
		rel := a - s.paddr
		chunk := uint64(len(buf) - done)
		if rest := s.memsz - rel; chunk > rest {
			chunk = rest
		}
		if rel >= s.filesz {
			clear(buf[done : done+int(chunk)])
			done += int(chunk)
			continue
		}
		if rest := s.filesz - rel; chunk > rest {
			chunk = rest
		}
		off := s.off + int64(rel)
		if rel >= s.stored {
			return done, formatErr(d.name, off, "physical address %#x lies past the end of the file (%d bytes): truncated dump", a, d.size)
		}
		if rest := s.stored - rel; chunk > rest {
			chunk = rest
		}
		n, err := d.r.ReadAt(buf[done:done+int(chunk)], off)
		done += n
		if n < int(chunk) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return done, formatErr(d.name, off+int64(n), "reading physical memory: %v", err)
		}
	}
	return done, nil
}

func (d *FullDump) readU64(pa uint64) (uint64, error) {
	var b [8]byte
	if _, err := d.ReadPhys(b[:], pa); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// Translate walks the kernel page tables for va; it returns the physical
// address and the size of the page that maps it.
func (d *FullDump) Translate(va uint64) (pa, pageSize uint64, err error) {
	pml4e, err := d.readU64(d.pml4 + (va>>39&511)*8)
	if err != nil {
		return 0, 0, notMapped(va, "pml4e unreadable: %v", err)
	}
	if pml4e&amd64PGV == 0 {
		return 0, 0, notMapped(va, "pml4e not valid")
	}
	pdpe, err := d.readU64(pml4e&amd64PGFrame + (va>>30&511)*8)
	if err != nil {
		return 0, 0, notMapped(va, "pdpe unreadable: %v", err)
	}
	if pdpe&amd64PGV == 0 {
		return 0, 0, notMapped(va, "pdpe not valid")
	}
	if pdpe&amd64PGPS != 0 {
		return pdpe&amd64PG1GFrame + va&(1<<30-1), 1 << 30, nil
	}
	pde, err := d.readU64(pdpe&amd64PGFrame + (va>>21&511)*8)
	if err != nil {
		return 0, 0, notMapped(va, "pde unreadable: %v", err)
	}
	if pde&amd64PGV == 0 {
		return 0, 0, notMapped(va, "pde not valid")
	}
	if pde&amd64PGPS != 0 {
		return pde&amd64PGPSFrame + va&(amd64NBPDR-1), amd64NBPDR, nil
	}
	pte, err := d.readU64(pde&amd64PGFrame + (va>>12&511)*8)
	if err != nil {
		return 0, 0, notMapped(va, "pte unreadable: %v", err)
	}
	if pte&amd64PGV == 0 {
		return 0, 0, notMapped(va, "pte not valid")
	}
	return pte&amd64PGFrame + va&0xfff, 4096, nil
}

// ReadMemory reads kernel virtual memory.
func (d *FullDump) ReadMemory(buf []byte, va uint64) (int, error) {
	done := 0
	for done < len(buf) {
		a := va + uint64(done)
		pa, ok := d.tlb.get(a)
		if !ok {
			var err error
			if pa, _, err = d.Translate(a); err != nil {
				return done, err
			}
			d.tlb.put(a, pa)
		}
		chunk := 4096 - a&4095
		if chunk > uint64(len(buf)-done) {
			chunk = uint64(len(buf) - done)
		}
		n, err := d.ReadPhys(buf[done:done+int(chunk)], pa)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// WalkPages calls fn for every mapping of the kernel's page tables whose
// physical page the dump holds, in virtual-address order, with the
// mapping's size (4 KiB, 2 MiB or 1 GiB) and protection (the leaf entry's
// write and no-execute bits). Offset is -1 when the page does not lie in
// one PT_LOAD's stored bytes. Physical pages no kernel mapping reaches are
// not reported.
func (d *FullDump) WalkPages(fn func(Page) error) error {
	// A kernel's tables are read about twice (once more through the
	// recursive PML4 slot); tables referenced far more often than the
	// dump has pages are damage (or a cycle), not a kernel's page map.
	var held uint64
	for _, s := range d.segs {
		held += s.stored / 4096
	}
	limit := min(3*held+16, 1<<22)
	reads := uint64(0)
	errTooMany := formatErr(d.name, 0, "kernel page tables from PML4 at physical %#x reference more than %d table pages: damaged or cyclic", d.pml4, limit)
	b := make([]byte, 4096)
	table := func(pa uint64) ([]uint64, bool) {
		reads++
		if _, err := d.ReadPhys(b, pa); err != nil {
			return nil, false
		}
		e := make([]uint64, 512)
		for i := range e {
			e[i] = binary.LittleEndian.Uint64(b[i*8:])
		}
		return e, true
	}
	emit := func(pa, va, size, entry uint64) error {
		s, ok := d.seg(pa)
		if !ok {
			return nil
		}
		p := Page{Phys: pa, Virt: va, VirtKnown: true, Size: size, Prot: amd64Prot(entry), Offset: -1}
		if pa+size <= s.paddr+s.stored {
			p.Offset = s.off + int64(pa-s.paddr)
		}
		return fn(p)
	}
	canon := func(va uint64) uint64 {
		if va&(1<<47) != 0 {
			va |= 0xffff << 48
		}
		return va
	}
	pml4, ok := table(d.pml4)
	if !ok {
		return formatErr(d.name, 0, "kernel PML4 at physical %#x not in dump", d.pml4)
	}
	for i, e4 := range pml4 {
		if e4&amd64PGV == 0 {
			continue
		}
		if reads > limit {
			return errTooMany
		}
		pdp, ok := table(e4 & amd64PGFrame)
		if !ok {
			continue
		}
		for j, e3 := range pdp {
			if e3&amd64PGV == 0 {
				continue
			}
			va3 := canon(uint64(i)<<39 | uint64(j)<<30)
			if e3&amd64PGPS != 0 {
				if err := emit(e3&amd64PG1GFrame, va3, 1<<30, e3); err != nil {
					return err
				}
				continue
			}
			if reads > limit {
				return errTooMany
			}
			pd, ok := table(e3 & amd64PGFrame)
			if !ok {
				continue
			}
			for k, e2 := range pd {
				if e2&amd64PGV == 0 {
					continue
				}
				va2 := va3 | uint64(k)<<21
				if e2&amd64PGPS != 0 {
					if err := emit(e2&amd64PGPSFrame, va2, 1<<21, e2); err != nil {
						return err
					}
					continue
				}
				if reads > limit {
					return errTooMany
				}
				pt, ok := table(e2 & amd64PGFrame)
				if !ok {
					continue
				}
				for l, e1 := range pt {
					if e1&amd64PGV == 0 {
						continue
					}
					if err := emit(e1&amd64PGFrame, va2|uint64(l)<<12, 4096, e1); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
