package kvm

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// segment maps [start, start+memsz) of an address space to the file;
// bytes past filesz read as zero.
type segment struct {
	start, filesz, memsz uint64
	off                  int64
	phOff                int64 // file offset of the program header, for errors
}

// segMap is a sorted set of segments of one address space.
type segMap struct {
	name string // file name, for errors
	r    io.ReaderAt
	size int64 // file size, -1 unknown
	segs []segment
	// maxEnd[i] is the highest end of segs[:i+1] (set by sort): segments
	// may overlap (QEMU paging dumps map one physical range at several
	// virtual addresses), so ends alone are not sorted.
	maxEnd []uint64
	// exec, for a process core, supplies what the core did not dump
	// (bytes past a segment's filesz); nil means zeros.
	exec *execBacking
}

// zero fills buf, at addr, where the file holds no bytes.
func (m *segMap) zero(buf []byte, addr uint64) error {
	if m.exec != nil {
		return m.exec.fill(buf, addr)
	}
	clear(buf)
	return nil
}

func (m *segMap) sort() {
	sort.SliceStable(m.segs, func(i, j int) bool { return m.segs[i].start < m.segs[j].start })
	m.maxEnd = make([]uint64, len(m.segs))
	var e uint64
	for i, s := range m.segs {
		e = max(e, s.start+s.memsz)
		m.maxEnd[i] = e
	}
}

// find returns the segment containing addr.
func (m *segMap) find(addr uint64) *segment {
	var i int
	if len(m.maxEnd) == len(m.segs) {
		i = sort.Search(len(m.segs), func(i int) bool { return m.maxEnd[i] > addr })
	} else {
		i = sort.Search(len(m.segs), func(i int) bool { return m.segs[i].start+m.segs[i].memsz > addr })
	}
	// Segments may overlap (process cores rarely do); take the first that holds addr.
	for ; i < len(m.segs); i++ {
		s := &m.segs[i]
		if s.start > addr {
			return nil
		}
		if addr-s.start < s.memsz {
			return s
		}
	}
	return nil
}

var errNotMapped = errors.New("address not in the dump")

// ReadMemory implements Memory.
func (m *segMap) ReadMemory(buf []byte, addr uint64) (int, error) { return m.read(buf, addr) }

// read reads at addr; it stops with an error at the first byte not held.
func (m *segMap) read(buf []byte, addr uint64) (int, error) {
	done := 0
	for done < len(buf) {
		a := addr + uint64(done)
		s := m.find(a)
		if s == nil {
			return done, &ReadError{Addr: a, Len: len(buf) - done, Err: errNotMapped}
		}
		rel := a - s.start
		n := s.memsz - rel
		if uint64(len(buf)-done) < n {
			n = uint64(len(buf) - done)
		}
		chunk := buf[done : done+int(n)]
		if rel >= s.filesz {
			if err := m.zero(chunk, a); err != nil {
				return done, &ReadError{Addr: a, Len: len(chunk), Err: err}
			}
		} else {
			fn := min(n, s.filesz-rel)
			got, err := m.r.ReadAt(chunk[:fn], s.off+int64(rel))
			if uint64(got) < fn {
				if err == nil || err == io.EOF {
					err = &FormatError{File: m.name, Offset: s.off + int64(rel) + int64(got), Msg: fmt.Sprintf("segment (program header at %#x) extends past the end of the file", s.phOff)}
				}
				return done + got, &ReadError{Addr: a + uint64(got), Len: int(fn) - got, Err: err}
			}
			if err := m.zero(chunk[fn:], a+fn); err != nil {
				return done + int(fn), &ReadError{Addr: a + fn, Len: len(chunk) - int(fn), Err: err}
			}
		}
		done += int(n)
	}
	return done, nil
}

// elfCore is an ELF core file: a process core, or a kernel dump (vmcore,
// QEMU dump-guest-memory, /proc/kcore).
type elfCore struct {
	name       string
	r          io.ReaderAt
	w          io.WriterAt // non-nil when opened for writing
	info       DumpInfo
	virt       *segMap // nil when the PT_LOADs carry no virtual addresses
	phys       *segMap // nil for process cores
	kmem       *kernelMem
	notes      []elfNote
	vmci       *VMCoreInfo
	qemuCR3    uint64
	located    string // how the kernel was found without VMCOREINFO
	xlatErr    error  // why no translation was set up
	hasQEMUCPU bool
}

const maxNoteSize = 64 << 20

