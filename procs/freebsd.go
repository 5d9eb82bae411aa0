package procs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

// FreeBSD kernels. A System made by NewFreeBSD reads processes the way
// FreeBSD's libkvm and debuggers do: allproc (and zombproc, on kernels
// that still have one) is a LIST of struct proc linked through p_list, and
// each process's threads are a TAILQ of struct thread headed at p_threads
// and linked through td_plist. The members that name processes and
// threads (p_pid, p_comm, p_list, p_threads, td_tid, td_name, td_plist,
// td_oncpu) are located by the offsets the kernel exports for debuggers
// (the 4-byte constants proc_off_p_pid, thread_off_td_tid, ... of
// sys/kern/kern_proc.c and kern_thread.c), so they need no debugging
// information; the kernel's DWARF, when given, supplies them where they
// are not exported (it must then agree with them where they are) and the
// rest: parent, credentials, process group, session, state.
//
// GetProcs on such a System returns, per process (or per thread with
// Filter.Threads), a Proc with:
//
//   - Addr: the struct proc (per thread: the struct thread);
//   - PID: p_pid (per thread: td_tid, which FreeBSD numbers above
//     PID_MAX); TGID: p_pid;
//   - Comm: p_comm; Name: p_comm, and per thread of a process of several
//     threads "p_comm/td_name", as FreeBSD's ps -H shows it;
//   - NumThreads: the threads listed in p_threads; Thread: not the first
//     of them;
//   - CPU: td_oncpu (of the first thread for a process): the CPU the
//     thread was running on, else, with DWARF, td_lastcpu; -1 when
//     neither is known;
//   - State: FreeBSD ps's letter (R, S, D, T, W, L, Z, ?), as libkvm derives
//     it from p_state, td_state, td_inhibitors and td_flags; without DWARF
//     'R' for a thread running on a CPU and '?' for the others;
//   - with DWARF only: PPID (p_pptr->p_pid), UID, EUID, GID, EGID (from
//     p_ucred: cr_ruid, cr_uid, cr_rgid, cr_gid or cr_groups[0]), PGRP
//     and SID (p_pgrp), Kernel (P_SYSTEM in p_flag). Unknown, they are -1
//     (PPID, PGRP, SID) and ^uint32(0) (user and group IDs), never a
//     plausible 0;
//   - Flags, the memory fields (Mm, VSize, RSS...), TTY and times: 0
//     (Flags holds Linux's PF_* flags, which p_flag is not).
//
// The process of PID 0 (the kernel's, proc0) is listed, as FreeBSD's ps
// lists it: Filter.Idle does not apply. Selecting by user, process group,
// session (which need DWARF) or terminal (unsupported) without the data
// is an error. A process or thread list that breaks (see bind.QueueAt) ends
// with what was read before and a *PartialError holding the
// *bind.ListError that names the entry at fault; the walk goes on with the
// next process when a thread list breaks. The other System methods
// (ReadProc, Maps, Argv, the environment, times, swap) read Linux's
// structures: on a FreeBSD System they give nothing or an error.

// IsFreeBSD reports whether t runs a FreeBSD kernel: it has allproc and no
// init_task (a dump whose format names FreeBSD counts too).
func IsFreeBSD(t kvm.Target) bool {
	if in, ok := t.(interface{ Info() kvm.DumpInfo }); ok && strings.HasPrefix(in.Info().Format, "FreeBSD") {
		return true
	}
	if _, err := t.LookupSymbol("allproc"); err != nil {
		return false
	}
	_, err := t.LookupSymbol("init_task")
	return err != nil
}

// fbsdCommLen is MAXCOMLEN+1, the size of p_comm and td_name.
const fbsdCommLen = 20

// fbsdMaxOff bounds the member offsets a kernel exports (read from the
// dump, so unchecked): struct proc and struct thread are a few KiB.
const fbsdMaxOff = 1 << 16

// fbsdMember is where a member lies in its structure; ok false: unknown.
type fbsdMember struct {
	off, size int64
	signed    bool
	ok        bool
	ptrElem   bool // cr_groups: a pointer to the array (FreeBSD 10 to 14), not the array
}

