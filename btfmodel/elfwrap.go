package btfmodel

import (
	"debug/elf"
	"encoding/binary"
	"io"
)

// cilium/ebpf's btf package has no loader for raw BTF already in memory:
// LoadSpecFromReader reads raw BTF with io.ReadAll, which for the kernel's
// 4 MB grows its buffer a quarter at a time, allocating (and faulting in,
// and zeroing) about 20 MB to keep 4: measured as a third of the memory
// `kvmgen ps -core` allocates. Its ELF path reads the .BTF section with one
// allocation of the section's size. elfWrap presents raw BTF as the .BTF
// section of a minimal relocatable ELF file (null, .shstrtab, .BTF, an
// empty .symtab and its .strtab), so that the ELF path is taken. The
// kernel's data sections in BTF have their sizes set (pahole writes them),
// so cilium's ELF fix-ups, which fill in sizes from the ELF, do nothing.
type elfWrap struct {
	head []byte      // ELF header, section headers and string tables
	btf  io.ReaderAt // the raw BTF, after head
	size int64
}

func newELFWrap(raw io.ReaderAt, size int64, bo binary.ByteOrder) *elfWrap {
	const (
		ehsize    = 64
		shentsize = 64
		nsec      = 5
	)
	shstr := []byte("\x00.shstrtab\x00.BTF\x00.symtab\x00.strtab\x00")
	strtab := []byte{0}
	symtab := make([]byte, 24) // the null symbol
	shoff := int64(ehsize)
	shstrOff := shoff + nsec*shentsize
	strtabOff := shstrOff + int64(len(shstr))
	symOff := (strtabOff + int64(len(strtab)) + 7) &^ 7
	btfOff := (symOff + int64(len(symtab)) + 7) &^ 7
	head := make([]byte, btfOff)
	copy(head, elf.ELFMAG)
	head[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	head[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	if bo == binary.BigEndian {
		head[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	head[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	bo.PutUint16(head[16:], uint16(elf.ET_REL))
	bo.PutUint16(head[18:], uint16(elf.EM_NONE))
	bo.PutUint32(head[20:], uint32(elf.EV_CURRENT))
	bo.PutUint64(head[40:], uint64(shoff))
	bo.PutUint16(head[52:], ehsize)
	bo.PutUint16(head[58:], shentsize)
	bo.PutUint16(head[60:], nsec)
	bo.PutUint16(head[62:], 1) // .shstrtab
	sec := func(i int, name uint32, typ elf.SectionType, off, size int64, link uint32, entsize uint64) {
		h := head[shoff+int64(i)*shentsize:]
		bo.PutUint32(h[0:], name)
		bo.PutUint32(h[4:], uint32(typ))
		bo.PutUint64(h[24:], uint64(off))
		bo.PutUint64(h[32:], uint64(size))
		bo.PutUint32(h[40:], link)
		bo.PutUint64(h[48:], 1) // alignment
		bo.PutUint64(h[56:], entsize)
	}
	sec(1, 1, elf.SHT_STRTAB, shstrOff, int64(len(shstr)), 0, 0)
	sec(2, 11, elf.SHT_PROGBITS, btfOff, size, 0, 0)
	sec(3, 16, elf.SHT_SYMTAB, symOff, int64(len(symtab)), 4, 24)
	sec(4, 24, elf.SHT_STRTAB, strtabOff, int64(len(strtab)), 0, 0)
	copy(head[shstrOff:], shstr)
	copy(head[strtabOff:], strtab)
	copy(head[symOff:], symtab)
	return &elfWrap{head: head, btf: raw, size: btfOff + size}
}

func (w *elfWrap) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= w.size {
		return 0, io.EOF
	}
	n := 0
	if off < int64(len(w.head)) {
		n = copy(p, w.head[off:])
	}
	if n < len(p) {
		m, err := w.btf.ReadAt(p[n:min(len(p), int(w.size-off))], off+int64(n)-int64(len(w.head)))
		n += m
		if err != nil && err != io.EOF {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