func openELFCore(ctx *openContext) (coreDump, error) {
	var ident [elf.EI_NIDENT]byte
	if n, _ := ctx.File.ReadAt(ident[:], 0); n < len(ident) || string(ident[:4]) != elf.ELFMAG {
		return nil, &notMineError{Format: "ELF core", Reason: "no ELF magic"}
	}
	ef, err := readELFHeaders(ctx.Name, ctx.File, ctx.Size)
	if err != nil {
		return nil, err
	}
	if ef.Type != elf.ET_CORE {
		return nil, &notMineError{Format: "ELF core", Reason: fmt.Sprintf("ELF type is %v, not ET_CORE", ef.Type)}
	}
	c := &elfCore{name: ctx.Name, r: ctx.File}
	c.info.Arch = archOf(ef.Machine, ef.Class, ef.ByteOrder)
	c.info.PtrSize = 4
	if ef.Class == elf.ELFCLASS64 {
		c.info.PtrSize = 8
	}
	switch ef.Machine {
	case elf.EM_386, elf.EM_ARM, elf.EM_PPC:
		// QEMU writes ELF64 cores of 32-bit guests with memory above 4 GiB
		// addresses (or always, as for i386).
		c.info.PtrSize = 4
	}
	c.info.BigEndian = ef.ByteOrder == binary.BigEndian
	c.info.PageSize = 4096
	if ef.Machine == elf.EM_S390 || ef.Machine == elf.EM_X86_64 || ef.Machine == elf.EM_386 {
		c.info.PageSize = 4096
	}
	phentsize := ef.phentsize
	phoff := ef.phoff
	virt := &segMap{name: ctx.Name, r: ctx.File, size: ctx.Size}
	phys := &segMap{name: ctx.Name, r: ctx.File, size: ctx.Size}
	allVZero, anyPhys, vIsP := true, false, true
	truncated := ""
	for i, p := range ef.Progs {
		ph := phoff + int64(i)*phentsize
		switch p.Type {
		case elf.PT_NOTE:
			if p.Filesz > maxNoteSize || (ctx.Size >= 0 && p.Off+p.Filesz > uint64(ctx.Size)) {
				return nil, &FormatError{File: ctx.Name, Offset: ph, Msg: fmt.Sprintf("PT_NOTE of %d bytes at %#x does not fit the file", p.Filesz, p.Off)}
			}
			data := make([]byte, p.Filesz)
			if _, err := ctx.File.ReadAt(data, int64(p.Off)); err != nil && err != io.EOF {
				return nil, &FormatError{File: ctx.Name, Offset: int64(p.Off), Msg: "reading PT_NOTE: " + err.Error()}
			}
			c.notes = append(c.notes, parseNotes(data, ef.ByteOrder)...)
		case elf.PT_LOAD:
			if p.Filesz > p.Memsz {
				return nil, &FormatError{File: ctx.Name, Offset: ph, Msg: fmt.Sprintf("PT_LOAD file size %#x exceeds its memory size %#x", p.Filesz, p.Memsz)}
			}
			if p.Off > 1<<62 {
				return nil, &FormatError{File: ctx.Name, Offset: ph, Msg: fmt.Sprintf("PT_LOAD offset %#x is out of range", p.Off)}
			}
			s := segment{start: p.Vaddr, filesz: p.Filesz, memsz: p.Memsz, off: int64(p.Off), phOff: ph}
			if p.Memsz == 0 {
				continue
			}
			if ctx.Size >= 0 && p.Off+p.Filesz > uint64(ctx.Size) && truncated == "" {
				truncated = fmt.Sprintf("%s: truncated: the PT_LOAD at program header %#x holds %#x bytes at offset %#x, but the file ends at %#x", ctx.Name, ph, p.Filesz, p.Off, ctx.Size)
			}
			virt.segs = append(virt.segs, s)
			if p.Vaddr != 0 {
				allVZero = false
			}
			if p.Paddr != 0 && p.Paddr != ^uint64(0) {
				anyPhys = true
			}
			if p.Vaddr != p.Paddr {
				vIsP = false
			}
			if p.Paddr != ^uint64(0) {
				s.start = p.Paddr
				phys.segs = append(phys.segs, s)
			}
		}
	}
	for _, n := range c.notes {
		switch {
		case n.Name == "VMCOREINFO" && c.vmci == nil:
			c.vmci = parseVMCoreInfo(n.Desc)
		case n.Name == "QEMU" && !c.hasQEMUCPU && ef.Machine == elf.EM_X86_64 && len(n.Desc) >= 424:
			// QEMUCPUState: version, size, 18 GPRs, 10 segments of 24
			// bytes, then cr[0..4].
			c.qemuCR3 = ef.ByteOrder.Uint64(n.Desc[8+18*8+10*24+3*8:])
			c.hasQEMUCPU = true
		}
	}
	kernel := c.vmci != nil || c.hasQEMUCPU || (ctx.Exec != nil && isKernelExec(ctx.Exec))
	if kernel && (allVZero && len(virt.segs) > 1 || vIsP && anyPhys) {
		// QEMU dump-guest-memory without -p: physical addresses only
		// (virtual addresses 0 or copies of the physical ones).
		virt = nil
	}
	if virt != nil {
		virt.sort()
		c.virt = virt
	}
	c.info.Truncated = truncated
	switch {
	case !kernel:
		c.info.Format = "ELF core (process)"
		if c.virt != nil && ctx.Exec != nil {
			c.virt.exec = openExecBacking(ctx.Exec.Name, ef.Machine)
		}
	case c.virt == nil:
		c.info.Format = "ELF vmcore (physical)"
	default:
		c.info.Format = "ELF vmcore (virtual)"
	}
	if kernel && (anyPhys || c.virt == nil) {
		phys.sort()
		c.phys = phys
	}
	if c.vmci != nil {
		c.info.OSRelease, _ = c.vmci.Get("OSRELEASE")
		c.info.BuildID, _ = c.vmci.Get("BUILD-ID")
		if ps, ok := c.vmci.PageSize(); ok {
			c.info.PageSize = ps
		}
		if off, ok := c.vmci.KernelOffset(); ok {
			c.info.KernDisp, c.info.KernDispKnown = off, true
		} else if disp, ok := dispFromStext(c.vmci, ctx.Exec); ok {
			c.info.KernDisp, c.info.KernDispKnown = disp, true
		}
	}
	if c.phys != nil && ef.Machine == elf.EM_X86_64 {
		if root, levels, ok := x86RootFromVMCoreInfo(c.vmci); ok {
			c.kmem = &kernelMem{phys: c, xlat: &x86Walker{phys: c, root: root, levels: levels, cache: newTLB()}}
			c.located = "VMCOREINFO"
		} else if c.hasQEMUCPU && c.qemuCR3 != 0 && ctx.Exec == nil {
			c.kmem = &kernelMem{phys: c, xlat: &x86Walker{phys: c, root: c.qemuCR3 & x86PTEAddrMask, levels: 4, cache: newTLB()}}
			c.located = "QEMU CPU state CR3"
		}
	}
	if c.phys != nil && ef.Machine == elf.EM_386 && c.vmci != nil {
		if w, err := i386FromVMCoreInfo(c.vmci, c); err == nil {
			c.kmem = &kernelMem{phys: c, xlat: w}
			c.located = "VMCOREINFO"
		} else {
			c.xlatErr = err
		}
	}
	if c.phys != nil && ef.Machine == elf.EM_AARCH64 && c.vmci != nil {
		if w, err := arm64FromVMCoreInfo(c.vmci, c, ef.ByteOrder); err == nil {
			c.kmem = &kernelMem{phys: c, xlat: w}
			c.located = "VMCOREINFO"
		} else {
			c.xlatErr = err
		}
	}
	if c.kmem == nil && c.phys != nil && ef.Machine == elf.EM_X86_64 && ctx.Exec != nil {
		// No VMCOREINFO: find the kernel by its content.
		var held []physRange
		for _, s := range c.phys.segs {
			if s.start+s.filesz > s.start {
				held = append(held, physRange{s.start, s.start + s.filesz})
			}
		}
		if loc, err := findX86Kernel(c, held, ctx.Exec, c.qemuCR3); err == nil {
			c.kmem = &kernelMem{phys: c, xlat: loc.walker}
			c.info.KernDisp, c.info.KernDispKnown = loc.disp, true
			c.located = loc.how
		}
	}
	if c.kmem == nil && c.phys != nil && c.hasQEMUCPU && c.qemuCR3 != 0 && ef.Machine == elf.EM_X86_64 {
		// The CPU's page tables, displacement unknown.
		c.kmem = &kernelMem{phys: c, xlat: &x86Walker{phys: c, root: c.qemuCR3 & x86PTEAddrMask, levels: 4, cache: newTLB()}}
		c.located = "QEMU CPU state CR3"
	}
	if c.virt != nil && kernel && !c.info.KernDispKnown {
		if disp, ok := findDispInMemory(c.virt, ctx.Exec); ok {
			c.info.KernDisp, c.info.KernDispKnown = disp, true
		}
	}
	switch {
	case c.virt != nil && c.kmem != nil:
		c.info.Translation = "PT_LOAD virtual addresses, then " + describe(c.kmem.xlat, c.located)
	case c.virt != nil:
		c.info.Translation = "PT_LOAD virtual addresses"
	case c.kmem != nil:
		c.info.Translation = describe(c.kmem.xlat, c.located)
	}
	if ctx.Writable {
		if w, ok := ctx.File.(io.WriterAt); ok {
			c.w = w
		}
	}
	return c, nil
}