// fbsdLayout is what a FreeBSD System reads with.
type fbsdLayout struct {
	ptrSize int
	bo      binary.ByteOrder
	// Exported by the kernel (or from DWARF): always known.
	pList, pPid, pComm, pThreads, tdTid, tdName, tdPlist fbsdMember
	// Optional.
	tdOncpu                                   fbsdMember
	pPptr, pState, pFlag, pUcred, pPgrp       fbsdMember
	crUID, crRUID, crRGID, crGID, crGroups    fbsdMember
	pgID, pgSession, sSID                     fbsdMember
	tdState, tdInhibitors, tdFlags, tdLastcpu fbsdMember
}

// fbsdExported names the exported offset symbols and the members they
// locate.
var fbsdExported = []struct{ sym, st, member string }{
	{"proc_off_p_list", "struct proc", "p_list"},
	{"proc_off_p_pid", "struct proc", "p_pid"},
	{"proc_off_p_comm", "struct proc", "p_comm"},
	{"proc_off_p_threads", "struct proc", "p_threads"},
	{"thread_off_td_tid", "struct thread", "td_tid"},
	{"thread_off_td_name", "struct thread", "td_name"},
	{"thread_off_td_plist", "struct thread", "td_plist"},
	{"thread_off_td_oncpu", "struct thread", "td_oncpu"},
}

func (l *fbsdLayout) exported(i int) *fbsdMember {
	return []*fbsdMember{&l.pList, &l.pPid, &l.pComm, &l.pThreads, &l.tdTid, &l.tdName, &l.tdPlist, &l.tdOncpu}[i]
}

// NewFreeBSD binds the process interface to a FreeBSD kernel target (see
// IsFreeBSD). di, the kernel's DWARF, may be nil: the members the kernel
// exports are then all GetProcs reads. The data model comes from the
// target (a *kvm.KVM tells it) or from di.
func NewFreeBSD(t kvm.Target, di DebugInfo, opts ...Options) (*System, error) {
	l := &Layout{Version: LayoutVersion}
	if in, ok := t.(interface{ Info() kvm.DumpInfo }); ok && in.Info().PtrSize != 0 {
		i := in.Info()
		l.Arch, l.PtrSize, l.BigEndian = i.Arch, i.PtrSize, i.BigEndian
	}
	if di != nil {
		dm := di.DataModel()
		if l.PtrSize == 0 {
			l.Arch, l.PtrSize, l.BigEndian = dm.Arch, dm.PtrSize, dm.BigEndian()
		} else if dm.PtrSize != l.PtrSize || dm.BigEndian() != l.BigEndian || (dm.Arch != "" && l.Arch != "" && dm.Arch != l.Arch) {
			return nil, fmt.Errorf("procs: the kernel's types are of %s (%d-byte pointers), the target is %s (%d-byte pointers)", dm.Arch, dm.PtrSize, l.Arch, l.PtrSize)
		}
	}
	if l.PtrSize != 4 && l.PtrSize != 8 {
		return nil, fmt.Errorf("procs: FreeBSD target of unknown data model (pointer size %d): give the kernel's types", l.PtrSize)
	}
	fl, err := resolveFreeBSD(t, di, l.PtrSize, l.ByteOrder())
	if err != nil {
		return nil, err
	}
	s, err := New(t, l, opts...)
	if err != nil {
		return nil, err
	}
	s.fbsd = fl
	return s, nil
}

