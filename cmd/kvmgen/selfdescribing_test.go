package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/btfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
)

// runOut runs a kvmgen command line and returns its standard output.
func runOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	old := stderr
	stderr = &errb
	defer func() { stderr = old }()
	err := run(&out, args)
	return out.String(), err
}

// The kernels of the self-describing tests: each has a DWARF vmlinux and
// three QEMU dumps with VMCOREINFO (and so kallsyms) and BTF in memory.
var selfKernels = []string{"linux-amd64", "linux-amd64-prev"}

var selfDumps = []string{"elf.vmcore", "paging.vmcore", "kdump-zlib.vmcore"}

// TestPSWithoutVmlinux: `kvmgen ps -core D` with no vmlinux anywhere
// (symbols from the dump's kallsyms, types from the dump's BTF) prints
// the same rows as with the vmlinux's DWARF, which TestPSAgainstGuest
// holds to the guest's own /proc. So do uptime and swapinfo.
func TestPSWithoutVmlinux(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	for _, k := range selfKernels {
		vml := testfix.Path(t, k+"/vmlinux")
		for _, d := range selfDumps {
			core := testfix.Path(t, k+"/dumps/"+d)
			t.Run(k+"/"+d, func(t *testing.T) {
				for _, cmd := range [][]string{{"ps", "-e"}, {"uptime"}, {"swapinfo"}} {
					self, err := runOut(t, append(cmd, "-no-layout-cache", "-core", core)...)
					if err != nil {
						t.Fatalf("%s without vmlinux: %v", cmd[0], err)
					}
					dwarf, err := runOut(t, append(cmd, "-no-layout-cache", "-kernel", vml, "-core", core)...)
					if err != nil {
						t.Fatalf("%s with vmlinux: %v", cmd[0], err)
					}
					if self != dwarf {
						t.Errorf("%s: without vmlinux\n%s\nwith vmlinux\n%s", cmd[0], self, dwarf)
					}
					if cmd[0] == "ps" && strings.Count(self, "\n") < 40 {
						t.Errorf("ps listed only %d lines", strings.Count(self, "\n"))
					}
				}
				info, err := runOut(t, "info", "-core", core)
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"symbols:            kallsyms in the dump at 0x", "types:              BTF in the target's memory at 0x"} {
					if !strings.Contains(info, want) {
						t.Errorf("info lacks %q:\n%s", want, info)
					}
				}
			})
		}
	}
}

