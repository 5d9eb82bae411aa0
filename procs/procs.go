package procs

import (
	"bytes"
	"fmt"
	"strings"
	"time"
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
	err = s.walkList(initTask+uint64(s.l.Task.Tasks.Off), s.l.Task.Tasks.Off, "task list (init_task.tasks)", func(task uint64) error {
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
	l := s.l
	var out []uint64
	collect := func(t uint64) error { out = append(out, t); return nil }
	if l.Task.ThreadNode.Present() {
		sig, err := s.readPtr(leader+uint64(l.Task.Signal.Off), "task_struct.signal")
		if err != nil {
			return nil, err
		}
		if sig == 0 { // an exited task
			return []uint64{leader}, nil
		}
		err = s.walkList(sig+uint64(l.Signal.ThreadHead.Off), l.Task.ThreadNode.Off, "thread list (signal_struct.thread_head)", collect)
		if err != nil {
			return out, err
		}
		if len(out) == 0 {
			out = []uint64{leader}
		}
		return out, nil
	}
	// Older kernels: task_struct.thread_group is a ring with no head.
	out = append(out, leader)
	head := leader + uint64(l.Task.ThreadGroup.Off)
	err := s.walkList(head, l.Task.ThreadGroup.Off, "thread list (task_struct.thread_group)", collect)
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
	l := s.l
	t := &l.Task
	b, err := s.read(addr, span(t.State, t.Flags, t.ExitState, t.Mm, t.Pid, t.Tgid, t.RealParent,
		t.GroupLeader, t.StartTime, t.RealCred, t.Comm, t.Signal, t.CPU, t.StaticPrio), "struct task_struct")
	if err != nil {
		return Proc{}, err
	}
	p := Proc{
		Addr:      addr,
		PID:       int32(s.i(b, t.Pid)),
		TGID:      int32(s.i(b, t.Tgid)),
		RawState:  s.u(b, t.State),
		ExitState: s.u(b, t.ExitState),
		Flags:     s.u(b, t.Flags),
		StartTime: time.Duration(s.u(b, t.StartTime)),
		CPU:       int(s.u(b, t.CPU)),
		Nice:      int(s.i(b, t.StaticPrio)) - 120,
		TPGID:     -1,
	}
	if t.Comm.Off >= 0 && t.Comm.Off+t.Comm.Size <= int64(len(b)) && t.Comm.Size > 0 {
		p.Comm = cstring(b[t.Comm.Off : t.Comm.Off+t.Comm.Size])
	}
	p.State = stateChar(p.RawState, p.ExitState)
	p.Mm = s.ptr(b, t.Mm)
	p.Kernel = p.Flags&PFKthread != 0
	p.Name = p.Comm
	if p.Flags&pfWQWorker != 0 {
		if err := s.workerName(&p, b); err != nil {
			return p, err
		}
	} else if p.Kernel {
		if err := s.kthreadName(&p, b); err != nil {
			return p, err
		}
	}

	if rp := s.ptr(b, t.RealParent); rp != 0 && rp != addr {
		pb, err := s.read(rp+uint64(t.Tgid.Off), t.Tgid.Size, "real_parent->tgid")
		if err != nil {
			return p, err
		}
		p.PPID = int32(s.i(pb, Field{Path: "tgid", Size: t.Tgid.Size, Signed: t.Tgid.Signed}))
	}

	if c := s.ptr(b, t.RealCred); c != 0 {
		cr := &l.Cred
		cb, err := s.read(c, span(cr.UID, cr.GID, cr.EUID, cr.EGID), "struct cred")
		if err != nil {
			return p, err
		}
		p.UID, p.GID = uint32(s.u(cb, cr.UID)), uint32(s.u(cb, cr.GID))
		p.EUID, p.EGID = uint32(s.u(cb, cr.EUID)), uint32(s.u(cb, cr.EGID))
	}

	if sig := s.ptr(b, t.Signal); sig != 0 {
		if err := s.readSignal(&p, sig); err != nil {
			return p, err
		}
	}

	if p.Mm != 0 {
		m := &l.Mm
		rssEnd := m.RSSOff + m.RSSStride*(m.RSSCount-1) + m.RSSSize
		if m.RSSKind == "percpu_counter" {
			rssEnd = max(rssEnd, m.RSSOff+m.RSSStride*(m.RSSCount-1)+m.RSSCPUOff+int64(s.l.PtrSize))
		}
		n := span(m.Pgd, m.TotalVM, m.LockedVM, m.ArgStart, m.ArgEnd, m.EnvStart, m.EnvEnd)
		if rssEnd > n {
			n = rssEnd
		}
		mb, err := s.read(p.Mm, n, "struct mm_struct")
		if err != nil {
			return p, err
		}
		p.Pgd = s.ptr(mb, m.Pgd)
		p.VSize = s.u(mb, m.TotalVM) * s.pageSize
		p.LockedVM = s.u(mb, m.LockedVM)
		p.ArgStart, p.ArgEnd = s.u(mb, m.ArgStart), s.u(mb, m.ArgEnd)
		p.EnvStart, p.EnvEnd = s.u(mb, m.EnvStart), s.u(mb, m.EnvEnd)
		// get_mm_rss: MM_FILEPAGES + MM_ANONPAGES + MM_SHMEMPAGES, each
		// counter read as /proc does (negative transient values as 0).
		for _, i := range []int64{mmFilePages, mmAnonPages, mmShmemPages} {
			if i >= m.RSSCount {
				continue
			}
			v := s.i(mb, Field{Path: "rss", Off: m.RSSOff + i*m.RSSStride, Size: m.RSSSize, Signed: true})
			if v > 0 {
				p.RSS += uint64(v)
			}
			if m.RSSKind == "percpu_counter" {
				pcpu := s.ptr(mb, Field{Path: "counters", Off: m.RSSOff + i*m.RSSStride + m.RSSCPUOff, Size: int64(s.l.PtrSize)})
				d, err := s.perCPUSum32(pcpu)
				if err != nil {
					return p, err
				}
				v += d
			}
			if v > 0 {
				p.RSSSum += uint64(v)
			}
		}
	}
	return p, nil
}

// pfWQWorker is PF_WQ_WORKER: the task is a workqueue worker.
const pfWQWorker = 0x00000020

// workerName appends the workqueue description to p.Name as
// wq_worker_comm() does for /proc.
func (s *System) workerName(p *Proc, task []byte) error {
	l := s.l
	w := &l.Worker
	if !l.Task.WorkerPrivate.Present() || !w.KthreadData.Present() || !w.Desc.Present() || w.Desc.Size <= 0 {
		return nil // a kernel procs cannot describe workers of: plain comm
	}
	kt := s.ptr(task, l.Task.WorkerPrivate)
	if kt == 0 {
		return nil
	}
	worker, err := s.readPtr(kt+uint64(w.KthreadData.Off), "struct kthread.data")
	if err != nil || worker == 0 {
		return err
	}
	wb, err := s.read(worker, span(w.CurrentWork, w.Pool, w.Desc, w.RescueWQ), "struct worker")
	if err != nil {
		return err
	}
	// A rescuer's comm "kworker/R-<workqueue>" (6.9+) is cut at 15
	// characters; /proc shows the workqueue's whole name.
	if wq := s.ptr(wb, w.RescueWQ); wq != 0 && w.WQName.Size > 0 && strings.HasPrefix(p.Comm, "kworker/R-") {
		nb, err := s.read(wq+uint64(w.WQName.Off), w.WQName.Size, "struct workqueue_struct.name")
		if err != nil {
			return err
		}
		p.Name = "kworker/R-" + cstring(nb)
	}
	if s.ptr(wb, w.Pool) == 0 {
		return nil
	}
	desc := cstring(wb[w.Desc.Off : w.Desc.Off+w.Desc.Size])
	if desc == "" {
		return nil
	}
	sep := "-"
	if s.ptr(wb, w.CurrentWork) != 0 {
		sep = "+"
	}
	name := p.Name + sep + desc
	if len(name) > 63 { // the 64-byte buffer of proc_task_name
		name = name[:63]
	}
	p.Name = name
	return nil
}

// kthreadName sets p.Name to the kernel thread's full name when the
// kernel keeps one longer than comm (get_kthread_comm).
func (s *System) kthreadName(p *Proc, task []byte) error {
	l := s.l
	if !l.Task.WorkerPrivate.Present() || !l.Worker.FullName.Present() {
		return nil
	}
	kt := s.ptr(task, l.Task.WorkerPrivate)
	if kt == 0 {
		return nil
	}
	fn, err := s.readPtr(kt+uint64(l.Worker.FullName.Off), "struct kthread.full_name")
	if err != nil || fn == 0 {
		return err
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

func (s *System) readSignal(p *Proc, sig uint64) error {
	l := s.l
	sl := &l.Signal
	sb, err := s.read(sig, span(sl.Pids, sl.NrThreads, sl.Tty)+int64(l.PtrSize)*4, "struct signal_struct")
	if err != nil {
		return err
	}
	p.NumThreads = int(s.i(sb, sl.NrThreads))
	ptrAt := func(i int64) Field {
		return Field{Path: "pids[]", Off: sl.Pids.Off + i*int64(l.PtrSize), Size: int64(l.PtrSize)}
	}
	if p.PGRP, err = s.pidNr(s.ptr(sb, ptrAt(l.PidType.PGID))); err != nil {
		return err
	}
	if p.SID, err = s.pidNr(s.ptr(sb, ptrAt(l.PidType.SID))); err != nil {
		return err
	}
	tty := s.ptr(sb, sl.Tty)
	if tty == 0 {
		return nil
	}
	tl := &l.Tty
	tb, err := s.read(tty, span(tl.Driver, tl.Index, tl.Name, tl.Pgrp), "struct tty_struct")
	if err != nil {
		return err
	}
	if tl.Name.Size > 0 {
		p.TTYName = cstring(tb[tl.Name.Off : tl.Name.Off+tl.Name.Size])
	}
	if p.TPGID, err = s.pidNr(s.ptr(tb, tl.Pgrp)); err != nil {
		return err
	}
	if drv := s.ptr(tb, tl.Driver); drv != 0 {
		dl := &l.TtyDriver
		db, err := s.read(drv, span(dl.Major, dl.MinorStart), "struct tty_driver")
		if err != nil {
			return err
		}
		major := uint32(s.u(db, dl.Major))
		minor := uint32(s.u(db, dl.MinorStart)) + uint32(s.u(tb, tl.Index))
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
func (s *System) pidNr(pid uint64) (int32, error) {
	if pid == 0 {
		return 0, nil
	}
	pl := &s.l.Pid
	b, err := s.read(pid+uint64(pl.Numbers.Off+pl.UpidNr.Off), pl.UpidNr.Size, "struct pid numbers[0].nr")
	if err != nil {
		return 0, err
	}
	return int32(s.i(b, Field{Path: "nr", Size: pl.UpidNr.Size, Signed: true})), nil
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
