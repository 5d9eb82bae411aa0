package kvm

import (
	"errors"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
	"github.com/kvmgen/kvmgen/internal/testfix"
)

// A 32-bit kernel image paired with a 64-bit dump (which records no build
// ID to tell them apart) is refused at open, naming both architectures,
// instead of failing later on a missing symbol or misreading structures.
func TestArchMismatchRefused(t *testing.T) {
	core := testfix.Path(t, "linux-amd64/dumps/elf.vmcore")
	kernel := fbsdtest.Kernel(t, "i386") // an ELF32 i386 kernel image with symbols
	kd, err := Open2(kernel, core, 0, nil)
	if err == nil {
		kd.Close()
		t.Fatal("opened a 64-bit x86_64 dump with a 32-bit i386 kernel")
	}
	var am *ArchMismatchError
	if !errors.As(err, &am) {
		t.Fatalf("error %v (%T), want *ArchMismatchError", err, err)
	}
	if am.ExecArch != "i386" || am.CoreArch != "x86_64" || !strings.Contains(err.Error(), core) {
		t.Errorf("error %q: want i386 against x86_64, naming %s", err, core)
	}
}
