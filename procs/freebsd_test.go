package procs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/fbsdtest"
	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

// lldbThreads is lldb's thread list for the LLVM project's FreeBSD dumps
// (lldb/test/API/functionalities/postmortem/FreeBSDKernel/
// TestFreeBSDKernelVMCore.py, in llvm-toolchain-16 as the dumps are): the
// number of threads, and the names lldb gives threads at some indexes.
// lldb walks allproc and p_threads in list order and names each thread
// "(pid P) COMM[/TDNAME]" (TDNAME when it is not COMM), followed by
// " (crashed)" for dumptid's thread, else " (on CPU N)" when td_oncpu is
// not NOCPU.
var lldbThreads = []struct {
	dump, arch string
	threads    int
	names      map[int]string
}{
	{"vmcore-amd64-minidump", "amd64", 16, map[int]string{0: "(pid 800) sysctl (crashed)", 1: "(pid 28) pagedaemon/dom0 (on CPU 4)", 2: "(pid 28) pagedaemon/laundry: dom0"}},
	{"vmcore-amd64-full", "amd64", 13, map[int]string{0: "(pid 806) sysctl (crashed)", 1: "(pid 11) idle/idle: cpu0 (on CPU 0)", 10: "(pid 11) idle/idle: cpu9"}},
	{"vmcore-i386-minidump", "i386", 13, map[int]string{0: "(pid 806) sysctl (crashed)", 1: "(pid 11) idle/idle: cpu0 (on CPU 0)", 12: "(pid 11) idle/idle: cpu11"}},
	{"vmcore-arm64-minidump", "arm64", 10, map[int]string{0: "(pid 939) sysctl (crashed)", 1: "(pid 21) syncer (on CPU 6)", 4: "(pid 11) idle/idle: cpu2"}},
}

// lldbName is the name lldb gives the thread p (a GetProcs entry with
// Filter.Threads).
func lldbName(p *Proc, dumptid int32) string {
	td := p.Comm // single-threaded processes: td_name is p_comm in these dumps
	if name, ok := strings.CutPrefix(p.Name, p.Comm+"/"); ok {
		td = name
	}
	s := fmt.Sprintf("(pid %d) %s", p.TGID, p.Comm)
	if td != "" && td != p.Comm {
		s += "/" + td
	}
	switch {
	case p.PID == dumptid:
		s += " (crashed)"
	case p.CPU != -1:
		s += fmt.Sprintf(" (on CPU %d)", p.CPU)
	}
	return s
}

func openFreeBSDDump(t *testing.T, dump, arch string) (*System, *kvm.KVM) {
	t.Helper()
	kd, err := kvm.Open2(fbsdtest.Kernel(t, arch), fbsdtest.Dump(t, dump), os.O_RDONLY, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kd.Close() })
	if !IsFreeBSD(kd) {
		t.Fatalf("%s: IsFreeBSD false", dump)
	}
	s, err := NewFreeBSD(kd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, kd
}

