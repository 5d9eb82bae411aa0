package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// The arm64 fixture (runtime/testdata/kernel-fixture.sh arm64): Debian's
// 6.1 cloud arm64 kernel under qemu-system-aarch64 (TCG), whose kallsyms
// has text symbols only (no CONFIG_KALLSYMS_ALL): data symbols come from
// the vmlinux.
var arm64Dumps = []string{"elf.vmcore", "kdump-zlib.vmcore"}

// arm64Truth returns the truth directory, skipping when the fixture
// predates the marker processes.
func arm64Truth(t *testing.T) string {
	t.Helper()
	truth := testfix.Path(t, "linux-arm64/dumps/truth")
	if _, err := os.Stat(truth + "/markers.txt"); err != nil {
		t.Skipf("the arm64 fixture has no marker truth (rebuild it: bash runtime/testdata/kernel-fixture.sh arm64): %v", err)
	}
	return truth
}

// TestBTARM64AgainstGuestStack: for every marker process and thread of the
// arm64 guest, `kvmgen bt -nosched -p TID -kernel vmlinux -core D` prints
// exactly the frames of the guest's /proc/TID/stack (frame records from
// task->thread.cpu_context), offsets and sizes included; without
// -nosched the trace starts in __switch_to and holds the same frames in
// order, and it ends in user mode.
func TestBTARM64AgainstGuestStack(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	truth := arm64Truth(t)
	vmlinux := testfix.Path(t, "linux-arm64/vmlinux")
	// The marker tasks and their guest stacks, by TID.
	want := map[int32][]string{}
	var tids []string
	for _, pid := range markerPIDs(t, truth) {
		tasks, _ := os.ReadDir(truth + "/proc/" + strconv.Itoa(pid) + "/task")
		for _, task := range tasks {
			n, _ := strconv.Atoi(task.Name())
			want[int32(n)] = procStack(t, truth+"/proc/"+strconv.Itoa(pid)+"/task/"+task.Name()+"/stack")
			tids = append(tids, task.Name())
		}
	}
	if len(tids) < 6 {
		t.Fatalf("only %d marker tasks in the truth", len(tids))
	}
	for _, d := range arm64Dumps {
		core := testfix.Path(t, "linux-arm64/dumps/"+d)
		args := []string{"-kernel", vmlinux, "-core", core, "-p", strings.Join(tids, ",")}
		res := runBTJSON(t, append(args, "-nosched")...)
		full := runBTJSON(t, args...)
		if len(res) != len(tids) || len(full) != len(tids) {
			t.Fatalf("%s: %d and %d traces for %d tasks", d, len(res), len(full), len(tids))
		}
		for i, r := range res {
			w := want[r.PID]
			var got, fns []string
			for _, f := range r.Frames {
				got = append(got, f.Symbol)
			}
			if strings.Join(got, "\n") != strings.Join(w, "\n") || r.Stop != "" || r.End != "user mode" {
				t.Errorf("%s %s TID %d: kvmgen bt:\n\t%s\n(stopped %q, end %q) guest /proc stack:\n\t%s", d, r.Comm, r.PID,
					strings.Join(got, "\n\t"), r.Stop, r.End, strings.Join(w, "\n\t"))
			}
			for _, f := range full[i].Frames {
				fns = append(fns, f.Symbol)
			}
			if full[i].PID != r.PID || len(fns) == 0 || !strings.HasPrefix(fns[0], "__switch_to+") || !subsequence(w, fns) {
				t.Errorf("%s TID %d: the full trace %q does not start in __switch_to or lacks %q", d, r.PID, fns, w)
			}
		}
	}
}

func subsequence(sub, of []string) bool {
	i := 0
	for _, s := range of {
		if i < len(sub) && s == sub[i] {
			i++
		}
	}
	return i == len(sub)
}

