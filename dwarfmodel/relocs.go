package dwarfmodel

import (
	"debug/elf"
	"errors"
)

// applyRelocations applies the relocations of a relocatable object (ET_REL,
// a .o file) to the DWARF sections kept in memory: there, references into
// .debug_str and .debug_abbrev are relocation addends, not values. Only
// absolute data relocations occur in DWARF sections; others are an error.
func (f *File) applyRelocations() error {
	syms, err := f.ef.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return &FormatError{File: f.name, Section: ".symtab", Msg: err.Error()}
	}
	type target struct {
		sec  *elf.Section
		data []byte
	}
	var targets []target
	for _, p := range f.infoParts {
		targets = append(targets, target{p.sec, f.infoMem[p.base : p.base+p.len]})
	}
	for _, t := range []struct {
		name string
		data []byte
	}{{"str_offsets", f.strOffs}, {"addr", f.addr}} {
		if sec := f.section(t.name); sec != nil && t.data != nil {
			targets = append(targets, target{sec, t.data})
		}
	}
	for _, t := range targets {
		secIdx := -1
		for i, s := range f.ef.Sections {
			if s == t.sec {
				secIdx = i
			}
		}
		for _, rs := range f.ef.Sections {
			if (rs.Type != elf.SHT_RELA && rs.Type != elf.SHT_REL) || int(rs.Info) != secIdx {
				continue
			}
			if err := f.relocate(rs, t.data, syms); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *File) relocate(rs *elf.Section, data []byte, syms []elf.Symbol) error {
	if err := f.checkRange(rs); err != nil {
		return err
	}
	rb, err := rs.Data()
	if err != nil {
		return f.errf(rs.Name, 0, "reading relocations: %v", err)
	}
	order := f.dm.ByteOrder
	is64 := f.dm.Class == elf.ELFCLASS64
	rela := rs.Type == elf.SHT_RELA
	ent := 8
	switch {
	case is64 && rela:
		ent = 24
	case is64:
		ent = 16
	case rela:
		ent = 12
	}
	for p := 0; p+ent <= len(rb); p += ent {
		var off, info uint64
		var addend int64
		if is64 {
			off, info = order.Uint64(rb[p:]), order.Uint64(rb[p+8:])
			if rela {
				addend = int64(order.Uint64(rb[p+16:]))
			}
		} else {
			off, info = uint64(order.Uint32(rb[p:])), uint64(order.Uint32(rb[p+4:]))
			if rela {
				addend = int64(int32(order.Uint32(rb[p+8:])))
			}
		}
		var sym, typ uint64
		if is64 {
			sym, typ = info>>32, info&0xffffffff
		} else {
			sym, typ = info>>8, info&0xff
		}
		size := f.relocSize(uint32(typ))
		if size == 0 {
			if typ == 0 {
				continue // R_*_NONE
			}
			return f.errf(rs.Name, int64(p), "unsupported relocation type %d for %s in a DWARF section", typ, f.dm.Arch)
		}
		if off > uint64(len(data)) || uint64(size) > uint64(len(data))-off {
			return f.errf(rs.Name, int64(p), "relocation at %#x is outside its section (%#x bytes)", off, len(data))
		}
		var symVal uint64
		if sym > 0 {
			if sym-1 >= uint64(len(syms)) {
				return f.errf(rs.Name, int64(p), "relocation names symbol %d of %d", sym, len(syms))
			}
			symVal = syms[sym-1].Value
		}
		if !rela {
			if size == 8 {
				addend = int64(order.Uint64(data[off:]))
			} else {
				addend = int64(int32(order.Uint32(data[off:])))
			}
		}
		v := symVal + uint64(addend)
		if size == 8 {
			order.PutUint64(data[off:], v)
		} else {
			order.PutUint32(data[off:], uint32(v))
		}
	}
	return nil
}

// relocSize is the width of an absolute data relocation, 0 for others.
func (f *File) relocSize(t uint32) int {
	switch f.dm.Machine {
	case elf.EM_X86_64:
		switch elf.R_X86_64(t) {
		case elf.R_X86_64_64:
			return 8
		case elf.R_X86_64_32, elf.R_X86_64_32S:
			return 4
		}
	case elf.EM_386:
		if elf.R_386(t) == elf.R_386_32 {
			return 4
		}
	case elf.EM_AARCH64:
		switch elf.R_AARCH64(t) {
		case elf.R_AARCH64_ABS64:
			return 8
		case elf.R_AARCH64_ABS32:
			return 4
		}
	case elf.EM_S390:
		switch elf.R_390(t) {
		case elf.R_390_64:
			return 8
		case elf.R_390_32:
			return 4
		}
	case elf.EM_ARM:
		if elf.R_ARM(t) == elf.R_ARM_ABS32 {
			return 4
		}
	case elf.EM_PPC64:
		switch elf.R_PPC64(t) {
		case elf.R_PPC64_ADDR64:
			return 8
		case elf.R_PPC64_ADDR32:
			return 4
		}
	case elf.EM_RISCV:
		switch elf.R_RISCV(t) {
		case elf.R_RISCV_64:
			return 8
		case elf.R_RISCV_32:
			return 4
		}
	}
	return 0
}
