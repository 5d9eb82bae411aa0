package kvm

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// The arm64 and i386 fixtures (runtime/testdata/kernel-fixture.sh):
// Debian's arm64 cloud and i386 686-pae kernels under QEMU, each dumped
// plain (ELF, physical) and kdump-compressed (zlib, flattened; arm64 in
// 64 KiB blocks, i386 with QEMU's 64-bit header) while stopped, so both
// dumps hold the same memory.
type crossKernel struct {
	dir, arch string
	ptrSize   int
	// ptrVar is a variable holding a pointer into the linear map;
	// inVMCoreInfo says VMCOREINFO's SYMBOL(ptrVar) is that pointer.
	ptrVar       string
	inVMCoreInfo bool
}

var crossKernels = []crossKernel{
	{"linux-arm64", "aarch64", 8, "mem_section", true},
	{"linux-i386", "i386", 4, "mem_map", false},
}

func TestCrossKernelDumps(t *testing.T) {
	for _, ck := range crossKernels {
		t.Run(ck.arch, func(t *testing.T) { checkCrossKernel(t, ck) })
	}
}

func checkCrossKernel(t *testing.T, ck crossKernel) {
	vmlinux := testfix.Path(t, ck.dir+"/vmlinux")
	truth := testfix.Path(t, ck.dir+"/dumps/truth")
	release, _ := os.ReadFile(filepath.Join(truth, "uname.txt"))
	version, _ := os.ReadFile(filepath.Join(truth, "version.txt"))
	if len(bytes.TrimSpace(release)) == 0 || len(version) == 0 {
		t.Fatal("truth/uname.txt or version.txt empty")
	}
	bannerLink, image := testfix.ELFSymbolBytes(t, vmlinux, "linux_banner", 32<<10)
	stextLink, _ := testfix.ELFSymbolBytes(t, vmlinux, "_stext", 8)
	var mems [][]byte
	for _, core := range []string{ck.dir + "/dumps/elf.vmcore", ck.dir + "/dumps/kdump-zlib.vmcore"} {
		kd, err := OpenOptions(vmlinux, testfix.Path(t, core), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer kd.Close()
		i := kd.Info()
		if i.Arch != ck.arch || i.PtrSize != ck.ptrSize || i.BigEndian || i.PageSize != 4096 || i.OSRelease != strings.TrimSpace(string(release)) {
			t.Errorf("%s: Info() = %+v", core, i)
		}
		// The displacement: the kernel's own SYMBOL(_stext) minus the
		// image's.
		stext, ok := kd.VMCoreInfo().Symbol("_stext")
		if !ok || kd.Kerndisp() != stext-stextLink {
			t.Errorf("%s: Kerndisp() = %#x, VMCOREINFO _stext - vmlinux _stext = %#x", core, kd.Kerndisp(), stext-stextLink)
		}
		addr, err := kd.LookupSymbol("linux_banner")
		if err != nil || addr != bannerLink+kd.Kerndisp() {
			t.Fatalf("%s: linux_banner at %#x, %v", core, addr, err)
		}
		// linux_banner is what the guest's /proc/version printed.
		b := make([]byte, len(version)+1)
		if _, err := kd.Read2(addr, b); err != nil || string(b) != string(bytes.TrimRight(version, "\n"))+"\n\x00" {
			t.Errorf("%s: linux_banner = %q, %v; the guest's /proc/version: %q", core, b, err, version)
		}
		// 32 KiB of .rodata from linux_banner on: the image's bytes
		// (through the kernel mapping, across pages).
		got := make([]byte, len(image))
		if _, err := kd.Read2(addr, got); err != nil {
			t.Fatalf("%s: %v", core, err)
		}
		if d := diffCount(got, image); d != 0 {
			t.Errorf("%s: %d of %d .rodata bytes differ from the vmlinux", core, d, len(image))
		}
		// A pointer variable leads into the linear map; on arm64 the
		// kernel also wrote the pointer into VMCOREINFO.
		pv, _ := kd.LookupSymbol(ck.ptrVar)
		p := make([]byte, ck.ptrSize)
		if _, err := kd.Read2(pv, p); err != nil {
			t.Fatal(err)
		}
		var ptr uint64
		for i := len(p) - 1; i >= 0; i-- {
			ptr = ptr<<8 | uint64(p[i])
		}
		if want, _ := kd.VMCoreInfo().Symbol(ck.ptrVar); ck.inVMCoreInfo && ptr != want {
			t.Errorf("%s: %s = %#x, VMCOREINFO says %#x", core, ck.ptrVar, ptr, want)
		}
		lin := make([]byte, 8192)
		if _, err := kd.Read2(ptr, lin); err != nil {
			t.Errorf("%s: linear map at %#x: %v", core, ptr, err)
		}
		mems = append(mems, lin)
		// A user address is not mapped in the kernel's tables: an error
		// naming it.
		if _, err := kd.Read2(0x400000, p); err == nil || !strings.Contains(err.Error(), "0x400000") {
			t.Errorf("%s: user address: %v", core, err)
		}
	}
	// Both dumps were taken of the same stopped guest.
	if len(mems) == 2 && !bytes.Equal(mems[0], mems[1]) {
		t.Errorf("linear-map bytes differ between the ELF and kdump dumps (%d bytes)", diffCount(mems[0], mems[1]))
	}
}

// TestArm64Walker checks 3- and 4-level tables built by hand: pages, 2 MiB
// and 1 GiB blocks, invalid and reserved descriptors.
func TestArm64Walker(t *testing.T) {
	for _, vaBits := range []uint{39, 48} {
		m := fakePhys{}
		const root = 0x1000
		m.set(root, 0)
		next := uint64(0x100000)
		w := &arm64Walker{phys: m, root: root, vaBits: vaBits, cache: newTLB(), bo: binary.LittleEndian}
		levels := w.levels()
		// tableFor returns the table at level stop for va, creating tables.
		tableFor := func(va uint64, stop int) uint64 {
			table := uint64(root)
			for l := levels; l > stop; l-- {
				ea := table + idx(va, l)*8
				var b [8]byte
				m.ReadPhys(b[:], ea)
				e := binary.LittleEndian.Uint64(b[:])
				if e&1 == 0 {
					next += 0x1000
					m.set(next, 0)
					e = next | 3
					m.set(ea, e)
				}
				table = e & arm64OAMask
			}
			return table
		}
		top := ^uint64(0) << vaBits
		va4k := top | 0x12345000
		va2m := top | 0x40200000
		va1g := top | 0x80000000
		m.set(tableFor(va4k, 1)+idx(va4k, 1)*8, 0x7654000|3)       // page
		m.set(tableFor(va2m, 2)+idx(va2m, 2)*8, 0x3400000|1)       // 2 MiB block
		m.set(tableFor(va1g, 3)+idx(va1g, 3)*8, 0xc0000000|1)      // 1 GiB block
		m.set(tableFor(va4k+0x1000, 1)+idx(va4k+0x1000, 1)*8, 0x1) // reserved at L3
		for _, tc := range []struct{ va, pa uint64 }{
			{va4k + 8, 0x7654008},
			{va2m + 0x1234, 0x3401234},
			{va1g + 0x123456, 0xc0123456},
		} {
			for pass := 0; pass < 2; pass++ {
				if pa, _, err := w.translate(tc.va); err != nil || pa != tc.pa {
					t.Errorf("VA_BITS %d pass %d: translate(%#x) = %#x, %v; want %#x", vaBits, pass, tc.va, pa, err, tc.pa)
				}
			}
		}
		var te *TranslationError
		if _, _, err := w.translate(va4k + 0x1000); !errorsAs(err, &te) || te.Level != 1 {
			t.Errorf("reserved page descriptor: %v", err)
		}
		if _, _, err := w.translate(top | 0x7000000000&(1<<vaBits-1)); !errorsAs(err, &te) {
			t.Errorf("invalid descriptor: %v", err)
		}
		if _, _, err := w.translate(0x1000); !errorsAs(err, &te) {
			t.Errorf("user address: %v", err)
		}
	}
}

// TestI386Walker checks PAE and classic tables built by hand.
func TestI386Walker(t *testing.T) {
	// PAE: PDPT at 0x1000, PD at 0x2000, PT at 0x3000.
	m := fakePhys{}
	va := uint64(0xc1234567)
	m.set(0x1000+(va>>30)*8, 0x2000|1)
	m.set(0x2000+(va>>21&0x1ff)*8, 0x3000|0x63)
	m.set(0x3000+(va>>12&0x1ff)*8, 0x1_2345_6000|0x63) // above 4 GiB: PAE
	big := uint64(0xc0600000)
	m.set(0x2000+(big>>21&0x1ff)*8, 0x800000|0xe3) // 2 MiB page
	w := &i386Walker{phys: m, root: 0x1000, pae: true, cache: newTLB()}
	for _, tc := range []struct{ va, pa uint64 }{{va, 0x1_2345_6567}, {big + 0x1234, 0x801234}} {
		for pass := 0; pass < 2; pass++ {
			if pa, _, err := w.translate(tc.va); err != nil || pa != tc.pa {
				t.Errorf("PAE translate(%#x) = %#x, %v; want %#x", tc.va, pa, err, tc.pa)
			}
		}
	}
	var te *TranslationError
	if _, _, err := w.translate(0x40000000); !errorsAs(err, &te) || te.Level != 3 {
		t.Errorf("PAE not-present PDPT entry: %v", err)
	}
	if _, _, err := w.translate(1 << 32); !errorsAs(err, &te) {
		t.Errorf("64-bit address: %v", err)
	}
	// Classic: PD at 0x5000, PT at 0x6000, a 4 MiB page.
	m2 := fakePhys{}
	binary.LittleEndian.PutUint32(getPage(m2, 0x5000)[(va>>22)*4:], 0x6000|0x63)
	binary.LittleEndian.PutUint32(getPage(m2, 0x6000)[(va>>12&0x3ff)*4:], 0x789000|0x63)
	binary.LittleEndian.PutUint32(getPage(m2, 0x5000)[(big>>22)*4:], 0x1000000|0xe3)
	w2 := &i386Walker{phys: m2, root: 0x5000}
	for _, tc := range []struct{ va, pa uint64 }{{va, 0x789567}, {big + 0x1234, 0x1000000 + (big & (1<<22 - 1)) + 0x1234}} {
		if pa, _, err := w2.translate(tc.va); err != nil || pa != tc.pa {
			t.Errorf("classic translate(%#x) = %#x, %v; want %#x", tc.va, pa, err, tc.pa)
		}
	}
}

func getPage(m fakePhys, pa uint64) []byte {
	if _, ok := m[pa]; !ok {
		m[pa] = make([]byte, 4096)
	}
	return m[pa]
}
