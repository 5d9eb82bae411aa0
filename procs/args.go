package procs

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	kvm "github.com/kvmgen/kvmgen/runtime"
)

// UserMemoryError reports process memory that could not be read: the
// process, what was being read, the user address and the reason (often a
// *PageNotPresentError: the page is swapped out, was never touched, or is
// not in the dump).
type UserMemoryError struct {
	PID  int32
	What string // "argv", "environment"
	Addr uint64
	Err  error
}

func (e *UserMemoryError) Error() string {
	return fmt.Sprintf("procs: pid %d: reading %s at user address %#x: %v", e.PID, e.What, e.Addr, e.Err)
}

func (e *UserMemoryError) Unwrap() error { return e.Err }

// PageNotPresentError reports a user page that the process's page tables do
// not map to memory: Entry is the non-present table entry found at Level
// (4 = PGD ... 1 = PTE); a non-zero Entry at level 1 is usually a swap
// entry.
type PageNotPresentError struct {
	Addr  uint64
	Level int
	Entry uint64
}

func (e *PageNotPresentError) Error() string {
	what := "not mapped"
	if e.Entry != 0 {
		what = fmt.Sprintf("not present (entry %#x", e.Entry)
		if e.Level == 1 {
			what += ", swapped out"
		}
		what += ")"
	}
	return fmt.Sprintf("user page %#x %s at page-table level %d", e.Addr&^0xfff, what, e.Level)
}

// ErrKernelThread is returned for the argv or environment of a kernel
// thread, which has no user memory (/proc shows them empty).
var ErrKernelThread = errors.New("kernel thread has no user memory")

// Cmdline returns the bytes of p's argument area (mm->arg_start to
// arg_end), NULs included, read from the process's own memory: what
// /proc/PID/cmdline shows for a process that did not rewrite its argv.
func (s *System) Cmdline(p *Proc) ([]byte, error) {
	return s.userArea(p, p.ArgStart, p.ArgEnd, "argv")
}

// Environ returns the bytes of p's environment area (mm->env_start to
// env_end), NULs included, like /proc/PID/environ.
func (s *System) Environ(p *Proc) ([]byte, error) {
	return s.userArea(p, p.EnvStart, p.EnvEnd, "environment")
}

// Argv returns p's arguments (kvm_getargv).
func (s *System) Argv(p *Proc) ([]string, error) {
	b, err := s.Cmdline(p)
	if err != nil {
		return nil, err
	}
	return splitNUL(b), nil
}

// Envv returns p's environment strings (kvm_getenvv).
func (s *System) Envv(p *Proc) ([]string, error) {
	b, err := s.Environ(p)
	if err != nil {
		return nil, err
	}
	return splitNUL(b), nil
}

func splitNUL(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil
	}
	parts := bytes.Split(b, []byte{0})
	out := make([]string, len(parts))
	for i, q := range parts {
		out[i] = string(q)
	}
	return out
}

func (s *System) userArea(p *Proc, start, end uint64, what string) ([]byte, error) {
	if p.Mm == 0 {
		return nil, &UserMemoryError{PID: p.PID, What: what, Err: ErrKernelThread}
	}
	if end < start {
		return nil, &UserMemoryError{PID: p.PID, What: what, Addr: start, Err: fmt.Errorf("area end %#x before start", end)}
	}
	if end-start > uint64(s.maxArg) {
		return nil, &UserMemoryError{PID: p.PID, What: what, Addr: start, Err: fmt.Errorf("area of %d bytes exceeds the %d-byte limit", end-start, s.maxArg)}
	}
	buf := make([]byte, end-start)
	n, err := s.user.ReadUser(p.Pgd, buf, start)
	if err != nil || n < len(buf) {
		if err == nil {
			err = errors.New("short read")
		}
		return nil, &UserMemoryError{PID: p.PID, What: what, Addr: start + uint64(n), Err: err}
	}
	return buf, nil
}

// directMapWalker reads user memory on x86-64 by walking the process's
// page tables, reading tables and pages through the kernel's direct map
// (page_offset_base + physical address) with ordinary kernel reads.
type directMapWalker struct {
	s    *System
	once sync.Once
	base uint64 // page_offset_base
	l5   bool
	err  error
}

const (
	pteP       = 0x1
	ptePS      = 0x80
	pteAddr    = 0x000ffffffffff000
	page4K     = 0x1000
	defaultPOB = 0xffff888000000000 // page_offset_base without KASLR (4-level)
)

func (w *directMapWalker) init() {
	s := w.s
	if s.l.Arch != "x86_64" {
		w.err = fmt.Errorf("procs: reading user memory of an %s kernel needs a runtime UserReader", s.l.Arch)
		return
	}
	w.base = defaultPOB
	if a, err := s.t.LookupSymbol("page_offset_base"); err == nil {
		v, err := s.readPtr(a, "page_offset_base")
		if err != nil {
			w.err = err
			return
		}
		w.base = v
	}
	if a, err := s.t.LookupSymbol("__pgtable_l5_enabled"); err == nil {
		b, err := s.read(a, 4, "__pgtable_l5_enabled")
		if err == nil && s.bo.Uint32(b) != 0 {
			w.l5 = true
		}
	}
}

// ReadUser implements UserReader.
func (w *directMapWalker) ReadUser(pgd uint64, buf []byte, addr uint64) (int, error) {
	w.once.Do(w.init)
	if w.err != nil {
		return 0, w.err
	}
	done := 0
	for done < len(buf) {
		va := addr + uint64(done)
		pa, size, err := w.translate(pgd, va)
		if err != nil {
			return done, err
		}
		off := va & (size - 1)
		n := int(min(size-off, uint64(len(buf)-done)))
		if err := kvm.ReadFull(w.s.t, buf[done:done+n], w.base+pa+off); err != nil {
			return done, fmt.Errorf("physical page %#x (user page %#x) not readable: %w", pa, va&^(size-1), err)
		}
		done += n
	}
	return done, nil
}

// translate returns the physical address of va's page and the page size.
func (w *directMapWalker) translate(pgd, va uint64) (uint64, uint64, error) {
	levels := 4
	if w.l5 {
		levels = 5
	}
	table := pgd // a kernel virtual address for the top level only
	virt := true
	for lvl := levels; lvl >= 1; lvl-- {
		shift := 12 + 9*uint(lvl-1)
		idx := (va >> shift) & 0x1ff
		ea := table + idx*8
		if !virt {
			ea = w.base + table + idx*8
		}
		b, err := w.s.read(ea, 8, fmt.Sprintf("page-table entry (level %d)", lvl))
		if err != nil {
			return 0, 0, err
		}
		e := w.s.bo.Uint64(b)
		if e&pteP == 0 {
			return 0, 0, &PageNotPresentError{Addr: va, Level: lvl, Entry: e}
		}
		if lvl == 1 || (e&ptePS != 0 && (lvl == 2 || lvl == 3)) {
			size := uint64(1) << shift
			return e & pteAddr &^ (size - 1), size, nil
		}
		table, virt = e&pteAddr, false
	}
	return 0, 0, errors.New("page-table walk did not end") // not reached
}
