package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// TestMapsCommand: `kvmgen maps -p PID` prints the guest's /proc/PID/maps
// byte for byte, for every user process of the guest (each fixture guest
// copies /proc/PID/maps into its truth just before the dump): 6.1 (two
// builds), 6.12 (trixie), arm64; with the vmlinux's DWARF, and for 6.12
// also with no vmlinux (the dump's BTF and kallsyms).
func TestMapsCommand(t *testing.T) {
	for _, c := range []struct {
		kernel, core string
		noVmlinux    bool
	}{
		{"linux-arm64", "elf.vmcore", false},
		{"linux-amd64", "kdump-zlib.vmcore", false},
		{"linux-amd64-prev", "elf.vmcore", false},
		{"linux-amd64-6.12", "elf.vmcore", false},
		{"linux-amd64-6.12", "kdump-zlib.vmcore", true},
	} {
		name := c.kernel + "/" + c.core
		if c.noVmlinux {
			name += "/no-vmlinux"
		}
		t.Run(name, func(t *testing.T) {
			core := testfix.Path(t, c.kernel+"/dumps/"+c.core)
			args := []string{"maps", "-core", core, "-layout-cache", t.TempDir()}
			if !c.noVmlinux {
				args = append(args, "-kernel", testfix.Path(t, c.kernel+"/vmlinux"))
			}
			dir := testfix.Path(t, c.kernel+"/dumps/truth") + "/proc"
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			compared := 0
			for _, e := range ents {
				pid := e.Name()
				exe, _ := os.ReadFile(filepath.Join(dir, pid, "exe"))
				want, errMaps := os.ReadFile(filepath.Join(dir, pid, "maps"))
				if len(bytes.TrimSpace(exe)) == 0 && len(want) == 0 {
					continue // a kernel thread or a zombie: no memory map
				}
				if errMaps != nil || len(want) == 0 {
					t.Errorf("pid %s (%s): the truth has no maps", pid, bytes.TrimSpace(exe))
					continue
				}
				var out bytes.Buffer
				if err := run(&out, append(args, "-p", pid)); err != nil {
					t.Errorf("maps -p %s: %v", pid, err)
					continue
				}
				if out.String() != string(want) {
					t.Errorf("maps -p %s:\n%s\nguest:\n%s", pid, out.String(), want)
				}
				compared++
			}
			if compared < 4 {
				t.Errorf("only %d processes compared", compared)
			}
			t.Logf("%d processes' maps equal the guest's", compared)
		})
	}
	var out bytes.Buffer
	if err := run(&out, []string{"maps", "-kernel", "x"}); err == nil || !strings.Contains(err.Error(), "-p") {
		t.Errorf("maps without -p: %v", err)
	}
}