// TestFreeBSDDumpsLLDB lists the threads and processes of the real
// FreeBSD dumps with GetProcs and compares them with lldb's thread list
// of the same dumps: count, order, and the names (which carry PID, p_comm,
// td_name and td_oncpu) lldb's test checks. The crashed thread is the
// kernel's own dumptid.
func TestFreeBSDDumpsLLDB(t *testing.T) {
	for _, c := range lldbThreads {
		t.Run(c.dump, func(t *testing.T) {
			s, kd := openFreeBSDDump(t, c.dump, c.arch)
			a, err := kd.LookupSymbol("dumptid")
			if err != nil {
				t.Fatal(err)
			}
			var b [4]byte
			if err := kvm.ReadFull(kd, b[:], a); err != nil {
				t.Fatal(err)
			}
			dumptid := int32(binary.LittleEndian.Uint32(b[:]))

			ths, err := s.GetProcs(Filter{Threads: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(ths) != c.threads {
				t.Errorf("%d threads, lldb lists %d", len(ths), c.threads)
			}
			for i, want := range c.names {
				if i >= len(ths) {
					continue
				}
				if got := lldbName(&ths[i], dumptid); got != want {
					t.Errorf("thread %d is %q, lldb: %q", i, got, want)
				}
			}
			// One entry per process: the thread entries' processes, in
			// order, each with its thread count.
			ps, err := s.GetProcs(Filter{})
			if err != nil {
				t.Fatal(err)
			}
			var fromThreads []string
			count := map[int32]int{}
			for i := range ths {
				th := &ths[i]
				if th.PID <= 99999 || th.TGID < 0 || th.TGID > 99999 || th.Thread != (i > 0 && ths[i-1].TGID == th.TGID) {
					t.Errorf("implausible thread %+v", th)
				}
				if count[th.TGID]++; count[th.TGID] == 1 {
					fromThreads = append(fromThreads, fmt.Sprintf("%d %s", th.TGID, th.Comm))
				}
			}
			var procs []string
			for i := range ps {
				p := &ps[i]
				procs = append(procs, fmt.Sprintf("%d %s", p.PID, p.Comm))
				if p.PID != p.TGID || p.Thread || p.NumThreads != count[p.PID] || p.Name != p.Comm || p.PPID != -1 || p.EUID != ^uint32(0) {
					t.Errorf("process %+v (%d threads listed)", p, count[p.PID])
				}
			}
			if strings.Join(procs, ", ") != strings.Join(fromThreads, ", ") {
				t.Errorf("processes %v, threads' processes %v", procs, fromThreads)
			}
			// Selecting by PID; by user needs DWARF.
			for _, pid := range []int32{11, ths[0].TGID} {
				sel, err := s.GetProcs(Filter{Op: ByPID, Arg: int64(pid), Threads: true})
				if err != nil || len(sel) != count[pid] {
					t.Errorf("pid %d: %d threads, %v; want %d", pid, len(sel), err, count[pid])
				}
			}
			if _, err := s.GetProcs(Filter{Op: ByUID, Arg: 0}); err == nil || !strings.Contains(err.Error(), "DWARF") {
				t.Errorf("selecting by uid without DWARF: %v", err)
			}
		})
	}
}

// fbsdMem is kernel memory built by hand (4 KiB pages) with symbols,
// little-endian, with pointers of ptr bytes.
type fbsdMem struct {
	*testfix.SparseMem
	ptr     int
	exports int
}

func newFbsdMem(ptr int) *fbsdMem {
	return &fbsdMem{SparseMem: testfix.NewSparseMem(), ptr: ptr}
}

func (m *fbsdMem) u32(a uint64, v uint32) { m.Write(a, binary.LittleEndian.AppendUint32(nil, v)) }

func (m *fbsdMem) ptrAt(a, v uint64) {
	if m.ptr == 4 {
		m.u32(a, uint32(v))
		return
	}
	m.Write(a, binary.LittleEndian.AppendUint64(nil, v))
}

func (m *fbsdMem) str(a uint64, s string) { m.Write(a, append([]byte(s), 0)) }

// export makes the kernel export offset v as symbol sym.
func (m *fbsdMem) export(sym string, v uint32) {
	a := uint64(0x1000 + 8*m.exports)
	m.exports++
	m.Syms[sym] = a
	m.u32(a, v)
}

// fbsdOffs is a struct layout for the synthetic dumps.
type fbsdOffs map[string]uint64

// fbsdBuild lays out allproc: procs[i] at addrs[i], each with threads
// (tid, name) at their own addresses, well linked.
type fbsdProcSpec struct {
	addr    uint64
	pid     int32
	comm    string
	threads []fbsdThreadSpec
}

type fbsdThreadSpec struct {
	addr uint64
	tid  int32
	name string
}

func (m *fbsdMem) build(o fbsdOffs, allproc uint64, procs []fbsdProcSpec) {
	ps := uint64(m.ptr)
	m.Syms["allproc"] = allproc
	first := uint64(0)
	if len(procs) > 0 {
		first = procs[0].addr
	}
	m.ptrAt(allproc, first)
	for i, p := range procs {
		next, prev := uint64(0), allproc
		if i+1 < len(procs) {
			next = procs[i+1].addr
		}
		if i > 0 {
			prev = procs[i-1].addr + o["p_list"]
		}
		m.ptrAt(p.addr+o["p_list"], next)
		m.ptrAt(p.addr+o["p_list"]+ps, prev)
		m.u32(p.addr+o["p_pid"], uint32(p.pid))
		m.str(p.addr+o["p_comm"], p.comm)
		head := p.addr + o["p_threads"]
		last := head
		m.ptrAt(head, 0)
		for j, td := range p.threads {
			if j == 0 {
				m.ptrAt(head, td.addr)
			} else {
				m.ptrAt(p.threads[j-1].addr+o["td_plist"], td.addr)
			}
			m.ptrAt(td.addr+o["td_plist"], 0)
			m.ptrAt(td.addr+o["td_plist"]+ps, last)
			last = td.addr + o["td_plist"]
			m.u32(td.addr+o["td_tid"], uint32(td.tid))
			m.str(td.addr+o["td_name"], td.name)
			if off, ok := o["td_oncpu"]; ok {
				m.u32(td.addr+off, ^uint32(0))
			}
		}
		m.ptrAt(head+ps, last)
	}
}

// getProcsBounded is GetProcs, failing the test if it does not return
// within seconds.
func getProcsBounded(t *testing.T, s *System, f Filter) ([]Proc, error) {
	t.Helper()
	type result struct {
		ps  []Proc
		err error
	}
	done := make(chan result, 1)
	go func() {
		ps, err := s.GetProcs(f)
		done <- result{ps, err}
	}()
	select {
	case r := <-done:
		return r.ps, r.err
	case <-time.After(20 * time.Second):
		t.Fatal("GetProcs did not return")
	}
	return nil, nil
}

// The layout of the synthetic dumps without DWARF: that of the amd64
// dumps.
var fbsdAmd64 = fbsdOffs{"p_list": 0, "p_pid": 196, "p_comm": 984, "p_threads": 16, "td_tid": 160, "td_name": 700, "td_plist": 16, "td_oncpu": 1724}

func exportAll(m *fbsdMem, o fbsdOffs) {
	for _, e := range fbsdExported {
		if v, ok := o[e.member]; ok {
			m.export(e.sym, uint32(v))
		}
	}
}

// TestFreeBSDCorrupt: broken process and thread lists give what could be
// read and a *PartialError holding a *bind.ListError that names the entry
// whose link is bad; nonsense offsets are refused. Nothing hangs.
func TestFreeBSDCorrupt(t *testing.T) {
	const allproc = 0xffffffff81c9a2f0
	const A, B, C = 0xfffff80002c3b000, 0xfffff80003845000, 0xfffff80003374000
	const T1, T2, T3, T4 = 0xfffffe0045b11c00, 0xfffffe00458c2000, 0xfffffe0045b13000, 0xfffffe00009f7000
	o := fbsdAmd64
	spec := []fbsdProcSpec{
		{A, 800, "sysctl", []fbsdThreadSpec{{T1, 100670, "sysctl"}}},
		{B, 28, "pagedaemon", []fbsdThreadSpec{{T2, 100210, "dom0"}, {T3, 100214, "laundry: dom0"}}},
		{C, 11, "idle", []fbsdThreadSpec{{T4, 100003, "idle: cpu0"}}},
	}
	for _, c := range []struct {
		name    string
		edit    func(m *fbsdMem)
		threads []int32 // the thread IDs listed
		node    uint64  // the entry the *bind.ListError names; 0: no error
		msg     string
	}{
		{"well formed", nil, []int32{100670, 100210, 100214, 100003}, 0, ""},
		{"allproc cycle", func(m *fbsdMem) { m.ptrAt(C+o["p_list"], A) }, []int32{100670, 100210, 100214, 100003}, C + o["p_list"], "cycle"},
		{"allproc into itself", func(m *fbsdMem) { m.ptrAt(B+o["p_list"], B) }, []int32{100670, 100210, 100214}, B + o["p_list"], "cycle"},
		{"allproc outside the dump", func(m *fbsdMem) { m.ptrAt(A+o["p_list"], 0xfffff800dead0000) }, []int32{100670}, A + o["p_list"], "cannot read"},
		{"process NULL back link", func(m *fbsdMem) { m.ptrAt(B+o["p_list"]+8, 0) }, []int32{100670}, B + o["p_list"], "NULL back link le_prev"},
		{"thread cycle", func(m *fbsdMem) { m.ptrAt(T3+o["td_plist"], T2) }, []int32{100670, 100210, 100214, 100003}, T3 + o["td_plist"], "cycle"},
		{"thread outside the dump", func(m *fbsdMem) { m.ptrAt(T2+o["td_plist"], 0xfffffe00dead0000) }, []int32{100670, 100210, 100003}, T2 + o["td_plist"], "cannot read"},
		{"thread NULL back link", func(m *fbsdMem) { m.ptrAt(T3+o["td_plist"]+8, 0) }, []int32{100670, 100210, 100003}, T3 + o["td_plist"], "NULL back link tqe_prev"},
		{"p_threads outside the dump", func(m *fbsdMem) { m.ptrAt(B+o["p_threads"], 0x10) }, []int32{100670, 28, 100003}, B + o["p_threads"], "cannot read"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newFbsdMem(8)
			exportAll(m, o)
			m.build(o, allproc, spec)
			if c.edit != nil {
				c.edit(m)
			}
			if _, err := NewFreeBSD(m, nil); err == nil || !strings.Contains(err.Error(), "data model") {
				t.Fatalf("NewFreeBSD without a data model: %v", err)
			}
			di := &fakeDataModel{dm: dwarfmodel.DataModel{Arch: "x86_64", PtrSize: 8, ByteOrder: binary.LittleEndian}}
			s, err := NewFreeBSD(m, di)
			if err != nil {
				t.Fatal(err)
			}
			ths, err := getProcsBounded(t, s, Filter{Threads: true})
			var tids []int32
			for _, p := range ths {
				tids = append(tids, p.PID)
			}
			if fmt.Sprint(tids) != fmt.Sprint(c.threads) {
				t.Errorf("threads %v, want %v (%v)", tids, c.threads, err)
			}
			if c.node == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *PartialError
			var le *bind.ListError
			if !errors.As(err, &pe) || !errors.As(err, &le) || le.Node != c.node || !strings.Contains(le.Msg, c.msg) || !strings.Contains(err.Error(), fmt.Sprintf("%#x", c.node)) {
				t.Fatalf("%v; want a *PartialError with a *bind.ListError naming node %#x, about %q", err, c.node, c.msg)
			}
		})
	}

	// Offsets no structure has, missing exports and missing allproc.
	m := newFbsdMem(8)
	exportAll(m, o)
	m.build(o, allproc, spec)
	dm := &fakeDataModel{dm: dwarfmodel.DataModel{Arch: "x86_64", PtrSize: 8, ByteOrder: binary.LittleEndian}}
	m.u32(m.Syms["proc_off_p_comm"], 0x7fffffff)
	if _, err := NewFreeBSD(m, dm); err == nil || !strings.Contains(err.Error(), "proc_off_p_comm") {
		t.Errorf("absurd proc_off_p_comm: %v", err)
	}
	m.u32(m.Syms["proc_off_p_comm"], uint32(o["p_comm"]))
	delete(m.Syms, "thread_off_td_tid")
	if _, err := NewFreeBSD(m, dm); err == nil || !strings.Contains(err.Error(), "td_tid") {
		t.Errorf("no thread_off_td_tid: %v", err)
	}
	m.export("thread_off_td_tid", uint32(o["td_tid"]))
	delete(m.Syms, "allproc")
	if IsFreeBSD(m) {
		t.Errorf("IsFreeBSD without allproc")
	}
	s, err := NewFreeBSD(m, dm)
	if err != nil {
		t.Fatal(err)
	}
	if ps, err := s.GetProcs(Filter{}); err == nil || len(ps) != 0 || !strings.Contains(err.Error(), "allproc") {
		t.Errorf("no allproc: %v, %v", ps, err)
	}
}

// fakeDataModel is a DebugInfo with a data model and no types.
type fakeDataModel struct{ dm dwarfmodel.DataModel }

func (f *fakeDataModel) DataModel() dwarfmodel.DataModel { return f.dm }
func (f *fakeDataModel) BuildID() string                 { return "" }
func (f *fakeDataModel) Type(name string) (dwarfmodel.Type, error) {
	return nil, fmt.Errorf("no type %s", name)
}
func (f *fakeDataModel) Variable(name string) (*dwarfmodel.Variable, error) {
	return nil, fmt.Errorf("no variable %s", name)
}

// fbsdKernelC declares FreeBSD 13's struct proc, struct thread, struct
// ucred, struct pgrp and struct session with the members procs reads (and
// some padding), by their FreeBSD names and types.
const fbsdKernelC = `
#include <stdint.h>
#include <sys/types.h>
typedef int32_t lwpid_t;
typedef uint32_t uid_t_, gid_t_;
struct proc;
struct session { int s_count; struct proc *s_leader; void *s_ttyvp; int s_sid; };
struct pgrp { struct { struct proc *lh_first; } pg_members; struct session *pg_session; void *pg_sigiolst; int pg_id; };
struct ucred { unsigned cr_ref; uid_t_ cr_uid; uid_t_ cr_ruid; uid_t_ cr_svuid; int cr_ngroups; gid_t_ cr_rgid; gid_t_ cr_svgid; void *cr_uidinfo; gid_t_ *cr_groups; };
enum td_states { TDS_INACTIVE = 0x0, TDS_INHIBITED, TDS_CAN_RUN, TDS_RUNQ, TDS_RUNNING };
struct thread { void *td_lock; struct proc *td_proc; struct { struct thread *tqe_next; struct thread **tqe_prev; } td_plist;
	char pad0[40]; int td_flags; int td_inhibitors; lwpid_t td_tid; char pad1[100]; char td_name[20]; int td_lastcpu; int td_oncpu; enum td_states td_state; };
enum p_states { PRS_NEW = 0, PRS_NORMAL, PRS_ZOMBIE };
struct proc { struct { struct proc *le_next; struct proc **le_prev; } p_list; struct { struct thread *tqh_first; struct thread **tqh_last; } p_threads;
	char pad0[24]; struct ucred *p_ucred; int p_flag; enum p_states p_state; pid_t p_pid; char pad1[60]; struct proc *p_pptr; struct pgrp *p_pgrp; char p_comm[20]; int p_numthreads; };
struct proc p0; struct thread t0; struct pgrp g0; struct session s0; struct ucred c0;
int main(void) { return 0; }
`

// TestFreeBSDDWARF reads a synthetic FreeBSD kernel whose types come from
// DWARF (compiled by gcc from FreeBSD's declarations): parent, user and
// group IDs, process group, session, state letters and CPUs, as libkvm
// and FreeBSD's ps derive them; offsets the kernel does not export are
// taken from DWARF, and DWARF that disagrees with an exported offset is
// refused.
func TestFreeBSDDWARF(t *testing.T) {
	testfix.Tool(t, "gcc")
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "kernel.c"), filepath.Join(dir, "kernel.debug")
	if err := os.WriteFile(src, []byte(fbsdKernelC), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-g", "-O0", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	di, err := dwarfmodel.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer di.Close()
	if di.DataModel().PtrSize != 8 {
		t.Skipf("gcc builds for %s", di.DataModel().Arch)
	}
	o := fbsdOffs{}
	for st, members := range map[string][]string{
		"struct proc":    {"p_list", "p_threads", "p_ucred", "p_flag", "p_state", "p_pid", "p_pptr", "p_pgrp", "p_comm"},
		"struct thread":  {"td_plist", "td_flags", "td_inhibitors", "td_tid", "td_name", "td_lastcpu", "td_oncpu", "td_state"},
		"struct ucred":   {"cr_uid", "cr_ruid", "cr_rgid", "cr_groups"},
		"struct pgrp":    {"pg_session", "pg_id"},
		"struct session": {"s_sid"},
	} {
		typ, err := di.Type(st)
		if err != nil {
			t.Fatal(err)
		}
		for _, mb := range members {
			off, _, ok := dwarfmodel.MemberPath(dwarfmodel.Underlying(typ).(*dwarfmodel.Struct), mb)
			if !ok {
				t.Fatalf("%s has no %s", st, mb)
			}
			o[mb] = uint64(off)
		}
	}
	const allproc = 0xffffffff81c9a2f0
	const (
		pInit, pSh, pKernel, pZomb, pStop = 0xfffff80000100000, 0xfffff80000101000, 0xfffff80000102000, 0xfffff80000103000, 0xfffff80000104000
		tInit, tSh1, tSh2, tKernel, tStop = 0xfffffe0000200000, 0xfffffe0000201000, 0xfffffe0000202000, 0xfffffe0000203000, 0xfffffe0000204000
		crRoot, crUser, groups            = 0xfffff80000300000, 0xfffff80000301000, 0xfffff80000302000
		pgrp1, pgrp42, sess1              = 0xfffff80000400000, 0xfffff80000401000, 0xfffff80000402000
	)
	m := newFbsdMem(8)
	// Exported: all but p_comm and td_oncpu, which DWARF supplies.
	for _, e := range fbsdExported {
		if e.member != "p_comm" && e.member != "td_oncpu" {
			m.export(e.sym, uint32(o[e.member]))
		}
	}
	m.build(o, allproc, []fbsdProcSpec{
		{pInit, 1, "init", []fbsdThreadSpec{{tInit, 100002, "init"}}},
		{pSh, 42, "sh", []fbsdThreadSpec{{tSh1, 100100, "sh"}, {tSh2, 100101, "worker"}}},
		{pKernel, 0, "kernel", []fbsdThreadSpec{{tKernel, 100000, "swapper"}}},
		{pZomb, 77, "zomb", nil},
		{pStop, 78, "stopped", []fbsdThreadSpec{{tStop, 100300, "stopped"}}},
	})
	proc := func(p uint64, pptr, ucred, pgrp uint64, flag, state uint32) {
		m.ptrAt(p+o["p_pptr"], pptr)
		m.ptrAt(p+o["p_ucred"], ucred)
		m.ptrAt(p+o["p_pgrp"], pgrp)
		m.u32(p+o["p_flag"], flag)
		m.u32(p+o["p_state"], state)
	}
	proc(pInit, pKernel, crRoot, pgrp1, 0, 1)
	proc(pSh, pInit, crUser, pgrp42, 0, 1)
	proc(pKernel, 0, crRoot, 0, 0x200, 1) // P_SYSTEM
	proc(pZomb, pSh, crUser, pgrp42, 0, 2)
	proc(pStop, pSh, crUser, pgrp42, 0x20000, 1) // P_STOPPED_SIG
	thread := func(td uint64, state, inhibitors, flags uint32, lastcpu, oncpu int32) {
		m.u32(td+o["td_state"], state)
		m.u32(td+o["td_inhibitors"], inhibitors)
		m.u32(td+o["td_flags"], flags)
		m.u32(td+o["td_lastcpu"], uint32(lastcpu))
		m.u32(td+o["td_oncpu"], uint32(oncpu))
	}
	thread(tInit, 1, 0x2, 0x8, 3, -1)  // sleeping, interruptibly, last on CPU 3
	thread(tSh1, 4, 0, 0, 2, 2)        // running on CPU 2
	thread(tSh2, 1, 0x2, 0, 1, -1)     // sleeping uninterruptibly
	thread(tKernel, 1, 0x8, 0, -1, -1) // blocked on a lock
	thread(tStop, 1, 0x1, 0, 0, -1)    // suspended
	for _, cr := range []struct {
		addr                  uint64
		uid, ruid, rgid, egid uint32
	}{{crRoot, 0, 0, 0, 0}, {crUser, 1001, 1000, 20, 5}} {
		m.u32(cr.addr+o["cr_uid"], cr.uid)
		m.u32(cr.addr+o["cr_ruid"], cr.ruid)
		m.u32(cr.addr+o["cr_rgid"], cr.rgid)
		m.ptrAt(cr.addr+o["cr_groups"], groups+uint64(cr.egid)*4)
		m.u32(groups+uint64(cr.egid)*4, cr.egid)
	}
	m.ptrAt(pgrp1+o["pg_session"], sess1)
	m.u32(pgrp1+o["pg_id"], 1)
	m.ptrAt(pgrp42+o["pg_session"], sess1)
	m.u32(pgrp42+o["pg_id"], 42)
	m.u32(sess1+o["s_sid"], 1)

	s, err := NewFreeBSD(m, di)
	if err != nil {
		t.Fatal(err)
	}
	row := func(p *Proc) string {
		return fmt.Sprintf("%d/%d ppid=%d uid=%d/%d gid=%d/%d pgrp=%d sid=%d %c cpu=%d k=%v n=%d %s", p.TGID, p.PID, p.PPID, p.UID, p.EUID, p.GID, p.EGID, p.PGRP, p.SID, p.State, p.CPU, p.Kernel, p.NumThreads, p.Name)
	}
	want := []string{
		"1/1 ppid=0 uid=0/0 gid=0/0 pgrp=1 sid=1 S cpu=3 k=false n=1 init",
		"42/42 ppid=1 uid=1000/1001 gid=20/5 pgrp=42 sid=1 R cpu=2 k=false n=2 sh",
		"0/0 ppid=0 uid=0/0 gid=0/0 pgrp=-1 sid=-1 L cpu=-1 k=true n=1 kernel",
		"77/77 ppid=42 uid=1000/1001 gid=20/5 pgrp=42 sid=1 Z cpu=-1 k=false n=0 zomb",
		"78/78 ppid=42 uid=1000/1001 gid=20/5 pgrp=42 sid=1 T cpu=0 k=false n=1 stopped",
	}
	ps, err := getProcsBounded(t, s, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if i >= len(want) || row(&ps[i]) != want[i] {
			t.Errorf("process %d: %s", i, row(&ps[i]))
		}
	}
	if len(ps) != len(want) {
		t.Errorf("%d processes, want %d", len(ps), len(want))
	}
	ths, err := getProcsBounded(t, s, Filter{Threads: true, Op: ByPID, Arg: 42})
	if err != nil || len(ths) != 2 {
		t.Fatalf("threads of 42: %v, %v", ths, err)
	}
	if r := row(&ths[0]); r != "42/100100 ppid=1 uid=1000/1001 gid=20/5 pgrp=42 sid=1 R cpu=2 k=false n=2 sh/sh" || ths[0].Thread || ths[0].Addr != tSh1 {
		t.Errorf("thread 0: %s", r)
	}
	if r := row(&ths[1]); r != "42/100101 ppid=1 uid=1000/1001 gid=20/5 pgrp=42 sid=1 D cpu=1 k=false n=2 sh/worker" || !ths[1].Thread || ths[1].Addr != tSh2 {
		t.Errorf("thread 1: %s", r)
	}
	for _, c := range []struct {
		f    Filter
		pids string
	}{
		{Filter{Op: ByUID, Arg: 1001}, "[42 77 78]"},
		{Filter{Op: ByRUID, Arg: 0}, "[1 0]"},
		{Filter{Op: ByPGRP, Arg: 1}, "[1]"},
		{Filter{Op: BySession, Arg: 1}, "[1 42 77 78]"},
		{Filter{Op: ByPID, Arg: 0}, "[0]"},
	} {
		got, err := getProcsBounded(t, s, c.f)
		var pids []int32
		for _, p := range got {
			pids = append(pids, p.PID)
		}
		if err != nil || fmt.Sprint(pids) != c.pids {
			t.Errorf("%v %d: %v, %v; want %s", c.f.Op, c.f.Arg, pids, err, c.pids)
		}
	}
	if _, err := s.GetProcs(Filter{Op: ByTTY, Arg: 0}); err == nil {
		t.Errorf("selecting by terminal succeeded")
	}

	// An exported offset the DWARF disagrees with: types of another kernel.
	m.u32(m.Syms["proc_off_p_pid"], uint32(o["p_pid"])+4)
	if _, err := NewFreeBSD(m, di); err == nil || !strings.Contains(err.Error(), "another kernel") {
		t.Errorf("DWARF disagreeing with proc_off_p_pid: %v", err)
	}
}
