package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// physPages is physical memory built by hand, 4 KiB page by page.
type physPages struct {
	pages map[uint64][]byte
	xlat  translator
}

func (m *physPages) ReadPhys(buf []byte, pa uint64) (int, error) {
	n := 0
	for n < len(buf) {
		a := pa + uint64(n)
		p, ok := m.pages[a&^0xfff]
		if !ok {
			return n, &ReadError{Addr: a, Len: len(buf) - n, Err: fmt.Errorf("physical page %#x not in the fake dump", a&^0xfff)}
		}
		n += copy(buf[n:], p[a&0xfff:])
	}
	return n, nil
}

func (m *physPages) put(pa uint64, b []byte) {
	for i, c := range b {
		a := pa + uint64(i)
		p, ok := m.pages[a&^0xfff]
		if !ok {
			p = make([]byte, 4096)
			m.pages[a&^0xfff] = p
		}
		p[a&0xfff] = c
	}
}

func (m *physPages) put64(pa, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	m.put(pa, b[:])
}

// fakePhysDump is a dump of physical memory with a kernel translator.
type fakePhysDump struct {
	*physPages
}

func (d fakePhysDump) ReadMemory(buf []byte, addr uint64) (int, error) {
	return (&kernelMem{phys: d.physPages, xlat: d.xlat}).ReadMemory(buf, addr)
}
func (d fakePhysDump) Info() DumpInfo { return DumpInfo{Format: "fake", Arch: "x86_64"} }
func (d fakePhysDump) Close() error   { return nil }
func (d fakePhysDump) kernelMem() (*kernelMem, error) {
	return &kernelMem{phys: d.physPages, xlat: d.xlat}, nil
}

// x86SwapPTE encodes a swap entry as x86-64 Linux stores it in a PTE
// (arch/x86/include/asm/pgtable_64.h, with the L1TF inversion).
func x86SwapPTE(typ, off uint64) uint64 {
	return (^off << 14 >> 5) | typ<<59
}