func resolveFreeBSD(t kvm.Target, di DebugInfo, ptrSize int, bo binary.ByteOrder) (*fbsdLayout, error) {
	l := &fbsdLayout{ptrSize: ptrSize, bo: bo}
	structs := map[string]*dwarfmodel.Struct{}
	strct := func(name string) *dwarfmodel.Struct {
		if di == nil {
			return nil
		}
		if st, ok := structs[name]; ok {
			return st
		}
		var st *dwarfmodel.Struct
		if typ, err := di.Type(name); err == nil {
			if s, ok := dwarfmodel.Underlying(typ).(*dwarfmodel.Struct); ok && !s.Incomplete {
				st = s
			}
		}
		structs[name] = st
		return st
	}
	member := func(stName string, paths ...string) fbsdMember {
		st := strct(stName)
		if st == nil {
			return fbsdMember{}
		}
		for _, p := range paths {
			off, typ, ok := dwarfmodel.MemberPath(st, p)
			if !ok || off < 0 || off > fbsdMaxOff {
				continue
			}
			m := fbsdMember{off: off, size: typ.Size(), ok: true}
			switch u := dwarfmodel.Underlying(typ).(type) {
			case *dwarfmodel.Base:
				m.signed = u.Encoding == dwarfmodel.EncSigned || u.Encoding == dwarfmodel.EncSignedChar
			case *dwarfmodel.Enum:
				m.signed = u.Signed
			case *dwarfmodel.Array:
				m.size = u.Elem.Size() // the first element
			case *dwarfmodel.Pointer:
				if p == "cr_groups" {
					m.size, m.ptrElem = 4, true
				}
			}
			return m
		}
		return fbsdMember{}
	}

	var missing []string
	for i, e := range fbsdExported {
		m := l.exported(i)
		dw := member(e.st, e.member)
		a, err := t.LookupSymbol(e.sym)
		if err != nil {
			if !dw.ok && e.member != "td_oncpu" {
				missing = append(missing, fmt.Sprintf("%s (no symbol %s)", e.member, e.sym))
			}
			*m = dw
			continue
		}
		var b [4]byte
		if err := kvm.ReadFull(t, b[:], a); err != nil {
			return nil, &KernelReadError{What: e.sym, Addr: a, Err: err}
		}
		off := int64(bo.Uint32(b[:]))
		if off > fbsdMaxOff {
			return nil, fmt.Errorf("procs: %s is %d: not an offset in %s", e.sym, off, e.st)
		}
		if dw.ok && dw.off != off {
			return nil, fmt.Errorf("procs: the kernel's types put %s.%s at offset %d, the kernel exports %d (%s): types of another kernel", e.st, e.member, dw.off, off, e.sym)
		}
		*m = fbsdMember{off: off, size: dw.size, signed: dw.signed, ok: true}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("procs: this FreeBSD kernel does not export the offsets of %s; give its DWARF (kernel.debug)", strings.Join(missing, ", "))
	}
	// The sizes the exported offsets imply: pid_t and lwpid_t are 32-bit,
	// the names MAXCOMLEN+1 bytes, td_oncpu an int (u_char before FreeBSD
	// 8, which exported nothing).
	for _, m := range []*fbsdMember{&l.pPid, &l.tdTid, &l.tdOncpu} {
		if m.ok {
			m.size, m.signed = 4, true
		}
	}
	l.pComm.size, l.tdName.size = fbsdCommLen, fbsdCommLen

	l.pPptr = member("struct proc", "p_pptr")
	l.pState = member("struct proc", "p_state")
	l.pFlag = member("struct proc", "p_flag")
	l.pUcred = member("struct proc", "p_ucred")
	l.pPgrp = member("struct proc", "p_pgrp")
	l.crUID = member("struct ucred", "cr_uid")
	l.crRUID = member("struct ucred", "cr_ruid")
	l.crRGID = member("struct ucred", "cr_rgid")
	l.crGID = member("struct ucred", "cr_gid") // FreeBSD 15
	if !l.crGID.ok {
		l.crGroups = member("struct ucred", "cr_groups")
	}
	l.pgID = member("struct pgrp", "pg_id")
	l.pgSession = member("struct pgrp", "pg_session")
	l.sSID = member("struct session", "s_sid")
	l.tdState = member("struct thread", "td_state")
	l.tdInhibitors = member("struct thread", "td_inhibitors")
	l.tdFlags = member("struct thread", "td_flags")
	l.tdLastcpu = member("struct thread", "td_lastcpu")
	return l, nil
}

// FreeBSD's constants (sys/sys/proc.h), unchanged since FreeBSD 7.
const (
	fbsdPRSNew, fbsdPRSNormal, fbsdPRSZombie   = 0, 1, 2 // enum p_state
	fbsdTDSCanRun, fbsdTDSRunQ, fbsdTDSRunning = 2, 3, 4 // enum td_states
	fbsdTDISleeping, fbsdTDILock               = 0x2, 0x8
	fbsdTDFSintr                               = 0x8
	fbsdPSystem                                = 0x200
	fbsdPStopped                               = 0x20000 | 0x40000 | 0x80000 // P_STOPPED_SIG, _TRACE, _SINGLE
	fbsdNoCPU                                  = -1
)

// What an unknown ID reads as (no DWARF).
const (
	fbsdUnknownID  int32  = -1
	fbsdUnknownUID uint32 = ^uint32(0)
)

// fbsdThread is what is read of a struct thread.
type fbsdThread struct {
	addr                        uint64
	tid                         int32
	name                        string
	oncpu, lastcpu              int
	state, inhibitors, tdflags  int64
	haveState, haveLast, haveOn bool
}

