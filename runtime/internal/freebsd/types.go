package freebsd

import "io"

// Prot is a page's protection as the kernel's page tables grant it.
type Prot uint8

// Protection bits, the same values as runtime.Prot.
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
	Offset    int64 // file offset of the page's bytes, -1 if not stored in one piece
}

// Info describes an opened dump.
type Info struct {
	Format   string // e.g. "FreeBSD amd64 minidump", "FreeBSD amd64 full dump (ELF)"
	Version  int    // minidump header version; 0 for full dumps
	Arch     string // "x86_64", "i386" or "aarch64" (as dwarfmodel's DataModel.Arch)
	PtrSize  int
	PageSize int
	PAE      bool // i386 only
}

// Symbols resolves a kernel symbol to its link-time value (FreeBSD kernels
// on these architectures run at their link-time addresses).
type Symbols func(name string) (uint64, bool)

// Dump is an opened FreeBSD crash dump.
type Dump interface {
	// ReadMemory reads kernel virtual memory; n < len(buf) only with an error.
	ReadMemory(buf []byte, addr uint64) (int, error)
	// ReadPhys reads physical memory.
	ReadPhys(buf []byte, paddr uint64) (int, error)
	// WalkPages calls fn for each page the dump holds; an error from fn
	// stops the walk and is returned.
	WalkPages(fn func(Page) error) error
	Info() Info
}

// Open opens a FreeBSD minidump or full dump read from r (size bytes; name is
// used in errors). syms resolves kernel symbols; full dumps need it
// (KPML4phys, kernbase), minidumps do not. A file that is neither gives an
// error wrapping ErrNotFreeBSD.
func Open(name string, r io.ReaderAt, size int64, syms Symbols) (Dump, error) {
	var magic [8]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return nil, &notMine{reason: "shorter than 8 bytes"}
	}
	if string(magic[:]) == "minidump" {
		return OpenMinidump(name, r, size)
	}
	if string(magic[:4]) == "\x7fELF" {
		return OpenFull(name, r, size, syms)
	}
	return nil, &notMine{reason: "no minidump or ELF magic"}
}
