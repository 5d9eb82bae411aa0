package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/procs"
)

// TestMapsAll: `kvmgen maps -a` prints, for every process with a memory
// map, a "PID: <pid> COMMAND: <comm>" line and then exactly what
// `kvmgen maps -p PID` prints; the processes are those whose
// /proc/PID/maps the guest saw non-empty just before the dump (truth/proc).
func TestMapsAll(t *testing.T) {
	const k = "linux-amd64"
	core := testfix.Path(t, k+"/dumps/elf.vmcore")
	args := []string{"maps", "-core", core, "-layout-cache", t.TempDir(), "-kernel", testfix.Path(t, k+"/vmlinux")}
	var all bytes.Buffer
	if err := run(&all, append(args, "-a")); err != nil {
		t.Fatalf("maps -a: %v", err)
	}
	sections := map[int]string{}
	var order []int
	cur := -1
	for _, line := range strings.SplitAfter(all.String(), "\n") {
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "PID: "); ok {
			f := strings.Fields(rest)
			if len(f) < 3 || f[1] != "COMMAND:" {
				t.Fatalf("maps -a: bad header %q", line)
			}
			pid, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("maps -a: bad header %q", line)
			}
			if _, dup := sections[pid]; dup {
				t.Errorf("maps -a: pid %d twice", pid)
			}
			cur = pid
			sections[pid] = ""
			order = append(order, pid)
			continue
		}
		if cur < 0 {
			t.Fatalf("maps -a: a line before the first header: %q", line)
		}
		sections[cur] += line
	}
	for _, pid := range order {
		var one bytes.Buffer
		if err := run(&one, append(args, "-p", strconv.Itoa(pid))); err != nil {
			t.Errorf("maps -p %d: %v", pid, err)
			continue
		}
		if one.String() != sections[pid] {
			t.Errorf("pid %d: maps -a prints\n%s\nmaps -p prints\n%s", pid, sections[pid], one.String())
		}
		if sections[pid] == "" {
			t.Errorf("pid %d: listed with an empty map", pid)
		}
	}
	// The processes listed are those the guest saw with a map.
	dir := testfix.Path(t, k+"/dumps/truth") + "/proc"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "maps"))
		if err != nil || len(b) == 0 {
			continue
		}
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		want = append(want, pid)
	}
	got := append([]int(nil), order...)
	slices.Sort(got)
	slices.Sort(want)
	if len(want) < 4 || !slices.Equal(got, want) {
		t.Errorf("maps -a lists pids %v; the guest's non-empty maps are %v", got, want)
	}
	t.Logf("maps -a: %d processes, each equal to maps -p", len(order))

	var out bytes.Buffer
	if err := run(&out, append(args, "-a", "-p", "1")); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("maps -a -p 1: %v", err)
	}
}

// BenchmarkMapsAll is the VMA walk of `kvmgen maps -a`, in process, on an
// opened target: every process's maple tree and VMAs (with their files'
// paths, devices and inodes), on the normal ELF dump and on the
// 10,000-task one (about 100 processes, 20,000 VMAs), reported per VMA. The peer,
// scripts/drgn-maple.py, and the whole command run in scripts/maps-bench.sh.
func BenchmarkMapsAll(b *testing.B) {
	for _, d := range scalingDumps {
		b.Run(d.name, func(b *testing.B) {
			s, done := openScaling(b, scalingArgs(b, d.path, "btf"))
			defer done()
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				ps, err := s.GetProcs(procs.Filter{Op: procs.All})
				if err != nil {
					b.Fatal(err)
				}
				n = 0
				for i := range ps {
					if ps[i].Mm == 0 {
						continue
					}
					vmas, err := s.Maps(&ps[i])
					if err != nil {
						b.Fatal(err)
					}
					n += len(vmas)
				}
			}
			b.ReportMetric(float64(n), "VMAs")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/VMA")
		})
	}
}
