package procs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// LayoutVersion changes whenever Layout's meaning changes; a saved layout of
// another version is not used.
const LayoutVersion = 2 // 2: the memory-map members (VMA, MapleTree, ...)

// DebugInfo is what ResolveLayout reads the kernel's types from: its DWARF
// (*dwarfmodel.File) or its BTF (*btfmodel.File, from a file, the image or
// the target's own memory).
type DebugInfo = dwarfmodel.Source

// Field is where a member lives in its structure: byte offset, size and
// signedness of the integer it holds. Path is the member path that was
// found (e.g. "__state", "thread_info.cpu", "uid.val"). A Field with no Path
// is absent from this kernel (only optional members may be). Size is -1
// for a flexible array member.
type Field struct {
	Path   string `json:"path,omitempty"`
	Off    int64  `json:"off"`
	Size   int64  `json:"size"`
	Signed bool   `json:"signed,omitempty"`
}

// Present reports whether the kernel has the member.
func (f Field) Present() bool { return f.Path != "" }

func (f Field) end() int64 {
	if !f.Present() {
		return 0
	}
	if f.Size < 0 {
		return f.Off
	}
	return f.Off + f.Size
}

// TaskLayout locates the members of struct task_struct that procs reads.
type TaskLayout struct {
	Size        int64 `json:"size"`
	State       Field `json:"state"` // __state (5.14+) or state
	Flags       Field `json:"flags"`
	ExitState   Field `json:"exit_state"`
	Tasks       Field `json:"tasks"`       // struct list_head
	ThreadNode  Field `json:"thread_node"` // list in signal->thread_head; else
	ThreadGroup Field `json:"thread_group"`
	Mm          Field `json:"mm"`
	Pid         Field `json:"pid"`
	Tgid        Field `json:"tgid"`
	RealParent  Field `json:"real_parent"`
	GroupLeader Field `json:"group_leader"`
	StartTime   Field `json:"start_time"` // start_boottime, else real_start_time
	RealCred    Field `json:"real_cred"`  // the objective credentials /proc reports
	Comm        Field `json:"comm"`
	Signal      Field `json:"signal"`
	CPU         Field `json:"cpu"` // cpu, else thread_info.cpu
	StaticPrio  Field `json:"static_prio"`
	// WorkerPrivate points to the task's struct kthread (worker_private,
	// 5.17+; set_child_tid before); optional.
	WorkerPrivate Field `json:"worker_private"`
}

// MmLayout locates the members of struct mm_struct that procs reads,
// wherever they sit (6.1 wraps most of them in an anonymous struct).
type MmLayout struct {
	Pgd      Field `json:"pgd"`
	TotalVM  Field `json:"total_vm"`
	LockedVM Field `json:"locked_vm"`
	ArgStart Field `json:"arg_start"`
	ArgEnd   Field `json:"arg_end"`
	EnvStart Field `json:"env_start"`
	EnvEnd   Field `json:"env_end"`
	// RSS counter i (MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS,
	// MM_SHMEMPAGES) is the signed integer of RSSSize bytes at
	// RSSOff + i*RSSStride: mm_rss_stat.count[i].counter (atomic_long_t,
	// up to 6.1) or rss_stat[i].count (struct percpu_counter, 6.2+).
	RSSOff    int64  `json:"rss_off"`
	RSSStride int64  `json:"rss_stride"`
	RSSSize   int64  `json:"rss_size"`
	RSSCount  int64  `json:"rss_count"`
	RSSKind   string `json:"rss_kind"` // "atomic" or "percpu_counter"
	// RSSCPUOff is, for percpu_counter, the offset of the counter's
	// per-CPU deltas pointer (s32 __percpu *counters) from RSSOff's element
	// start; see Proc.RSSSum.
	RSSCPUOff int64 `json:"rss_cpu_off,omitempty"`
	// The memory map (Maps): the VMA maple tree (6.1+) and what
	// /proc/PID/maps names [heap] and [stack] by; optional.
	MmMt       Field `json:"mm_mt"`
	StartBrk   Field `json:"start_brk"`
	Brk        Field `json:"brk"`
	StartStack Field `json:"start_stack"`
}

