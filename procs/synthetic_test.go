package procs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

// fakeTarget is kernel memory built by hand, page by page: little-endian
// x86-64.
type fakeTarget struct {
	*testfix.SparseMem
}

func newFake() *fakeTarget { return &fakeTarget{testfix.NewSparseMem()} }

func (f *fakeTarget) put64(addr, v uint64) { f.Write(addr, binary.LittleEndian.AppendUint64(nil, v)) }

func (f *fakeTarget) put32(addr uint64, v uint32) {
	f.Write(addr, binary.LittleEndian.AppendUint32(nil, v))
}

// fakeLayout is the layout of the kernel the bindings were generated from
// (x86-64 Debian 6.1): their generation-time table. tasksOff is where its
// task_struct.tasks lies.
func fakeLayout() *Layout {
	tab, err := bind.ResolveTable(&kvmSpecLinux, &fakeDI{buildID: linuxBuildID})
	if err != nil {
		panic(err)
	}
	return layoutOf(tab)
}

const tasksOff = linuxOffsetofTaskStructTasks

// fakeUser is process memory: bytes from base, then a page that is not
// there.
type fakeUser struct {
	base uint64
	mem  []byte
	pgd  uint64
}

func (u *fakeUser) ReadUser(pgd, addr uint64, buf []byte) (int, error) {
	if pgd != u.pgd {
		return 0, fmt.Errorf("pgd %#x", pgd)
	}
	if addr < u.base {
		return 0, &kvm.NotMappedError{PGD: pgd, Addr: addr, Level: 4}
	}
	n := 0
	if off := addr - u.base; off < uint64(len(u.mem)) {
		n = copy(buf, u.mem[off:])
	}
	if n < len(buf) {
		a := addr + uint64(n)
		return n, &kvm.SwappedOutError{PGD: pgd, Addr: a, Entry: 0x1234, Type: 1, Offset: 0x99, Decoded: true}
	}
	return n, nil
}

// TestArgvSemantics: the nchr limit cuts like FreeBSD's kvm_getargv, and a
// page that cannot be read ends the vector with what was read.
func TestArgvSemantics(t *testing.T) {
	u := &fakeUser{base: 0x400000, mem: []byte("prog\x00-v\x00long-argument\x00"), pgd: 0xffff888000001000}
	s, err := New(newFake(), fakeLayout(), Options{User: u})
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{PID: 42, Mm: 1, Pgd: u.pgd, ArgStart: 0x400000, ArgEnd: 0x400000 + uint64(len(u.mem))}
	for _, c := range []struct {
		nchr int
		want string
	}{
		{-1, "prog,-v,long-argument"}, {0, "prog,-v,long-argument"}, {1000, "prog,-v,long-argument"},
		{len(u.mem), "prog,-v,long-argument"},
		{len(u.mem) - 1, "prog,-v,long-argumen"}, // cut, NUL at byte nchr
		{5, "prog"}, {6, "prog,"}, {8, "prog,-v"}, {10, "prog,-v,l"}, {1, ""},
	} {
		argv, err := s.GetArgv(p, c.nchr)
		if err != nil || strings.Join(argv, ",") != c.want {
			t.Errorf("GetArgv(nchr %d) = %q, %v; want %q", c.nchr, argv, err, c.want)
		}
	}
	// The area runs into a swapped-out page: what was read, and why not more.
	p.ArgEnd += 16
	argv, err := s.Argv(p)
	var ue *UserMemoryError
	var se *kvm.SwappedOutError
	if strings.Join(argv, ",") != "prog,-v,long-argument" || !errors.As(err, &ue) || !errors.As(err, &se) {
		t.Fatalf("Argv = %q, %v; want the three strings and a *UserMemoryError wrapping *kvm.SwappedOutError", argv, err)
	}
	if ue.PID != 42 || ue.Addr != p.ArgStart+uint64(len(u.mem)) || se.Type != 1 || se.Offset != 0x99 {
		t.Errorf("error %+v / %+v", ue, se)
	}
	b, err := s.Cmdline(p)
	if string(b) != string(u.mem) || err == nil {
		t.Errorf("Cmdline = %q, %v", b, err)
	}
	// Nothing readable: no vector, the error.
	p.ArgStart, p.ArgEnd = 0x1000, 0x1010
	var ne *kvm.NotMappedError
	if argv, err := s.Argv(p); argv != nil || !errors.As(err, &ne) || ne.Level != 4 {
		t.Errorf("unmapped: %q, %v", argv, err)
	}
	// Bounds: an area larger than the limit is refused before any read,
	// unless nchr bounds it.
	p.ArgStart, p.ArgEnd = 0x400000, 0x400000+64<<20
	if _, err := s.Cmdline(p); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("huge area: %v", err)
	}
	if argv, err := s.GetArgv(p, 8); strings.Join(argv, ",") != "prog,-v" || err != nil {
		t.Errorf("huge area, nchr 8: %q, %v", argv, err)
	}
	p.ArgStart, p.ArgEnd = 0x400010, 0x400000
	if _, err := s.Cmdline(p); err == nil {
		t.Error("end before start accepted")
	}
	// Kernel threads have no user memory.
	if _, err := s.Argv(&Proc{PID: 2}); !errors.Is(err, ErrKernelThread) {
		t.Errorf("kernel thread: %v", err)
	}
	// A target that cannot read process memory says so.
	s2, _ := New(newFake(), fakeLayout())
	if _, err := s2.Argv(&Proc{PID: 3, Mm: 1, ArgStart: 1, ArgEnd: 2}); !errors.Is(err, errNoUserReader) {
		t.Errorf("no reader: %v", err)
	}
}

