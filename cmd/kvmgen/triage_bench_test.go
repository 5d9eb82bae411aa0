package main

import (
	"io"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// The crash-triage commands in process on paging.vmcore, with the DWARF
// vmlinux (as their peers, drgn and crash, need it) and without it (the
// dump's VMCOREINFO, kallsyms and BTF). The peers run in
// scripts/triage-bench.sh; figures in docs/BENCHMARKS.md.

func benchRun(b *testing.B, args ...string) {
	b.Helper()
	b.Setenv("KVMGEN_KERNEL", "")
	for b.Loop() {
		if err := run(io.Discard, args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDmesg(b *testing.B) {
	k := testfix.Path(b, "linux-amd64")
	b.Run("vmlinux", func(b *testing.B) {
		benchRun(b, "dmesg", "-kernel", k+"/vmlinux", "-core", k+"/dumps/paging.vmcore")
	})
	b.Run("novmlinux", func(b *testing.B) {
		benchRun(b, "dmesg", "-core", k+"/dumps/paging.vmcore")
	})
}

func BenchmarkBTAll(b *testing.B) {
	k := testfix.Path(b, "linux-amd64")
	b.Run("vmlinux", func(b *testing.B) {
		benchRun(b, "bt", "-a", "-kernel", k+"/vmlinux", "-core", k+"/dumps/paging.vmcore")
	})
	b.Run("novmlinux", func(b *testing.B) {
		benchRun(b, "bt", "-a", "-core", k+"/dumps/paging.vmcore")
	})
}

// BenchmarkBTEveryTask is bt -T: every task, drgn's stack_trace over
// for_each_task.
func BenchmarkBTEveryTask(b *testing.B) {
	k := testfix.Path(b, "linux-amd64")
	benchRun(b, "bt", "-T", "-kernel", k+"/vmlinux", "-core", k+"/dumps/paging.vmcore")
}
