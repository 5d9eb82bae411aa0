package procs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// The fixture pipeline (scripts/fixtures.sh) boots the Debian kernel under
// QEMU, captures the guest's own /proc (dumps/truth/) and then dumps the
// stopped guest in three formats. The guest's /proc is the oracle.
var dumpFormats = []string{"elf.vmcore", "paging.vmcore", "kdump-zlib.vmcore"}

func openSystem(t *testing.T, k fixtureKernel, dump string) (*System, *kvm.KVM) {
	t.Helper()
	di, vml := k.dwarf(t)
	core := k.path(t, "dumps/"+dump)
	l, err := ResolveLayout(di)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := kvm.Open2(vml, core, os.O_RDONLY, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kd.Close() })
	s, err := New(kd, l)
	if err != nil {
		t.Fatal(err)
	}
	return s, kd
}

func truthDir(t *testing.T, k fixtureKernel) string {
	return k.path(t, "dumps/truth")
}

// eachDump runs fn for every fixture kernel and dump format.
func eachDump(t *testing.T, fn func(t *testing.T, k fixtureKernel, dump string)) {
	for _, k := range fixtureKernels(t) {
		for _, d := range dumpFormats {
			t.Run(k.name+"/"+d, func(t *testing.T) { fn(t, k, d) })
		}
	}
}

// procStat is /proc/PID/stat split into fields; field n (1-based, as
// proc(5) numbers them) is f[n-1]. The comm (field 2) may hold spaces.
func readProcStat(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSpace(string(b))
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		t.Fatalf("%s: malformed stat %q", path, s)
	}
	f := []string{strings.TrimSpace(s[:i]), s[i+1 : j]}
	return append(f, strings.Fields(s[j+1:])...)
}

// readStatus parses /proc/PID/status into key -> fields.
func readStatus(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string][]string)
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[k] = strings.Fields(v)
		}
	}
	return m
}

// truthTasks returns stat file paths by TID: /proc/PID/task/TID/stat for
// every thread (the leader's own task directory included). The pipeline
// captured /proc/PID/ first and /proc/PID/task/TID/ after it, nearer the
// dump; where the two differ (a shell's RSS moved by a page) the later wins.
func truthTasks(t *testing.T, k fixtureKernel) map[int32]string {
	dir := truthDir(t, k)
	out := make(map[int32]string)
	pids, _ := filepath.Glob(filepath.Join(dir, "proc", "*"))
	for _, pd := range pids {
		out[atoi32(t, filepath.Base(pd))] = filepath.Join(pd, "stat")
		tids, _ := filepath.Glob(filepath.Join(pd, "task", "*", "stat"))
		for _, ts := range tids {
			out[atoi32(t, filepath.Base(filepath.Dir(ts)))] = ts
		}
	}
	if len(out) == 0 {
		t.Fatalf("no /proc truth under %s", dir)
	}
	return out
}

func atoi32(t *testing.T, s string) int32 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return int32(n)
}

// volatileTruth lists what legitimately changed between the guest's
// capture of its /proc and the dump: PID 1 is the shell that ran the
// capture (it forks a cat per file: its RSS moves by a few pages).
func volatileTruth(pid int32, field string) bool {
	return pid == 1 && (field == "rss" || field == "VmRSS")
}

// The guest is not quite still between its /proc capture and the monitor's
// stop: kswapd goes on swapping the hog out and kworkers pick up other work.
// For those values (RSS, swap in use, a kworker's work description) the
// oracle is drgn reading the same paging dump (all three dumps are of the
// stopped guest): a value may differ from the guest's capture only where
// drgn confirms it.
type drgnState struct {
	rss      map[int32]uint64 // get_mm_rss pages
	rssSum   map[int32]uint64 // with per-CPU deltas (percpu_counter_sum)
	name     map[int32]string // /proc name (kworker descriptions)
	swapUsed map[int]uint64   // inuse_pages by swap_info index
}

var (
	drgnMu    sync.Mutex
	drgnCache = map[string]*drgnState{}
)

// kworkerID matches the worker ID of a kworker's /proc name
// ("kworker/0:1H", "kworker/u4:2"), before its work description.
var kworkerID = regexp.MustCompile(`^kworker/u?[0-9]+:[0-9]+H?`)

