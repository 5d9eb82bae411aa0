package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// TestOneBinaryManyKernels is issue #9's "one binary, many kernels": one
// lsproc executable, built once from the committed (relocatable) bindings,
// lists the tasks of every amd64 kernel build the fixtures hold: the
// generation kernel (6.1.0-56), an older build (6.1.0-50), bookworm's
// current build and trixie's 6.12. Each run takes its types from the dump's
// BTF (no vmlinux) and, separately, from that kernel's vmlinux; each table
// equals that guest's /proc.
func TestOneBinaryManyKernels(t *testing.T) {
	// The go command that runs the tests (not an outside tool).
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "lsproc")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	releases := map[string]string{} // build ID -> release
	for _, dir := range []string{"linux-amd64", "linux-amd64-prev", "linux-amd64-current", "linux-amd64-6.12"} {
		t.Run(dir, func(t *testing.T) {
			if b, err := os.ReadFile(filepath.Join(testfix.Dir(), dir, "UNAVAILABLE")); err == nil {
				t.Skipf("%s is no longer in the archive: %s", dir, b)
			}
			vmlinux := testfix.Path(t, dir+"/vmlinux")
			truth := testfix.Path(t, dir+"/dumps/truth")
			tasks, err := os.ReadFile(filepath.Join(truth, "tasks.txt"))
			if err != nil {
				t.Fatal(err)
			}
			rel, err := os.ReadFile(filepath.Join(truth, "uname.txt"))
			if err != nil {
				t.Fatal(err)
			}
			releases[buildIDOf(t, vmlinux)] = strings.TrimSpace(string(rel))
			want := parseTable(t, dir+" truth/tasks.txt", tasks)
			markers := testfix.Markers(t, truth)
			for _, c := range []struct {
				name, core string
				args       []string
			}{
				{"btf", "kdump-zlib.vmcore", nil},
				{"dwarf", "elf.vmcore", []string{"-kernel", vmlinux}},
			} {
				t.Run(c.name, func(t *testing.T) {
					core := testfix.Path(t, dir+"/dumps/"+c.core)
					cmd := exec.Command(bin, append(c.args, "-core", core)...)
					cmd.Env = append(os.Environ(), "KVMGEN_KERNEL=")
					var stderr bytes.Buffer
					cmd.Stderr = &stderr
					out, err := cmd.Output()
					if err != nil {
						t.Fatalf("lsproc %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, stderr.Bytes())
					}
					got := parseTable(t, "lsproc", out)
					compareWithTruth(t, got, want)
					checkMarkers(t, got, markers)
				})
			}
		})
	}
	six12 := false
	for _, r := range releases {
		six12 = six12 || strings.HasPrefix(r, "6.12.")
	}
	if len(releases) < 3 || !six12 {
		t.Errorf("kernel builds read: %v; want at least three, one of them a 6.12", releases)
	}
	t.Logf("one binary read %d kernel builds: %v", len(releases), releases)
}