// freeBSDProcs is GetProcs on a FreeBSD kernel.
func (s *System) freeBSDProcs(f Filter) ([]Proc, error) {
	l := s.fbsd
	switch f.Op {
	case ByUID, ByRUID:
		if !l.pUcred.ok || !l.crUID.ok || !l.crRUID.ok {
			return nil, fmt.Errorf("procs: selecting FreeBSD processes by %v needs the kernel's DWARF (struct ucred)", f.Op)
		}
	case ByPGRP, BySession:
		if !l.pPgrp.ok || !l.pgID.ok || !l.pgSession.ok || !l.sSID.ok {
			return nil, fmt.Errorf("procs: selecting FreeBSD processes by %v needs the kernel's DWARF (struct pgrp, struct session)", f.Op)
		}
	case ByTTY:
		return nil, errors.New("procs: selecting FreeBSD processes by terminal is not supported")
	}
	var out []Proc
	var errs []error
	n, threads := 0, 0 // processes and threads read: at most bind.MaxListLen each
	for _, list := range []string{"allproc", "zombproc"} {
		head, err := s.t.LookupSymbol(list)
		if err != nil {
			if list == "allproc" {
				return nil, fmt.Errorf("procs: symbol allproc: %w", err)
			}
			continue // zombproc: gone since FreeBSD 13
		}
		q := s.fbsdQueue(bind.QueueList, list+" (struct proc.p_list)", head, l.pList)
		for e, err := range bind.QueueAt(s.t, q) {
			if err != nil {
				errs = append(errs, err)
				break
			}
			if n++; n > bind.MaxListLen || threads >= bind.MaxListLen {
				errs = append(errs, fmt.Errorf("procs: more than %d processes or threads", bind.MaxListLen))
				break
			}
			ps, perrs := s.fbsdProc(e.Addr, f.Threads, bind.MaxListLen-threads)
			if len(ps) > 0 {
				threads += max(ps[0].NumThreads, 1)
			}
			errs = append(errs, perrs...)
			for i := range ps {
				if f.match(&ps[i]) {
					out = append(out, ps[i])
				}
			}
		}
	}
	if len(errs) > 0 {
		return out, &PartialError{Errs: errs}
	}
	return out, nil
}

func (s *System) fbsdQueue(kind bind.QueueKind, name string, head uint64, link fbsdMember) bind.Queue {
	return bind.Queue{Kind: kind, Name: name, Head: head, Link: uint64(link.off), PtrSize: s.fbsd.ptrSize, BigEndian: s.l.BigEndian}
}

// fbsdInt reads the integer member m of the structure at base.
func (s *System) fbsdInt(base uint64, m fbsdMember, what string) (int64, error) {
	if m.size != 1 && m.size != 2 && m.size != 4 && m.size != 8 {
		return 0, fmt.Errorf("procs: %s: a %d-byte integer", what, m.size)
	}
	b, err := s.read(base+uint64(m.off), m.size, what)
	if err != nil {
		return 0, err
	}
	var v uint64
	switch m.size {
	case 1:
		v = uint64(b[0])
	case 2:
		v = uint64(s.bo.Uint16(b))
	case 4:
		v = uint64(s.bo.Uint32(b))
	case 8:
		v = s.bo.Uint64(b)
	}
	if m.signed && m.size < 8 {
		return bind.SignExtend(v, uint(m.size*8)), nil
	}
	return int64(v), nil
}

func (s *System) fbsdPtr(base uint64, m fbsdMember, what string) (uint64, error) {
	return s.readPtr(base+uint64(m.off), what)
}

func (s *System) fbsdString(base uint64, m fbsdMember, what string) (string, error) {
	b, err := s.read(base+uint64(m.off), fbsdCommLen, what)
	if err != nil {
		return "", err
	}
	return cstring(b), nil
}

