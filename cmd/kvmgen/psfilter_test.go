package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// guestProc is what the guest's kernel reported about one process in its
// /proc/PID/stat and /proc/PID/status, just before the dump.
type guestProc struct {
	pid, pgrp, session, tty int64
	ruid, euid              int64
}

// readGuestProcs parses the truth's proc/PID/{stat,status} of every
// process the guest listed.
func readGuestProcs(t *testing.T, truth string) []guestProc {
	t.Helper()
	pids, err := os.ReadFile(filepath.Join(truth, "pids.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []guestProc
	for _, p := range strings.Fields(string(pids)) {
		stat, err1 := os.ReadFile(filepath.Join(truth, "proc", p, "stat"))
		status, err2 := os.ReadFile(filepath.Join(truth, "proc", p, "status"))
		if err1 != nil || err2 != nil || len(stat) == 0 {
			continue // exited while the guest collected its truth
		}
		// "pid (comm) state ppid pgrp session tty_nr ...": comm ends at the last ')'.
		s := string(stat)
		c := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[c+1:])
		if c < 0 || len(f) < 5 {
			t.Fatalf("truth proc/%s/stat: %q", p, s)
		}
		var g guestProc
		var perr error
		num := func(x string) int64 {
			v, err := strconv.ParseInt(x, 10, 64)
			if err != nil && perr == nil {
				perr = err
			}
			return v
		}
		g.pid, g.pgrp, g.session, g.tty = num(p), num(f[2]), num(f[3]), num(f[4])
		for _, l := range strings.Split(string(status), "\n") {
			if u, ok := strings.CutPrefix(l, "Uid:"); ok {
				if uf := strings.Fields(u); len(uf) >= 2 {
					g.ruid, g.euid = num(uf[0]), num(uf[1])
				}
			}
		}
		if perr != nil {
			t.Fatalf("truth proc/%s: %v", p, perr)
		}
		out = append(out, g)
	}
	return out
}

// TestPSFilterOracle checks every process filter of `kvmgen ps` (the ops
// of kvm_getprocs: -p PID, -u UID, -U RUID, -g PGRP, -s SID, -t TTY)
// against the guest's own kernel: for each value any process has (and one
// that none has), the PIDs ps selects are exactly those whose
// /proc/PID/stat and status show that value. The guest's kvmgen-marker-4
// and its child give the filters something to tell apart: their own
// session, process groups, controlling terminal (ttyS1) and real and
// effective UIDs that differ from each other.
func TestPSFilterOracle(t *testing.T) {
	for _, dir := range []string{"linux-amd64", "linux-amd64-6.12"} {
		t.Run(dir, func(t *testing.T) {
			core := testfix.Path(t, dir+"/dumps/kdump-zlib.vmcore")
			truth := testfix.Path(t, dir+"/dumps/truth")
			procs := readGuestProcs(t, truth)
			markers := testfix.Markers(t, truth)
			if _, ok := markers["kvmgen-marker-4-child"]; !ok {
				t.Fatalf("%s/markers.txt has no kvmgen-marker-4-child: the fixture predates the filter truth (make fixtures)", truth)
			}
			filters := []struct {
				flag  string
				value func(guestProc) int64
				zero  bool // the value 0 selects nothing (no terminal)
			}{
				{"-p", func(g guestProc) int64 { return g.pid }, false},
				{"-u", func(g guestProc) int64 { return g.euid }, false},
				{"-U", func(g guestProc) int64 { return g.ruid }, false},
				{"-g", func(g guestProc) int64 { return g.pgrp }, false},
				{"-s", func(g guestProc) int64 { return g.session }, false},
				{"-t", func(g guestProc) int64 { return g.tty }, true},
			}
			cache := t.TempDir()
			for _, f := range filters {
				values := map[int64]bool{424242: true} // selects nothing
				for _, g := range procs {
					values[f.value(g)] = true
				}
				if f.flag != "-p" && len(values) < 3 {
					t.Errorf("%s: the guest's processes have only the values %v: nothing to tell apart", f.flag, values)
				}
				for v := range values {
					var want []int64
					for _, g := range procs {
						if f.value(g) == v && !(f.zero && v == 0) {
							want = append(want, g.pid)
						}
					}
					got := psPIDs(t, "-core", core, "-layout-cache", cache, f.flag, strconv.FormatInt(v, 10))
					if fmt.Sprint(got) != fmt.Sprint(sorted(want)) {
						t.Errorf("ps %s %d: PIDs %v; the guest's /proc: %v", f.flag, v, got, sorted(want))
					}
				}
				t.Logf("%s: %d values checked", f.flag, len(values))
			}
		})
	}
}

func psPIDs(t *testing.T, args ...string) []int64 {
	t.Helper()
	var out bytes.Buffer
	if err := run(&out, append([]string{"ps", "-json"}, args...)); err != nil {
		t.Fatalf("ps %s: %v", strings.Join(args, " "), err)
	}
	var pids []int64
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p struct {
			PID int64 `json:"pid"`
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("ps -json: %v", err)
		}
		pids = append(pids, p.PID)
	}
	return sorted(pids)
}

func sorted(v []int64) []int64 {
	v = append([]int64(nil), v...)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v
}
