package procs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fakeTarget is kernel memory built by hand, page by page.
type fakeTarget struct {
	pages map[uint64][]byte // 4 KiB pages by virtual address
	syms  map[string]uint64
}

func newFake() *fakeTarget {
	return &fakeTarget{pages: map[uint64][]byte{}, syms: map[string]uint64{}}
}

func (f *fakeTarget) ReadMemory(buf []byte, addr uint64) (int, error) {
	n := 0
	for n < len(buf) {
		a := addr + uint64(n)
		p, ok := f.pages[a&^0xfff]
		if !ok {
			return n, fmt.Errorf("address %#x not in the fake dump", a)
		}
		n += copy(buf[n:], p[a&0xfff:])
	}
	return n, nil
}

func (f *fakeTarget) LookupSymbol(name string) (uint64, error) {
	if v, ok := f.syms[name]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("no symbol %s", name)
}

func (f *fakeTarget) BuildID() string { return "" }

func (f *fakeTarget) put64(addr, v uint64) {
	p, ok := f.pages[addr&^0xfff]
	if !ok {
		p = make([]byte, 4096)
		f.pages[addr&^0xfff] = p
	}
	binary.LittleEndian.PutUint64(p[addr&0xfff:], v)
}

func (f *fakeTarget) putBytes(addr uint64, b []byte) {
	for i, c := range b {
		a := addr + uint64(i)
		p, ok := f.pages[a&^0xfff]
		if !ok {
			p = make([]byte, 4096)
			f.pages[a&^0xfff] = p
		}
		p[a&0xfff] = c
	}
}

const fakePOB = 0xffff_8880_0000_0000

func fakeLayout() *Layout {
	l := &Layout{Version: LayoutVersion, Arch: "x86_64", PtrSize: 8}
	l.Task.Tasks = Field{Path: "tasks", Off: 16, Size: 16}
	return l
}

// TestUserWalkerSynthetic builds x86-64 page tables for a process by hand:
// one 4 KiB page at 0x400000, a swapped-out page after it, and a 2 MiB
// page at 0x600000.
func TestUserWalkerSynthetic(t *testing.T) {
	f := newFake()
	f.syms["page_offset_base"] = 0xffffffff82000000
	f.put64(0xffffffff82000000, fakePOB)
	phys := func(pa uint64) uint64 { return fakePOB + pa }
	const pgd, pud, pmd, pt = 0x1000, 0x2000, 0x3000, 0x4000
	f.put64(phys(pgd)+0*8, pud|0x67)
	f.put64(phys(pud)+0*8, pmd|0x67)
	f.put64(phys(pmd)+2*8, pt|0x67)                              // 0x400000
	f.put64(phys(pmd)+3*8, 0x20_0000|0x80|0x67)                  // 0x600000: 2 MiB page at phys 2 MiB
	f.put64(phys(pt)+0*8, 0x5000|0x67)                           // 0x400000 -> phys 0x5000
	f.put64(phys(pt)+1*8, 0x3c00)                                // 0x401000: a swap entry
	f.putBytes(phys(0x5000)+0xff0, []byte("hello\x00world\x00")) // crosses into 0x401000
	f.putBytes(phys(0x20_0000)+0x1ffff0, []byte("big\x00page\x00"))

	s, err := New(f, fakeLayout())
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{PID: 42, Mm: 0xffff_8880_0001_0000, Pgd: phys(pgd)}

	// Within the first page.
	p.ArgStart, p.ArgEnd = 0x400ff0, 0x400ffc
	argv, err := s.Argv(p)
	if err != nil || strings.Join(argv, ",") != "hello,world" {
		t.Errorf("Argv = %q, %v", argv, err)
	}
	// Into the swapped-out page: a typed error, not a short string.
	p.ArgEnd = 0x401004
	_, err = s.Argv(p)
	var ue *UserMemoryError
	var pe *PageNotPresentError
	if !errors.As(err, &ue) || !errors.As(err, &pe) {
		t.Fatalf("got %v, want *UserMemoryError wrapping *PageNotPresentError", err)
	}
	if ue.PID != 42 || ue.Addr != 0x401000 || pe.Level != 1 || pe.Entry != 0x3c00 {
		t.Errorf("error %+v / %+v", ue, pe)
	}
	if !strings.Contains(err.Error(), "swapped out") {
		t.Errorf("message %q", err)
	}
	// A 2 MiB page, read up to its end.
	p.EnvStart, p.EnvEnd = 0x7ffff0, 0x7ffff9
	env, err := s.Envv(p)
	if err != nil || strings.Join(env, ",") != "big,page" {
		t.Errorf("Envv = %q, %v", env, err)
	}
	// Mapped, but the page is not in the dump: the dump's error, wrapped.
	f.put64(phys(pt)+2*8, 0x9000|0x67) // 0x402000 -> phys 0x9000, never stored
	p.EnvStart, p.EnvEnd = 0x402000, 0x402010
	if _, err := s.Envv(p); !errors.As(err, &ue) || ue.Addr != 0x402000 || !strings.Contains(err.Error(), "not in the fake dump") {
		t.Errorf("absent page: %v", err)
	}
	// Unmapped at the top level.
	p.EnvStart, p.EnvEnd = 0x7f00_0000_0000, 0x7f00_0000_0010
	if _, err := s.Envv(p); !errors.As(err, &pe) || pe.Level != 4 || pe.Entry != 0 {
		t.Errorf("unmapped: %v", err)
	}
	// Bounds: an area larger than the limit is refused before any read.
	p.ArgStart, p.ArgEnd = 0x400000, 0x400000+64<<20
	if _, err := s.Cmdline(p); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("huge area: %v", err)
	}
	p.ArgStart, p.ArgEnd = 0x400010, 0x400000
	if _, err := s.Cmdline(p); err == nil {
		t.Error("end before start accepted")
	}
	// Kernel threads have no user memory.
	if _, err := s.Argv(&Proc{PID: 2}); !errors.Is(err, ErrKernelThread) {
		t.Errorf("kernel thread: %v", err)
	}
}

// TestTaskListCycle: a task list that loops without returning to its
// head is an error naming the list, not a hang.
func TestTaskListCycle(t *testing.T) {
	f := newFake()
	const initTask, a, b = 0xffffffff83000000, 0xffff888000100000, 0xffff888000200000
	f.syms["init_task"] = initTask
	f.put64(initTask+16, a+16) // init_task.tasks.next = &a.tasks
	f.put64(a+16, b+16)
	f.put64(b+16, a+16) // b -> a: a cycle that skips the head
	s, err := New(f, fakeLayout())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.GetProcs(Filter{})
	if err == nil || !strings.Contains(err.Error(), "cycle") || !strings.Contains(err.Error(), "init_task.tasks") {
		t.Errorf("got %v, want a cycle error", err)
	}
	f.put64(b+16, 0)
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

func (f *fakeTarget) put32(addr uint64, v uint32) {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, v)
	f.putBytes(addr, b)
}

// TestPerCPUSum: per-CPU deltas are summed over online and dying CPUs
// only, at pointer + __per_cpu_offset[cpu].
func TestPerCPUSum(t *testing.T) {
	f := newFake()
	const offs, online, dying, nr = 0xffffffff82100000, 0xffffffff82200000, 0xffffffff82200100, 0xffffffff82300000
	f.syms["__per_cpu_offset"], f.syms["__cpu_online_mask"], f.syms["__cpu_dying_mask"], f.syms["nr_cpu_ids"] = offs, online, dying, nr
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
