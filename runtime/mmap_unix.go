//go:build linux || darwin || freebsd || netbsd || openbsd

package kvm

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"
)

// mmapReader reads a regular file through a read-only memory mapping:
// small random reads (page-table entries, 8-byte fields) cost a copy, not
// a system call.
type mmapReader struct {
	data []byte
	f    *os.File // for large reads (preadThreshold)
}

// preadThreshold: reads this large go through pread(2) instead of the
// mapping, so that bulk reads (a dump's 4 MB BTF, its kallsyms tables)
// do not map every page they pass into the process: `kvmgen ps` with no
// vmlinux peaks at 48 MB RSS instead of 54 MB. Small reads (page-table
// entries, fields) stay copies from the mapping.
const preadThreshold = 16 << 10

// maxMmap bounds the files mapped (the address space of 32-bit hosts).
const maxMmap = 1<<(ptrSize*8-2) - 1

// mmapFile maps f read-only; ok is false when it cannot (then read f).
func mmapFile(f *os.File, size int64) (*mmapReader, bool) {
	if size <= 0 || size > maxMmap {
		return nil, false
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, false
	}
	return &mmapReader{data: data, f: f}, true
}

// ReadAt copies from the mapping. A fault (the file was truncated under
// us) is returned as an error, not a crash.
func (m *mmapReader) ReadAt(p []byte, off int64) (n int, err error) {
	if off < 0 || off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	if len(p) >= preadThreshold && m.f != nil {
		return m.f.ReadAt(p, off)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("reading the mapped file at %#x: %v (was it truncated?)", off, r)
		}
	}()
	n = copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *mmapReader) Close() error {
	if m.data == nil {
		return nil
	}
	err := syscall.Munmap(m.data)
	m.data = nil
	return err
}
