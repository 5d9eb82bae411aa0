package kvm

import (
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// Memory reads target memory at a kernel (or process) virtual address. It is
// the one interface every memory source implements: dumps, live memory,
// caches. n < len(buf) only with a non-nil error.
type Memory interface {
	ReadMemory(buf []byte, addr uint64) (n int, err error)
}

// Target is what generated bindings read through: memory, symbols with any
// KASLR displacement applied, and the identity of the kernel.
type Target interface {
	Memory
	// LookupSymbol returns the run-time address of a symbol.
	LookupSymbol(name string) (uint64, error)
	// BuildID is the kernel's build ID as lower-case hex, or "" when the
	// target cannot tell.
	BuildID() string
}

// ReadError is returned when target memory cannot be read.
type ReadError struct {
	Addr uint64
	Len  int
	Err  error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("read %d bytes at %#x: %v", e.Len, e.Addr, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// ReadFull reads exactly len(buf) bytes at addr.
func ReadFull(m Memory, buf []byte, addr uint64) error {
	n, err := m.ReadMemory(buf, addr)
	if n == len(buf) {
		return nil
	}
	if err == nil {
		err = errors.New("short read")
	}
	var re *ReadError
	if errors.As(err, &re) {
		return err
	}
	return &ReadError{Addr: addr, Len: len(buf), Err: err}
}

// Bits extracts a bitfield of bitSize bits starting dataBitOffset bits into b
// (DWARF 5 DW_AT_data_bit_offset meaning, in the target's bit numbering:
// little-endian targets count from the least significant bit of byte 0,
// big-endian targets from the most significant bit of byte 0). The result is
// zero-extended; see SignExtend.
func Bits(b []byte, dataBitOffset, bitSize uint, bigEndian bool) uint64 {
	if bitSize == 0 || bitSize > 64 {
		return 0
	}
	var v uint64
	if bigEndian {
		for i := uint(0); i < bitSize; i++ {
			bit := dataBitOffset + i
			v = v<<1 | uint64(b[bit/8]>>(7-bit%8)&1)
		}
		return v
	}
	for i := uint(0); i < bitSize; i++ {
		bit := dataBitOffset + i
		v |= uint64(b[bit/8]>>(bit%8)&1) << i
	}
	return v
}

// SignExtend sign-extends the low bitSize bits of v.
func SignExtend(v uint64, bitSize uint) int64 {
	if bitSize == 0 || bitSize >= 64 {
		return int64(v)
	}
	shift := 64 - bitSize
	return int64(v<<shift) >> shift
}

// BuildIDError is the one error for a kernel build ID other than the one
// expected: a dump opened with another kernel's image (Open: Want is the
// execfile's, Got the dump's), or bindings bound to another kernel than
// theirs (Bind: Want is the bindings', Got the target's).
type BuildIDError struct {
	Want, Got         string // the expected and the found build IDs
	WantFrom, GotFrom string // where each was read: a file name, "the bindings", "the target"
	Hint              string // what to do instead
}

func (e *BuildIDError) Error() string {
	s := fmt.Sprintf("build ID mismatch: %s has build ID %s but %s has build ID %s", e.WantFrom, Untrusted(e.Want), e.GotFrom, Untrusted(e.Got))
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// bindingsMismatch is the BuildIDError of bindings bound to another kernel.
func bindingsMismatch(generated, target string) *BuildIDError {
	return &BuildIDError{Want: generated, Got: target, WantFrom: "the bindings' kernel", GotFrom: "the target kernel",
		Hint: "regenerate them, bind with kvm.Types(the target's BTF or DWARF) to relocate, or kvm.IgnoreBuildID()"}
}

// BindOption changes how generated bindings attach to a target.
type BindOption func(*bindConfig)

type bindConfig struct {
	ignoreBuildID bool
	types         func() (dwarfmodel.Source, error) // the target's own types (relocatable bindings)
	forceRelocate bool
}

// IgnoreBuildID binds generated code to a target even when its kernel's
// build ID differs from the one the code was generated from.
func IgnoreBuildID() BindOption { return func(c *bindConfig) { c.ignoreBuildID = true } }

// CheckBuildID is called by generated Bind functions: it fails with a
// *BuildIDError when t's kernel is known and is not the one the
// bindings were generated from, unless IgnoreBuildID is given.
func CheckBuildID(t Target, generated string, opts ...BindOption) error {
	var c bindConfig
	for _, o := range opts {
		o(&c)
	}
	if c.ignoreBuildID {
		return nil
	}
	got := t.BuildID()
	if got == "" || generated == "" || got == generated {
		return nil
	}
	return bindingsMismatch(generated, got)
}

// Untrusted spells a string read from a dump (a build ID, a release, a
// symbol name) for a message or a terminal: as it is when it is printable
// text, else Go-quoted, so that corrupted bytes show as escapes and a
// hostile dump cannot send terminal control sequences.
func Untrusted(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return s
}
