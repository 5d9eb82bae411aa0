package kvm

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// errNotMine is returned (possibly wrapped) by a format opener whose format
// the corefile is not; the next opener is then tried.
var errNotMine = errors.New("not this format")

// notMineError says why an opener declined a file. It wraps ErrNotMine.
type notMineError struct {
	Format string // the opener's format name
	Reason string
}

func (e *notMineError) Error() string { return e.Format + ": " + e.Reason }
func (e *notMineError) Unwrap() error { return errNotMine }

// FormatError reports a corefile whose content is damaged or not what its
// format requires, naming the file and the offset, as debug/elf does.
type FormatError struct {
	File   string
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: offset %#x: %s", e.File, e.Offset, e.Msg)
}

// openContext is what a format opener is given.
type openContext struct {
	Name     string      // the corefile's path, for errors
	File     io.ReaderAt // the corefile's content
	Size     int64       // its size in bytes; -1 for a device or pseudo-file of unknown size
	Writable bool        // opened O_WRONLY or O_RDWR

	// The execfile (kernel image), when one was given.
	Exec *execInfo
}

// execInfo describes the kernel image (execfile).
type execInfo struct {
	Name      string
	Machine   elf.Machine
	Class     elf.Class
	ByteOrder binary.ByteOrder
	BuildID   string // lower-case hex GNU build ID, "" if none
	// Symbol returns a symbol's link-time value (no KASLR displacement).
	Symbol func(name string) (uint64, bool)
	// ReadLink, when not nil, reads the image's initialized contents at a
	// link-time address (from its PT_LOAD segments); it lets formats find
	// the kernel in memory by content (e.g. linux_banner) when the dump does
	// not say where it is.
	ReadLink func(buf []byte, addr uint64) (int, error)
}

// coreDump is an opened corefile of any format: crash dump, live memory, raw
// image. ReadMemory reads kernel virtual memory.
type coreDump interface {
	Memory
	Info() DumpInfo
	Close() error
}

// DumpInfo describes an opened corefile.
type DumpInfo struct {
	Format    string // e.g. "ELF vmcore (physical)", "kdump-compressed (zlib)", "FreeBSD amd64 minidump"
	Version   int    // format version where the format has one, else 0
	Arch      string // "x86_64", "i386", "aarch64", ... as dwarfmodel.DataModel.Arch
	PtrSize   int
	BigEndian bool
	PageSize  int
	OSRelease string // from VMCOREINFO or the dump header, "" if unknown
	BuildID   string // kernel build ID recorded in the dump, "" if unknown
	// KernDisp is the kernel's displacement (KASLR slide) from its link-time
	// addresses; KernDispKnown says whether the dump or a search found it.
	KernDisp      uint64
	KernDispKnown bool
	// Translation says how kernel virtual addresses are mapped to the
	// dump's contents, e.g. "x86-64 4-level page tables at physical
	// 0x2c10000 (from VMCOREINFO)"; "" when not known or not needed.
	Translation string
	// Truncated, when not "", says the file ends before the data its
	// headers describe (an interrupted dump): reads past that point fail.
	Truncated string
}

// physReader is implemented by dumps that hold physical memory.
type physReader interface {
	ReadPhys(buf []byte, paddr uint64) (int, error)
}

// memWriter is implemented by targets that can be written (live memory opened
// O_RDWR or O_WRONLY).
type memWriter interface {
	WriteMemory(buf []byte, addr uint64) (int, error)
}

// Prot is a page's protection.
type Prot uint8

const (
	ProtRead Prot = 1 << iota
	ProtWrite
	ProtExec
)

// Page is one page a dump holds, as kvm_walk_pages reports it.
type Page struct {
	Phys      uint64
	Virt      uint64 // kernel virtual address, valid when VirtKnown
	VirtKnown bool
	Size      uint64
	Prot      Prot
	Offset    int64 // file offset of the page's bytes, -1 if not stored plainly
}

// pageWalker is implemented by dumps that can enumerate their pages
// (kvm_walk_pages). Returning a non-nil error from fn stops the walk and is
// returned.
type pageWalker interface {
	WalkPages(fn func(Page) error) error
}