// Layout is every offset procs needs for one kernel build.
type Layout struct {
	Version   int    `json:"version"`
	BuildID   string `json:"build_id"`
	Arch      string `json:"arch"`
	PtrSize   int    `json:"ptr_size"`
	BigEndian bool   `json:"big_endian"`

	Task TaskLayout `json:"task"`
	Mm   MmLayout   `json:"mm"`
	Cred struct {
		UID, GID, EUID, EGID Field
	} `json:"cred"`
	Signal struct {
		Pids       Field `json:"pids"` // struct pid *pids[PIDTYPE_MAX]
		NrThreads  Field `json:"nr_threads"`
		Tty        Field `json:"tty"`
		ThreadHead Field `json:"thread_head"`
	} `json:"signal"`
	PidType struct {
		PGID, SID int64
	} `json:"pid_type"`
	Pid struct {
		Numbers  Field `json:"numbers"` // struct upid numbers[]; numbers[0] is the init namespace
		UpidNr   Field `json:"upid_nr"`
		UpidSize int64 `json:"upid_size"`
	} `json:"pid"`
	Tty struct {
		Driver Field `json:"driver"`
		Index  Field `json:"index"`
		Name   Field `json:"name"`
		Pgrp   Field `json:"pgrp"` // ctrl.pgrp (6.0+) or pgrp
	} `json:"tty"`
	TtyDriver struct {
		Major, MinorStart Field
	} `json:"tty_driver"`
	// Swap areas (kvm_getswapinfo).
	Swap struct {
		Count    int64 `json:"count"` // elements of swap_info[]; 0 if unknown
		Flags    Field `json:"flags"`
		Prio     Field `json:"prio"`
		Pages    Field `json:"pages"`
		Inuse    Field `json:"inuse_pages"`
		SwapMap  Field `json:"swap_map"`
		SwapFile Field `json:"swap_file"`
	} `json:"swap"`
	File struct {
		PathMnt, PathDentry, Inode Field
	} `json:"file"`
	Inode struct {
		Mode Field
		Ino  Field `json:"ino"` // optional: the memory map
		Sb   Field `json:"sb"`
	} `json:"inode"`
	SuperBlock struct {
		Dev Field `json:"dev"`
	} `json:"super_block"`
	// The memory map: struct vm_area_struct, the maple tree of them
	// (struct maple_tree, struct maple_node) and the name of special
	// mappings ([vdso], [vvar]); optional.
	VMA struct {
		Start, End, Flags, Pgoff, File, Ops, PrivateData Field
		AnonName                                         Field // anon_name (CONFIG_ANON_VMA_NAME)
	} `json:"vma"`
	MapleTree struct {
		Root, Flags Field
	} `json:"maple_tree"`
	MapleNode struct {
		Size                                 int64
		R64Pivot, R64Slot, A64Pivot, A64Slot Field
	} `json:"maple_node"`
	SpecialMapping struct {
		Name Field
	} `json:"special_mapping"`
	AnonVMAName struct {
		Name Field
	} `json:"anon_vma_name"`
	Dentry struct {
		Parent, NameLen, NamePtr Field
	} `json:"dentry"`
	Mount struct {
		Parent, Mountpoint, Mnt Field // Mnt: the embedded struct vfsmount
		MntRoot                 Field // vfsmount.mnt_root
	} `json:"mount"`
	// Time (uptime): members of the timekeeper inside tk_core.
	Time struct {
		Timekeeper Field `json:"timekeeper"` // offset of the timekeeper in tk_core
		XtimeSec   Field `json:"xtime_sec"`
		MonoBase   Field `json:"mono_base"` // tkr_mono.base
		MonoNsec   Field `json:"mono_xtime_nsec"`
		MonoShift  Field `json:"mono_shift"`
		OffsBoot   Field `json:"offs_boot"`
	} `json:"time"`
	AvenrunLen int64 `json:"avenrun_len"`
	// Workqueue workers, whose /proc name appends the work's description
	// ("kworker/0:1-events"); optional.
	Worker struct {
		KthreadData Field `json:"kthread_data"` // struct kthread.data
		FullName    Field `json:"full_name"`    // struct kthread.full_name (5.17+; optional)
		CurrentWork Field `json:"current_work"` // struct worker.current_work
		Pool        Field `json:"pool"`
		Desc        Field `json:"desc"`
		RescueWQ    Field `json:"rescue_wq"` // struct worker.rescue_wq (optional)
		WQName      Field `json:"wq_name"`   // struct workqueue_struct.name (optional)
	} `json:"worker"`
}