// fbsdProc reads the process at p and (at most maxThreads of) its threads:
// one Proc, or one per thread. What could not be read is returned as
// errors; a process whose p_pid or p_comm cannot be read is left out, one
// whose optional members cannot be read is listed without them.
func (s *System) fbsdProc(p uint64, threads bool, maxThreads int) ([]Proc, []error) {
	l := s.fbsd
	var errs []error
	fail := func(err error) { errs = append(errs, fmt.Errorf("struct proc at %#x: %w", p, err)) }
	pid, err := s.fbsdInt(p, l.pPid, "struct proc.p_pid")
	if err != nil {
		fail(err)
		return nil, errs
	}
	comm, err := s.fbsdString(p, l.pComm, "struct proc.p_comm")
	if err != nil {
		fail(err)
		return nil, errs
	}
	base := Proc{Addr: p, PID: int32(pid), TGID: int32(pid), Comm: comm, Name: comm, PPID: fbsdUnknownID,
		PGRP: fbsdUnknownID, SID: fbsdUnknownID, TPGID: -1, CPU: fbsdNoCPU, State: '?',
		UID: fbsdUnknownUID, EUID: fbsdUnknownUID, GID: fbsdUnknownUID, EGID: fbsdUnknownUID}
	pflag, err := s.fbsdProcExtra(&base)
	if err != nil {
		fail(err)
	}
	pstate := int64(-1)
	if l.pState.ok {
		if v, err := s.fbsdInt(p, l.pState, "struct proc.p_state"); err == nil {
			pstate = v
		} else {
			fail(err)
		}
	}
	var tds []fbsdThread
	q := s.fbsdQueue(bind.QueueTailQ, fmt.Sprintf("threads of pid %d (struct thread.td_plist)", pid), p+uint64(l.pThreads.off), l.tdPlist)
	q.Max = max(maxThreads, 1)
	for e, err := range bind.QueueAt(s.t, q) {
		if err != nil {
			errs = append(errs, err)
			break
		}
		td, err := s.fbsdThread(e.Addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("pid %d: struct thread at %#x: %w", pid, e.Addr, err))
			continue
		}
		tds = append(tds, td)
	}
	base.NumThreads = len(tds)
	base.Kernel = pflag&fbsdPSystem != 0
	if pstate == fbsdPRSZombie {
		base.State = 'Z'
	}
	if !threads {
		if len(tds) > 0 {
			s.fbsdApplyThread(&base, &tds[0], pstate, pflag)
		}
		return []Proc{base}, errs
	}
	if len(tds) == 0 { // a zombie, or a thread list that could not be read
		return []Proc{base}, errs
	}
	out := make([]Proc, 0, len(tds))
	for i := range tds {
		t := base
		t.Addr, t.PID, t.Thread = tds[i].addr, tds[i].tid, i > 0
		if len(tds) > 1 {
			t.Name = comm + "/" + tds[i].name
		}
		s.fbsdApplyThread(&t, &tds[i], pstate, pflag)
		out = append(out, t)
	}
	return out, errs
}

// fbsdProcExtra reads what DWARF locates: parent, credentials, process
// group and session into p, and returns p_flag (P_*: not Proc.Flags,
// which holds Linux's PF_* flags).
func (s *System) fbsdProcExtra(p *Proc) (pflag uint64, err error) {
	l := s.fbsd
	if l.pFlag.ok {
		v, err := s.fbsdInt(p.Addr, l.pFlag, "struct proc.p_flag")
		if err != nil {
			return 0, err
		}
		pflag = uint64(v)
	}
	if l.pPptr.ok {
		pp, err := s.fbsdPtr(p.Addr, l.pPptr, "struct proc.p_pptr")
		if err != nil {
			return pflag, err
		}
		p.PPID = 0 // proc0 and orphans being reaped have no parent
		if pp != 0 {
			v, err := s.fbsdInt(pp, l.pPid, "p_pptr->p_pid")
			if err != nil {
				return pflag, err
			}
			p.PPID = int32(v)
		}
	}
	if l.pUcred.ok {
		cr, err := s.fbsdPtr(p.Addr, l.pUcred, "struct proc.p_ucred")
		if err != nil {
			return pflag, err
		}
		if cr != 0 {
			ids := []struct {
				m   fbsdMember
				dst *uint32
			}{{l.crUID, &p.EUID}, {l.crRUID, &p.UID}, {l.crRGID, &p.GID}, {l.crGID, &p.EGID}}
			if l.crGroups.ok && !l.crGroups.ptrElem {
				ids = append(ids, struct {
					m   fbsdMember
					dst *uint32
				}{l.crGroups, &p.EGID})
			}
			for _, id := range ids {
				if !id.m.ok {
					continue
				}
				v, err := s.fbsdInt(cr, id.m, "struct ucred")
				if err != nil {
					return pflag, err
				}
				*id.dst = uint32(v)
			}
			if l.crGroups.ok && l.crGroups.ptrElem { // cr_groups[0], the effective group
				g, err := s.fbsdPtr(cr, l.crGroups, "struct ucred.cr_groups")
				if err != nil {
					return pflag, err
				}
				if g != 0 {
					v, err := s.fbsdInt(g, fbsdMember{size: 4, ok: true}, "cr_groups[0]")
					if err != nil {
						return pflag, err
					}
					p.EGID = uint32(v)
				}
			}
		}
	}
	if l.pPgrp.ok && l.pgID.ok {
		pg, err := s.fbsdPtr(p.Addr, l.pPgrp, "struct proc.p_pgrp")
		if err != nil {
			return pflag, err
		}
		if pg != 0 {
			v, err := s.fbsdInt(pg, l.pgID, "struct pgrp.pg_id")
			if err != nil {
				return pflag, err
			}
			p.PGRP = int32(v)
			if l.pgSession.ok && l.sSID.ok {
				sess, err := s.fbsdPtr(pg, l.pgSession, "struct pgrp.pg_session")
				if err != nil {
					return pflag, err
				}
				if sess != 0 {
					v, err := s.fbsdInt(sess, l.sSID, "struct session.s_sid")
					if err != nil {
						return pflag, err
					}
					p.SID = int32(v)
				}
			}
		}
	}
	return pflag, nil
}

