package procs

import (
	"bytes"
	"errors"
	"fmt"
)

// UserMemoryError reports process memory that could not be read: the
// process, what was being read, the user address and the reason: a
// *kvm.NotMappedError (never touched, or unmapped), a *kvm.SwappedOutError
// (the swap entry, type and offset), a *kvm.ReadError (mapped, but the
// page is not in the dump: makedumpfile filters user pages out at dump
// level 8 and above), or a *kvm.NoUserTranslationError.
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

// ErrKernelThread is returned for the argv or environment of a kernel
// thread, which has no user memory (/proc shows them empty).
var ErrKernelThread = errors.New("kernel thread has no user memory")

// ArgMax is the default bound of Argv and Envv (libkvm's ARG_MAX on
// FreeBSD: nchr 0 or above it means ArgMax).
const ArgMax = 256 << 10

// Cmdline returns the bytes of p's argument area (mm->arg_start to
// arg_end), NULs included, read from the process's own memory: what
// /proc/PID/cmdline shows for a process that did not rewrite its argv.
// When a page cannot be read it returns the bytes before it and a
// *UserMemoryError.
func (s *System) Cmdline(p *Proc) ([]byte, error) {
	return s.userArea(p, p.ArgStart, p.ArgEnd, 0, "argv")
}

// Environ returns the bytes of p's environment area (mm->env_start to
// env_end), NULs included, like /proc/PID/environ; partial like Cmdline.
func (s *System) Environ(p *Proc) ([]byte, error) {
	return s.userArea(p, p.EnvStart, p.EnvEnd, 0, "environment")
}

// Argv returns p's arguments with no limit but Options.MaxArgBytes: see
// GetArgv.
func (s *System) Argv(p *Proc) ([]string, error) { return s.GetArgv(p, -1) }

// Envv returns p's environment strings: see GetEnvv.
func (s *System) Envv(p *Proc) ([]string, error) { return s.GetEnvv(p, -1) }

// GetArgv is kvm_getargv(kd, p, nchr): p's arguments, built from at most
// nchr bytes of the argument area, NULs included (nchr 0, or above
// ArgMax, means ArgMax; a negative nchr means the whole area). When the
// area is longer, the string that crosses the limit is cut so that it and
// its NUL end at byte nchr, and the vector ends there, as FreeBSD's libkvm
// truncates for display. When a page of the area cannot be read (not
// mapped, swapped out, not in the dump) the vector ends with what was read
// before it (the last string possibly cut short) and the error, a
// *UserMemoryError, is returned with it: check both.
func (s *System) GetArgv(p *Proc, nchr int) ([]string, error) {
	return s.vector(p, p.ArgStart, p.ArgEnd, nchr, "argv")
}

// GetEnvv is kvm_getenvv: GetArgv for the environment area.
func (s *System) GetEnvv(p *Proc, nchr int) ([]string, error) {
	return s.vector(p, p.EnvStart, p.EnvEnd, nchr, "environment")
}

func (s *System) vector(p *Proc, start, end uint64, nchr int, what string) ([]string, error) {
	limit := nchr
	if nchr == 0 || nchr > ArgMax {
		limit = ArgMax
	}
	b, err := s.userArea(p, start, end, limit, what)
	if limit > 0 && err == nil && end-start > uint64(limit) && len(b) > 0 {
		b[len(b)-1] = 0 // cut: the last string ends at the limit
	}
	v := splitNUL(b)
	if err != nil && len(v) == 0 {
		return nil, err
	}
	return v, err
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

// userArea reads the user area [start, end) of p, at most limit bytes
// when limit > 0. On a read error it returns what was read and the error.
func (s *System) userArea(p *Proc, start, end uint64, limit int, what string) ([]byte, error) {
	if p.Mm == 0 {
		return nil, &UserMemoryError{PID: p.PID, What: what, Err: ErrKernelThread}
	}
	if end < start {
		return nil, &UserMemoryError{PID: p.PID, What: what, Addr: start, Err: fmt.Errorf("area end %#x before start", end)}
	}
	size := end - start
	if limit > 0 && size > uint64(limit) {
		size = uint64(limit)
	}
	if size > uint64(s.maxArg) {
		return nil, &UserMemoryError{PID: p.PID, What: what, Addr: start, Err: fmt.Errorf("area of %d bytes exceeds the %d-byte limit", end-start, s.maxArg)}
	}
	if s.user == nil {
		return nil, &UserMemoryError{PID: p.PID, What: what, Addr: start, Err: errNoUserReader}
	}
	buf := make([]byte, size)
	n, err := s.user.ReadUser(p.Pgd, start, buf)
	if err != nil || n < len(buf) {
		if err == nil {
			err = errors.New("short read")
		}
		return buf[:n], &UserMemoryError{PID: p.PID, What: what, Addr: start + uint64(n), Err: err}
	}
	return buf, nil
}

var errNoUserReader = errors.New("the target cannot read process memory (it implements no procs.UserReader: open it with kvm.Open)")
