package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// markerPIDs reads truth/markers.txt: name -> PID.
func markerPIDs(t *testing.T, truth string) map[string]int { return testfix.Markers(t, truth) }

// procStack reads a truth /proc/PID/stack as "function+0xoff/0xsize" lines.
func procStack(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		_, f, ok := strings.Cut(l, "] ")
		if !ok {
			t.Fatalf("%s: line %q", name, l)
		}
		out = append(out, f)
	}
	return out
}

type btJSON struct {
	PID    int32             `json:"pid"`
	Comm   string            `json:"comm"`
	CPU    int               `json:"cpu"`
	Panic  string            `json:"panic"`
	Stop   string            `json:"stopped"`
	End    string            `json:"end"`
	Regs   map[string]uint64 `json:"registers"`
	Frames []struct {
		Symbol string `json:"symbol"`
		Func   string `json:"function"`
		PC     uint64 `json:"pc"`
	} `json:"frames"`
}

func runBTJSON(t *testing.T, args ...string) []btJSON {
	t.Helper()
	out, err := runOut(t, append([]string{"bt", "-json"}, args...)...)
	if err != nil {
		t.Fatalf("bt %v: %v", args, err)
	}
	var res []btJSON
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var b btJSON
		if err := json.Unmarshal([]byte(l), &b); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		res = append(res, b)
	}
	return res
}

// TestBTAgainstGuestStack: for every sleeping marker process and thread,
// `kvmgen bt -nosched -p PID` (no vmlinux: kallsyms, BTF and ORC from the
// dump) prints exactly the frames of the guest's /proc/PID/stack, offsets
// and sizes included.
func TestBTAgainstGuestStack(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	for _, c := range []struct{ dir, dump string }{
		{"linux-amd64/dumps", "elf.vmcore"},
		{"linux-amd64/dumps", "kdump-zlib.vmcore"},
		{"linux-amd64/dumps/panic", "kdump-zlib.vmcore"},
	} {
		truth := testfix.Path(t, c.dir+"/truth")
		core := testfix.Path(t, c.dir+"/"+c.dump)
		n := 0
		for name, pid := range markerPIDs(t, truth) {
			if name == "kvmgen-crasher" {
				continue // it ran on, into the crash
			}
			tasks, _ := os.ReadDir(truth + "/proc/" + strconv.Itoa(pid) + "/task")
			for _, task := range tasks {
				want := procStack(t, truth+"/proc/"+strconv.Itoa(pid)+"/task/"+task.Name()+"/stack")
				res := runBTJSON(t, "-core", core, "-nosched", "-p", task.Name())
				if len(res) != 1 {
					t.Fatalf("%d traces for -p %s", len(res), task.Name())
				}
				var got []string
				for _, f := range res[0].Frames {
					got = append(got, f.Symbol)
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") || res[0].Stop != "" {
					t.Errorf("%s %s TID %s: kvmgen bt:\n\t%s\n(stopped: %q) guest /proc stack:\n\t%s", c.dump, name, task.Name(),
						strings.Join(got, "\n\t"), res[0].Stop, strings.Join(want, "\n\t"))
				}
				n++
			}
		}
		if n < 6 {
			t.Errorf("%s: only %d marker tasks compared", c.dir, n)
		}
	}
}

// TestBTPanic: in the panic dump, bt shows the panic message, the
// crashing CPU's registers and a trace through sysrq_handle_crash and
// panic in the crasher's task; bt -a unwinds the other CPU too.
func TestBTPanic(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	truth := testfix.Path(t, "linux-amd64/dumps/panic/truth")
	crasher := markerPIDs(t, truth)["kvmgen-crasher"]
	for _, d := range []string{"elf.vmcore", "kdump-zlib.vmcore"} {
		core := testfix.Path(t, "linux-amd64/dumps/panic/"+d)
		res := runBTJSON(t, "-core", core)
		if len(res) != 1 {
			t.Fatalf("%s: %d traces", d, len(res))
		}
		r := res[0]
		if r.Panic != "Kernel panic - not syncing: sysrq triggered crash" {
			t.Errorf("%s: panic message %q", d, r.Panic)
		}
		if int(r.PID) != crasher || r.CPU < 0 || r.Regs["rip"] == 0 || r.Regs["rsp"] == 0 {
			t.Errorf("%s: PID %d CPU %d regs %v; the crasher is %d", d, r.PID, r.CPU, r.Regs, crasher)
		}
		var fns []string
		for _, f := range r.Frames {
			fns = append(fns, f.Func)
		}
		s := " " + strings.Join(fns, " ") + " "
		for _, w := range []string{" panic ", " sysrq_handle_crash ", " write_sysrq_trigger ", " do_syscall_64 ", " entry_SYSCALL_64_after_hwframe "} {
			if !strings.Contains(s, w) {
				t.Errorf("%s: the crashing trace lacks%s: %s", d, w, s)
			}
		}
		if r.End != "user mode" || r.Stop != "" {
			t.Errorf("%s: end %q, stopped %q", d, r.End, r.Stop)
		}
		all := runBTJSON(t, "-core", core, "-a")
		if len(all) != 2 {
			t.Fatalf("%s: bt -a: %d traces, want 2 CPUs", d, len(all))
		}
		for _, a := range all {
			if a.Stop != "" || len(a.Frames) < 3 {
				t.Errorf("%s: bt -a CPU %d (%s): %d frames, stopped %q", d, a.CPU, a.Comm, len(a.Frames), a.Stop)
			}
		}
		out, err := runOut(t, "bt", "-core", core)
		if err != nil || !strings.HasPrefix(out, `PANIC: "Kernel panic - not syncing: sysrq triggered crash"`) || !strings.Contains(out, "RIP: ") {
			t.Errorf("%s: bt text output:\n%s (%v)", d, out, err)
		}
	}
}

// TestBTDrgn: drgn's stack_trace (DWARF CFI) of each marker on
// paging.vmcore has the same frames, by program counter, as kvmgen bt's
// ORC unwind (all frames, the scheduler's included).
func TestBTDrgn(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	core := testfix.Path(t, "linux-amd64/dumps/paging.vmcore")
	truth := testfix.Path(t, "linux-amd64/dumps/truth")
	if testing.Short() {
		t.Skip("drgn loads the 590 MB vmlinux")
	}
	m := markerPIDs(t, truth)
	pids := testfix.PIDArgs(m)
	out := testfix.Drgn(t, "stacks", vmlinux, core, pids...)
	want := map[int32]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pid, fns, _ := strings.Cut(l, " ")
		n, _ := strconv.Atoi(pid)
		want[int32(n)] = fns
	}
	res := runBTJSON(t, "-core", core, "-p", strings.Join(pids, ","))
	if len(res) != len(m) {
		t.Fatalf("%d traces for %d markers", len(res), len(m))
	}
	for _, r := range res {
		var pcs []string
		for _, f := range r.Frames {
			pcs = append(pcs, strconv.FormatUint(f.PC, 16))
		}
		if got := strings.Join(pcs, ","); got != want[r.PID] {
			t.Errorf("PID %d: kvmgen %s, drgn %s", r.PID, got, want[r.PID])
		}
	}
}
