package kvm

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
)

// elfHeaders is what the core reader needs of an ELF file: the header and
// program headers. Unlike debug/elf it does not read section headers, which
// QEMU writes at the end of its dumps (so a truncated dump still opens).
type elfHeaders struct {
	Type      elf.Type
	Machine   elf.Machine
	Class     elf.Class
	ByteOrder binary.ByteOrder
	Progs     []elf.ProgHeader
	phoff     int64
	phentsize int64
}

// maxProgs bounds the program headers read (PN_XNUM allows 2^32).
const maxProgs = 1 << 20

func readELFHeaders(name string, r io.ReaderAt, size int64) (*elfHeaders, error) {
	var hdr [64]byte
	n, _ := r.ReadAt(hdr[:], 0)
	if n < 52 {
		return nil, &FormatError{File: name, Offset: int64(n), Msg: "ELF header truncated"}
	}
	h := &elfHeaders{Class: elf.Class(hdr[elf.EI_CLASS])}
	switch elf.Data(hdr[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		h.ByteOrder = binary.LittleEndian
	case elf.ELFDATA2MSB:
		h.ByteOrder = binary.BigEndian
	default:
		return nil, &FormatError{File: name, Offset: elf.EI_DATA, Msg: fmt.Sprintf("unknown ELF data encoding %d", hdr[elf.EI_DATA])}
	}
	bo := h.ByteOrder
	h.Type = elf.Type(bo.Uint16(hdr[16:]))
	h.Machine = elf.Machine(bo.Uint16(hdr[18:]))
	var phnum uint64
	var shoff int64
	switch h.Class {
	case elf.ELFCLASS64:
		if n < 64 {
			return nil, &FormatError{File: name, Offset: int64(n), Msg: "ELF64 header truncated"}
		}
		h.phoff = int64(bo.Uint64(hdr[32:]))
		shoff = int64(bo.Uint64(hdr[40:]))
		h.phentsize = int64(bo.Uint16(hdr[54:]))
		phnum = uint64(bo.Uint16(hdr[56:]))
		if h.phentsize < 56 && phnum > 0 {
			return nil, &FormatError{File: name, Offset: 54, Msg: fmt.Sprintf("e_phentsize %d is smaller than an Elf64_Phdr (56)", h.phentsize)}
		}
	case elf.ELFCLASS32:
		h.phoff = int64(bo.Uint32(hdr[28:]))
		shoff = int64(bo.Uint32(hdr[32:]))
		h.phentsize = int64(bo.Uint16(hdr[42:]))
		phnum = uint64(bo.Uint16(hdr[44:]))
		if h.phentsize < 32 && phnum > 0 {
			return nil, &FormatError{File: name, Offset: 42, Msg: fmt.Sprintf("e_phentsize %d is smaller than an Elf32_Phdr (32)", h.phentsize)}
		}
	default:
		return nil, &FormatError{File: name, Offset: elf.EI_CLASS, Msg: fmt.Sprintf("unknown ELF class %d", hdr[elf.EI_CLASS])}
	}
	if phnum == 0xffff && shoff > 0 {
		// PN_XNUM: the count is section 0's sh_info.
		var sh [48]byte
		off := shoff + 44 // Elf64_Shdr.sh_info
		if h.Class == elf.ELFCLASS32 {
			off = shoff + 28
		}
		if m, _ := r.ReadAt(sh[:4], off); m < 4 {
			return nil, &FormatError{File: name, Offset: off, Msg: "PN_XNUM: section header 0 (holding the program header count) truncated"}
		}
		phnum = uint64(bo.Uint32(sh[:4]))
	}
	if phnum > maxProgs {
		return nil, &FormatError{File: name, Offset: 56, Msg: fmt.Sprintf("%d program headers exceed the limit of %d", phnum, maxProgs)}
	}
	if h.phoff < 0 || (size >= 0 && (h.phoff > size || int64(phnum)*h.phentsize > size-h.phoff)) {
		return nil, &FormatError{File: name, Offset: h.phoff, Msg: fmt.Sprintf("%d program headers of %d bytes at %#x do not fit the file", phnum, h.phentsize, h.phoff)}
	}
	buf := make([]byte, h.phentsize)
	for i := uint64(0); i < phnum; i++ {
		off := h.phoff + int64(i)*h.phentsize
		if m, _ := r.ReadAt(buf, off); m < len(buf) {
			return nil, &FormatError{File: name, Offset: off + int64(m), Msg: fmt.Sprintf("program header %d truncated", i)}
		}
		var p elf.ProgHeader
		if h.Class == elf.ELFCLASS64 {
			p = elf.ProgHeader{Type: elf.ProgType(bo.Uint32(buf[0:])), Flags: elf.ProgFlag(bo.Uint32(buf[4:])),
				Off: bo.Uint64(buf[8:]), Vaddr: bo.Uint64(buf[16:]), Paddr: bo.Uint64(buf[24:]),
				Filesz: bo.Uint64(buf[32:]), Memsz: bo.Uint64(buf[40:]), Align: bo.Uint64(buf[48:])}
		} else {
			p = elf.ProgHeader{Type: elf.ProgType(bo.Uint32(buf[0:])), Off: uint64(bo.Uint32(buf[4:])),
				Vaddr: uint64(bo.Uint32(buf[8:])), Paddr: uint64(bo.Uint32(buf[12:])),
				Filesz: uint64(bo.Uint32(buf[16:])), Memsz: uint64(bo.Uint32(buf[20:])),
				Flags: elf.ProgFlag(bo.Uint32(buf[24:])), Align: uint64(bo.Uint32(buf[28:]))}
			// A 32-bit core's "no physical address" is 0xffffffff.
			if p.Paddr == 0xffffffff {
				p.Paddr = ^uint64(0)
			}
		}
		h.Progs = append(h.Progs, p)
	}
	return h, nil
}
