package kvm

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"strings"

	fbsd "github.com/kvmgen/kvmgen/runtime/internal/freebsd"
)

// (This file is not named format_freebsd.go: the _freebsd suffix would
// build it on FreeBSD only.)
//
// The FreeBSD opener goes first: a FreeBSD full dump is an ELF core that
// debug/elf refuses (its e_version is 0), so the generic ELF core opener
// would call it damaged. It declines every ELF core but FreeBSD's (no
// PT_NOTE; EI_OSABI standalone or a FreeBSD kernel given), so the order
// changes nothing for the other formats.
const freebsdFormat = "FreeBSD crash dump"

// freebsdDump adapts a FreeBSD minidump or full dump to Dump, PhysReader and
// PageWalker.
type freebsdDump struct {
	d    fbsd.Dump
	info DumpInfo
}

func openFreeBSD(ctx *openContext) (coreDump, error) {
	notMine := func(reason string) error { return &notMineError{Format: freebsdFormat, Reason: reason} }
	var magic [8]byte
	n, _ := ctx.File.ReadAt(magic[:], 0)
	var exec fbsd.Symbols
	if ctx.Exec != nil && ctx.Exec.Symbol != nil {
		exec = ctx.Exec.Symbol
	}
	switch {
	case n == len(magic) && string(magic[:]) == "minidump":
	case n >= 4 && string(magic[:4]) == elf.ELFMAG:
		k, err := fbsd.ProbeELFCore(ctx.File, ctx.Size)
		if err != nil {
			return nil, notMine(err.Error())
		}
		if k.HasNotes {
			return nil, notMine("ELF core has notes (FreeBSD full dumps have none)")
		}
		if !k.Class64 || elf.Machine(k.Machine) != elf.EM_X86_64 {
			return nil, notMine("ELF core is not x86-64 (FreeBSD full dumps are read for amd64)")
		}
		_, kpml4 := symbolOf(exec, "KPML4phys")
		if elf.OSABI(k.OSABI) != elf.ELFOSABI_STANDALONE && !kpml4 {
			return nil, notMine("ELF core is neither marked standalone nor given a FreeBSD kernel")
		}
	default:
		return nil, notMine("no minidump or ELF magic")
	}
	d, err := fbsd.Open(ctx.Name, ctx.File, ctx.Size, exec)
	if err != nil {
		if reason, ok := fbsd.IsNotFreeBSD(err); ok {
			return nil, notMine(reason)
		}
		return nil, fbsdErr(err)
	}
	in := d.Info()
	fd := &freebsdDump{d: d, info: DumpInfo{
		Format:   in.Format,
		Version:  in.Version,
		Arch:     in.Arch,
		PtrSize:  in.PtrSize,
		PageSize: in.PageSize,
		// FreeBSD kernels on amd64, i386 and arm64 run at their link
		// addresses: libkvm has no kerndisp hook for them, and the
		// dumps record no displacement. It is known to be zero.
		KernDisp:      0,
		KernDispKnown: true,
	}}
	if ctx.Exec != nil {
		if got := archOf(ctx.Exec.Machine, ctx.Exec.Class, ctx.Exec.ByteOrder); got != in.Arch {
			return nil, &FormatError{File: ctx.Name, Offset: 0, Msg: fmt.Sprintf("%s of %s, but the kernel %s is %s", in.Format, in.Arch, ctx.Exec.Name, got)}
		}
		fd.info.OSRelease = fd.osRelease(exec)
	}
	return fd, nil
}

func symbolOf(s fbsd.Symbols, name string) (uint64, bool) {
	if s == nil {
		return 0, false
	}
	return s(name)
}

// osRelease reads the kernel's version string ("FreeBSD 13.1-RELEASE ...")
// when the kernel exports it, and returns its release word.
func (fd *freebsdDump) osRelease(s fbsd.Symbols) string {
	a, ok := symbolOf(s, "version")
	if !ok {
		return ""
	}
	b := make([]byte, 128)
	if n, _ := fd.d.ReadMemory(b, a); n < len(b) {
		return ""
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	f := strings.Fields(string(b))
	if len(f) >= 2 && f[0] == "FreeBSD" {
		return f[1]
	}
	return ""
}

// fbsdErr turns the leaf package's errors into runtime's exported ones, so
// that callers match FreeBSD's as every other format's: a FormatError, a
// *TranslationError for a virtual address the dump cannot translate, a
// *ReadError (wrapping ErrNotInDump) for a physical page it lacks.
func fbsdErr(err error) error {
	var fe *fbsd.FormatError
	if errors.As(err, &fe) {
		return &FormatError{File: fe.File, Offset: fe.Offset, Msg: fe.Msg}
	}
	var ae *fbsd.AddrError
	if errors.As(err, &ae) {
		if ae.Phys {
			return &ReadError{Addr: ae.Addr, Err: fmt.Errorf("%w: %s", ErrNotInDump, ae.Reason)}
		}
		return &TranslationError{Addr: ae.Addr, Msg: ae.Reason}
	}
	return err
}

// ErrNotInDump is wrapped by the errors for a physical page the dump does
// not hold.
var ErrNotInDump = errors.New("page not in the dump")

func (fd *freebsdDump) Info() DumpInfo { return fd.info }
func (fd *freebsdDump) Close() error   { return nil }

// ReadMemory reads kernel virtual memory.
func (fd *freebsdDump) ReadMemory(buf []byte, addr uint64) (int, error) {
	n, err := fd.d.ReadMemory(buf, addr)
	return n, fbsdErr(err)
}

// ReadPhys reads physical memory.
func (fd *freebsdDump) ReadPhys(buf []byte, paddr uint64) (int, error) {
	n, err := fd.d.ReadPhys(buf, paddr)
	return n, fbsdErr(err)
}

// WalkPages reports each page the dump holds (kvm_walk_pages).
func (fd *freebsdDump) WalkPages(fn func(Page) error) error {
	return fbsdErr(fd.d.WalkPages(func(p fbsd.Page) error {
		return fn(Page{Phys: p.Phys, Virt: p.Virt, VirtKnown: p.VirtKnown, Size: p.Size, Prot: Prot(p.Prot), Offset: p.Offset})
	}))
}

// TargetOS names the dumped kernel's operating system.
func (fd *freebsdDump) TargetOS() string { return "freebsd" }

// disableCache turns the translation cache off (Options.NoCache).
func (fd *freebsdDump) disableCache() {
	if c, ok := fd.d.(interface{ SetCache(bool) }); ok {
		c.SetCache(false)
	}
}
