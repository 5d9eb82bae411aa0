package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/procs"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// The oracle is the guest's own /proc, captured by the fixture pipeline
// (linux-amd64/dumps/truth/proc/PID/{stat,status,cmdline}) just before the
// guest was stopped and dumped.

func psTruthField(t *testing.T, dir string, pid int, file string) []string {
	t.Helper()
	// As statusKB: the task/PID capture came later, nearer the dump (a
	// kernel thread seen running in the first may be asleep by then).
	b, err := os.ReadFile(filepath.Join(dir, "proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), file))
	if os.IsNotExist(err) {
		b, err = os.ReadFile(filepath.Join(dir, "proc", strconv.Itoa(pid), file))
	}
	if err != nil {
		t.Fatal(err)
	}
	if file == "stat" {
		s := string(b)
		j := strings.LastIndexByte(s, ')')
		return append([]string{"", s[strings.IndexByte(s, '(')+1 : j]}, strings.Fields(s[j+1:])...)
	}
	return strings.Fields(string(b))
}

// statusKB reads a kB value of /proc/PID/status. The pipeline captured
// /proc/PID/ and then /proc/PID/task/TID/: the later capture is the one
// nearest the dump (the RSS of a shell may move between the two).
func statusKB(t *testing.T, dir string, pid int, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.Fields(v)[0]
		}
	}
	return "0" // kernel threads have no Vm* lines
}

func TestPSAgainstGuest(t *testing.T) {
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	core := testfix.Path(t, "linux-amd64/dumps/kdump-zlib.vmcore")
	truth := testfix.Path(t, "linux-amd64/dumps/truth")
	cache := t.TempDir()
	args := []string{"ps", "-kernel", vml, "-core", core, "-layout-cache", cache}
	var out bytes.Buffer
	if err := run(&out, args); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "procs-*.json")); len(m) != 1 {
		t.Fatalf("layout not cached: %v", m)
	}
	// A second run takes the layout from the cache and prints the same.
	var again bytes.Buffer
	if err := run(&again, args); err != nil {
		t.Fatal(err)
	}
	if again.String() != out.String() {
		t.Error("output differs when the layout comes from the cache")
	}
	lib := procsByPID(t, vml, core)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if want := "    PID    PPID USER     STAT    VSZ   RSS COMMAND         COMMAND"; lines[0] != want {
		t.Errorf("header %q", lines[0])
	}
	pids, err := os.ReadFile(filepath.Join(truth, "pids.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(lines)-1, len(strings.Fields(string(pids))); got != want {
		t.Errorf("%d processes, the guest had %d", got, want)
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		pid, _ := strconv.Atoi(f[0])
		st := psTruthField(t, truth, pid, "stat")
		if f[1] != st[3] || f[3][:1] != st[2] {
			t.Errorf("pid %d: ppid %s stat %s; guest ppid %s state %s", pid, f[1], f[3], st[3], st[2])
		}
		// VSZ from the guest; RSS from procs, whose values the procs tests
		// check against the guest and, for pages kswapd moved after the
		// capture, against drgn.
		if f[4] != statusKB(t, truth, pid, "VmSize") {
			t.Errorf("pid %d: VSZ %s; guest VmSize %s", pid, f[4], statusKB(t, truth, pid, "VmSize"))
		}
		if want := strconv.FormatUint(lib[int32(pid)].RSSSum*4, 10); f[5] != want {
			t.Errorf("pid %d: RSS %s; procs says %s KiB", pid, f[5], want)
		}
		cmd, err := os.ReadFile(filepath.Join(truth, "proc", strconv.Itoa(pid), "cmdline"))
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(strings.TrimSuffix(string(cmd), "\x00"), "\x00", " ")
		if want == "" {
			// A kworker's name carries its latest work, which moved after
			// the capture: take the name from procs (checked against drgn).
			want = "[" + lib[int32(pid)].Name + "]"
			if st[2] == "Z" {
				want += " <defunct>"
			}
		}
		if !strings.HasSuffix(line, " "+want) {
			t.Errorf("pid %d: args column of %q, want %q", pid, trunc(line), trunc(want))
		}
	}
}

