package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/gen"
	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/internal/testfix/gentest"
)

// TestBindingsUpToDate checks that the committed bindings are what
// generating them again from the Debian kernel gives.
func TestBindingsUpToDate(t *testing.T) {
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	f, err := dwarfmodel.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := gen.Generate(f, gentest.GenerateLine(t, "main.go", "main"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("zkvmgen_x86_64_kernel.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, committed) {
		t.Errorf("zkvmgen_x86_64_kernel.go is stale: run KVMGEN_KERNEL=%s go generate ./examples/uts", vmlinux)
	}
	if BuildID != f.BuildID() {
		t.Errorf("BuildID %s, the kernel's %s", BuildID, f.BuildID())
	}
}

// TestDumps reads uname's fields from each QEMU dump of the Debian kernel
// and compares them with what `uname -a` printed inside the guest before
// the dump was taken.
func TestDumps(t *testing.T) {
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	truth, err := os.ReadFile(testfix.Path(t, "linux-amd64/dumps/truth/uname-a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// uname -a ends with the operating system, which user space adds.
	want := strings.TrimSuffix(strings.TrimSpace(string(truth)), " GNU/Linux")
	for _, dump := range []string{"elf.vmcore", "paging.vmcore", "kdump-zlib.vmcore"} {
		t.Run(dump, func(t *testing.T) {
			core := testfix.Path(t, filepath.Join("linux-amd64/dumps", dump))
			var out bytes.Buffer
			if err := run(&out, []string{"-kernel", vmlinux, "-core", core}); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(out.String()); got != want {
				t.Errorf("got  %q\nwant %q (the guest's uname -a)", got, want)
			}
		})
	}
}
