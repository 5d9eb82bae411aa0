package kvm

import (
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
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
