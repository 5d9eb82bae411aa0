package procs

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/kvmgen/kvmgen/runtime/bind"
)

// Op selects processes, like the op argument of kvm_getprocs.
type Op int

const (
	All       Op = iota // every process
	ByPID               // the process whose PID (thread group ID) is Arg
	ByUID               // effective user ID Arg
	ByRUID              // real user ID Arg
	ByPGRP              // process group Arg
	BySession           // session Arg
	ByTTY               // controlling terminal device number Arg (as TTY: /proc's tty_nr encoding)
)

func (o Op) String() string {
	switch o {
	case All:
		return "all"
	case ByPID:
		return "pid"
	case ByUID:
		return "uid"
	case ByRUID:
		return "ruid"
	case ByPGRP:
		return "pgrp"
	case BySession:
		return "session"
	case ByTTY:
		return "tty"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Filter selects what GetProcs returns.
type Filter struct {
	Op  Op
	Arg int64
	// Threads: one entry per thread (task) instead of one per process
	// (thread group leader), like KERN_PROC_INC_THREAD.
	Threads bool
	// Idle includes the idle task of the boot CPU (init_task, PID 0),
	// which /proc does not list.
	Idle bool
}

func (f Filter) match(p *Proc) bool {
	switch f.Op {
	case All:
		return true
	case ByPID:
		return int64(p.TGID) == f.Arg
	case ByUID:
		return int64(p.EUID) == f.Arg
	case ByRUID:
		return int64(p.UID) == f.Arg
	case ByPGRP:
		return int64(p.PGRP) == f.Arg
	case BySession:
		return int64(p.SID) == f.Arg
	case ByTTY:
		return p.TTY != 0 && int64(p.TTY) == f.Arg
	}
	return false
}

// PFKthread is task_struct.flags' PF_KTHREAD bit (include/linux/sched.h;
// unchanged since Linux 2.6.27).
const PFKthread = 0x00200000

// Proc is one task as GetProcs found it. PIDs are those of the initial
// PID namespace (what /proc shows to a process of that namespace).
type Proc struct {
	Addr      uint64 // address of the task_struct
	PID       int32  // task ID (the thread's ID for a thread)
	TGID      int32  // process ID
	PPID      int32  // TGID of real_parent (0 for init and kthreadd)
	PGRP, SID int32  // process group and session
	UID, EUID uint32 // real and effective user IDs
	GID, EGID uint32 // real and effective group IDs
	State     byte   // 'R', 'S', 'D', 'T', 't', 'X', 'Z', 'P', 'I', as /proc shows it
	RawState  uint64 // task_struct.__state (or state)
	ExitState uint64
	Flags     uint64 // task_struct.flags (PF_*)
	Comm      string // task_struct.comm
	// Name is the name /proc shows: Comm, and for a workqueue worker
	// "-" (idle) or "+" (busy) and the description of its latest work,
	// as in "kworker/0:1-events".
	Name       string
	StartTime  time.Duration // since boot (start_boottime)
	CPU        int           // the CPU it last ran on
	Nice       int
	NumThreads int
	VSize      uint64 // virtual size in bytes (total_vm pages)
	RSS        uint64 // resident pages (file + anon + shmem) as /proc/PID/stat: get_mm_rss
	// RSSSum is RSS with each counter's per-CPU deltas added
	// (get_mm_counter_sum): what /proc/PID/status VmRSS shows on kernels
	// that sum them (6.16, and stable backports such as Debian's 6.12.95).
	// It equals RSS on kernels whose counters are plain atomics (up to 6.1).
	RSSSum   uint64
	LockedVM uint64 // locked pages
	TTY      uint32 // controlling terminal, /proc stat's tty_nr encoding; 0: none
	TTYName  string // e.g. "ttyS0"; "" when none
	TPGID    int32  // foreground process group of the terminal; -1: no terminal
	Kernel   bool   // a kernel thread (PF_KTHREAD)
	Thread   bool   // not its thread group's leader
	// User memory of the process (0 for kernel threads).
	Mm, Pgd          uint64
	ArgStart, ArgEnd uint64
	EnvStart, EnvEnd uint64
}

// PartialError is GetProcs' error when some tasks could not be read: the
// list it returns with it holds every task that could. Errs says what was
// not read and why, one error per task (a *KernelReadError, usually) or
// per list that could not be walked to its end (the tasks before the break
// are returned).
type PartialError struct {
	Errs []error
}

func (e *PartialError) Error() string {
	if len(e.Errs) == 1 {
		return "procs: 1 task or list not read: " + e.Errs[0].Error()
	}
	msgs := make([]string, 0, 3)
	for i, err := range e.Errs {
		if i == 3 {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(e.Errs)-3))
			break
		}
		msgs = append(msgs, err.Error())
	}
	return fmt.Sprintf("procs: %d tasks or lists not read: %s", len(e.Errs), strings.Join(msgs, "; "))
}