func drgnDumpState(t *testing.T, k fixtureKernel) *drgnState {
	t.Helper()
	_, vml := k.dwarf(t)
	core := k.path(t, "dumps/paging.vmcore")
	drgnMu.Lock()
	defer drgnMu.Unlock()
	if st, ok := drgnCache[core]; ok {
		return st
	}
	out := testfix.Drgn(t, "procs_state", vml, core)
	st := &drgnState{rss: map[int32]uint64{}, rssSum: map[int32]uint64{}, name: map[int32]string{}, swapUsed: map[int]uint64{}}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, " ", 5)
		switch {
		case f[0] == "task" && len(f) == 5:
			pid := atoi32(t, f[1])
			st.rss[pid] = uint64(mustAtoi(t, f[2]))
			st.rssSum[pid] = uint64(mustAtoi(t, f[3]))
			st.name[pid] = f[4]
		case f[0] == "swap" && len(f) == 3:
			st.swapUsed[int(mustAtoi(t, f[1]))] = uint64(mustAtoi(t, f[2]))
		default:
			t.Fatalf("drgn output %q", line)
		}
	}
	drgnCache[core] = st
	return st
}

func TestProcsMatchGuestProc(t *testing.T) {
	eachDump(t, func(t *testing.T, k fixtureKernel, dump string) {
		truth := truthTasks(t, k)
		var moved []string
		{
			s, _ := openSystem(t, k, dump)
			ps, err := s.GetProcs(Filter{Op: All, Threads: true})
			if err != nil {
				t.Fatal(err)
			}
			byTID := make(map[int32]*Proc)
			for i := range ps {
				byTID[ps[i].PID] = &ps[i]
			}
			// The same set of tasks.
			var missing, extra []int32
			for tid := range truth {
				if byTID[tid] == nil {
					missing = append(missing, tid)
				}
			}
			for tid := range byTID {
				if truth[tid] == "" {
					extra = append(extra, tid)
				}
			}
			if len(missing)+len(extra) > 0 {
				t.Errorf("task sets differ: in the guest's /proc only %v, in the dump only %v", missing, extra)
			}
			checked := 0
			for tid, path := range truth {
				p := byTID[tid]
				if p == nil {
					continue
				}
				f := readProcStat(t, path)
				// confirmed: the value moved after the capture, and drgn reads
				// the dump as we do.
				confirmed := func(field, got string) bool {
					dg := drgnDumpState(t, k)
					var v string
					switch field {
					case "rss":
						v = strconv.FormatUint(dg.rss[tid], 10)
					case "VmRSS":
						v = strconv.FormatUint(dg.rssSum[tid]*s.pageSize/1024, 10)
					case "comm":
						// Only the description of a kworker's latest work may
						// have moved, after the same worker ID.
						id := kworkerID.FindString(got)
						if p.Flags&pfWQWorker == 0 || id == "" || id != kworkerID.FindString(f[1]) {
							return false
						}
						v = dg.name[tid]
					default:
						return false
					}
					if v == got {
						moved = append(moved, fmt.Sprintf("tid %d %s", tid, field))
						return true
					}
					return false
				}
				eq := func(field string, n int, got string) {
					t.Helper()
					checked++
					if f[n-1] != got && !volatileTruth(tid, field) && !confirmed(field, got) {
						t.Errorf("tid %d %s (stat field %d): dump %s, guest %s", tid, field, n, got, f[n-1])
					}
				}
				d := func(v int64) string { return strconv.FormatInt(v, 10) }
				eq("pid", 1, d(int64(p.PID)))
				eq("comm", 2, p.Name)
				eq("state", 3, string(p.State))
				eq("ppid", 4, d(int64(p.PPID)))
				eq("pgrp", 5, d(int64(p.PGRP)))
				eq("session", 6, d(int64(p.SID)))
				eq("tty_nr", 7, d(int64(p.TTY)))
				eq("tpgid", 8, d(int64(p.TPGID)))
				eq("flags", 9, d(int64(p.Flags)))
				eq("nice", 19, d(int64(p.Nice)))
				eq("num_threads", 20, d(int64(p.NumThreads)))
				eq("starttime", 22, d(int64(p.StartTime/(10*time.Millisecond)))) // USER_HZ 100
				eq("vsize", 23, strconv.FormatUint(p.VSize, 10))
				eq("rss", 24, strconv.FormatUint(p.RSS, 10))
				eq("processor", 39, d(int64(p.CPU)))

				st := readStatus(t, filepath.Join(filepath.Dir(path), "status"))
				seq := func(key string, idx int, got string) {
					t.Helper()
					checked++
					v := st[key]
					if len(v) <= idx {
						t.Errorf("tid %d: status has no %s[%d]", tid, key, idx)
						return
					}
					if v[idx] != got && !volatileTruth(tid, key) && !confirmed(key, got) {
						t.Errorf("tid %d status %s[%d]: dump %s, guest %s", tid, key, idx, got, v[idx])
					}
				}
				u := func(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
				seq("Tgid", 0, d(int64(p.TGID)))
				seq("Uid", 0, u(p.UID))
				seq("Uid", 1, u(p.EUID))
				seq("Gid", 0, u(p.GID))
				seq("Gid", 1, u(p.EGID))
				if !p.Kernel && p.Mm != 0 {
					seq("VmLck", 0, strconv.FormatUint(p.LockedVM*s.pageSize/1024, 10))
					seq("VmRSS", 0, strconv.FormatUint(p.RSSSum*s.pageSize/1024, 10))
					seq("VmSize", 0, strconv.FormatUint(p.VSize/1024, 10))
				}
				if (p.PID != p.TGID) != p.Thread {
					t.Errorf("tid %d: Thread=%v with tgid %d", tid, p.Thread, p.TGID)
				}
				if want := f[9-1]; p.Kernel != (mustAtoi(t, want)&PFKthread != 0) {
					t.Errorf("tid %d: Kernel=%v with flags %s", tid, p.Kernel, want)
				}
			}
			t.Logf("%d tasks, %d values compared with the guest's /proc; %d moved after the capture and equal drgn's reading of the dump: %v",
				len(byTID), checked, len(moved), moved)
		}
	})
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestArgvEnvMatchGuestProc(t *testing.T) {
	eachDump(t, func(t *testing.T, k fixtureKernel, dump string) {
		dir := truthDir(t, k)
		{
			s, _ := openSystem(t, k, dump)
			ps, err := s.GetProcs(Filter{})
			if err != nil {
				t.Fatal(err)
			}
			crossing, compared := 0, 0
			for i := range ps {
				p := &ps[i]
				want, err := os.ReadFile(filepath.Join(dir, "proc", strconv.Itoa(int(p.PID)), "cmdline"))
				if err != nil {
					continue // not in the guest's capture (checked by the task-set test)
				}
				wantEnv, err := os.ReadFile(filepath.Join(dir, "proc", strconv.Itoa(int(p.PID)), "environ"))
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Cmdline(p)
				if p.Mm == 0 {
					// Kernel threads and zombies: /proc shows nothing, we say why.
					if len(want) != 0 || err == nil {
						t.Errorf("pid %d without mm: cmdline %q, error %v", p.PID, want, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("pid %d: %v", p.PID, err)
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("pid %d cmdline: dump %q, guest %q", p.PID, trunc(got), trunc(want))
				}
				env, err := s.Environ(p)
				if err != nil {
					t.Errorf("pid %d: %v", p.PID, err)
				} else if !bytes.Equal(env, wantEnv) {
					t.Errorf("pid %d environ: dump %q, guest %q", p.PID, trunc(env), trunc(wantEnv))
				}
				compared++
				if p.ArgStart/4096 != (p.ArgEnd-1)/4096 {
					crossing++
				}
				argv, err := s.Argv(p)
				if err != nil || strings.Join(argv, "\x00")+"\x00" != string(want) {
					t.Errorf("pid %d Argv = %q, %v", p.PID, argv, err)
				}
			}
			if compared < 5 || crossing == 0 {
				t.Errorf("only %d processes compared, %d with argv across a page boundary", compared, crossing)
			}
			t.Logf("argv and environment of %d processes equal the guest's (%d cross a page boundary)", compared, crossing)
		}
	})
}

func trunc(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + fmt.Sprintf("...(%d bytes)", len(b))
	}
	return string(b)
}

func TestSwapMatchesGuestProc(t *testing.T) {
	eachDump(t, func(t *testing.T, k fixtureKernel, dump string) {
		want, err := os.ReadFile(filepath.Join(truthDir(t, k), "swaps"))
		if err != nil {
			t.Fatal(err)
		}
		{
			s, _ := openSystem(t, k, dump)
			sw, err := s.GetSwapInfo()
			if err != nil {
				t.Fatal(err)
			}
			wantLines := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
			if wantLines[0] != ProcSwapsHeader {
				t.Errorf("header %q, guest %q", ProcSwapsHeader, wantLines[0])
			}
			if len(sw) != len(wantLines)-1 {
				t.Fatalf("%d swap areas, the guest had %d:\n%s", len(sw), len(wantLines)-1, want)
			}
			dg := drgnDumpState(t, k)
			for i, a := range sw {
				wl := wantLines[i+1]
				f := strings.Fields(wl)
				if len(f) != 5 {
					t.Fatalf("guest line %q", wl)
				}
				g := Swap{Name: f[0], Partition: f[1] == "partition", Size: uint64(mustAtoi(t, f[2])) << 10,
					Used: uint64(mustAtoi(t, f[3])) << 10, Priority: int(mustAtoi(t, f[4]))}
				// The formatting, checked on the guest's own values.
				if g.ProcSwapsLine() != wl {
					t.Errorf("formatting: %q, guest %q", g.ProcSwapsLine(), wl)
				}
				if a.Used != g.Used && a.Used/s.pageSize == dg.swapUsed[i] {
					// kswapd went on after the capture; drgn agrees with the dump.
					t.Logf("swap %d: %d KiB in use in the dump (drgn agrees), %d KiB when the guest looked", i, a.Used>>10, g.Used>>10)
					g.Used = a.Used
				}
				// /proc/swaps lists areas in use and writable only.
				if a.Flags&(swpUsed|swpWriteOK) != swpUsed|swpWriteOK {
					t.Errorf("swap area %d: flags %#x lack SWP_USED|SWP_WRITEOK", i, a.Flags)
				}
				g.Flags = a.Flags
				if a != g {
					t.Errorf("swap area %d: dump %+v, guest %+v", i, a, g)
				}
			}
			if len(sw) == 0 || sw[0].Used == 0 {
				t.Errorf("the fixture should have a swap area in use: %+v", sw)
			}
		}
	})
}

// drgnValues reads avenrun and the timekeeper with drgn (an independent
// reader) from the paging dump.
func drgnValues(t *testing.T, vmlinux, core string) map[string][]int64 {
	t.Helper()
	out := testfix.Drgn(t, "time_values", vmlinux, core)
	m := make(map[string][]int64)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, x := range f[1:] {
			m[f[0]] = append(m[f[0]], mustAtoi(t, x))
		}
	}
	return m
}

func TestLoadAvgAndTimeAgainstDrgn(t *testing.T) {
	eachDump(t, func(t *testing.T, k fixtureKernel, dump string) {
		_, vml := k.dwarf(t)
		dv := drgnValues(t, vml, k.path(t, "dumps/paging.vmcore"))
		guestUptime := readUptime(t, k)
		{
			s, _ := openSystem(t, k, dump)
			la, err := s.GetLoadAvg()
			if err != nil {
				t.Fatal(err)
			}
			for i := range la.Raw {
				if int64(la.Raw[i]) != dv["avenrun"][i] {
					t.Errorf("avenrun[%d] = %d, drgn %d", i, la.Raw[i], dv["avenrun"][i])
				}
			}
			tm, err := s.GetTime()
			if err != nil {
				t.Fatal(err)
			}
			tk := dv["tk"]
			wantUp := time.Duration(tk[1] + tk[2]>>tk[3] + tk[4])
			if tm.Uptime != wantUp || tm.Wall.Unix() != tk[0] {
				t.Errorf("time = %v up %v; drgn's timekeeper gives %v up %v", tm.Wall, tm.Uptime, time.Unix(tk[0], 0).UTC(), wantUp)
			}
			// The guest captured /proc/uptime a few seconds before the dump.
			if tm.Uptime < guestUptime || tm.Uptime > guestUptime+2*time.Minute {
				t.Errorf("uptime %v, but the guest said %v shortly before the dump", tm.Uptime, guestUptime)
			}
		}
	})
}

func readUptime(t *testing.T, k fixtureKernel) time.Duration {
	b, err := os.ReadFile(filepath.Join(truthDir(t, k), "uptime"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	sec, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(sec * float64(time.Second))
}

// TestLoadAvgFormat checks LoadAvg.String against the kernel's own
// LOAD_INT/LOAD_FRAC arithmetic compiled from C (include/linux/sched/loadavg.h
// and fs/proc/loadavg.c), over a range of values.
func TestLoadAvgFormat(t *testing.T) {
	dir := t.TempDir()
	src := `#include <stdio.h>
#define FSHIFT 11
#define FIXED_1 (1<<FSHIFT)
#define LOAD_INT(x) ((x) >> FSHIFT)
#define LOAD_FRAC(x) LOAD_INT(((x) & (FIXED_1-1)) * 100)
int main(void) {
	for (unsigned long v = 0; v < 40000; v += 7) {
		unsigned long a = v + FIXED_1/200;
		printf("%lu.%02lu\n", LOAD_INT(a), LOAD_FRAC(a));
	}
	return 0;
}`
	if err := os.WriteFile(filepath.Join(dir, "la.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tc := testfix.GCC["x86_64"]
	la := testfix.BuildC(t, testfix.CBuild{TC: tc, Sources: []string{filepath.Join(dir, "la.c")}, Out: "la"})
	out := testfix.Run(t, tc, la)
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	i := 0
	for v := uint64(0); v < 40000; v += 7 {
		got := strings.Fields(LoadAvg{Raw: [3]uint64{v, v, v}}.String())[0]
		if got != want[i] {
			t.Fatalf("LoadAvg(%d) = %s, kernel arithmetic %s", v, got, want[i])
		}
		i++
	}
}

func TestFilters(t *testing.T) {
	k := fixtureKernels(t)[0]
	s, _ := openSystem(t, k, "elf.vmcore")
	all, err := s.GetProcs(Filter{Threads: true})
	if err != nil {
		t.Fatal(err)
	}
	m1 := markerPID(t, k, "kvmgen-marker-1")
	for _, c := range []Filter{
		{Op: ByPID, Arg: m1, Threads: true}, {Op: ByPID, Arg: m1}, {Op: ByUID, Arg: 0},
		{Op: ByRUID, Arg: 0}, {Op: ByPGRP, Arg: 0}, {Op: BySession, Arg: 0}, {Op: ByTTY, Arg: 0},
	} {
		got, err := s.GetProcs(c)
		if err != nil {
			t.Fatal(err)
		}
		var want []int32
		for _, p := range all {
			if (c.Threads || !p.Thread) && c.match(&p) {
				want = append(want, p.PID)
			}
		}
		var gotIDs []int32
		for _, p := range got {
			gotIDs = append(gotIDs, p.PID)
		}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		sort.Slice(gotIDs, func(i, j int) bool { return gotIDs[i] < gotIDs[j] })
		if fmt.Sprint(gotIDs) != fmt.Sprint(want) {
			t.Errorf("%v %d: got %v, want %v", c.Op, c.Arg, gotIDs, want)
		}
	}
	// Marker 1 has three threads in the guest (proc/PID/task).
	got, _ := s.GetProcs(Filter{Op: ByPID, Arg: m1, Threads: true})
	tids, _ := filepath.Glob(filepath.Join(truthDir(t, k), "proc", strconv.FormatInt(m1, 10), "task", "*"))
	if len(got) != len(tids) || len(got) < 2 {
		t.Errorf("pid %d: %d threads, guest has %d", m1, len(got), len(tids))
	}
	idle, _ := s.GetProcs(Filter{Op: ByPID, Arg: 0, Idle: true})
	if len(idle) != 1 || idle[0].Comm != "swapper/0" {
		t.Errorf("idle task: %+v", idle)
	}
}

func openBench(b *testing.B, vml, dump string, l *Layout) (*System, *kvm.KVM) {
	core := testfix.Path(b, "linux-amd64/dumps/"+dump)
	kd, err := kvm.Open2(vml, core, os.O_RDONLY, nil)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(kd, l)
	if err != nil {
		b.Fatal(err)
	}
	return s, kd
}

func markerPID(t *testing.T, k fixtureKernel, name string) int64 {
	return int64(testfix.Marker(t, truthDir(t, k), name))
}

// TestConcurrentUse: one System used from many goroutines (run with -race)
// gives every goroutine the same answers.
func TestConcurrentUse(t *testing.T) {
	k := fixtureKernels(t)[0]
	s, _ := openSystem(t, k, "kdump-zlib.vmcore")
	describe := func() (string, error) {
		ps, err := s.GetProcs(Filter{Threads: true})
		if err != nil {
			return "", err
		}
		var b strings.Builder
		for i := range ps {
			fmt.Fprintf(&b, "%d %s %d %d\n", ps[i].PID, ps[i].Name, ps[i].RSS, ps[i].RSSSum)
			if ps[i].Mm != 0 {
				argv, err := s.Argv(&ps[i])
				if err != nil {
					return "", err
				}
				fmt.Fprintf(&b, "%q\n", argv)
			}
		}
		return b.String(), nil
	}
	want, err := describe()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := describe()
			if err == nil && got != want {
				err = fmt.Errorf("a goroutine read a different process table")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