// TestReadUserX86 builds a kernel and a process address space by hand: the
// process's top table is reached through the kernel's direct map, and its
// pages through the same walker.
func TestReadUserX86(t *testing.T) {
	m := &physPages{pages: map[uint64][]byte{}}
	const pob = 0xffff888000000000
	// Kernel tables: 1 GiB pages mapping the direct map at pob.
	const kpgd, kpud = 0x100000, 0x101000
	m.put64(kpgd+((pob>>39)&0x1ff)*8, kpud|0x63)
	m.put64(kpud+0, 0|0x80|0x63)
	m.xlat = &x86Walker{phys: m, root: kpgd, levels: 4}
	// Process tables.
	const pgd, pud, pmd, pt = 0x1000, 0x2000, 0x3000, 0x4000
	m.put64(pgd, pud|0x67)
	m.put64(pud, pmd|0x67)
	m.put64(pmd+2*8, pt|0x67)                                             // 0x400000
	m.put64(pmd+3*8, 0x200000|0x80|0x67)                                  // 0x600000: a 2 MiB page at phys 2 MiB
	m.put64(pt+0*8, 0x5000|0x67)                                          // 0x400000 -> 0x5000
	m.put64(pt+1*8, x86SwapPTE(2, 0x1234))                                // 0x401000: swapped out
	m.put64(pt+2*8, 0x9000|0x67)                                          // 0x402000 -> 0x9000, not in the dump
	m.put64(pt+3*8, (^uint64(0x7000))&x86PTEAddrMask|x86PTEProtNone|0x60) // PROT_NONE, frame inverted
	m.put(0x5000+0xff0, []byte("hello\x00world\x00"))
	m.put(0x200000+0x1ffff0, []byte("big\x00page\x00"))
	m.put(0x7000, []byte("protnone"))
	kd := &KVM{dump: fakePhysDump{m}, coreName: "fake"}
	upgd := uint64(pob + pgd)

	buf := make([]byte, 12)
	if n, err := kd.ReadUser(upgd, 0x400ff0, buf); n != 12 || err != nil || string(buf) != "hello\x00world\x00" {
		t.Errorf("ReadUser = %d %q, %v", n, buf, err)
	}
	buf = make([]byte, 9)
	if n, err := kd.ReadUser(upgd, 0x7ffff0, buf); n != 9 || err != nil || string(buf) != "big\x00page\x00" {
		t.Errorf("2 MiB page: %d %q, %v", n, buf, err)
	}
	buf = make([]byte, 8)
	if n, err := kd.ReadUser(upgd, 0x403000, buf); n != 8 || err != nil || string(buf) != "protnone" {
		t.Errorf("PROT_NONE page: %d %q, %v", n, buf, err)
	}
	// Across into the swapped-out page.
	buf = make([]byte, 32)
	n, err := kd.ReadUser(upgd, 0x400ff0, buf)
	var se *SwappedOutError
	if n != 16 || !errors.As(err, &se) {
		t.Fatalf("into swap: %d, %v; want 16 and a *SwappedOutError", n, err)
	}
	if se.Addr != 0x401000 || !se.Decoded || se.Type != 2 || se.Offset != 0x1234 || se.PGD != upgd {
		t.Errorf("swap error %+v", se)
	}
	// Mapped, the page not in the dump.
	var re *ReadError
	if n, err := kd.ReadUser(upgd, 0x402000, buf); n != 0 || !errors.As(err, &re) || !strings.Contains(err.Error(), "not in the fake dump") {
		t.Errorf("absent page: %d, %v", n, err)
	}
	// Unmapped at the top level and at the page level.
	var ne *NotMappedError
	if _, err := kd.ReadUser(upgd, 0x7f0000000000, buf); !errors.As(err, &ne) || ne.Level != 4 || ne.Addr != 0x7f0000000000 {
		t.Errorf("unmapped: %v", err)
	}
	if _, err := kd.ReadUser(upgd, 0x404000, buf); !errors.As(err, &ne) || ne.Level != 1 || ne.Entry != 0 {
		t.Errorf("unmapped page: %v", err)
	}
	// Not opened for writing.
	var ro *ReadOnlyError
	if _, err := kd.WriteUser(upgd, 0x400000, []byte("x")); !errors.As(err, &ro) || !errors.Is(err, ErrReadOnly) {
		t.Errorf("WriteUser on a read-only descriptor: %v", err)
	}
	if _, err := kd.ReadUser(0, 0x400000, buf); err == nil {
		t.Error("NULL pgd accepted")
	}
}

func TestArm64UserHalf(t *testing.T) {
	m := &physPages{pages: map[uint64][]byte{}}
	w := &arm64Walker{phys: m, root: 0x10000, vaBits: 48, bo: binary.LittleEndian}
	u := w.rooted(0x1000).(*arm64Walker)
	// L0[0] -> L1 table 0x2000; L1[0] -> L2 0x3000; L2[2] -> L3 0x4000; L3[0] page 0x5000.
	m.put64(0x1000, 0x2000|3)
	m.put64(0x2000, 0x3000|3)
	m.put64(0x3000+2*8, 0x4000|3)
	m.put64(0x4000, 0x5000|0x703)
	m.put64(0x4008, 0x1234<<8|1<<2) // a swap entry
	if pa, _, err := u.translate(0x400010); err != nil || pa != 0x5010 {
		t.Errorf("user page: %#x, %v", pa, err)
	}
	if _, _, err := u.translate(0xffff000000400000); err == nil {
		t.Error("kernel address translated by a user walker")
	}
	err := userError(u, 0, func() error { _, _, err := u.translate(0x401000); return err }())
	var se *SwappedOutError
	if !errors.As(err, &se) || se.Entry != 0x1234<<8|1<<2 || se.Decoded {
		t.Errorf("swap: %v", err)
	}
}