// isKernelExec says whether an execfile is an OS kernel.
func isKernelExec(x *execInfo) bool {
	if x.Symbol == nil {
		return false
	}
	// Linux (linux_banner, the page-table roots), FreeBSD (kernbase).
	for _, s := range []string{"linux_banner", "init_top_pgt", "swapper_pg_dir", "kernbase"} {
		if _, ok := x.Symbol(s); ok {
			return true
		}
	}
	return false
}

func (c *elfCore) Info() DumpInfo { return c.info }
func (c *elfCore) Close() error {
	if c.virt != nil && c.virt.exec != nil {
		return c.virt.exec.Close()
	}
	return nil
}

// ReadMemory reads virtual memory: from the PT_LOADs' virtual addresses
// when the core has them, else (or for addresses they miss) through the
// kernel's page tables.
func (c *elfCore) ReadMemory(buf []byte, addr uint64) (int, error) {
	if c.virt != nil {
		n, err := c.virt.read(buf, addr)
		if err == nil || c.kmem == nil || !errors.Is(err, errNotMapped) {
			return n, err
		}
		m, err2 := c.kmem.ReadMemory(buf[n:], addr+uint64(n))
		if err2 != nil {
			return n + m, err2
		}
		return n + m, nil
	}
	if c.kmem != nil {
		return c.kmem.ReadMemory(buf, addr)
	}
	if c.xlatErr != nil {
		return 0, &ReadError{Addr: addr, Len: len(buf), Err: fmt.Errorf("dump holds physical memory only and cannot be translated: %w", c.xlatErr)}
	}
	return 0, &ReadError{Addr: addr, Len: len(buf), Err: errors.New("dump holds physical memory only and no page tables were found (no VMCOREINFO, no CPU state)")}
}

