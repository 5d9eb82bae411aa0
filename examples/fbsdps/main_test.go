package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// The expectations come from the kernel and from lldb, not from this
// program: dumptid (the kernel's record of the thread that called panic)
// must name one listed thread, of the process lldb's test names as the
// crashed one ("(pid 800) sysctl (crashed)"), and the thread counts are
// lldb's numthread for the same dumps (TestFreeBSDKernelVMCore.py).
var cases = []struct {
	dump, arch  string
	crashedPID  int32
	threads     int
	otherThread string // a "comm/tdname" lldb lists too
}{
	{"vmcore-amd64-minidump", "amd64", 800, 16, "pagedaemon/laundry: dom0"},
	{"vmcore-amd64-full", "amd64", 806, 13, "idle/idle: cpu9"},
	{"vmcore-i386-minidump", "i386", 806, 13, "idle/idle: cpu11"},
	{"vmcore-arm64-minidump", "arm64", 939, 10, "syncer/syncer"},
}

func TestThreads(t *testing.T) {
	for _, c := range cases {
		t.Run(c.dump, func(t *testing.T) {
			kernel, core := fbsdtest.Kernel(t, c.arch), fbsdtest.Dump(t, c.dump)
			kd, err := kvm.Open2(kernel, core, os.O_RDONLY, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer kd.Close()
			ths, err := Threads(kd, kd.Info().PtrSize)
			if err != nil {
				t.Fatal(err)
			}
			if len(ths) != c.threads {
				t.Errorf("%d threads, lldb counts %d", len(ths), c.threads)
			}
			a, err := kd.LookupSymbol("dumptid")
			if err != nil {
				t.Fatal(err)
			}
			var b [4]byte
			if err := kvm.ReadFull(kd, b[:], a); err != nil {
				t.Fatal(err)
			}
			dumptid := int32(binary.LittleEndian.Uint32(b[:]))
			tids := map[int32]int{}
			names := map[string]bool{}
			idle := map[string]bool{}
			for _, th := range ths {
				tids[th.TID]++
				names[th.Comm+"/"+th.Name] = true
				// FreeBSD numbers threads above PID_MAX (99999).
				if th.TID <= 99999 || th.PID < 0 || th.PID > 99999 {
					t.Errorf("implausible ids %+v", th)
				}
				for _, s := range []string{th.Comm, th.Name} {
					if s == "" || len(s) >= commLen || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
						t.Errorf("name %q of %+v is not a printable NUL-terminated string", s, th)
					}
				}
				if th.TID == dumptid && (th.PID != c.crashedPID || th.Comm != "sysctl") {
					t.Errorf("dumptid %d is %+v, lldb says pid %d sysctl", dumptid, th, c.crashedPID)
				}
				if th.Comm == "idle" {
					idle[th.Name] = true
				}
			}
			if tids[dumptid] != 1 {
				t.Errorf("dumptid %d listed %d times", dumptid, tids[dumptid])
			}
			for tid, n := range tids {
				if n > 1 {
					t.Errorf("tid %d listed %d times", tid, n)
				}
			}
			if !names[c.otherThread] {
				t.Errorf("thread %s missing", c.otherThread)
			}
			// One idle thread per CPU, numbered from 0 without gaps.
			for i := 0; i < len(idle); i++ {
				if !idle[fmt.Sprintf("idle: cpu%d", i)] {
					t.Errorf("idle threads %v skip cpu%d", idle, i)
				}
			}
		})
	}
}

func TestRun(t *testing.T) {
	kernel, core := fbsdtest.Kernel(t, "arm64"), fbsdtest.Dump(t, "vmcore-arm64-minidump")
	var out bytes.Buffer
	if err := run(&out, []string{"-kernel", kernel, "-core", core}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if strings.Join(strings.Fields(lines[0]), " ") != "PID TID COMM TDNAME" {
		t.Errorf("header %q", lines[0])
	}
	if len(lines) != 1+10 {
		t.Errorf("%d lines, want a header and 10 threads:\n%s", len(lines), out.String())
	}
	if err := run(&out, []string{"-kernel", kernel}); err == nil {
		t.Errorf("run without -core succeeded")
	}
}
