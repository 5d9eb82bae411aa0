package main

import (
	"os"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// TestModProcAgainstGuest: `kvmgen mod -proc -core D` (no vmlinux: the
// dump's BTF) prints the guest's /proc/modules byte for byte.
func TestModProcAgainstGuest(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	want, err := os.ReadFile(testfix.Path(t, "linux-amd64/dumps/truth/modules"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"elf.vmcore", "kdump-zlib.vmcore"} {
		out, err := runOut(t, "mod", "-proc", "-core", testfix.Path(t, "linux-amd64/dumps/"+d))
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("%s: kvmgen mod -proc:\n%s\nguest's /proc/modules:\n%s", d, out, want)
		}
	}
	// With the vmlinux's DWARF for the layout.
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	out, err := runOut(t, "mod", "-proc", "-kernel", vml, "-core", testfix.Path(t, "linux-amd64/dumps/kdump-zlib.vmcore"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("with -kernel: kvmgen mod -proc:\n%s\nguest's /proc/modules:\n%s", out, want)
	}
}

// TestSymAgainstGuestKallsyms: `kvmgen sym` names and finds symbols at
// the guest's own /proc/kallsyms addresses, in the kernel and in modules.
func TestSymAgainstGuestKallsyms(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	core := testfix.Path(t, "linux-amd64/dumps/elf.vmcore")
	kall := testfix.KallsymsTruth(t, "linux-amd64/dumps")
	var args []string
	var want []string
	seen := map[string]int{}
	for _, s := range kall {
		seen[s.Name]++
	}
	for _, name := range []string{"__do_sys_pause", "sysrq_handle_crash", "virtblk_done", "fw_cfg_sysfs_probe", "vring_interrupt"} {
		for _, s := range kall {
			if s.Name == name && seen[name] == 1 {
				mod := ""
				if s.Module != "" {
					mod = " [" + s.Module + "]"
				}
				args = append(args, name, "0x"+strings.TrimLeft(strings.ToLower(hex64(s.Addr+4)), "0"))
				want = append(want, hex16(s.Addr)+" "+name+mod, hex16(s.Addr+4)+" "+name+"+0x4/")
			}
		}
	}
	if len(args) != 10 {
		t.Fatalf("guest kallsyms lacks some of the symbols: %v", args)
	}
	out, err := runOut(t, append([]string{"sym", "-core", core}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("output %q", out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want prefix %q", i, lines[i], w)
		}
	}
}

func hex64(a uint64) string {
	const d = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = d[a&15]
		a >>= 4
	}
	return string(b)
}

func hex16(a uint64) string { return "0x" + hex64(a) }
