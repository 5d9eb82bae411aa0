package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/procs"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
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

// TestSameAsProcs: procs.GetProcs lists, on each dump, the threads this
// walk lists (PID, TID, p_comm, in the same order), naming each thread of
// a multi-threaded process "p_comm/td_name" as FreeBSD's ps -H does, and
// one entry per process with its thread count.
func TestSameAsProcs(t *testing.T) {
	for _, c := range cases {
		t.Run(c.dump, func(t *testing.T) {
			kd, err := kvm.Open2(fbsdtest.Kernel(t, c.arch), fbsdtest.Dump(t, c.dump), os.O_RDONLY, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer kd.Close()
			ths, err := Threads(kd, kd.Info().PtrSize)
			if err != nil {
				t.Fatal(err)
			}
			s, err := procs.NewFreeBSD(kd, nil)
			if err != nil {
				t.Fatal(err)
			}
			pths, err := s.GetProcs(procs.Filter{Threads: true})
			if err != nil {
				t.Fatal(err)
			}
			pps, err := s.GetProcs(procs.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(pths) != len(ths) {
				t.Fatalf("procs lists %d threads, fbsdps %d", len(pths), len(ths))
			}
			n := map[int32]int{}
			var pids []int32
			for _, th := range ths {
				if n[th.PID]++; n[th.PID] == 1 {
					pids = append(pids, th.PID)
				}
			}
			for i, th := range ths {
				p := &pths[i]
				name := th.Comm
				if n[th.PID] > 1 {
					name += "/" + th.Name
				}
				if p.TGID != th.PID || p.PID != th.TID || p.Comm != th.Comm || p.Name != name || p.NumThreads != n[th.PID] {
					t.Errorf("thread %d: procs %d/%d %q %q (%d threads), fbsdps %+v", i, p.TGID, p.PID, p.Comm, p.Name, p.NumThreads, th)
				}
			}
			if len(pps) != len(pids) {
				t.Fatalf("procs lists %d processes, fbsdps's threads are of %d", len(pps), len(pids))
			}
			for i, p := range pps {
				if p.PID != pids[i] || p.NumThreads != n[p.PID] {
					t.Errorf("process %d: procs pid %d (%d threads), fbsdps pid %d (%d)", i, p.PID, p.NumThreads, pids[i], n[pids[i]])
				}
			}
		})
	}
}

// fakeKernel is memory built by hand, with the exported offsets (those of
// the amd64 dumps) and allproc.
type fakeKernel struct {
	*testfix.SparseMem
}

func (f *fakeKernel) ptr(addr, v uint64) { f.Write(addr, binary.LittleEndian.AppendUint64(nil, v)) }

// TestWalkErrors: a process list that loops, a thread list leading out of
// the dump and a NULL back link end the walk with a *bind.ListError naming
// the entry whose link is bad, after the threads before it.
func TestWalkErrors(t *testing.T) {
	const allproc, p1, p2, td1, td2 = 0x10000, 0x20000, 0x21000, 0x30000, 0x31000
	const pList, pPid, pComm, pThreads, tdTid, tdName, tdPlist = 0, 196, 984, 16, 160, 700, 16
	build := func() *fakeKernel {
		f := &fakeKernel{testfix.NewSparseMem()}
		f.Syms["allproc"] = allproc
		for i, o := range []struct {
			sym string
			v   uint32
		}{{"proc_off_p_list", pList}, {"proc_off_p_pid", pPid}, {"proc_off_p_comm", pComm}, {"proc_off_p_threads", pThreads},
			{"thread_off_td_tid", tdTid}, {"thread_off_td_name", tdName}, {"thread_off_td_plist", tdPlist}} {
			a := uint64(0x1000 + 4*i)
			f.Syms[o.sym] = a
			f.Write(a, binary.LittleEndian.AppendUint32(nil, o.v))
		}
		f.ptr(allproc, p1)
		for i, p := range []uint64{p1, p2} {
			next, prev, td := uint64(p2), uint64(allproc), uint64(td1)
			if i == 1 {
				next, prev, td = 0, p1+pList, td2
			}
			f.ptr(p+pList, next)
			f.ptr(p+pList+8, prev)
			f.Write(p+pPid, binary.LittleEndian.AppendUint32(nil, uint32(10+i)))
			f.Write(p+pComm, append([]byte(fmt.Sprintf("proc%d", i)), make([]byte, commLen-5)...))
			f.ptr(p+pThreads, td)
			f.ptr(p+pThreads+8, td+tdPlist)
			f.ptr(td+tdPlist, 0)
			f.ptr(td+tdPlist+8, p+pThreads)
			f.Write(td+tdTid, binary.LittleEndian.AppendUint32(nil, uint32(100000+i)))
			f.Write(td+tdName, append([]byte(fmt.Sprintf("td%d", i)), make([]byte, commLen-3)...))
		}
		return f
	}
	if ths, err := Threads(build(), 8); err != nil || len(ths) != 2 || ths[1] != (Thread{PID: 11, TID: 100001, Comm: "proc1", Name: "td1"}) {
		t.Fatalf("well formed: %+v, %v", ths, err)
	}
	for _, c := range []struct {
		name    string
		edit    func(f *fakeKernel)
		node    uint64
		threads int
		msg     string
	}{
		{"process cycle", func(f *fakeKernel) { f.ptr(p2+pList, p1) }, p2 + pList, 2, "cycle"},
		{"thread outside the dump", func(f *fakeKernel) { f.ptr(td1+tdPlist, 0xdead0000) }, td1 + tdPlist, 1, "cannot read"},
		{"NULL back link", func(f *fakeKernel) { f.ptr(p2+pList+8, 0) }, p2 + pList, 1, "NULL back link"},
	} {
		f := build()
		c.edit(f)
		ths, err := Threads(f, 8)
		var le *bind.ListError
		if !errors.As(err, &le) || le.Node != c.node || !strings.Contains(le.Msg, c.msg) || len(ths) != c.threads {
			t.Errorf("%s: %d threads, %v; want %d and a *bind.ListError naming %#x", c.name, len(ths), err, c.threads, c.node)
		}
	}
	// Offsets no structure has are refused.
	f := build()
	f.Write(f.Syms["proc_off_p_comm"], binary.LittleEndian.AppendUint32(nil, 0x7fffffff))
	if _, err := Threads(f, 8); err == nil || !strings.Contains(err.Error(), "proc_off_p_comm") {
		t.Errorf("absurd proc_off_p_comm: %v", err)
	}
}
