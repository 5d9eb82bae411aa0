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
// byte for byte for every user process that has maps truth (the arm64
// fixture captures it; the amd64 ones do not: there the executable's
// mappings are checked).
func TestMapsCommand(t *testing.T) {
	for _, c := range []struct{ kernel, core string }{
		{"linux-arm64", "elf.vmcore"}, {"linux-amd64", "kdump-zlib.vmcore"}, {"linux-amd64-prev", "elf.vmcore"},
	} {
		t.Run(c.kernel, func(t *testing.T) {
			vml := testfix.Path(t, c.kernel+"/vmlinux")
			core := testfix.Path(t, c.kernel+"/dumps/"+c.core)
			dir := testfix.Path(t, c.kernel+"/dumps/truth") + "/proc"
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			compared, checked := 0, 0
			for _, e := range ents {
				pid := e.Name()
				want, errMaps := os.ReadFile(filepath.Join(dir, pid, "maps"))
				exe, errExe := os.ReadFile(filepath.Join(dir, pid, "exe"))
				if errMaps != nil && errExe != nil {
					continue
				}
				var out bytes.Buffer
				if err := run(&out, []string{"maps", "-kernel", vml, "-core", core, "-layout-cache", cache, "-p", pid}); err != nil {
					t.Errorf("maps -p %s: %v", pid, err)
					continue
				}
				if errMaps == nil {
					if out.String() != string(want) {
						t.Errorf("maps -p %s:\n%s\nguest:\n%s", pid, out.String(), want)
					}
					compared++
					continue
				}
				if x := strings.TrimSpace(string(exe)); x != "" && !strings.Contains(out.String(), " "+x+"\n") {
					t.Errorf("maps -p %s does not map %s:\n%s", pid, x, out.String())
				}
				checked++
			}
			if compared+checked == 0 {
				t.Error("nothing compared")
			}
			t.Logf("%d maps equal the guest's, %d checked against /proc/PID/exe only", compared, checked)
		})
	}
	var out bytes.Buffer
	if err := run(&out, []string{"maps", "-kernel", "x"}); err == nil || !strings.Contains(err.Error(), "-p") {
		t.Errorf("maps without -p: %v", err)
	}
}