// TestGenFromDump: bindings generated from a dump's own BTF are the
// bindings generated from the vmlinux's DWARF, but for the header's
// command line. The DWARF bindings are the ones the truth suites and
// examples/lsproc compile and read values with.
func TestGenFromDump(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	for _, k := range selfKernels {
		vml := testfix.Path(t, k+"/vmlinux")
		core := testfix.Path(t, k+"/dumps/paging.vmcore")
		args := []string{"-pkg", "k", "-type", "task_struct,mm_struct,vm_area_struct,cred,list_head,files_struct,signal_struct", "-var", "init_task,init_uts_ns,avenrun,jiffies_64"}
		fromDump, err := runOut(t, append([]string{"gen", "-core", core}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		fromBTF, err := runOut(t, append([]string{"gen", "-btf", vml}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		fromDWARF, err := runOut(t, append([]string{"gen", "-kernel", vml}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		// The code, without the header and comments: a comment spells a
		// trailing zero-length array "[0]" as DWARF does or "[]" as BTF
		// is read (docs/btf.md).
		body := func(s string) string {
			var keep []string
			for _, l := range strings.Split(s, "\n") {
				if !strings.HasPrefix(strings.TrimSpace(l), "//") {
					keep = append(keep, l)
				}
			}
			return strings.Join(keep, "\n")
		}
		if body(fromDump) != body(fromDWARF) {
			t.Errorf("%s: bindings from the dump's BTF differ from DWARF's:\n%s", k, firstDiff(body(fromDump), body(fromDWARF)))
		}
		if body(fromBTF) != body(fromDWARF) {
			t.Errorf("%s: bindings from the vmlinux's .BTF differ from DWARF's:\n%s", k, firstDiff(body(fromBTF), body(fromDWARF)))
		}
		if n := strings.Count(fromDump, "\n"); n < 5000 {
			t.Errorf("%s: only %d lines generated", k, n)
		}
		if !strings.Contains(fromDump, "-core "+core) {
			t.Errorf("%s: the header does not repeat the command: %s", k, strings.SplitN(fromDump, "\n", 2)[0])
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+2) + ":\n  " + al[i] + "\n  " + bl[i]
		}
	}
	return "lengths differ"
}

// TestSelfDescribingBadInput: what cannot describe itself says what is
// missing and what to pass instead.
func TestSelfDescribingBadInput(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	prev := testfix.Path(t, "linux-amd64-prev/vmlinux")
	core := testfix.Path(t, "linux-amd64/dumps/elf.vmcore")
	smap := testfix.Path(t, "linux-amd64/System.map")
	dir := t.TempDir()

	// BTF of another kernel than the dump's.
	_, err := runOut(t, "ps", "-no-layout-cache", "-btf", prev, "-core", core)
	if !errors.Is(err, btfmodel.ErrOtherKernel) {
		t.Errorf("-btf of 6.1.0-50 on a 6.1.0-56 dump: %v, want ErrOtherKernel", err)
	}
	// The dump's own kernel's BTF, given as a file, is accepted.
	if _, err := runOut(t, "ps", "-no-layout-cache", "-btf", vml, "-core", core); err != nil {
		t.Errorf("-btf of the dump's own kernel: %v", err)
	}
	// Corrupt BTF bytes: a clear error naming the file.
	bad := filepath.Join(dir, "bad.btf")
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil || len(raw) < 4096 {
		f, err := btfmodel.Open(vml)
		if err != nil {
			t.Fatal(err)
		}
		raw = f.Raw()
	}
	corrupt := append([]byte(nil), raw[:4096]...)
	for i := 24; i < len(corrupt); i += 7 {
		corrupt[i] ^= 0xa5
	}
	if err := os.WriteFile(bad, corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = runOut(t, "layout", "-btf", bad, "task_struct")
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt BTF: %v", err)
	}
	text := filepath.Join(dir, "text")
	os.WriteFile(text, []byte("type task_struct\n"), 0o644)
	_, err = runOut(t, "layout", "-btf", text, "task_struct")
	if err == nil || !strings.Contains(err.Error(), text) || !strings.Contains(err.Error(), "expected BTF") {
		t.Errorf("a text file as -btf: %v", err)
	}
	if _, err = runOut(t, "layout", "-btf", dir, "task_struct"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory as -btf: %v", err)
	}

	// A dump whose VMCOREINFO names no kallsyms tables (a kernel before
	// 6.0, or QEMU without -device vmcoreinfo): the dump with those lines
	// renamed.
	nokall := filepath.Join(dir, "nokallsyms.vmcore")
	b, err := os.ReadFile(core)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("SYMBOL(kallsyms_")); n < 4 {
		t.Fatalf("the dump names kallsyms %d times", n)
	}
	b = bytes.ReplaceAll(b, []byte("SYMBOL(kallsyms_"), []byte("SYMBOL(kallsymz_"))
	if err := os.WriteFile(nokall, b, 0o644); err != nil {
		t.Fatal(err)
	}
	b = nil
	_, err = runOut(t, "ps", "-no-layout-cache", "-core", nokall)
	if err == nil || !strings.Contains(err.Error(), "-kernel") || !strings.Contains(err.Error(), "-symbols") {
		t.Errorf("a dump without kallsyms: %v; want an error naming -kernel and -symbols", err)
	}
	// ... which a System.map, or the vmlinux, makes whole again.
	withMap, err := runOut(t, "ps", "-no-layout-cache", "-symbols", smap, "-core", nokall)
	if err != nil {
		t.Fatalf("-symbols System.map: %v", err)
	}
	want, err := runOut(t, "ps", "-no-layout-cache", "-kernel", vml, "-core", core)
	if err != nil {
		t.Fatal(err)
	}
	if withMap != want {
		t.Errorf("ps with System.map and the dump's BTF:\n%s\nwith vmlinux:\n%s", withMap, want)
	}
}

// TestNlistFromDump: nlist with no vmlinux prints the dump's kallsyms
// values, which are the System.map's (from the kernel build) plus the
// KASLR displacement of the dump.
func TestNlistFromDump(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	smap := testfix.Path(t, "linux-amd64/System.map")
	core := testfix.Path(t, "linux-amd64/dumps/kdump-zlib.vmcore")
	names := []string{"init_task", "jiffies_64", "linux_banner", "__start_BTF", "_stext", "schedule", "init_uts_ns"}
	link := map[string]uint64{}
	b, err := os.ReadFile(smap)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 {
			v, _ := strconv.ParseUint(f[0], 16, 64)
			if _, ok := link[f[2]]; !ok {
				link[f[2]] = v
			}
		}
	}
	info, err := runOut(t, "info", "-no-types", "-core", core)
	if err != nil {
		t.Fatal(err)
	}
	disp, err := strconv.ParseUint(strings.TrimPrefix(field(t, info, "KASLR displacement"), "0x"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runOut(t, append([]string{"nlist", "-core", core}, names...)...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(names) {
		t.Fatalf("nlist printed %d lines for %d names:\n%s", len(lines), len(names), out)
	}
	for i, line := range lines {
		f := strings.Fields(line)
		v, _ := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
		if f[0] != names[i] || v != link[names[i]]+disp {
			t.Errorf("%s: nlist %s, System.map %#x + %#x", names[i], line, link[names[i]], disp)
		}
	}
}

// TestLayoutModuleTypeFromDump: a loaded module's own type (qemu_fw_cfg's
// struct fw_cfg_sysfs_entry) is found in its split BTF in the dump, read
// only once the kernel's BTF lacks the name.
func TestLayoutModuleTypeFromDump(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	core := testfix.Path(t, "linux-amd64/dumps/paging.vmcore")
	out, err := runOut(t, "layout", "-core", core, "fw_cfg_sysfs_entry")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"struct fw_cfg_sysfs_entry {", "struct kobject kobj;", "struct list_head list;"} {
		if !strings.Contains(out, want) {
			t.Errorf("layout of a module type lacks %q:\n%s", want, out)
		}
	}
}
