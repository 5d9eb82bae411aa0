package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/procs"
)

// TestPSLive boots the fixture kernel under QEMU (scripts/fixtures.sh
// live) with a static kvmgen and the layout procs resolved from the
// fixture vmlinux on the host: inside the guest, with no vmlinux there,
// `kvmgen ps -e` reads the running kernel through /proc/kcore with symbols
// from /proc/kallsyms and types from /sys/kernel/btf/vmlinux (no layout
// cache). Its table is compared with the guest's own /proc, captured right
// after. swapinfo and the filters take the layout from the cache, by the
// build ID in kcore's VMCOREINFO.
func TestPSLive(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a QEMU guest")
	}
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	testfix.Path(t, "linux-amd64/guest/initrd.gz")
	for _, tool := range []string{"qemu-system-x86_64", "socat"} {
		testfix.Tool(t, tool)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kvmgen")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	df, err := dwarfmodel.Open(vml)
	if err != nil {
		t.Fatal(err)
	}
	l, err := procs.ResolveLayout(df)
	df.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := procs.SaveLayout(dir, l); err != nil {
		t.Fatal(err)
	}
	layouts, _ := filepath.Glob(filepath.Join(dir, "procs-*.json"))
	if len(layouts) != 1 {
		t.Fatalf("layout files %v", layouts)
	}
	cmds := filepath.Join(dir, "cmds")
	// The layout is copied to the guest's /bin beside kvmgen. A sleep
	// with ttyS0 (4:64, tty_nr 1088) as its controlling terminal, in its
	// own session, exercises the terminal, session and group filters.
	guestCmds := []string{
		"setsid -c sleep 1000 < /dev/ttyS0 > /dev/null 2>&1 &",
		// No vmlinux and no cached layout: types from the running
		// kernel's /sys/kernel/btf/vmlinux, symbols from /proc/kallsyms.
		"sleep 1; /bin/kvmgen ps -no-layout-cache -e",
		"/bin/kvmgen swapinfo -layout-cache /bin",
		"/bin/kvmgen ps -layout-cache /bin -t 1088",
		"/bin/kvmgen ps -layout-cache /bin -s $(pidof sleep)",
		"/bin/kvmgen ps -layout-cache /bin -g $(pidof sleep)",
		// Live memory without -swapfile: the running kernel's swap area.
		"/bin/kvmgen info -no-types",
	}
	if err := os.WriteFile(cmds, []byte(strings.Join(guestCmds, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command("bash", "../../scripts/fixtures.sh", "live", out)
	cmd.Env = append(os.Environ(), "KVMGEN_CACHE="+testfix.Dir(),
		"KVMGEN_LIVE_BINS="+bin+" "+layouts[0], "KVMGEN_LIVE_CMDS="+cmds)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/fixtures.sh live: %v\n%s", err, log)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for n := 1; n <= len(guestCmds); n++ {
		if rc := strings.TrimSpace(read("live-" + strconv.Itoa(n) + ".rc")); rc != "0" {
			t.Fatalf("command %d in the guest exited %s: %s", n, rc, read("live-"+strconv.Itoa(n)+".err"))
		}
	}
	if e := read("live-2.err"); e != "" {
		t.Errorf("kvmgen ps in the guest wrote to stderr: %s", e)
	}
	lines := strings.Split(strings.TrimSuffix(read("live-2.out"), "\n"), "\n")
	seen := map[int]bool{}
	self, withArgs := 0, 0
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		pid, _ := strconv.Atoi(f[0])
		seen[pid] = true
		if _, err := os.Stat(filepath.Join(out, "proc", f[0], "stat")); err != nil {
			if f[6] == "kvmgen" {
				self = pid // kvmgen itself, gone when the guest looked
				continue
			}
			t.Errorf("pid %d (%s) is not in the guest's /proc", pid, f[6])
			continue
		}
		st := psTruthField(t, out, pid, "stat")
		if f[1] != st[3] || f[3][:1] != st[2] {
			t.Errorf("pid %d: ppid %s stat %s; guest ppid %s state %s", pid, f[1], f[3], st[3], st[2])
		}
		if f[4] != statusKB(t, out, pid, "VmSize") {
			t.Errorf("pid %d: VSZ %s; guest VmSize %s", pid, f[4], statusKB(t, out, pid, "VmSize"))
		}
		cmdline := read(filepath.Join("proc", f[0], "cmdline"))
		if cmdline == "" {
			continue // kernel threads: names checked by the dump tests
		}
		env := read(filepath.Join("proc", f[0], "environ"))
		want := strings.ReplaceAll(strings.TrimSuffix(cmdline, "\x00"), "\x00", " ")
		if env != "" {
			want += " " + strings.ReplaceAll(strings.TrimSuffix(env, "\x00"), "\x00", " ")
		}
		if !strings.HasSuffix(line, " "+want) {
			t.Errorf("pid %d: %q does not end with the guest's argv and environment %q", pid, trunc(line), trunc(want))
		}
		withArgs++
	}
	t.Logf("live: %d processes equal the guest's /proc, %d with argv and environment", len(seen)-1, withArgs)
	if withArgs < 5 {
		t.Errorf("only %d user processes compared", withArgs)
	}
	if self == 0 {
		t.Error("kvmgen's own process is not in its output")
	}
	for _, p := range strings.Fields(read("pids.txt")) {
		if n, _ := strconv.Atoi(p); !seen[n] {
			b, _ := os.ReadFile(filepath.Join(out, "proc", p, "stat"))
			if !strings.Contains(string(b), "(kvmgen)") && !strings.Contains(string(b), "(sh)") && !strings.Contains(string(b), "(cat)") {
				t.Errorf("the guest's pid %s is not in kvmgen ps: %s", p, b)
			}
		}
	}
	if got, want := read("live-3.out"), read("swaps"); got != want {
		t.Errorf("swapinfo in the guest:\n%s\n/proc/swaps:\n%s", got, want)
	}
	// The terminal: the guest's processes with tty_nr 1088 (the sleep), in
	// its session and its process group, are what -t, -s and -g list, each
	// with procps' "s" (session leader) and "+" (foreground group).
	var onTTY []string
	pids, _ := filepath.Glob(filepath.Join(out, "proc", "*", "stat"))
	for _, sf := range pids {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(sf)))
		st := psTruthField(t, out, pid, "stat")
		if st[7-1] == "1088" {
			onTTY = append(onTTY, st[1]+" "+strconv.Itoa(pid))
			if st[5-1] != strconv.Itoa(pid) || st[6-1] != strconv.Itoa(pid) || st[8-1] != strconv.Itoa(pid) {
				t.Errorf("the guest's sleep: pgrp %s session %s tpgid %s", st[5-1], st[6-1], st[8-1])
			}
		}
	}
	if len(onTTY) != 1 || !strings.HasPrefix(onTTY[0], "sleep ") {
		t.Fatalf("the guest's processes on ttyS0: %v", onTTY)
	}
	sleepPID := strings.Fields(onTTY[0])[1]
	for n := 4; n <= 6; n++ {
		got := strings.Split(strings.TrimSuffix(read("live-"+strconv.Itoa(n)+".out"), "\n"), "\n")
		if len(got) != 2 {
			t.Errorf("%s: %q", guestCmds[n-1], got)
			continue
		}
		f := strings.Fields(got[1])
		if f[0] != sleepPID || f[3] != "Ss+" || f[6] != "sleep" {
			t.Errorf("%s: %q, want pid %s with STAT Ss+", guestCmds[n-1], got[1], sleepPID)
		}
	}
	// The guest's one swap area (/dev/vda, swapon'd by /init) is the live
	// descriptor's swapfile.
	if info := read("live-7.out"); !strings.Contains(info, "\nswapfile:           /dev/vda\n") || !strings.Contains(read("swaps"), "/dev/vda") {
		t.Errorf("kvmgen info in the guest (its /proc/swaps lists /dev/vda):\n%s", info)
	}
}
