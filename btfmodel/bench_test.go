package btfmodel_test

import (
	"testing"

	"github.com/kvmgen/kvmgen/btfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
)

// BenchmarkFromDump: the kernel's types from the BTF in a dump (read 4 MB
// through the dump's page tables, decode the header and string table, and
// the first lookup), with its peers: the same BTF from the vmlinux's .BTF
// section, and the DWARF index (dwarfmodel) in BenchmarkOpenKernel of
// package dwarfmodel. make bench runs it; docs/BENCHMARKS.md keeps the
// figures.
func BenchmarkFromDump(b *testing.B) {
	core := testfix.Path(b, "linux-amd64/dumps/paging.vmcore")
	kd, _ := openDump(b, core)
	i := kd.Info()
	for b.Loop() {
		f, err := btfmodel.FromMemory(kd, kd.LookupSymbol, btfmodel.Options{Arch: i.Arch, PtrSize: i.PtrSize})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Type("struct task_struct"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromImage(b *testing.B) {
	vml := testfix.Path(b, "linux-amd64/vmlinux")
	for b.Loop() {
		f, err := btfmodel.Open(vml)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Type("struct task_struct"); err != nil {
			b.Fatal(err)
		}
	}
}
