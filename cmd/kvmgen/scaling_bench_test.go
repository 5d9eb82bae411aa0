package main

import (
	"io"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/procs"
)

// The task walk's scaling (issue #9): `kvmgen ps -T` in process on the
// normal 6.1 ELF dump (55 tasks) and on the 10,000-task one
// (dumps/many/elf.vmcore: 100 processes of 100 threads, `bash
// scripts/fixtures.sh many`), reported per task ("ns/task") so that the
// two sizes compare directly:
//
//   - TaskWalk: the walk alone, on an opened target: GetProcs with threads
//     (every task_struct read: pid, tgid, parent, state, comm, creds, mm
//     counters), no output;
//   - PSOpen: the fixed cost, opening the target and binding procs to it;
//   - PSThreads: the whole command, `ps -T` (with each thread's argv).
//
// Each runs with no vmlinux ("btf": the dump's kallsyms, the layout
// resolved from its BTF) and with the DWARF vmlinux ("vmlinux": its
// .symtab and DWARF), the layout cached (as `kvmgen ps` runs by default).
// The peer, drgn's for_each_task, and the same commands as processes run in
// scripts/scaling-bench.sh; figures in docs/BENCHMARKS.md.

var scalingDumps = []struct{ name, path string }{
	{"elf", "linux-amd64/dumps/elf.vmcore"},
	{"many", "linux-amd64/dumps/many/elf.vmcore"},
}

// scalingArgs are the target flags of a benchmark: the dump, -kernel
// vmlinux for "vmlinux", and a layout cache of its own (the user's may be
// rewritten by other builds of kvmgen), filled before the benchmark's loop.
func scalingArgs(b *testing.B, dump, types string) []string {
	b.Helper()
	b.Setenv("KVMGEN_KERNEL", "")
	args := []string{"-core", testfix.Path(b, dump), "-layout-cache", b.TempDir()}
	if types == "vmlinux" {
		args = append(args, "-kernel", testfix.Path(b, "linux-amd64/vmlinux"))
	}
	_, done := openScaling(b, args)
	done()
	return args
}

// openScaling opens the target as `kvmgen ps ARGS` does.
func openScaling(b *testing.B, args []string) (*procs.System, func()) {
	b.Helper()
	fs := newFlagSet("bench", "")
	pf := addProcsFlags(fs)
	if err := fs.Parse(args); err != nil {
		b.Fatal(err)
	}
	s, kd, err := pf.open()
	if err != nil {
		b.Fatal(err)
	}
	return s, func() { kd.Close() }
}

// countTasks is the number of tasks `ps -T` lists on the target.
func countTasks(b *testing.B, args []string) int {
	b.Helper()
	s, done := openScaling(b, args)
	defer done()
	ps, err := s.GetProcs(procs.Filter{Threads: true})
	if err != nil {
		b.Fatal(err)
	}
	return len(ps)
}

func perTask(b *testing.B, tasks int) {
	b.ReportMetric(float64(tasks), "tasks")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tasks), "ns/task")
}

func BenchmarkTaskWalk(b *testing.B) {
	for _, d := range scalingDumps {
		for _, types := range []string{"btf", "vmlinux"} {
			b.Run(d.name+"/"+types, func(b *testing.B) {
				s, done := openScaling(b, scalingArgs(b, d.path, types))
				defer done()
				n := 0
				b.ReportAllocs()
				for b.Loop() {
					ps, err := s.GetProcs(procs.Filter{Threads: true})
					if err != nil {
						b.Fatal(err)
					}
					n = len(ps)
				}
				perTask(b, n)
			})
		}
	}
}

func BenchmarkPSOpen(b *testing.B) {
	for _, d := range scalingDumps {
		for _, types := range []string{"btf", "vmlinux"} {
			b.Run(d.name+"/"+types, func(b *testing.B) {
				args := scalingArgs(b, d.path, types)
				b.ReportAllocs()
				for b.Loop() {
					_, done := openScaling(b, args)
					done()
				}
			})
		}
	}
}

func BenchmarkPSThreads(b *testing.B) {
	for _, d := range scalingDumps {
		for _, types := range []string{"btf", "vmlinux"} {
			b.Run(d.name+"/"+types, func(b *testing.B) {
				args := scalingArgs(b, d.path, types)
				n := countTasks(b, args)
				args = append([]string{"ps", "-T"}, args...)
				b.ReportAllocs()
				for b.Loop() {
					if err := run(io.Discard, args); err != nil {
						b.Fatal(err)
					}
				}
				perTask(b, n)
			})
		}
	}
}
