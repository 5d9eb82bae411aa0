package kvm_test

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// The LLVM project's FreeBSD dumps through the libkvm interface: Open2 with
// the kernel's own symbol table as resolver, Nlist2, Read2, Info, Native,
// Kerndisp and the page walker. hz is 100 on amd64 and i386 and 1000 on
// arm64 (lldb's TestFreeBSDKernelVMCore.py checks the same values).
func TestFreeBSDDumpsOpen2(t *testing.T) {
	cases := []struct {
		dump, arch, format, goArch string
		version, ptrSize           int
		hz                         uint32
	}{
		{"vmcore-amd64-minidump", "amd64", "FreeBSD amd64 minidump", "x86_64", 3, 8, 100},
		{"vmcore-amd64-full", "amd64", "FreeBSD amd64 full dump (ELF)", "x86_64", 0, 8, 100},
		{"vmcore-i386-minidump", "i386", "FreeBSD i386 minidump (PAE)", "i386", 2, 4, 100},
		{"vmcore-arm64-minidump", "arm64", "FreeBSD arm64 minidump", "aarch64", 2, 8, 1000},
	}
	for _, c := range cases {
		t.Run(c.dump, func(t *testing.T) {
			kernel := fbsdtest.Kernel(t, c.arch)
			core := fbsdtest.Dump(t, c.dump)
			kd, err := kvm.Open2(kernel, core, os.O_RDONLY, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer kd.Close()
			in := kd.Info()
			if in.Format != c.format || in.Version != c.version || in.Arch != c.goArch || in.PtrSize != c.ptrSize || in.PageSize != 4096 || in.BigEndian {
				t.Errorf("Info = %+v", in)
			}
			if kd.Native() {
				t.Errorf("Native() = true for a FreeBSD kernel read on %s", "linux")
			}
			if kd.Kerndisp() != 0 || !in.KernDispKnown {
				t.Errorf("Kerndisp = %#x (known %v), want 0", kd.Kerndisp(), in.KernDispKnown)
			}
			// The oracle for hz's address is the kernel's ELF symbol table.
			ef, err := elf.Open(kernel)
			if err != nil {
				t.Fatal(err)
			}
			syms, _ := ef.Symbols()
			ef.Close()
			var want uint64
			for _, s := range syms {
				if s.Name == "hz" {
					want = s.Value
				}
			}
			nl := []kvm.Nlist{{Name: "hz"}, {Name: "no_such_symbol"}}
			if missing, err := kd.Nlist2(nl); missing != 1 || err != nil && missing == 0 {
				t.Errorf("Nlist2 missing = %d, %v", missing, err)
			}
			if nl[0].Value != want || nl[0].Type == kvm.NTypeUndef || nl[1].Type != kvm.NTypeUndef {
				t.Errorf("Nlist2 = %+v, hz want %#x", nl, want)
			}
			var b [4]byte
			if n, err := kd.Read2(nl[0].Value, b[:]); n != 4 || err != nil {
				t.Fatalf("Read2 hz: %d, %v", n, err)
			}
			if hz := binary.LittleEndian.Uint32(b[:]); hz != c.hz {
				t.Errorf("hz = %d, want %d", hz, c.hz)
			}
			hzBytes := b
			// Unmapped memory is an error, not zeros.
			if _, err := kd.Read2(0x1000, b[:]); err == nil {
				t.Errorf("Read2 of an unmapped address succeeded")
			}
			found := false
			var hzPage kvm.Page
			if err := kd.WalkPages(func(p kvm.Page) error {
				if p.VirtKnown && p.Virt <= want && want < p.Virt+p.Size {
					found, hzPage = true, p
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !found {
				t.Errorf("no walked page maps hz")
			}
			// The dump holds physical memory: hz reads the same at its
			// physical address.
			var pb [4]byte
			if _, err := kd.ReadPhys(pb[:], hzPage.Phys+(want-hzPage.Virt)); err != nil || pb != hzBytes {
				t.Errorf("ReadPhys of hz's page: %x, %v; want %x", pb, err, hzBytes)
			}
		})
	}
}

// TestFreeBSDWrongKernel gives the i386 dump the amd64 kernel: a clear
// error, not garbage.
func TestFreeBSDWrongKernel(t *testing.T) {
	kernel := fbsdtest.Kernel(t, "amd64")
	core := fbsdtest.Dump(t, "vmcore-i386-minidump")
	_, err := kvm.Open2(kernel, core, os.O_RDONLY, nil)
	var fe *kvm.FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "i386") || fe.File != core {
		t.Fatalf("err = %v, want a FormatError naming the mismatch", err)
	}
}

// TestFreeBSDFullDumpNeedsKernel: without the kernel's symbols a full dump
// cannot be translated, and the error says so.
func TestFreeBSDFullDumpNeedsKernel(t *testing.T) {
	core := fbsdtest.Dump(t, "vmcore-amd64-full")
	_, err := kvm.Open2("", core, os.O_RDONLY, func(string) (kvm.KVAddr, error) { return 0, errors.New("none") })
	if err == nil || !strings.Contains(err.Error(), "KPML4phys") {
		t.Fatalf("err = %v, want one naming KPML4phys", err)
	}
}

func TestFreeBSDFormatListed(t *testing.T) {
	if f := kvm.Formats(); len(f) == 0 || f[0] != "FreeBSD crash dump" {
		t.Errorf("Formats() = %v, want FreeBSD first", f)
	}
}

// TestFreeBSDNoCache reads through the dumps with the translation cache off
// (Options.NoCache) and on: the same bytes.
func TestFreeBSDNoCache(t *testing.T) {
	for _, c := range [][2]string{{"amd64", "vmcore-amd64-full"}, {"amd64", "vmcore-amd64-minidump"}} {
		kernel, core := fbsdtest.Kernel(t, c[0]), fbsdtest.Dump(t, c[1])
		var got [2][]byte
		for i, nc := range []bool{false, true} {
			kd, err := kvm.OpenOptions(kernel, core, kvm.Options{NoCache: nc})
			if err != nil {
				t.Fatal(err)
			}
			a, err := kd.LookupSymbol("allproc")
			if err != nil {
				t.Fatal(err)
			}
			got[i] = make([]byte, 64)
			for j := 0; j < 2; j++ { // twice: the second read may come from the cache
				if err := kvm.ReadFull(kd, got[i], a); err != nil {
					t.Fatal(err)
				}
			}
			kd.Close()
		}
		if string(got[0]) != string(got[1]) {
			t.Errorf("%s: cached and uncached reads differ", c[1])
		}
	}
}
