package runtime

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// The arm64 fixture (runtime/testdata/arm64-fixture.sh): Debian's cloud
// arm64 kernel under qemu-system-aarch64, dumped plain (ELF, physical) and
// kdump-compressed (zlib, flattened, 64 KiB blocks) while stopped, so both
// dumps hold the same memory.
const (
	fxArm64Vmlinux = "linux-arm64/vmlinux"
	fxArm64ELF     = "linux-arm64/dumps/elf.vmcore"
	fxArm64Kdump   = "linux-arm64/dumps/kdump-zlib.vmcore"
	fxArm64Truth   = "linux-arm64/dumps/truth"
)

// imageBytes reads a symbol's initialized bytes from the vmlinux with
// debug/elf (independent of the runtime).
func imageBytes(t *testing.T, vmlinux, sym string, n int) (uint64, []byte) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name != sym {
			continue
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && s.Value >= p.Vaddr && s.Value+uint64(n) <= p.Vaddr+p.Filesz {
				b := make([]byte, n)
				if _, err := p.ReadAt(b, int64(s.Value-p.Vaddr)); err != nil {
					t.Fatal(err)
				}
				return s.Value, b
			}
		}
	}
	t.Fatalf("no %s in %s", sym, vmlinux)
	return 0, nil
}

func TestArm64KernelDumps(t *testing.T) {
	vmlinux := testfix.Path(t, fxArm64Vmlinux)
	truth := testfix.Path(t, fxArm64Truth)
	release, _ := os.ReadFile(filepath.Join(truth, "uname.txt"))
	version, _ := os.ReadFile(filepath.Join(truth, "version.txt"))
	if len(release) == 0 || len(version) == 0 {
		t.Fatal("truth/uname.txt or version.txt empty")
	}
	bannerLink, image := imageBytes(t, vmlinux, "linux_banner", 32<<10)
	stextLink, _ := imageBytes(t, vmlinux, "_stext", 8)
	var mems [][]byte
	for _, core := range []string{fxArm64ELF, fxArm64Kdump} {
		kd, err := OpenOptions(vmlinux, testfix.Path(t, core), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer kd.Close()
		i := kd.Info()
		if i.Arch != "aarch64" || i.PtrSize != 8 || i.BigEndian || i.PageSize != 4096 || i.OSRelease != strings.TrimSpace(string(release)) {
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
		// The mem_section variable holds a linear-map pointer, which the
		// kernel also wrote into VMCOREINFO; reading through it exercises
		// the linear map.
		ms, _ := kd.LookupSymbol("mem_section")
		var p [8]byte
		if _, err := kd.Read2(ms, p[:]); err != nil {
			t.Fatal(err)
		}
		want, _ := kd.VMCoreInfo().Symbol("mem_section")
		ptr := uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 | uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
		if ptr != want {
			t.Errorf("%s: mem_section = %#x, VMCOREINFO says %#x", core, ptr, want)
		}
		lin := make([]byte, 8192)
		if _, err := kd.Read2(ptr, lin); err != nil {
			t.Errorf("%s: linear map at %#x: %v", core, ptr, err)
		}
		mems = append(mems, lin)
		// User addresses are not kernel addresses: a clear error.
		if _, err := kd.Read2(0x400000, p[:]); err == nil || !strings.Contains(err.Error(), "0x400000") {
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
