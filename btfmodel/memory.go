package btfmodel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Memory reads a target's kernel virtual memory (*kvm.KVM is one).
type Memory interface {
	ReadMemory(buf []byte, addr uint64) (int, error)
}

// Lookup returns a kernel symbol's run-time address (kvm.KVM.LookupSymbol).
type Lookup func(name string) (uint64, error)

// LocateError says why the BTF could not be found in a target's memory,
// and what to pass instead.
type LocateError struct {
	Start, Stop uint64 // __start_BTF and __stop_BTF when found
	Msg         string
	Err         error
}

func (e *LocateError) Error() string {
	s := "BTF in the target's memory: " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s + " (give the kernel's types with -kernel VMLINUX or -btf FILE)"
}

func (e *LocateError) Unwrap() error { return e.Err }

// Locate finds the kernel's BTF in memory: the bytes between the symbols
// __start_BTF and __stop_BTF (the .BTF section, which the kernel keeps
// mapped read-only for /sys/kernel/btf/vmlinux).
func Locate(lookup Lookup) (start, size uint64, err error) {
	start, err = lookup("__start_BTF")
	if err != nil {
		return 0, 0, &LocateError{Msg: "symbol __start_BTF not found (a kernel without CONFIG_DEBUG_INFO_BTF, or no symbols)", Err: err}
	}
	stop, err := lookup("__stop_BTF")
	if err != nil {
		return 0, 0, &LocateError{Start: start, Msg: "symbol __stop_BTF not found", Err: err}
	}
	if stop <= start || stop-start > maxBTF || stop-start < 24 {
		return 0, 0, &LocateError{Start: start, Stop: stop, Msg: fmt.Sprintf("__start_BTF %#x and __stop_BTF %#x do not bound a BTF blob of 24 bytes to %d MiB", start, stop, maxBTF>>20)}
	}
	return start, stop - start, nil
}

// scanLimit bounds the scan for the BTF header after _etext: .BTF sits in
// the read-only data that follows the text (3.6 MB after _etext in
// Debian's 6.1 arm64 kernel).
const scanLimit = 64 << 20

// Scan finds the kernel's BTF when its symbols do not name it (kallsyms
// without CONFIG_KALLSYMS_ALL holds text symbols only, as in Debian's
// arm64 and i386 kernels): it looks for a BTF header after _etext, 4-byte
// aligned, within 64 MiB: magic 0xeb9f, version 1, a 24-byte header, types
// first and strings right after them, as pahole writes vmlinux BTF.
func Scan(m Memory, lookup Lookup) (start, size uint64, err error) {
	etext, err := lookup("_etext")
	if err != nil {
		return 0, 0, &LocateError{Msg: "neither __start_BTF nor _etext is among the target's symbols", Err: err}
	}
	start, size, err = scanFrom(m, etext)
	if err != nil {
		return 0, 0, &LocateError{Msg: fmt.Sprintf("__start_BTF is not among the target's symbols (a kernel built without CONFIG_KALLSYMS_ALL or CONFIG_DEBUG_INFO_BTF) and %v", err)}
	}
	return start, size, nil
}