// TestTaskListCycle: a task list that loops without returning to its
// head is an error naming the list, not a hang.
func TestTaskListCycle(t *testing.T) {
	f := newFake()
	const initTask, a, b = 0xffffffff83000000, 0xffff888000100000, 0xffff888000200000
	f.Syms["init_task"] = initTask
	f.put64(initTask+tasksOff, a+tasksOff) // init_task.tasks.next = &a.tasks
	f.put64(a+tasksOff, b+tasksOff)
	f.put64(b+tasksOff, a+tasksOff) // b -> a: a cycle that skips the head
	s, err := New(f, fakeLayout())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.GetProcs(Filter{})
	if err == nil || !strings.Contains(err.Error(), "cycle") || !strings.Contains(err.Error(), "init_task.tasks") {
		t.Errorf("got %v, want a cycle error", err)
	}
	f.put64(b+tasksOff, 0)
	if _, err = s.GetProcs(Filter{}); err == nil || !strings.Contains(err.Error(), "NULL") {
		t.Errorf("got %v, want a NULL-pointer error", err)
	}
}

func TestStateChar(t *testing.T) {
	for _, c := range []struct {
		state, exit uint64
		want        byte
	}{
		{0, 0, 'R'}, {1, 0, 'S'}, {2, 0, 'D'}, {4, 0, 'T'}, {8, 0, 't'},
		{0, 16, 'X'}, {0, 32, 'Z'}, {0x40, 0, 'P'}, {0x402, 0, 'I'},
		{0x1000, 0, 'D'}, // TASK_RTLOCK_WAIT reported as uninterruptible
		{0x2001, 0, 'S'}, // TASK_FREEZABLE is not reported
	} {
		if got := stateChar(c.state, c.exit); got != c.want {
			t.Errorf("stateChar(%#x, %#x) = %c, want %c", c.state, c.exit, got, c.want)
		}
	}
}

func TestNewEncodeDev(t *testing.T) {
	// ttyS0 is 4:64 (tty_nr 1088); pts 136:300 -> 0x8812c (557356? see kdev_t.h).
	if got := newEncodeDev(4, 64); got != 1088 {
		t.Errorf("4:64 -> %d", got)
	}
	if got := newEncodeDev(136, 300); got != (300&0xff)|136<<8|(300&^0xff)<<12 {
		t.Errorf("136:300 -> %#x", got)
	}
}

// TestPerCPUSum: per-CPU deltas are summed over online and dying CPUs
// only, at pointer + __per_cpu_offset[cpu].
func TestPerCPUSum(t *testing.T) {
	f := newFake()
	const offs, online, dying, nr = 0xffffffff82100000, 0xffffffff82200000, 0xffffffff82200100, 0xffffffff82300000
	f.Syms["__per_cpu_offset"], f.Syms["__cpu_online_mask"], f.Syms["__cpu_dying_mask"], f.Syms["nr_cpu_ids"] = offs, online, dying, nr
	f.put32(nr, 4)
	f.put64(online, 0b0101) // CPUs 0 and 2
	f.put64(dying, 0b1000)  // CPU 3 going away: still counted
	const base = 0x40000    // the __percpu pointer
	for cpu, v := range []int32{5, 1000, -2, 7} {
		po := uint64(0xffff888010000000) + uint64(cpu)*0x100000
		f.put64(offs+uint64(cpu)*8, po)
		f.put32(base+po, uint32(v))
	}
	s, err := New(f, fakeLayout())
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.perCPUSum32(base)
	if err != nil || got != 5-2+7 {
		t.Errorf("perCPUSum32 = %d, %v; want 10 (CPU 1 is offline)", got, err)
	}
	if got, err := s.perCPUSum32(0); got != 0 || err != nil {
		t.Errorf("NULL pointer: %d, %v", got, err)
	}
}