// fbsdThread reads the thread at td.
func (s *System) fbsdThread(td uint64) (fbsdThread, error) {
	l := s.fbsd
	t := fbsdThread{addr: td, oncpu: fbsdNoCPU, lastcpu: fbsdNoCPU}
	tid, err := s.fbsdInt(td, l.tdTid, "struct thread.td_tid")
	if err != nil {
		return t, err
	}
	t.tid = int32(tid)
	if t.name, err = s.fbsdString(td, l.tdName, "struct thread.td_name"); err != nil {
		return t, err
	}
	// The rest is optional: what cannot be read is unknown.
	if l.tdOncpu.ok {
		if v, err := s.fbsdInt(td, l.tdOncpu, "struct thread.td_oncpu"); err == nil {
			t.oncpu, t.haveOn = int(v), true
		}
	}
	if l.tdLastcpu.ok {
		if v, err := s.fbsdInt(td, l.tdLastcpu, "struct thread.td_lastcpu"); err == nil {
			if l.tdLastcpu.size == 1 && v == 0xff { // u_char before FreeBSD 11: NOCPU is 255
				v = fbsdNoCPU
			}
			t.lastcpu, t.haveLast = int(v), true
		}
	}
	if l.tdState.ok && l.tdInhibitors.ok && l.tdFlags.ok {
		st, err1 := s.fbsdInt(td, l.tdState, "struct thread.td_state")
		inh, err2 := s.fbsdInt(td, l.tdInhibitors, "struct thread.td_inhibitors")
		fl, err3 := s.fbsdInt(td, l.tdFlags, "struct thread.td_flags")
		if err1 == nil && err2 == nil && err3 == nil {
			t.state, t.inhibitors, t.tdflags, t.haveState = st, inh, fl, true
		}
	}
	return t, nil
}

// fbsdApplyThread sets p's CPU and state from thread td, as libkvm's
// kvm_proclist and FreeBSD ps's state() do.
func (s *System) fbsdApplyThread(p *Proc, td *fbsdThread, pstate int64, pflag uint64) {
	switch {
	case td.haveOn && td.oncpu != fbsdNoCPU:
		p.CPU = td.oncpu
	case td.haveLast:
		p.CPU = td.lastcpu
	}
	if p.State == 'Z' {
		return
	}
	if !td.haveState || pstate < 0 {
		if td.haveOn && td.oncpu != fbsdNoCPU {
			p.State = 'R' // td_oncpu is NOCPU unless the thread runs
		}
		return
	}
	switch {
	case pstate == fbsdPRSNew:
		p.State = 'R' // SIDL
	case pstate != fbsdPRSNormal:
		p.State = '?'
	case td.state == fbsdTDSRunQ || td.state == fbsdTDSCanRun || td.state == fbsdTDSRunning:
		p.State = 'R'
	case pflag&fbsdPStopped != 0:
		p.State = 'T'
	case td.inhibitors&fbsdTDISleeping != 0:
		if td.tdflags&fbsdTDFSintr != 0 {
			p.State = 'S'
		} else {
			p.State = 'D'
		}
	case td.inhibitors&fbsdTDILock != 0:
		p.State = 'L'
	default:
		p.State = 'W'
	}
}