// ByteOrder is the target's byte order.
func (l *Layout) ByteOrder() binary.ByteOrder {
	if l.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// MissingError reports a kernel structure, member or variable procs needs
// that the kernel's debugging information does not have. Tried lists the
// member paths that were looked for, in order.
type MissingError struct {
	Kernel string   // file name or build ID
	Type   string   // "struct task_struct", or "variable" for a global
	Tried  []string // member paths looked for, or the variable name
	Err    error    // the underlying lookup error, if any
}

func (e *MissingError) Error() string {
	var b strings.Builder
	if e.Kernel != "" {
		b.WriteString(e.Kernel)
		b.WriteString(": ")
	}
	switch {
	case len(e.Tried) == 0:
		fmt.Fprintf(&b, "kernel has no %s", e.Type)
	case e.Type == "variable":
		fmt.Fprintf(&b, "kernel has no variable %s", e.Tried[0])
	default:
		fmt.Fprintf(&b, "%s has no member %s", e.Type, strings.Join(e.Tried, " or "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *MissingError) Unwrap() error { return e.Err }

type resolver struct {
	di     DebugInfo
	kernel string
	err    error // first error
}

func (r *resolver) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// strct returns the named struct; a missing one records an error.
func (r *resolver) strct(name string) *dwarfmodel.Struct {
	t, err := r.di.Type(name)
	if err != nil {
		r.fail(&MissingError{Kernel: r.kernel, Type: name, Err: err})
		return nil
	}
	st, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Struct)
	if !ok || st.Incomplete {
		r.fail(&MissingError{Kernel: r.kernel, Type: name, Err: errors.New("not a complete struct")})
		return nil
	}
	return st
}

// field finds the first of the member paths that st has; none found records
// a *MissingError.
func (r *resolver) field(st *dwarfmodel.Struct, stName string, paths ...string) Field {
	f, ok := r.opt(st, paths...)
	if !ok && st != nil {
		r.fail(&MissingError{Kernel: r.kernel, Type: stName, Tried: paths})
	}
	return f
}

// opt finds the first of the member paths that st has, if any.
func (r *resolver) opt(st *dwarfmodel.Struct, paths ...string) (Field, bool) {
	if st == nil {
		return Field{}, false
	}
	for _, p := range paths {
		off, t, ok := memberPath(st, p)
		if !ok {
			continue
		}
		f := Field{Path: p, Off: off, Size: t.Size()}
		switch u := dwarfmodel.Underlying(t).(type) {
		case *dwarfmodel.Base:
			f.Signed = u.Encoding == dwarfmodel.EncSigned || u.Encoding == dwarfmodel.EncSignedChar
		case *dwarfmodel.Enum:
			f.Signed = u.Signed
		}
		if f.Size <= 0 {
			f.Size = -1 // flexible array: present, size unknown
		}
		return f, true
	}
	return Field{}, false
}

// memberPath is dwarfmodel.MemberPath: the one way members are found.
func memberPath(st *dwarfmodel.Struct, path string) (int64, dwarfmodel.Type, bool) {
	return dwarfmodel.MemberPath(st, path)
}

// arrayOf returns the element type and count of an array member's type.
func arrayOf(t dwarfmodel.Type) (dwarfmodel.Type, int64, bool) {
	a, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Array)
	if !ok || len(a.Dims) == 0 {
		return nil, 0, false
	}
	if len(a.Dims) > 1 {
		return nil, 0, false
	}
	return a.Elem, a.Dims[0], true
}

// ResolveLayout reads every offset procs needs from the kernel's DWARF. A
// structure or member that is missing (under every name it had in the kernel
// versions procs knows) is reported as a *MissingError naming it. Results
// are cached by build ID: resolving the same kernel twice is free.
func ResolveLayout(di DebugInfo) (*Layout, error) {
	id := di.BuildID()
	if id != "" {
		if l, ok := layoutCache.Load(id); ok {
			return l.(*Layout), nil
		}
	}
	l, err := resolveLayout(di)
	if err != nil {
		return nil, err
	}
	if id != "" {
		layoutCache.Store(id, l)
	}
	return l, nil
}

var layoutCache sync.Map // build ID -> *Layout

func resolveLayout(di DebugInfo) (*Layout, error) {
	dm := di.DataModel()
	kernel := di.BuildID()
	if n, ok := di.(interface{ Name() string }); ok && n.Name() != "" {
		kernel = n.Name()
	}
	r := &resolver{di: di, kernel: kernel}
	l := &Layout{
		Version:   LayoutVersion,
		BuildID:   di.BuildID(),
		Arch:      dm.Arch,
		PtrSize:   dm.PtrSize,
		BigEndian: dm.BigEndian(),
	}
	if l.PtrSize != 4 && l.PtrSize != 8 {
		return nil, fmt.Errorf("procs: %s: unsupported pointer size %d", kernel, l.PtrSize)
	}

	const ts = "struct task_struct"
	task := r.strct(ts)
	if task != nil {
		l.Task.Size = task.ByteSize
	}
	t := &l.Task
	t.State = r.field(task, ts, "__state", "state")
	t.Flags = r.field(task, ts, "flags")
	t.ExitState = r.field(task, ts, "exit_state")
	t.Tasks = r.field(task, ts, "tasks")
	t.ThreadNode, _ = r.opt(task, "thread_node")
	if !t.ThreadNode.Present() {
		t.ThreadGroup = r.field(task, ts, "thread_node", "thread_group")
	}
	t.Mm = r.field(task, ts, "mm")
	t.Pid = r.field(task, ts, "pid")
	t.Tgid = r.field(task, ts, "tgid")
	t.RealParent = r.field(task, ts, "real_parent")
	t.GroupLeader = r.field(task, ts, "group_leader")
	t.StartTime = r.field(task, ts, "start_boottime", "real_start_time")
	t.RealCred = r.field(task, ts, "real_cred")
	t.Comm = r.field(task, ts, "comm")
	t.Signal = r.field(task, ts, "signal")
	t.CPU = r.field(task, ts, "cpu", "thread_info.cpu")
	t.StaticPrio = r.field(task, ts, "static_prio")

	const ms = "struct mm_struct"
	mm := r.strct(ms)
	m := &l.Mm
	m.Pgd = r.field(mm, ms, "pgd")
	m.TotalVM = r.field(mm, ms, "total_vm")
	m.LockedVM = r.field(mm, ms, "locked_vm")
	m.ArgStart = r.field(mm, ms, "arg_start")
	m.ArgEnd = r.field(mm, ms, "arg_end")
	m.EnvStart = r.field(mm, ms, "env_start")
	m.EnvEnd = r.field(mm, ms, "env_end")
	if mm != nil {
		r.resolveRSS(mm, l)
	}

	const cs = "struct cred"
	cred := r.strct(cs)
	l.Cred.UID = r.field(cred, cs, "uid.val", "uid")
	l.Cred.GID = r.field(cred, cs, "gid.val", "gid")
	l.Cred.EUID = r.field(cred, cs, "euid.val", "euid")
	l.Cred.EGID = r.field(cred, cs, "egid.val", "egid")

	const ss = "struct signal_struct"
	sig := r.strct(ss)
	l.Signal.Pids = r.field(sig, ss, "pids")
	l.Signal.NrThreads = r.field(sig, ss, "nr_threads")
	l.Signal.Tty = r.field(sig, ss, "tty")
	if t.ThreadNode.Present() {
		l.Signal.ThreadHead = r.field(sig, ss, "thread_head")
	}

	// enum pid_type gives the indices of signal->pids[].
	l.PidType.PGID, l.PidType.SID = 2, 3
	if et, err := di.Type("enum pid_type"); err == nil {
		if e, ok := dwarfmodel.Underlying(et).(*dwarfmodel.Enum); ok {
			found := 0
			for _, v := range e.Values {
				switch v.Name {
				case "PIDTYPE_PGID":
					l.PidType.PGID = v.Value
					found++
				case "PIDTYPE_SID":
					l.PidType.SID = v.Value
					found++
				}
			}
			if found != 2 {
				r.fail(&MissingError{Kernel: kernel, Type: "enum pid_type", Tried: []string{"PIDTYPE_PGID", "PIDTYPE_SID"}})
			}
		}
	} else {
		r.fail(&MissingError{Kernel: kernel, Type: "enum pid_type", Err: err})
	}

	pid := r.strct("struct pid")
	l.Pid.Numbers = r.field(pid, "struct pid", "numbers")
	upid := r.strct("struct upid")
	l.Pid.UpidNr = r.field(upid, "struct upid", "nr")
	if upid != nil {
		l.Pid.UpidSize = upid.ByteSize
	}

	const tys = "struct tty_struct"
	tty := r.strct(tys)
	l.Tty.Driver = r.field(tty, tys, "driver")
	l.Tty.Index = r.field(tty, tys, "index")
	l.Tty.Name = r.field(tty, tys, "name")
	l.Tty.Pgrp = r.field(tty, tys, "ctrl.pgrp", "pgrp")
	const tds = "struct tty_driver"
	td := r.strct(tds)
	l.TtyDriver.Major = r.field(td, tds, "major")
	l.TtyDriver.MinorStart = r.field(td, tds, "minor_start")

	if r.err != nil {
		return nil, r.err
	}
	// The rest (swap, file names, time) is optional: a kernel without them
	// still lists its processes. Errors surface when those are asked for.
	r.resolveOptional(l)
	return l, nil
}

func (r *resolver) resolveRSS(mm *dwarfmodel.Struct, l *Layout) {
	off, typ, ok := memberPath(mm, "rss_stat")
	if !ok {
		r.fail(&MissingError{Kernel: r.kernel, Type: "struct mm_struct", Tried: []string{"rss_stat"}})
		return
	}
	m := &l.Mm
	if elem, n, ok := arrayOf(typ); ok {
		// 6.2+: struct percpu_counter rss_stat[NR_MM_COUNTERS]; /proc reads
		// each counter's approximate count.
		pc, ok := dwarfmodel.Underlying(elem).(*dwarfmodel.Struct)
		if !ok {
			r.fail(&MissingError{Kernel: r.kernel, Type: "struct mm_struct", Tried: []string{"rss_stat[].count"}})
			return
		}
		co, ct, ok := memberPath(pc, "count")
		if !ok {
			r.fail(&MissingError{Kernel: r.kernel, Type: "struct percpu_counter", Tried: []string{"count"}})
			return
		}
		cpo, _, ok := memberPath(pc, "counters")
		if !ok {
			r.fail(&MissingError{Kernel: r.kernel, Type: "struct percpu_counter", Tried: []string{"counters"}})
			return
		}
		m.RSSOff, m.RSSStride, m.RSSSize, m.RSSCount, m.RSSKind = off+co, pc.ByteSize, ct.Size(), n, "percpu_counter"
		m.RSSCPUOff = cpo - co
		return
	}
	st, ok := dwarfmodel.Underlying(typ).(*dwarfmodel.Struct)
	if !ok {
		r.fail(&MissingError{Kernel: r.kernel, Type: "struct mm_rss_stat", Err: errors.New("rss_stat is neither a struct nor an array")})
		return
	}
	co, ct, ok := memberPath(st, "count")
	if !ok {
		r.fail(&MissingError{Kernel: r.kernel, Type: "struct mm_rss_stat", Tried: []string{"count"}})
		return
	}
	elem, n, ok := arrayOf(ct)
	if !ok {
		r.fail(&MissingError{Kernel: r.kernel, Type: "struct mm_rss_stat", Err: errors.New("count is not an array")})
		return
	}
	inner := int64(0)
	size := elem.Size()
	if es, ok := dwarfmodel.Underlying(elem).(*dwarfmodel.Struct); ok { // atomic_long_t
		io, it, ok := memberPath(es, "counter")
		if !ok {
			r.fail(&MissingError{Kernel: r.kernel, Type: "atomic_long_t", Tried: []string{"counter"}})
			return
		}
		inner, size = io, it.Size()
	}
	m.RSSOff, m.RSSStride, m.RSSSize, m.RSSCount, m.RSSKind = off+co+inner, elem.Size(), size, n, "atomic"
}

func (r *resolver) resolveOptional(l *Layout) {
	q := &resolver{di: r.di, kernel: r.kernel}
	if v, err := r.di.Variable("swap_info"); err == nil {
		if _, n, ok := arrayOf(v.Type); ok && n > 0 {
			l.Swap.Count = n
		}
	}
	const sis = "struct swap_info_struct"
	if si := q.strct(sis); si != nil {
		l.Swap.Flags = q.field(si, sis, "flags")
		l.Swap.Prio = q.field(si, sis, "prio")
		l.Swap.Pages = q.field(si, sis, "pages")
		l.Swap.Inuse = q.field(si, sis, "inuse_pages")
		l.Swap.SwapMap = q.field(si, sis, "swap_map")
		l.Swap.SwapFile = q.field(si, sis, "swap_file")
	}
	if f := q.strct("struct file"); f != nil {
		l.File.PathMnt = q.field(f, "struct file", "f_path.mnt")
		l.File.PathDentry = q.field(f, "struct file", "f_path.dentry")
		l.File.Inode = q.field(f, "struct file", "f_inode")
	}
	if in := q.strct("struct inode"); in != nil {
		l.Inode.Mode = q.field(in, "struct inode", "i_mode")
		l.Inode.Ino, _ = q.opt(in, "i_ino")
		l.Inode.Sb, _ = q.opt(in, "i_sb")
	}
	r.resolveMaps(q, l)
	if d := q.strct("struct dentry"); d != nil {
		l.Dentry.Parent = q.field(d, "struct dentry", "d_parent")
		l.Dentry.NameLen = q.field(d, "struct dentry", "d_name.len")
		l.Dentry.NamePtr = q.field(d, "struct dentry", "d_name.name")
	}
	if mt := q.strct("struct mount"); mt != nil {
		l.Mount.Parent = q.field(mt, "struct mount", "mnt_parent")
		l.Mount.Mountpoint = q.field(mt, "struct mount", "mnt_mountpoint")
		l.Mount.Mnt = q.field(mt, "struct mount", "mnt")
	}
	if vm := q.strct("struct vfsmount"); vm != nil {
		l.Mount.MntRoot = q.field(vm, "struct vfsmount", "mnt_root")
	}
	if task, err := r.di.Type("struct task_struct"); err == nil {
		if st, ok := dwarfmodel.Underlying(task).(*dwarfmodel.Struct); ok {
			l.Task.WorkerPrivate, _ = q.opt(st, "worker_private", "set_child_tid")
		}
	}
	if kt := q.strct("struct kthread"); kt != nil {
		l.Worker.KthreadData = q.field(kt, "struct kthread", "data")
		l.Worker.FullName, _ = q.opt(kt, "full_name")
	}
	if w := q.strct("struct worker"); w != nil {
		l.Worker.CurrentWork = q.field(w, "struct worker", "current_work")
		l.Worker.Pool = q.field(w, "struct worker", "pool")
		l.Worker.Desc = q.field(w, "struct worker", "desc")
		l.Worker.RescueWQ, _ = q.opt(w, "rescue_wq")
	}
	if wq := q.strct("struct workqueue_struct"); wq != nil {
		l.Worker.WQName, _ = q.opt(wq, "name")
	}
	if v, err := r.di.Variable("avenrun"); err == nil {
		if _, n, ok := arrayOf(v.Type); ok {
			l.AvenrunLen = n
		}
	}
	if v, err := r.di.Variable("tk_core"); err == nil {
		if st, ok := dwarfmodel.Underlying(v.Type).(*dwarfmodel.Struct); ok {
			tk, ok := q.opt(st, "timekeeper")
			if ok {
				l.Time.Timekeeper = tk
				if tks := q.strct("struct timekeeper"); tks != nil {
					l.Time.XtimeSec = q.field(tks, "struct timekeeper", "xtime_sec")
					l.Time.MonoBase = q.field(tks, "struct timekeeper", "tkr_mono.base")
					l.Time.MonoNsec = q.field(tks, "struct timekeeper", "tkr_mono.xtime_nsec")
					l.Time.MonoShift = q.field(tks, "struct timekeeper", "tkr_mono.shift")
					l.Time.OffsBoot = q.field(tks, "struct timekeeper", "offs_boot")
				}
			}
		}
	}
}

// resolveMaps finds the memory-map members (all optional: Maps says
// what it lacks).
func (r *resolver) resolveMaps(q *resolver, l *Layout) {
	if mm, err := r.di.Type("struct mm_struct"); err == nil {
		if st, ok := dwarfmodel.Underlying(mm).(*dwarfmodel.Struct); ok {
			l.Mm.MmMt, _ = q.opt(st, "mm_mt")
			l.Mm.StartBrk, _ = q.opt(st, "start_brk")
			l.Mm.Brk, _ = q.opt(st, "brk")
			l.Mm.StartStack, _ = q.opt(st, "start_stack")
		}
	}
	if sb := q.strct("struct super_block"); sb != nil {
		l.SuperBlock.Dev, _ = q.opt(sb, "s_dev")
	}
	if v := q.strct("struct vm_area_struct"); v != nil {
		l.VMA.Start, _ = q.opt(v, "vm_start")
		l.VMA.End, _ = q.opt(v, "vm_end")
		l.VMA.Flags, _ = q.opt(v, "vm_flags")
		l.VMA.Pgoff, _ = q.opt(v, "vm_pgoff")
		l.VMA.File, _ = q.opt(v, "vm_file")
		l.VMA.Ops, _ = q.opt(v, "vm_ops")
		l.VMA.PrivateData, _ = q.opt(v, "vm_private_data")
		l.VMA.AnonName, _ = q.opt(v, "anon_name")
	}
	if mt := q.strct("struct maple_tree"); mt != nil {
		l.MapleTree.Root, _ = q.opt(mt, "ma_root")
		l.MapleTree.Flags, _ = q.opt(mt, "ma_flags")
	}
	if mn := q.strct("struct maple_node"); mn != nil {
		l.MapleNode.Size = mn.Size()
		l.MapleNode.R64Pivot, _ = q.opt(mn, "mr64.pivot")
		l.MapleNode.R64Slot, _ = q.opt(mn, "mr64.slot")
		l.MapleNode.A64Pivot, _ = q.opt(mn, "ma64.pivot")
		l.MapleNode.A64Slot, _ = q.opt(mn, "ma64.slot")
	}
	if sm := q.strct("struct vm_special_mapping"); sm != nil {
		l.SpecialMapping.Name, _ = q.opt(sm, "name")
	}
	if an := q.strct("struct anon_vma_name"); an != nil {
		l.AnonVMAName.Name, _ = q.opt(an, "name")
	}
}

// SaveLayout writes l as JSON to dir/<build ID>.json (creating dir).
func SaveLayout(dir string, l *Layout) error {
	if l.BuildID == "" {
		return errors.New("procs: layout has no build ID to key it by")
	}
	b, err := json.MarshalIndent(l, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(dir, layoutFileName(l.BuildID))
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// LoadLayout reads the layout SaveLayout wrote for buildID. It returns
// os.ErrNotExist (wrapped) when there is none, and an error when the file
// is of another LayoutVersion or another build.
func LoadLayout(dir, buildID string) (*Layout, error) {
	if buildID == "" {
		return nil, fmt.Errorf("procs: no build ID to look a layout up by: %w", os.ErrNotExist)
	}
	p := filepath.Join(dir, layoutFileName(buildID))
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var l Layout
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("procs: %s: %v", p, err)
	}
	if l.Version != LayoutVersion {
		return nil, fmt.Errorf("procs: %s: layout version %d, want %d", p, l.Version, LayoutVersion)
	}
	if l.BuildID != buildID {
		return nil, fmt.Errorf("procs: %s: layout of build ID %s, want %s", p, l.BuildID, buildID)
	}
	if l.PtrSize != 4 && l.PtrSize != 8 {
		return nil, fmt.Errorf("procs: %s: pointer size %d", p, l.PtrSize)
	}
	layoutCache.Store(buildID, &l)
	return &l, nil
}

func layoutFileName(buildID string) string {
	// Build IDs are hex (or "sha256:" + hex); keep the name portable.
	return "procs-" + strings.ReplaceAll(buildID, ":", "-") + ".json"
}
