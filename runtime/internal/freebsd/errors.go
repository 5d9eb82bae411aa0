package freebsd

import (
	"errors"
	"fmt"
)

// ErrNotFreeBSD is returned (wrapped) by the openers when a file is not a
// FreeBSD crash dump of a kind they read.
var ErrNotFreeBSD = errors.New("not a FreeBSD crash dump")

// notMine wraps ErrNotFreeBSD with the reason.
type notMine struct{ reason string }

func (e *notMine) Error() string { return "not a FreeBSD crash dump: " + e.reason }
func (e *notMine) Unwrap() error { return ErrNotFreeBSD }

// IsNotFreeBSD reports whether err says the file is not a FreeBSD dump and
// gives the reason.
func IsNotFreeBSD(err error) (string, bool) {
	var nm *notMine
	if errors.As(err, &nm) {
		return nm.reason, true
	}
	return "", errors.Is(err, ErrNotFreeBSD)
}

// FormatError reports a dump whose content is damaged or not what its format
// requires, naming the file and the offset.
type FormatError struct {
	File   string
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: offset %#x: %s", e.File, e.Offset, e.Msg)
}

func formatErr(file string, off int64, format string, args ...any) error {
	return &FormatError{File: file, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// AddrError reports an address the dump cannot translate or does not hold.
type AddrError struct {
	Addr   uint64
	Phys   bool // Addr is a physical address
	Reason string
}

func (e *AddrError) Error() string {
	kind := "virtual"
	if e.Phys {
		kind = "physical"
	}
	return fmt.Sprintf("%s address %#x: %s", kind, e.Addr, e.Reason)
}

// ErrNotInDump is wrapped by errors for addresses whose page the dump does
// not hold.
var ErrNotInDump = errors.New("page not in dump")

func (e *AddrError) Unwrap() error { return ErrNotInDump }