func scanFrom(m Memory, from uint64) (start, size uint64, err error) {
	from &^= 3
	const chunk = 1 << 16
	buf := make([]byte, chunk+24)
	for off := uint64(0); off < scanLimit; off += chunk {
		n, _ := m.ReadMemory(buf, from+off)
		if n < 24 {
			if off == 0 {
				return 0, 0, fmt.Errorf("reading the kernel image at %#x failed", from)
			}
			break
		}
		for i := 0; i+24 <= n && i < chunk; i += 4 {
			h := buf[i : i+24]
			if h[2] != 1 || h[3] != 0 {
				continue
			}
			for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
				if bo.Uint16(h) != btfMagic || bo.Uint32(h[4:]) != 24 || bo.Uint32(h[8:]) != 0 {
					continue
				}
				typeLen, strOff, strLen := uint64(bo.Uint32(h[12:])), uint64(bo.Uint32(h[16:])), uint64(bo.Uint32(h[20:]))
				if strOff != typeLen || strLen == 0 || typeLen == 0 || 24+strOff+strLen > maxBTF {
					continue
				}
				return from + off + uint64(i), 24 + strOff + strLen, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("no BTF header follows %#x within %d MiB", from, scanLimit>>20)
}

// ScanFrom finds a BTF header at or after addr (4-byte aligned, within 64
// MiB), with the checks Scan makes, and reads the BTF there. It needs no
// symbols: a caller that knows an address below the kernel's .BTF (the
// kallsyms tables, which VMCOREINFO names and which the kernel places in
// the read-only data before .BTF) can read the types while the symbol table
// is still being decoded, and confirm the address with __start_BTF after.
func ScanFrom(m Memory, addr uint64, opts Options) (*File, uint64, error) {
	start, size, err := scanFrom(m, addr)
	if err != nil {
		return nil, 0, err
	}
	f, err := fromRange(m, start, size, opts)
	return f, start, err
}

// FromMemory reads the kernel's BTF out of its memory (a dump or the live
// kernel): between __start_BTF and __stop_BTF, or, when the symbols do not
// name them, where Scan finds it. opts should name the target's
// architecture and build ID, which BTF does not record.
func FromMemory(m Memory, lookup Lookup, opts Options) (*File, error) {
	start, size, err := Locate(lookup)
	if err != nil {
		var serr error
		if start, size, serr = Scan(m, lookup); serr != nil {
			return nil, fmt.Errorf("%w; %w", err, serr)
		}
	}
	return fromRange(m, start, size, opts)
}

// fromRange reads and decodes the BTF at [start, start+size).
func fromRange(m Memory, start, size uint64, opts Options) (*File, error) {
	if opts.Name == "" {
		opts.Name = fmt.Sprintf("the target's memory at %#x", start)
	}
	// The first and the last page must be readable; cilium/ebpf then reads
	// the blob straight from the target into its own buffer (one copy: a
	// 4 MB buffer of ours as well would cost page faults for nothing).
	var b [4]byte
	if _, err := m.ReadMemory(b[:], start); err != nil {
		return nil, &LocateError{Start: start, Stop: start + size, Msg: fmt.Sprintf("reading %d bytes at %#x", size, start), Err: err}
	}
	var last [1]byte
	if _, err := m.ReadMemory(last[:], start+size-1); err != nil {
		return nil, &LocateError{Start: start, Stop: start + size, Msg: fmt.Sprintf("reading %d bytes at %#x", size, start), Err: err}
	}
	var bo binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint16(b[:]) == btfMagic:
		bo = binary.LittleEndian
	case binary.BigEndian.Uint16(b[:]) == btfMagic:
		bo = binary.BigEndian
	default:
		return nil, &FormatError{Name: opts.Name, Off: 0, Msg: fmt.Sprintf("expected the BTF magic 0xeb9f at %#x, found % x", start, b[:2])}
	}
	r := &memReaderAt{m: m, base: start, size: size}
	f, err := newRaw(r, bo, opts)
	if err != nil {
		return nil, err
	}
	f.rawMem = r
	return f, nil
}

// memReaderAt reads [base, base+size) of a target's memory as a file.
type memReaderAt struct {
	m          Memory
	base, size uint64
}

func (r *memReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || uint64(off) >= r.size {
		return 0, io.EOF
	}
	want := min(uint64(len(p)), r.size-uint64(off))
	n := 0
	for uint64(n) < want {
		got, err := r.m.ReadMemory(p[n:want], r.base+uint64(off)+uint64(n))
		n += max(got, 0)
		if err != nil {
			return n, err
		}
		if got <= 0 {
			return n, fmt.Errorf("%#x: short read", r.base+uint64(off)+uint64(n))
		}
	}
	if uint64(n) < uint64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// readAll reads size bytes at addr in page-sized pieces, so that an error
// names the first page that is missing.
func readAll(m Memory, addr, size uint64) ([]byte, error) {
	b := make([]byte, size) // size is bounded by Locate
	const chunk = 1 << 16
	for off := uint64(0); off < size; {
		n := min(uint64(chunk), size-off)
		got, err := m.ReadMemory(b[off:off+n], addr+off)
		if err != nil {
			return nil, err
		}
		if got <= 0 {
			return nil, fmt.Errorf("%#x: short read", addr+off)
		}
		off += uint64(got)
	}
	return b, nil
}

// ErrOtherKernel is wrapped by SameKernel's error.
var ErrOtherKernel = errors.New("BTF of another kernel")

// Raw returns the BTF bytes when the File was read from memory or a raw
// file, nil otherwise.
func (f *File) Raw() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.raw == nil && f.rawMem != nil {
		if b, err := readAll(f.rawMem.m, f.rawMem.base, f.rawMem.size); err == nil {
			f.raw = b
		}
	}
	return f.raw
}

// SameKernel checks that f describes the kernel whose memory m is: the BTF
// the kernel carries in memory must hold the same bytes. It returns nil
// when the memory's BTF cannot be read (nothing to compare with) and says
// so in the returned bool.
func (f *File) SameKernel(m Memory, lookup Lookup) (compared bool, err error) {
	start, size, err := Locate(lookup)
	if err != nil {
		if start, size, err = Scan(m, lookup); err != nil {
			return false, nil
		}
	}
	mine := f.Raw()
	if mine == nil {
		return false, nil
	}
	if uint64(len(mine)) != size {
		return true, fmt.Errorf("%s: %w: it is %d bytes, the target's own BTF at %#x is %d bytes (use the target's BTF: drop -btf, or give the matching file)", f.opts.Name, ErrOtherKernel, len(mine), start, size)
	}
	theirs, err := readAll(m, start, size)
	if err != nil {
		return false, nil
	}
	if !bytes.Equal(mine, theirs) {
		return true, fmt.Errorf("%s: %w: its bytes differ from the target's own BTF at %#x (use the target's BTF: drop -btf, or give the matching file)", f.opts.Name, ErrOtherKernel, start)
	}
	return true, nil
}
