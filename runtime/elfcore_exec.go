package kvm

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
)

// execBacking supplies, for a process core, the bytes the kernel (or
// qemu-user) did not dump: read-only file-backed mappings of the program
// are written with p_filesz 0 (or short), and, as gdb does, their contents
// come from the executable itself. Only non-PIE executables (ET_EXEC) are
// used: their link-time addresses are their run-time addresses.
type execBacking struct {
	name string
	f    *os.File
	segs []elf.ProgHeader
}

// openExecBacking opens the executable of a process core; nil (no error)
// when it cannot back the core (no name, not ET_EXEC, another machine).
func openExecBacking(name string, machine elf.Machine) *execBacking {
	if name == "" {
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	ef, err := elf.NewFile(f)
	if err != nil || ef.Type != elf.ET_EXEC || ef.Machine != machine {
		f.Close()
		return nil
	}
	x := &execBacking{name: name, f: f}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && p.Filesz > 0 {
			x.segs = append(x.segs, p.ProgHeader)
		}
	}
	if len(x.segs) == 0 {
		f.Close()
		return nil
	}
	return x
}

// fill writes into buf the bytes at addr the executable's PT_LOADs hold in
// the file, and zeros elsewhere.
func (x *execBacking) fill(buf []byte, addr uint64) error {
	clear(buf)
	end := addr + uint64(len(buf))
	for _, s := range x.segs {
		lo, hi := max(addr, s.Vaddr), min(end, s.Vaddr+s.Filesz)
		if lo >= hi {
			continue
		}
		off := int64(s.Off + (lo - s.Vaddr))
		if n, err := x.f.ReadAt(buf[lo-addr:hi-addr], off); uint64(n) < hi-lo {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("%s: segment at %#x extends past the end of the file", x.name, s.Vaddr)
			}
			return err
		}
	}
	return nil
}

func (x *execBacking) Close() error { return x.f.Close() }
