package main

import (
	"io"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// BenchmarkPSNoVmlinux is `kvmgen ps -core paging.vmcore` with no vmlinux,
// in process: open the dump, decode its kallsyms, read and decode its BTF,
// resolve the process layout, list every task with its arguments. Its
// peer, drgn's for_each_task, runs in scripts/selfdescribing-bench.sh.
func BenchmarkPSNoVmlinux(b *testing.B) {
	b.Setenv("KVMGEN_KERNEL", "")
	core := testfix.Path(b, "linux-amd64/dumps/paging.vmcore")
	for b.Loop() {
		if err := run(io.Discard, []string{"ps", "-no-layout-cache", "-core", core}); err != nil {
			b.Fatal(err)
		}
	}
}