// procsByPID is what the procs library reads for every process of the dump.
func procsByPID(t *testing.T, vml, core string) map[int32]procs.Proc {
	t.Helper()
	kd, err := kvm.Open2(vml, core, os.O_RDONLY, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	df, err := dwarfmodel.Open(vml)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	l, err := procs.ResolveLayout(df)
	if err != nil {
		t.Fatal(err)
	}
	s, err := procs.New(kd, l)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.GetProcs(procs.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[int32]procs.Proc)
	for _, p := range ps {
		m[p.PID] = p
	}
	return m
}

func trunc(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}

func TestPSFilterAndEnv(t *testing.T) {
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	core := testfix.Path(t, "linux-amd64/dumps/elf.vmcore")
	truth := testfix.Path(t, "linux-amd64/dumps/truth")
	marker3 := strconv.Itoa(testfix.Marker(t, truth, "kvmgen-marker-3"))
	var out bytes.Buffer
	if err := run(&out, []string{"ps", "-kernel", vml, "-core", core, "-layout-cache", t.TempDir(), "-T", "-e", "-p", marker3}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "    TID") {
		t.Fatalf("ps -p %s:\n%s", marker3, out.String())
	}
	env, err := os.ReadFile(filepath.Join(truth, "proc", marker3, "environ"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(strings.TrimSuffix(string(env), "\x00"), "\x00", " ")
	if !strings.HasSuffix(lines[1], " "+want) {
		t.Errorf("ps -e: %q does not end with the environment %q", lines[1], want)
	}
	if err := run(&out, []string{"ps", "-kernel", vml, "-core", core, "-p", "1", "-u", "0"}); err == nil {
		t.Error("two filters accepted")
	}
}

func TestSwapinfoAndUptimeAgainstGuest(t *testing.T) {
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	core := testfix.Path(t, "linux-amd64/dumps/paging.vmcore")
	truth := testfix.Path(t, "linux-amd64/dumps/truth")
	cache := t.TempDir()
	var out bytes.Buffer
	if err := run(&out, []string{"swapinfo", "-kernel", vml, "-core", core, "-layout-cache", cache}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(truth, "swaps"))
	if err != nil {
		t.Fatal(err)
	}
	// Every column as the guest printed it but Used, which kswapd moved
	// after the capture (procs' tests check it against drgn).
	gl := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	ol := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(gl) != len(ol) || gl[0] != ol[0] {
		t.Fatalf("swapinfo:\n%s\nguest /proc/swaps:\n%s", out.String(), want)
	}
	for i := 1; i < len(gl); i++ {
		// Name, type, size, used, priority; the tabs between them as the guest's.
		g, o := strings.Fields(gl[i]), strings.Fields(ol[i])
		if len(g) != 5 || len(o) != 5 || strings.Count(gl[i], "\t") != strings.Count(ol[i], "\t") {
			t.Fatalf("line %q, guest %q", ol[i], gl[i])
		}
		g[3], o[3] = "", ""
		if strings.Join(g, " ") != strings.Join(o, " ") || !strings.HasPrefix(ol[i], strings.SplitN(gl[i], "\t", 2)[0]) {
			t.Errorf("line %q, guest %q", ol[i], gl[i])
		}
	}
	out.Reset()
	if err := run(&out, []string{"uptime", "-proc", "-kernel", vml, "-core", core, "-layout-cache", cache}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	up, err := strconv.ParseFloat(lines[0], 64)
	if err != nil {
		t.Fatalf("uptime -proc: %q", out.String())
	}
	ut, _ := os.ReadFile(filepath.Join(truth, "uptime"))
	guestUp, _ := strconv.ParseFloat(strings.Fields(string(ut))[0], 64)
	if up < guestUp || up > guestUp+120 {
		t.Errorf("uptime %.2f s, the guest said %.2f s shortly before the dump", up, guestUp)
	}
	if f := strings.Fields(lines[1]); len(f) != 3 {
		t.Errorf("load average line %q", lines[1])
	}
	out.Reset()
	if err := run(&out, []string{"uptime", "-kernel", vml, "-core", core, "-layout-cache", cache}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " up 0 min,  load average: ") {
		t.Errorf("uptime: %q", out.String())
	}
}

func TestUpString(t *testing.T) {
	for _, c := range []struct {
		min  int
		want string
	}{{0, "0 min"}, {59, "59 min"}, {60, " 1:00"}, {24*60 + 65, "1 day,  1:05"}, {3 * 24 * 60, "3 days, 0 min"}} {
		if got := upString(minutes(c.min)); got != c.want {
			t.Errorf("%d min: %q, want %q", c.min, got, c.want)
		}
	}
}

func minutes(n int) time.Duration { return time.Duration(n) * time.Minute }