// Unwrap returns the errors (for errors.Is and errors.As).
func (e *PartialError) Unwrap() []error { return e.Errs }

// GetProcs walks the kernel's task list (init_task.tasks, and each thread
// group's list when f.Threads) and returns the tasks f selects, in list
// order. Lists are walked with cycle detection: a corrupt list ends the
// walk, never hangs it. A task (or thread list) that cannot be read does
// not fail the others: GetProcs returns every task it could read and a
// *PartialError saying what it could not. Other errors (init_task unknown)
// come with no list.
func (s *System) GetProcs(f Filter) ([]Proc, error) {
	if s.fbsd != nil {
		return s.freeBSDProcs(f) // see NewFreeBSD
	}
	if s.b == nil {
		return nil, errNoLinuxLayout
	}
	initTask, err := s.symbol("init_task")
	if err != nil {
		return nil, err
	}
	var out []Proc
	var errs []error
	add := func(task uint64, leader bool) {
		p, err := s.readProc(task)
		if err != nil {
			errs = append(errs, fmt.Errorf("task_struct at %#x: %w", task, err))
			return
		}
		p.Thread = !leader && p.PID != p.TGID
		if (p.PID == 0 && !f.Idle) || !f.match(&p) {
			return
		}
		out = append(out, p)
	}
	var leaders []uint64
	if f.Idle {
		leaders = append(leaders, initTask)
	}
	tasks, err := bind.Offsetof[linuxTaskStruct](s.b, "tasks")
	if err != nil {
		return nil, err
	}
	err = s.walkList(initTask+uint64(tasks), tasks, "task list (init_task.tasks)", func(task uint64) error {
		leaders = append(leaders, task)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	for _, leader := range leaders {
		if !f.Threads || leader == initTask {
			add(leader, true)
			continue
		}
		threads, err := s.threads(leader)
		if err != nil {
			errs = append(errs, err)
			if len(threads) == 0 {
				threads = []uint64{leader}
			}
		}
		for _, t := range threads {
			add(t, t == leader)
		}
	}
	if len(errs) > 0 {
		return out, &PartialError{Errs: errs}
	}
	return out, nil
}

// maxListLen bounds list walks (PID_MAX_LIMIT is 4M tasks).
const maxListLen = 1 << 22

// walkList calls fn with the container address of every node of the
// circular list whose head is at head (container = node - off), stopping
// with an error at a cycle that does not return to head.
func (s *System) walkList(head uint64, off int64, what string, fn func(uint64) error) error {
	seen := make(map[uint64]bool)
	node, err := s.readPtr(head, what)
	if err != nil {
		return err
	}
	for node != head {
		if node == 0 {
			return fmt.Errorf("procs: %s: NULL next pointer after %d entries", what, len(seen))
		}
		if seen[node] || len(seen) >= maxListLen {
			return fmt.Errorf("procs: %s: cycle at %#x that does not return to the head %#x", what, node, head)
		}
		seen[node] = true
		if err := fn(node - uint64(off)); err != nil {
			return err
		}
		if node, err = s.readPtr(node, what); err != nil {
			return err
		}
	}
	return nil
}

// threads lists the tasks of leader's thread group, leader included.
func (s *System) threads(leader uint64) ([]uint64, error) {
	var out []uint64
	collect := func(t uint64) error { out = append(out, t); return nil }
	if node, err := bind.Offsetof[linuxTaskStruct](s.b, "thread_node"); err == nil {
		sig, err := s.readPtr(leader+uint64(s.signal.Off), "task_struct.signal")
		if err != nil {
			return nil, err
		}
		if sig == 0 { // an exited task
			return []uint64{leader}, nil
		}
		head, err := bind.Offsetof[linuxSignalStruct](s.b, "thread_head")
		if err != nil {
			return nil, err
		}
		err = s.walkList(sig+uint64(head), node, "thread list (signal_struct.thread_head)", collect)
		if err != nil {
			return out, err
		}
		if len(out) == 0 {
			out = []uint64{leader}
		}
		return out, nil
	}
	// Older kernels: task_struct.thread_group is a ring with no head.
	group, err := bind.Offsetof[linuxTaskStruct](s.b, "thread_group")
	if err != nil {
		return nil, err
	}
	out = append(out, leader)
	err = s.walkList(leader+uint64(group), group, "thread list (task_struct.thread_group)", collect)
	return out, err
}

// ReadProc reads the task whose task_struct is at addr.
func (s *System) ReadProc(addr uint64) (Proc, error) {
	p, err := s.readProc(addr)
	if err == nil {
		p.Thread = p.PID != p.TGID
	}
	return p, err
}

func (s *System) readProc(addr uint64) (Proc, error) {
	t, err := readView[linuxTaskStruct](s, addr, "struct task_struct")
	if err != nil {
		return Proc{}, err
	}
	p := Proc{
		Addr:      addr,
		PID:       t.Pid(),
		TGID:      t.Tgid(),
		RawState:  uint64(t.State()),
		ExitState: uint64(uint32(t.ExitState())),
		Flags:     uint64(t.Flags()),
		StartTime: time.Duration(t.StartBoottime()),
		CPU:       int(t.CPU()),
		Nice:      int(t.StaticPrio()) - 120,
		Comm:      t.CommString(),
		TPGID:     -1,
	}
	p.State = stateChar(p.RawState, p.ExitState)
	p.Mm = t.Mm().Addr
	p.Kernel = p.Flags&PFKthread != 0
	p.Name = p.Comm
	if p.Flags&pfWQWorker != 0 {
		if err := s.workerName(&p, t); err != nil {
			return p, err
		}
	} else if p.Kernel {
		if err := s.kthreadName(&p, t); err != nil {
			return p, err
		}
	}

	if rp := t.RealParent(); !rp.IsNil() && rp.Addr != addr {
		// Only the parent's tgid, where the bound kernel has it.
		f := s.tgid
		pb, err := s.read(rp.Addr+uint64(f.Off), int64(f.Size), "real_parent->tgid")
		if err != nil {
			return p, err
		}
		p.PPID = int32(s.b.Decode(pb, f.Signed))
	}

	if c := t.RealCred(); !c.IsNil() {
		cr, err := readView[linuxCred](s, c.Addr, "struct cred")
		if err != nil {
			return p, err
		}
		p.UID, p.GID, p.EUID, p.EGID = cr.UID(), cr.GID(), cr.Euid(), cr.Egid()
	}

	if sig := t.Signal(); !sig.IsNil() {
		if err := s.readSignal(&p, sig.Addr); err != nil {
			return p, err
		}
	}

	if p.Mm != 0 {
		mm, err := readView[linuxMmStruct](s, p.Mm, "struct mm_struct")
		if err != nil {
			return p, err
		}
		p.Pgd = mm.Pgd().Addr
		p.VSize = mm.TotalVm() * s.pageSize
		p.LockedVM = mm.LockedVm()
		p.ArgStart, p.ArgEnd = mm.ArgStart(), mm.ArgEnd()
		p.EnvStart, p.EnvEnd = mm.EnvStart(), mm.EnvEnd()
		if err := s.rss(&p, mm); err != nil {
			return p, err
		}
	}
	return p, nil
}

// rss is get_mm_rss: MM_FILEPAGES + MM_ANONPAGES + MM_SHMEMPAGES, each
// counter read as /proc does (negative transient values as 0); RSSSum adds
// each percpu_counter's per-CPU deltas.
func (s *System) rss(p *Proc, mm linuxMmStruct) error {
	for _, i := range []int{mmFilePages, mmAnonPages, mmShmemPages} {
		var v int64
		switch {
		case mm.HasRssCount(): // up to 6.1: rss_stat.count[], atomic_long_t
			c, ok := mm.RssCount(i)
			if !ok {
				continue
			}
			v = c.Counter()
			if v > 0 {
				p.RSS += uint64(v)
			}
		case mm.HasRssCounters(): // 6.2+: struct percpu_counter rss_stat[]
			c, ok := mm.RssCounters(i)
			if !ok {
				continue
			}
			v = c.Count()
			if v > 0 {
				p.RSS += uint64(v)
			}
			d, err := s.perCPUSum32(c.Counters())
			if err != nil {
				return err
			}
			v += d
		}
		if v > 0 {
			p.RSSSum += uint64(v)
		}
	}
	return nil
}

// pfWQWorker is PF_WQ_WORKER: the task is a workqueue worker.
const pfWQWorker = 0x00000020

// workerName appends the workqueue description to p.Name as
// wq_worker_comm() does for /proc.
func (s *System) workerName(p *Proc, task linuxTaskStruct) error {
	kt, err := s.kthread(task)
	if err != nil || kt.Addr() == 0 {
		return err // none: a kernel procs cannot describe workers of: plain comm
	}
	wp := kt.Data()
	if wp == 0 {
		return nil
	}
	if s.b.Sizeof(linuxWorker{}.KVMType()) < 0 {
		return nil
	}
	w, err := readView[linuxWorker](s, wp, "struct worker")
	if err != nil || !w.HasDesc() {
		return err
	}
	// A rescuer's comm "kworker/R-<workqueue>" (6.9+) is cut at 15
	// characters; /proc shows the workqueue's whole name.
	if wq := w.RescueWq(); !wq.IsNil() && strings.HasPrefix(p.Comm, "kworker/R-") && s.b.Sizeof(linuxWorkqueueStruct{}.KVMType()) >= 0 {
		q, err := readView[linuxWorkqueueStruct](s, wq.Addr, "struct workqueue_struct")
		if err != nil {
			return err
		}
		if q.HasName() {
			p.Name = "kworker/R-" + q.NameString()
		}
	}
	if w.Pool().IsNil() {
		return nil
	}
	desc := w.DescString()
	if desc == "" {
		return nil
	}
	sep := "-"
	if !w.CurrentWork().IsNil() {
		sep = "+"
	}
	name := p.Name + sep + desc
	if len(name) > 63 { // the 64-byte buffer of proc_task_name
		name = name[:63]
	}
	p.Name = name
	return nil
}

// kthread reads a kernel thread's struct kthread (to_kthread: the
// task's worker_private, set_child_tid before 5.17); a zero view when
// the task or the kernel has none.
func (s *System) kthread(task linuxTaskStruct) (linuxKthread, error) {
	var kt uint64
	switch {
	case task.HasWorkerPrivate():
		kt = task.WorkerPrivate()
	case task.HasSetChildTid():
		kt = task.SetChildTid()
	}
	if kt == 0 || s.b.Sizeof(linuxKthread{}.KVMType()) < 0 {
		return linuxKthread{}, nil
	}
	return readView[linuxKthread](s, kt, "struct kthread")
}

// kthreadName sets p.Name to the kernel thread's full name when the
// kernel keeps one longer than comm (get_kthread_comm).
func (s *System) kthreadName(p *Proc, task linuxTaskStruct) error {
	kt, err := s.kthread(task)
	if err != nil || kt.Addr() == 0 || !kt.HasFullName() {
		return err
	}
	fn := kt.FullName()
	if fn == 0 {
		return nil
	}
	name, err := s.readCString(fn, 63, "kthread full name")
	if err != nil {
		return err
	}
	p.Name = name
	return nil
}

// readCString reads a NUL-terminated string of at most max bytes, never
// reading past the page holding its end.
func (s *System) readCString(addr uint64, max int, what string) (string, error) {
	var out []byte
	for len(out) < max {
		n := int(s.pageSize - (addr+uint64(len(out)))%s.pageSize)
		if n > max-len(out) {
			n = max - len(out)
		}
		b, err := s.read(addr+uint64(len(out)), int64(n), what)
		if err != nil {
			return "", err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(append(out, b[:i]...)), nil
		}
		out = append(out, b...)
	}
	return string(out), nil
}

// Indices of mm_struct's RSS counters: the anonymous enum of
// include/linux/mm_types_task.h, unchanged since Linux 2.6.34 (enumerators
// of an anonymous enum cannot be looked up by the enum's name in DWARF).
const (
	mmFilePages  = 0
	mmAnonPages  = 1
	mmSwapEnts   = 2
	mmShmemPages = 3
)

func (s *System) readSignal(p *Proc, addr uint64) error {
	sig, err := readView[linuxSignalStruct](s, addr, "struct signal_struct")
	if err != nil {
		return err
	}
	p.NumThreads = int(sig.NrThreads())
	pid := func(t linuxPidType) linuxPidPtr {
		v, _ := sig.Pids(int(t))
		return v
	}
	if p.PGRP, err = s.pidNr(pid(linuxPidtypePgid)); err != nil {
		return err
	}
	if p.SID, err = s.pidNr(pid(linuxPidtypeSid)); err != nil {
		return err
	}
	if sig.TTY().IsNil() {
		return nil
	}
	tty, err := readView[linuxTTYStruct](s, sig.TTY().Addr, "struct tty_struct")
	if err != nil {
		return err
	}
	p.TTYName = tty.NameString()
	if p.TPGID, err = s.pidNr(tty.Pgrp()); err != nil {
		return err
	}
	if drv := tty.Driver(); !drv.IsNil() {
		d, err := readView[linuxTTYDriver](s, drv.Addr, "struct tty_driver")
		if err != nil {
			return err
		}
		major := uint32(d.Major())
		minor := uint32(d.MinorStart()) + uint32(tty.Index())
		p.TTY = newEncodeDev(major, minor)
	}
	return nil
}

// newEncodeDev is the kernel's new_encode_dev, the tty_nr of /proc stat.
func newEncodeDev(major, minor uint32) uint32 {
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

// pidNr is pid_nr(): the number of a struct pid in the initial namespace
// (numbers[0].nr); 0 for a NULL pid.
func (s *System) pidNr(pid linuxPidPtr) (int32, error) {
	if pid.IsNil() {
		return 0, nil
	}
	// numbers[] is a flexible array: its accessor reads the element from
	// the target, past the snapshot, which can then be empty.
	up, err := bind.AsView[linuxPid](bind.MakeView(s.b, pid.Addr, nil)).Numbers(0)
	if err != nil {
		return 0, &KernelReadError{What: "struct pid numbers[0]", Addr: pid.Addr, Err: err}
	}
	return up.Nr(), nil
}

// Task state bits (include/linux/sched.h, Linux 4.14 and later).
const (
	taskInterruptible   = 0x0001
	taskUninterruptible = 0x0002
	taskNoload          = 0x0400
	taskRTLockWait      = 0x1000
	taskReport          = 0x007f
	taskIdle            = taskUninterruptible | taskNoload
)

// stateChar is the kernel's task_state_to_char: one of "RSDTtXZPI".
func stateChar(state, exitState uint64) byte {
	const letters = "RSDTtXZPI"
	st := (state | exitState) & taskReport
	if state&taskIdle == taskIdle {
		st = 0x80 // TASK_REPORT_IDLE
	}
	if state&taskRTLockWait != 0 {
		st = taskUninterruptible
	}
	idx := 0
	for st != 0 { // fls
		idx++
		st >>= 1
	}
	if idx >= len(letters) {
		return '?'
	}
	return letters[idx]
}

// PSStat is the STAT column of procps ps: the state letter followed by
// '<' (high priority), 'N' (low priority), 'L' (locked pages), 's'
// (session leader), 'l' (multi-threaded), '+' (in the foreground process
// group of its terminal).
func (p *Proc) PSStat() string {
	b := []byte{p.State}
	switch {
	case p.Nice < 0:
		b = append(b, '<')
	case p.Nice > 0:
		b = append(b, 'N')
	}
	if p.LockedVM != 0 {
		b = append(b, 'L')
	}
	if p.SID == p.TGID {
		b = append(b, 's')
	}
	if p.NumThreads > 1 {
		b = append(b, 'l')
	}
	if p.TPGID >= 0 && p.PGRP == p.TPGID {
		b = append(b, '+')
	}
	return string(b)
}

// perCPUSum32 adds up the s32 a per-CPU pointer designates on every online
// (or dying) CPU, as __percpu_counter_sum does: per_cpu_ptr(p, cpu) is
// p + __per_cpu_offset[cpu].
func (s *System) perCPUSum32(pcpu uint64) (int64, error) {
	if pcpu == 0 {
		return 0, nil
	}
	offs, err := s.cpuOffsets()
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, off := range offs {
		b, err := s.read(pcpu+off, 4, "per-CPU counter")
		if err != nil {
			return 0, err
		}
		sum += int64(int32(s.bo.Uint32(b)))
	}
	return sum, nil
}

// cpuOffsets returns __per_cpu_offset[cpu] for every CPU in
// __cpu_online_mask | __cpu_dying_mask, read once.
func (s *System) cpuOffsets() ([]uint64, error) {
	s.cpuOnce.Do(func() { s.cpuOffs, s.cpuErr = s.readCPUOffsets() })
	return s.cpuOffs, s.cpuErr
}

func (s *System) readCPUOffsets() ([]uint64, error) {
	offArr, err := s.symbol("__per_cpu_offset")
	if err != nil {
		return []uint64{0}, nil // a uniprocessor kernel: per-CPU data is plain data
	}
	na, err := s.symbol("nr_cpu_ids")
	if err != nil {
		return nil, err
	}
	nb, err := s.read(na, 4, "nr_cpu_ids")
	if err != nil {
		return nil, err
	}
	n := uint64(s.bo.Uint32(nb))
	if n == 0 || n > 1<<16 {
		return nil, fmt.Errorf("procs: nr_cpu_ids is %d", n)
	}
	words := int64((n + 63) / 64 * 8)
	mask := make([]byte, words)
	for _, name := range []string{"__cpu_online_mask", "__cpu_dying_mask"} {
		a, err := s.symbol(name)
		if err != nil {
			if name == "__cpu_dying_mask" {
				continue // before 5.16
			}
			return nil, err
		}
		b, err := s.read(a, words, name)
		if err != nil {
			return nil, err
		}
		for i := range mask {
			mask[i] |= b[i]
		}
	}
	var offs []uint64
	for cpu := uint64(0); cpu < n; cpu++ {
		w := mask[cpu/64*8 : cpu/64*8+8]
		if s.bo.Uint64(w)&(1<<(cpu%64)) == 0 {
			continue
		}
		off, err := s.readPtr(offArr+cpu*uint64(s.l.PtrSize), "__per_cpu_offset[]")
		if err != nil {
			return nil, err
		}
		offs = append(offs, off)
	}
	return offs, nil
}
