// Package truthcheck holds the tests of the fixture guest (scripts/fixtures.sh,
// scripts/guest/init): that the truth it wrote has the shapes the other
// tests rely on, and that the dumps taken after it agree with it when read
// by an independent tool (drgn).
package truthcheck

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

func markers(t *testing.T, dir string) map[string]int { return testfix.Markers(t, dir) }

func procFile(t *testing.T, dir string, pid int, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "proc", strconv.Itoa(pid), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// statState is the state field of a /proc/PID/stat line.
func statState(stat []byte) string {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+3 > len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// TestTruthShapes checks what the guest's /init promised: the markers'
// names, states, thread counts, argv and environment (one argument longer
// than a page), and swap in use.
func TestTruthShapes(t *testing.T) {
	forEachKernel(t, testTruthShapes)
}

// forEachKernel runs f for the fixture kernel and for the older one
// (unless the archive no longer has it).
func forEachKernel(t *testing.T, f func(t *testing.T, kdir string)) {
	for _, kdir := range []string{"linux-amd64", "linux-amd64-prev"} {
		t.Run(kdir, func(t *testing.T) {
			if b, err := os.ReadFile(filepath.Join(testfix.Dir(), kdir, "UNAVAILABLE")); err == nil {
				t.Skipf("%s: %s", kdir, b)
			}
			f(t, kdir)
		})
	}
}

func testTruthShapes(t *testing.T, kdir string) {
	dir := testfix.Path(t, kdir+"/dumps/truth")
	m := markers(t, dir)
	for _, name := range []string{"kvmgen-marker-1", "kvmgen-marker-2", "kvmgen-marker-3", "kvmgen-hog"} {
		pid, ok := m[name]
		if !ok {
			t.Fatalf("markers.txt has no %s", name)
		}
		status := string(procFile(t, dir, pid, "status"))
		if !strings.Contains(status, "Name:\t"+name+"\n") {
			t.Errorf("%s (PID %d): status does not name it:\n%s", name, pid, status)
		}
	}
	states := map[string]string{"kvmgen-marker-1": "S", "kvmgen-marker-2": "S", "kvmgen-marker-3": "T"}
	for name, want := range states {
		if got := statState(procFile(t, dir, m[name], "stat")); got != want {
			t.Errorf("%s: state %q, want %q", name, got, want)
		}
	}
	tasks, err := filepath.Glob(filepath.Join(dir, "proc", strconv.Itoa(m["kvmgen-marker-1"]), "task", "*"))
	if err != nil || len(tasks) != 3 {
		t.Errorf("kvmgen-marker-1 has %d threads, want 3", len(tasks))
	}
	argv := bytes.Split(bytes.TrimSuffix(procFile(t, dir, m["kvmgen-marker-1"], "cmdline"), []byte{0}), []byte{0})
	if len(argv) != 6 || string(argv[2]) != "two words" || len(argv[3]) != 0 || len(argv[4]) != 5007 ||
		!bytes.HasPrefix(argv[4], []byte("--long=A00000.A00007.")) || string(argv[5]) != "last-arg" {
		t.Errorf("kvmgen-marker-1 argv: %d arguments %q...", len(argv), argv[:min(len(argv), 4)])
	}
	env := string(procFile(t, dir, m["kvmgen-marker-1"], "environ"))
	if !strings.Contains(env, "\x00KVMGEN_SPACES=a b  c\x00") || !strings.Contains(env, "KVMGEN_LONGENV=E00000.") {
		t.Errorf("kvmgen-marker-1 environ: %q", env[:min(len(env), 120)])
	}
	if n := bytes.Count(procFile(t, dir, m["kvmgen-marker-2"], "cmdline"), []byte{0}); n != 42 {
		t.Errorf("kvmgen-marker-2 has %d arguments, want 42", n)
	}
	swaps, err := os.ReadFile(filepath.Join(dir, "swaps"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(swaps)), "\n")
	if len(lines) != 2 {
		t.Fatalf("swaps: %q", swaps)
	}
	f := strings.Fields(lines[1])
	if used, err := strconv.Atoi(f[3]); err != nil || f[0] != "/dev/vda" || used <= 0 {
		t.Errorf("swaps: %q, want /dev/vda with some use", lines[1])
	}
}

// TestDumpAgreesWithTruth reads the markers' argv and environment from
// paging.vmcore with drgn (the one dump drgn reads) and compares them with
// the guest's /proc/PID/cmdline and environ: the dump was taken from the
// state the truth describes, and those pages are in it.
func TestDumpAgreesWithTruth(t *testing.T) {
	forEachKernel(t, testDumpAgreesWithTruth)
}

func testDumpAgreesWithTruth(t *testing.T, kdir string) {
	dir := testfix.Path(t, kdir+"/dumps/truth")
	vmlinux := testfix.Path(t, kdir+"/vmlinux")
	core := testfix.Path(t, kdir+"/dumps/paging.vmcore")
	if testing.Short() {
		t.Skip("drgn loads the 590 MB vmlinux")
	}
	m := markers(t, dir)
	// "PID HEX(cmdline) HEX(environ)" for each, read through the
	// process's own page tables.
	out := testfix.Drgn(t, "proc_args", vmlinux, core, testfix.PIDArgs(m)...)
	seen := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("drgn output %q", l)
		}
		pid, _ := strconv.Atoi(f[0])
		for i, name := range []string{"cmdline", "environ"} {
			got, err := hex.DecodeString(f[i+1])
			if err != nil {
				t.Fatal(err)
			}
			if want := procFile(t, dir, pid, name); !bytes.Equal(got, want) {
				t.Errorf("PID %d %s: drgn reads %d bytes from the dump, the guest's /proc had %d", pid, name, len(got), len(want))
			}
		}
		seen++
	}
	if seen != len(m) {
		t.Errorf("drgn printed %d processes, want %d", seen, len(m))
	}
}
