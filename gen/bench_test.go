package gen_test

import (
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/gen"
	"github.com/kvmgen/kvmgen/internal/testfix"
)

// kernelTypes is the type set for `kvmgen gen` on a kernel.
var kernelTypes = []string{"task_struct", "mm_struct", "vm_area_struct", "cred", "files_struct", "pid", "signal_struct", "uts_namespace", "list_head"}

func kernelConfig() gen.Config {
	return gen.Config{Package: "kernel", Types: kernelTypes, Vars: []string{"init_task", "init_uts_ns"}, Command: "kvmgen gen (benchmark)"}
}

// BenchmarkGenKernel is what `kvmgen gen` does for the kernel type set:
// open and index the vmlinux, decode the types and all they embed, and
// write the bindings.
func BenchmarkGenKernel(b *testing.B) {
	vmlinux := testfix.Path(b, "linux-amd64/vmlinux")
	b.ReportAllocs()
	var n int
	for b.Loop() {
		f, err := dwarfmodel.Open(vmlinux)
		if err != nil {
			b.Fatal(err)
		}
		src, err := gen.Generate(f, kernelConfig())
		if err != nil {
			b.Fatal(err)
		}
		n = len(src)
		f.Close()
	}
	b.ReportMetric(float64(n), "bytes-out")
}

// BenchmarkGenKernelModel measures gen alone: the types are decoded once,
// before the timer; each iteration plans, names and writes the bindings.
func BenchmarkGenKernelModel(b *testing.B) {
	vmlinux := testfix.Path(b, "linux-amd64/vmlinux")
	f, err := dwarfmodel.Open(vmlinux)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := gen.Generate(f, kernelConfig()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		src, err := gen.Generate(f, kernelConfig())
		if err != nil {
			b.Fatal(err)
		}
		n = len(src)
	}
	b.ReportMetric(float64(n), "bytes-out")
}