// TestGetProcsPartial: a task that cannot be read is reported, the others
// are returned.
func TestGetProcsPartial(t *testing.T) {
	f := newFake()
	const initTask, a = 0xffffffff83000000, 0xffff888000100000
	const b = 0xffff888000201000 - 16 // its first bytes on a page the dump lacks, its tasks on the next
	f.Syms["init_task"] = initTask
	f.put64(initTask+tasksOff, a+tasksOff)
	f.put64(initTask+tasksOff+8, b+tasksOff)
	f.put64(a+tasksOff, b+tasksOff)
	f.put64(a+tasksOff+8, initTask+tasksOff)
	f.put64(b+tasksOff, initTask+tasksOff)
	f.put64(b+tasksOff+8, a+tasksOff)
	s, err := New(f, fakeLayout())
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.GetProcs(Filter{Idle: true})
	var pe *PartialError
	if !errors.As(err, &pe) || len(pe.Errs) != 1 {
		t.Fatalf("GetProcs: %v; want a *PartialError with one error", err)
	}
	var ke *KernelReadError
	if !errors.As(err, &ke) || !strings.Contains(err.Error(), fmt.Sprintf("%#x", uint64(b))) {
		t.Errorf("error %v does not name the task or wrap a *KernelReadError", err)
	}
	if len(ps) != 2 || ps[0].Addr != initTask || ps[1].Addr != a {
		t.Errorf("got %d tasks %+v, want init_task and a", len(ps), ps)
	}
}

// TestMapleWalkSynthetic: the maple tree walker over hand-built nodes: an
// internal arange_64 root over two leaves, entries in index order, stale
// slots past a node's data ignored; then a cycle, which is an error.
func TestMapleWalkSynthetic(t *testing.T) {
	f := newFake()
	s, err := New(f, fakeLayout())
	if err != nil {
		t.Fatal(err)
	}
	// The x86-64 layout the nodes below are built for, as New takes it
	// from the bindings.
	l := s.Layout()
	for _, c := range []struct {
		got, want Field
	}{
		{l.MapleTree.Root, Field{Path: "ma_root", Off: 8, Size: 8}},
		{l.MapleNode.R64Pivot, Field{Path: "mr64.pivot", Off: 8, Size: 15 * 8}},
		{l.MapleNode.R64Slot, Field{Path: "mr64.slot", Off: 128, Size: 16 * 8}},
		{l.MapleNode.A64Pivot, Field{Path: "ma64.pivot", Off: 8, Size: 9 * 8}},
		{l.MapleNode.A64Slot, Field{Path: "ma64.slot", Off: 80, Size: 10 * 8}},
	} {
		if c.got != c.want {
			t.Fatalf("layout field %+v, want %+v", c.got, c.want)
		}
	}
	if l.MapleNode.Size != 256 {
		t.Fatalf("maple_node size %d", l.MapleNode.Size)
	}
	const tree, root, leafA, leafB = 0xffff888000010000, 0xffff888000020000, 0xffff888000020100, 0xffff888000020200
	enode := func(n, typ uint64) uint64 { return n | typ<<3 | 4 }
	f.put64(tree+8, enode(root, mapleARange64)|2)
	// root: [0, 0x4fff] -> leafA, [0x5000, max] -> leafB.
	f.put64(root+8, 0x4fff)
	f.put64(root+16, ^uint64(0)) // the last range ends at the node's max
	f.put64(root+80, enode(leafA, mapleLeaf64))
	f.put64(root+88, enode(leafB, mapleLeaf64))
	f.put64(root+96, 0xdead0000) // stale: past the data
	// leafA: [0,0xfff] empty, [0x1000,0x1fff] A1, [0x2000,0x4fff] A2.
	f.put64(leafA+8, 0xfff)
	f.put64(leafA+16, 0x1fff)
	f.put64(leafA+24, 0x4fff)
	f.put64(leafA+128+8, 0xa1000)
	f.put64(leafA+128+16, 0xa2000)
	f.put64(leafA+128+24, 0xbad000) // stale: the node ends at its max
	// leafB: [0x5000,0x5fff] B1, [0x6000,max] empty.
	f.put64(leafB+8, 0x5fff)
	f.put64(leafB+16, ^uint64(0))
	f.put64(leafB+128, 0xb1000)
	f.put64(leafB+128+8, 0)
	f.put64(leafB+128+16, 0xbad000) // stale: past the node's max
	var got []string
	err = s.mapleEntries(tree, "test tree", func(e uint64) error { got = append(got, fmt.Sprintf("%#x", e)); return nil })
	if err != nil || strings.Join(got, ",") != "0xa1000,0xa2000,0xb1000" {
		t.Errorf("entries %v, %v", got, err)
	}
	// A cycle: leafB's parent slot points back at the root.
	f.put64(root+88, enode(root, mapleARange64))
	err = s.mapleEntries(tree, "test tree", func(uint64) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "cycle") || !strings.Contains(err.Error(), "test tree") {
		t.Errorf("cycle: %v", err)
	}
	// A kernel thread has no map.
	if _, err := s.Maps(&Proc{PID: 2}); !errors.Is(err, ErrKernelThread) {
		t.Errorf("kernel thread: %v", err)
	}
}

// The maple node types the synthetic trees use (enum maple_type,
// include/linux/maple_tree.h).
const (
	mapleLeaf64   = 1 // maple_leaf_64
	mapleARange64 = 3 // maple_arange_64
)
