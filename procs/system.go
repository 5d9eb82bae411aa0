package procs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

// UserReader reads the user memory of one address space: the one whose top
// page table (mm_struct.pgd, a kernel virtual address) is pgd. A page that
// is not mapped, not resident or not in the dump gives an error and
// n < len(buf). *kvm.KVM implements it (KVM.ReadUser: the kernel's own
// page-table walker, on every architecture it translates).
type UserReader interface {
	ReadUser(pgd, addr uint64, buf []byte) (int, error)
}

// Options tune New.
type Options struct {
	// User reads process memory (argv, environment). Nil: the target if it
	// implements UserReader (a *kvm.KVM does); else reading process memory
	// fails with a *UserMemoryError.
	User UserReader
	// PageSize in bytes; 0: the target's (Info().PageSize) or 4096.
	PageSize int
	// MaxArgBytes bounds the argv/environment area read per process;
	// 0 means 4 MiB. Larger areas give a *UserMemoryError.
	MaxArgBytes int
}

// System reads the process table and friends of one kernel target.
// It is safe for concurrent use if its target is.
type System struct {
	t        kvm.Target
	l        *Layout
	b        *bind.Binding // the generated bindings bound to t with l.Table
	k        *linuxKernel
	tgid     bind.Field // task_struct.tgid in the bound kernel
	signal   bind.Field // task_struct.signal
	bo       binary.ByteOrder
	user     UserReader
	pageSize uint64
	maxArg   int

	opsOnce             sync.Once // Maps: the vm_operations it names
	specialOps, gateOps uint64

	cpuOnce sync.Once
	cpuOffs []uint64
	cpuErr  error

	fbsd *fbsdLayout // a FreeBSD kernel (NewFreeBSD): GetProcs walks allproc
}

// New binds a layout to a target: the bindings procs reads through, with
// the layout's table. The layout must be the target kernel's: when both
// tell their build ID and they differ, New fails with a *kvm.BuildIDError;
// of another data model than the target's, with a
// *bind.DataModelMismatchError.
func New(t kvm.Target, l *Layout, opts ...Options) (*System, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if l == nil {
		return nil, errors.New("procs: nil layout")
	}
	if t == nil {
		return nil, errors.New("procs: nil target")
	}
	if err := bind.CheckBuildID(t, l.BuildID); err != nil {
		return nil, err
	}
	s := &System{t: t, l: l, bo: l.ByteOrder(), pageSize: uint64(o.PageSize), maxArg: o.MaxArgBytes}
	if l.Table != nil { // a Linux kernel's layout (NewFreeBSD's has none)
		b, err := l.binding(t)
		if err != nil {
			return nil, err
		}
		lc := *l // with the memory map's members, for this System only
		lc.mapsFields(b)
		s.l, s.b, s.k = &lc, b, &linuxKernel{b: b}
		if s.tgid, err = bind.FieldOf[linuxTaskStruct](b, "tgid"); err != nil {
			return nil, err
		}
		if s.signal, err = bind.FieldOf[linuxTaskStruct](b, "signal"); err != nil {
			return nil, err
		}
	}
	if s.pageSize == 0 {
		if i, ok := t.(interface{ Info() kvm.DumpInfo }); ok && i.Info().PageSize > 0 {
			s.pageSize = uint64(i.Info().PageSize)
		} else {
			s.pageSize = 4096
		}
	}
	if s.maxArg <= 0 {
		s.maxArg = 4 << 20
	}
	s.user = o.User
	if s.user == nil {
		if u, ok := t.(UserReader); ok {
			s.user = u
		}
	}
	return s, nil
}

// Layout returns the layout the System reads with.
func (s *System) Layout() *Layout { return s.l }

// readView reads the T at addr: the leading bytes of it that hold the
// members procs reads (bind.Binding.Span), in one read.
func readView[T bind.Viewer](s *System, addr uint64, what string) (T, error) {
	var z T
	if s.b == nil {
		return z, errNoLinuxLayout
	}
	n := s.b.Span(z.KVMType())
	if n < 0 {
		return z, s.b.MissingError(z.KVMType(), -1)
	}
	buf, err := s.read(addr, n, what)
	if err != nil {
		return z, err
	}
	return bind.AsView[T](bind.MakeView(s.b, addr, buf)), nil
}

var errNoLinuxLayout = errors.New("procs: the layout is not a Linux kernel's (make it with ResolveLayout)")

// read reads n bytes of kernel memory at addr.
func (s *System) read(addr uint64, n int64, what string) ([]byte, error) {
	if n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("procs: reading %s: size %d out of range", what, n)
	}
	b := make([]byte, n)
	if err := kvm.ReadFull(s.t, b, addr); err != nil {
		return nil, &KernelReadError{What: what, Addr: addr, Err: err}
	}
	return b, nil
}

// KernelReadError reports kernel memory procs could not read: what it was
// reading (e.g. "struct task_struct"), and where.
type KernelReadError struct {
	What string
	Addr uint64
	Err  error
}

func (e *KernelReadError) Error() string {
	return fmt.Sprintf("procs: reading %s at %#x: %v", e.What, e.Addr, e.Err)
}

func (e *KernelReadError) Unwrap() error { return e.Err }

// u decodes an unsigned field from b (0 if absent or out of b).
func (s *System) u(b []byte, f Field) uint64 {
	if !f.Present() || f.Off < 0 || f.Size <= 0 || f.Off+f.Size > int64(len(b)) {
		return 0
	}
	return bind.FixedUint(b, int(f.Off), int(f.Size), s.l.BigEndian)
}

// ptr decodes a pointer-sized field.
func (s *System) ptr(b []byte, f Field) uint64 { return s.u(b, f) }

func (s *System) readPtr(addr uint64, what string) (uint64, error) {
	b, err := s.read(addr, int64(s.l.PtrSize), what)
	if err != nil {
		return 0, err
	}
	if len(b) == 4 {
		return uint64(s.bo.Uint32(b)), nil
	}
	return s.bo.Uint64(b), nil
}

func (s *System) symbol(name string) (uint64, error) {
	a, err := s.t.LookupSymbol(name)
	if err != nil {
		return 0, fmt.Errorf("procs: symbol %s: %w", name, err)
	}
	return a, nil
}

// span is the number of leading bytes of a structure that covers fields.
func span(fields ...Field) int64 {
	var n int64
	for _, f := range fields {
		if e := f.end(); e > n {
			n = e
		}
	}
	return n
}

// cstring returns b up to its first NUL.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
