package main

import (
	"os"
	"slices"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/unwind"
)

// TestORCFromVmlinux: the kernel's ORC table read from the vmlinux file
// (.orc_unwind_ip, .orc_unwind, displaced by KASLR) is the one in the
// dump's memory, entry for entry, and `kvmgen bt -T` (every task, the
// running CPUs' too) prints the same frames with -orc file as with -orc
// memory.
func TestORCFromVmlinux(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	for _, d := range []string{"linux-amd64/dumps/kdump-zlib.vmcore", "linux-amd64/dumps/panic/elf.vmcore"} {
		core := testfix.Path(t, d)
		kd, err := kvm.OpenOptions(vmlinux, core, kvm.Options{Flags: os.O_RDONLY})
		if err != nil {
			t.Fatal(err)
		}
		f := unwind.FormatForRelease(kd.Info().OSRelease)
		mem, err := unwind.KernelORC(kd, kd.LookupSymbol, f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := unwind.VmlinuxORCFile(vmlinux, uint64(kd.Kerndisp()), kd.LookupSymbol, f)
		defer kd.Close() // the lazy table reads it
		if err != nil {
			t.Fatal(err)
		}
		mt, err1 := mem.Kernel.Decoded()
		ft, err2 := file.Kernel.Decoded()
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !slices.Equal(mt.IPs, ft.IPs) || !slices.Equal(mt.Entries, ft.Entries) ||
			mem.KStart != file.KStart || mem.KEnd != file.KEnd || len(mt.IPs) < 100000 {
			t.Errorf("%s: the vmlinux's ORC table (%d entries) differs from the dump's (%d)", d, len(ft.IPs), len(mt.IPs))
		}
		// The lazy lookups (in memory, in the file's bytes) agree with a
		// search of the decoded table, at and around sampled entries.
		for i := 0; i < len(mt.IPs); i += 97 {
			for _, ip := range []uint64{mt.IPs[i] - 1, mt.IPs[i], mt.IPs[i] + 1} {
				e0, ok0 := mt.Find(ip)
				e1, ok1 := mem.Kernel.Find(ip)
				e2, ok2 := file.Kernel.Find(ip)
				if e0 != e1 || e0 != e2 || ok0 != ok1 || ok0 != ok2 {
					t.Fatalf("%s: Find(%#x): decoded %+v %v, lazy in memory %+v %v, lazy in the file %+v %v", d, ip, e0, ok0, e1, ok1, e2, ok2)
				}
			}
		}
		byMem, err1 := runOut(t, "bt", "-json", "-T", "-orc", "memory", "-kernel", vmlinux, "-core", core)
		byFile, err2 := runOut(t, "bt", "-json", "-T", "-orc", "file", "-kernel", vmlinux, "-core", core)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if byMem != byFile || len(byMem) < 1000 {
			t.Errorf("%s: bt -T differs between -orc memory and -orc file:\n%s", d, firstDiff(byMem, byFile))
		}
	}
	if _, err := runOut(t, "bt", "-orc", "file", "-core", testfix.Path(t, "linux-amd64/dumps/elf.vmcore")); err == nil {
		t.Error("-orc file without -kernel: no error")
	}
}
