package kvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Solaris' kvm_open takes a swapfile: where the swapped-out pages of user
// processes are read from. Here it is the image of a Linux swap area (a
// swap partition or file, as mkswap made it: "SWAPSPACE2" ending its first
// page, whose union swap_header records the last usable page). A process
// page whose entry is a swap entry of type 0 (the first swap area the
// kernel enabled, swap_info[0]) at offset N is page N of the image.

// SwapFileError reports a swapfile that is not a Linux swap area, or a
// slot it does not hold.
type SwapFileError struct {
	File   string
	Offset int64
	Msg    string
}

func (e *SwapFileError) Error() string {
	return fmt.Sprintf("swapfile %s: offset %#x: %s", e.File, e.Offset, e.Msg)
}

// swapFile is an open swap area image.
type swapFile struct {
	name     string
	f        *os.File
	pageSize int64
	lastPage uint64 // the header's last_page: the highest slot in use
}

// openSwapFile opens and checks a swap area image for pages of pageSize
// bytes.
func openSwapFile(name string, pageSize int, bo binary.ByteOrder) (*swapFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() && st.Mode()&os.ModeDevice == 0 {
		f.Close()
		return nil, &SwapFileError{File: name, Msg: "not a regular file or a block device"}
	}
	ps := int64(pageSize)
	hdr := make([]byte, ps)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		f.Close()
		return nil, &SwapFileError{File: name, Msg: fmt.Sprintf("reading the %d-byte swap header: %v", ps, err)}
	}
	if !bytes.Equal(hdr[ps-10:], []byte("SWAPSPACE2")) {
		f.Close()
		return nil, &SwapFileError{File: name, Offset: ps - 10, Msg: fmt.Sprintf("expected the swap signature \"SWAPSPACE2\" (mkswap), found %q", hdr[ps-10:])}
	}
	// union swap_header.info: bootbits[1024], version u32, last_page u32.
	version, last := bo.Uint32(hdr[1024:]), bo.Uint32(hdr[1028:])
	if version != 1 {
		f.Close()
		return nil, &SwapFileError{File: name, Offset: 1024, Msg: fmt.Sprintf("swap header version %d, expected 1 (or the byte order is not the kernel's)", version)}
	}
	if st.Mode().IsRegular() && (int64(last)+1)*ps > st.Size() {
		f.Close()
		return nil, &SwapFileError{File: name, Offset: 1028, Msg: fmt.Sprintf("last_page %d is beyond the file's %d bytes (a truncated image)", last, st.Size())}
	}
	return &swapFile{name: name, f: f, pageSize: ps, lastPage: uint64(last)}, nil
}

// readSlot reads len(buf) bytes at byte off of slot N of the swap area.
func (s *swapFile) readSlot(buf []byte, slot uint64, off int64) error {
	if slot == 0 || slot > s.lastPage {
		return &SwapFileError{File: s.name, Offset: int64(slot) * s.pageSize, Msg: fmt.Sprintf("slot %d is not a page of this swap area (1..%d)", slot, s.lastPage)}
	}
	at := int64(slot)*s.pageSize + off
	n, err := s.f.ReadAt(buf, at)
	if n < len(buf) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return &SwapFileError{File: s.name, Offset: at, Msg: fmt.Sprintf("reading slot %d: %v", slot, err)}
	}
	return nil
}

// fromSwap serves a read of a swapped-out page from the swapfile when
// the descriptor has one and the entry is of swap area 0; else it returns
// the SwappedOutError.
func (kd *KVM) fromSwap(se *SwappedOutError, buf []byte, va uint64, pageSize uint64) (int, error) {
	if kd.swap == nil || !se.Decoded {
		return 0, se
	}
	if se.Type != 0 {
		return 0, fmt.Errorf("%w: only swap area 0 is read from swapfile %s", se, kd.swap.name)
	}
	off := va % pageSize
	n := min(uint64(len(buf)), pageSize-off)
	if err := kd.swap.readSlot(buf[:n], se.Offset, int64(off)); err != nil {
		return 0, err
	}
	return int(n), nil
}

// procSwaps lists the running kernel's swap areas (a variable for tests).
var procSwaps = "/proc/swaps"

// runningSwapArea returns the running kernel's swap area, for a live
// descriptor opened without a swapfile (Solaris: a NULL swapfile means the
// system's own swap device): the area /proc/swaps lists when it lists
// exactly one. With none or several (which of them is area 0 /proc/swaps
// does not say) it returns "".
func runningSwapArea() string {
	b, err := os.ReadFile(procSwaps)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Filename") {
		return ""
	}
	f := strings.Fields(lines[1])
	if len(f) == 0 {
		return ""
	}
	return unescapeProcPath(f[0])
}

// unescapeProcPath undoes the octal escapes (\040 for a space, \011,
// \012, \134) that /proc/swaps and /proc/mounts put in a path.
func unescapeProcPath(p string) string {
	var sb strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+4 <= len(p) {
			if v, err := strconv.ParseUint(p[i+1:i+4], 8, 8); err == nil {
				sb.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		sb.WriteByte(p[i])
	}
	return sb.String()
}

// SwapFile returns the swap area image the descriptor reads swapped-out
// user pages from: Options.SwapFile, or for live memory the running
// kernel's swap area when it is readable; "" when none.
func (kd *KVM) SwapFile() string {
	if kd.swap == nil {
		return ""
	}
	return kd.swap.name
}