// TestBTARM64CPU: bt -a unwinds the one CPU from its NT_PRSTATUS
// registers: the idle task, from cpu_do_idle down to the boot CPU's
// final frame record.
func TestBTARM64CPU(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	arm64Truth(t)
	vmlinux := testfix.Path(t, "linux-arm64/vmlinux")
	for _, d := range arm64Dumps {
		core := testfix.Path(t, "linux-arm64/dumps/"+d)
		res := runBTJSON(t, "-kernel", vmlinux, "-core", core, "-a", "-regs")
		if len(res) != 1 {
			t.Fatalf("%s: bt -a: %d traces, want 1 CPU", d, len(res))
		}
		r := res[0]
		var fns []string
		for _, f := range r.Frames {
			fns = append(fns, f.Func)
		}
		s := " " + strings.Join(fns, " ") + " "
		if r.CPU != 0 || r.PID != 0 || r.Regs["pc"] == 0 || r.Stop != "" || r.End != "end of stack" ||
			!strings.Contains(s, " do_idle ") || !strings.HasSuffix(s, " start_kernel __primary_switched ") {
			t.Errorf("%s: bt -a: CPU %d PID %d pc %#x stopped %q end %q frames %s", d, r.CPU, r.PID, r.Regs["pc"], r.Stop, r.End, s)
		}
	}
}

// TestDmesgARM64AgainstGuest: `kvmgen dmesg` (VMCOREINFO only, no
// vmlinux) prints the arm64 guest's dmesg, plain and -r.
func TestDmesgARM64AgainstGuest(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	truth := arm64Truth(t)
	for _, d := range arm64Dumps {
		core := testfix.Path(t, "linux-arm64/dumps/"+d)
		for _, c := range []struct{ flag, file string }{{"", "dmesg.txt"}, {"-r", "dmesg-raw.txt"}} {
			args := []string{"dmesg", "-core", core}
			if c.flag != "" {
				args = append(args, c.flag)
			}
			out, err := runOut(t, args...)
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			want := truthLines(t, truth+"/"+c.file)
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(got) < len(want) || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
				t.Errorf("%v: %d lines, the guest's %s %d; first difference: %s", args, len(got), c.file, len(want), firstLineDiff(got, want))
			}
		}
	}
}

func firstLineDiff(got, want []string) string {
	for i := range want {
		if i >= len(got) {
			return "kvmgen ends before guest line " + strconv.Itoa(i) + " " + strconv.Quote(want[i])
		}
		if got[i] != want[i] {
			return "line " + strconv.Itoa(i) + ": kvmgen " + strconv.Quote(got[i]) + ", guest " + strconv.Quote(want[i])
		}
	}
	return "none"
}

// TestModARM64AgainstGuest: `kvmgen mod -proc` equals the arm64 guest's
// /proc/modules, with the data symbol "modules" from the vmlinux's symbol
// table or from System.map (types then from the dump's BTF); without
// either the error says why.
func TestModARM64AgainstGuest(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	truth := arm64Truth(t)
	want := truthLines(t, truth+"/modules")
	vmlinux := testfix.Path(t, "linux-arm64/vmlinux")
	for _, d := range arm64Dumps {
		core := testfix.Path(t, "linux-arm64/dumps/"+d)
		srcs := [][]string{{"-kernel", vmlinux}}
		if sm := testfix.Path(t, "linux-arm64") + "/System.map"; fileExists(sm) {
			srcs = append(srcs, []string{"-symbols", sm})
		}
		for _, src := range srcs {
			out, err := runOut(t, append([]string{"mod", "-proc", "-core", core}, src...)...)
			if err != nil {
				t.Fatalf("%s %v: %v", d, src, err)
			}
			if got := strings.TrimSuffix(out, "\n"); got != strings.Join(want, "\n") {
				t.Errorf("%s %v: kvmgen mod -proc:\n%s\nguest /proc/modules:\n%s", d, src, got, strings.Join(want, "\n"))
			}
		}
		_, err := runOut(t, "mod", "-proc", "-core", core)
		if err == nil || !strings.Contains(err.Error(), "CONFIG_KALLSYMS_ALL") {
			t.Errorf("%s: mod without a symbol table: %v", d, err)
		}
	}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