// ReadPhys reads physical memory of a kernel dump.
func (c *elfCore) ReadPhys(buf []byte, paddr uint64) (int, error) {
	if c.phys == nil {
		return 0, &ReadError{Addr: paddr, Len: len(buf), Err: errors.New("the dump records no physical addresses")}
	}
	return c.phys.read(buf, paddr)
}

// WriteMemory writes into the corefile at a virtual address held plainly
// in a PT_LOAD (only when opened for writing).
func (c *elfCore) WriteMemory(buf []byte, addr uint64) (int, error) {
	if c.w == nil {
		return 0, errReadOnly
	}
	if c.virt == nil {
		return 0, &ReadError{Addr: addr, Len: len(buf), Err: errors.New("writing is supported only for cores with virtual PT_LOADs")}
	}
	return c.virt.write(c.w, buf, addr, "address")
}

// write writes buf at addr through the segments into w (the corefile
// opened for writing); what names the kind of address in errors. Bytes
// the file does not store (beyond a segment's file size) cannot be written.
func (m *segMap) write(w io.WriterAt, buf []byte, addr uint64, what string) (int, error) {
	done := 0
	for done < len(buf) {
		a := addr + uint64(done)
		s := m.find(a)
		if s == nil || a-s.start >= s.filesz {
			return done, &ReadError{Addr: a, Len: len(buf) - done, Err: errors.New(what + " not stored in the file")}
		}
		rel := a - s.start
		n := min(uint64(len(buf)-done), s.filesz-rel)
		got, err := w.WriteAt(buf[done:done+int(n)], s.off+int64(rel))
		done += got
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// VMCoreInfo returns the dump's VMCOREINFO, nil if none.
func (c *elfCore) VMCoreInfo() *VMCoreInfo { return c.vmci }

// WalkPages reports the PT_LOAD pages.
func (c *elfCore) WalkPages(fn func(Page) error) error {
	m := c.virt
	if m == nil {
		m = c.phys
	}
	if m == nil {
		return nil
	}
	ps := uint64(c.info.PageSize)
	for _, s := range m.segs {
		// Pages the file holds one by one; a zero-filled tail (memsz
		// beyond filesz, unbounded by the file) as one entry.
		for o := uint64(0); o < s.memsz; o += ps {
			p := Page{Size: min(ps, s.memsz-o), Prot: ProtRead, Offset: -1}
			if o < s.filesz {
				p.Offset = s.off + int64(o)
			} else {
				p.Size = s.memsz - o
			}
			if m == c.virt {
				p.Virt, p.VirtKnown = s.start+o, true
			} else {
				p.Phys = s.start + o
			}
			if err := fn(p); err != nil {
				return err
			}
			if p.Offset < 0 {
				break
			}
		}
	}
	return nil
}

var errReadOnly = errors.New("the target was not opened for writing (use os.O_RDWR or os.O_WRONLY)")
