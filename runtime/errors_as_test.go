package kvm_test

import (
	"errors"
	"os"
	"testing"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// TestUnmappedErrorsAs: on every format, reading a kernel virtual address
// that the kernel does not map gives a *kvm.TranslationError naming the
// address (errors.As), whether the dump is Linux's (ELF, -p, kdump) or
// FreeBSD's (minidump, full dump).
func TestUnmappedErrorsAs(t *testing.T) {
	type target struct{ name, kernel, core string }
	var ts []target
	for _, d := range []string{"elf.vmcore", "paging.vmcore", "kdump-zlib.vmcore"} {
		ts = append(ts, target{"linux " + d, testfix.Path(t, "linux-amd64/vmlinux"), testfix.Path(t, "linux-amd64/dumps/"+d)})
	}
	for _, c := range []struct{ dump, arch string }{{"vmcore-amd64-minidump", "amd64"}, {"vmcore-amd64-full", "amd64"}, {"vmcore-arm64-minidump", "arm64"}} {
		ts = append(ts, target{"freebsd " + c.dump, fbsdtest.Kernel(t, c.arch), fbsdtest.Dump(t, c.dump)})
	}
	for _, tc := range ts {
		t.Run(tc.name, func(t *testing.T) {
			kd, err := kvm.OpenOptions(tc.kernel, tc.core, kvm.Options{Flags: os.O_RDONLY, IgnoreBuildID: true})
			if err != nil {
				t.Fatal(err)
			}
			defer kd.Close()
			// Below the kernel half (the guard hole under x86-64's direct
			// map, arm64's vmalloc range start): mapped by none of these
			// kernels.
			const addr = 0xffff_8000_0000_0000 - 0x1000_0000_0000 + 0x1234
			_, err = kd.Read2(addr, make([]byte, 8))
			var te *kvm.TranslationError
			if !errors.As(err, &te) {
				t.Fatalf("Read2(%#x): %v (%T), want a *kvm.TranslationError", uint64(addr), err, err)
			}
			if te.Addr&^0xfff != addr&^0xfff {
				t.Errorf("TranslationError.Addr %#x, want %#x", te.Addr, uint64(addr))
			}
		})
	}
}
