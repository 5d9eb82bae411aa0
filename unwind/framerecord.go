package unwind

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// AArch64 kernels are built with frame pointers (CONFIG_FRAME_POINTER is
// forced on arm64): every function that calls another stores a frame
// record {x29, x30} (the caller's frame pointer and the return address)
// and points x29 at it. The kernel's own unwinder (arch/arm64/kernel/
// stacktrace.c) follows that chain; so does UnwindARM64, with the same
// rules: a frame record is 8-byte aligned and lies, 16 bytes of it, on a
// stack the task may use; within one stack the chain moves up, and a stack
// once left is never re-entered; the chain ends at the final frame record,
// the zeroed pt_regs->stackframe at the top of the task's stack that the
// entry code (and copy_thread, and the boot CPU's init_cpu_task) set up.

// StackRange is one stack an arm64 unwind may walk: [Lo, Hi).
type StackRange struct {
	Lo, Hi uint64
	Name   string // "task", "irq", "overflow"
}

func (s StackRange) holds(addr, n uint64) bool {
	return addr >= s.Lo && addr+n <= s.Hi && addr+n > addr
}

// StartARM64 is where an arm64 unwind starts.
type StartARM64 struct {
	// PC is the first frame's address: a CPU's pc (Exact) or a sleeping
	// task's task->thread.cpu_context.pc (a return address into
	// __switch_to); FP is x29 or cpu_context.fp, SP the stack pointer.
	PC, FP, SP uint64
	Exact      bool
}

// ARM64Options bound an arm64 unwind.
type ARM64Options struct {
	MaxFrames int // default 128
	// Stacks are the stacks the unwind may walk (the task's, the CPU's IRQ
	// and overflow stacks), in any order.
	Stacks []StackRange
	// Final is the address of the task's final frame record
	// (task_pt_regs(task)->stackframe); 0 if unknown (then the unwind
	// ends at a zero frame pointer).
	Final uint64
	// FinalUser says the final frame record belongs to a user-mode
	// pt_regs (the task entered the kernel from user space): the unwind
	// then ends in "user mode", else at the "end of stack".
	FinalUser bool
	// VABits is the kernel's virtual address size (VMCOREINFO
	// NUMBER(VA_BITS)); return addresses are stripped of pointer
	// authentication codes above it. Default 48.
	VABits int
}

// StripPAC removes a pointer authentication code from an address the
// way the kernel's ptrauth_strip_insn_pac does: a kernel address (bit 55
// set) gets all bits from vaBits up set, a user address cleared.
func StripPAC(addr uint64, vaBits int) uint64 {
	if vaBits <= 0 || vaBits >= 64 {
		vaBits = 48
	}
	mask := ^uint64(0) << vaBits
	if addr&(1<<55) != 0 {
		return addr | mask
	}
	return addr &^ mask
}

// UnwindARM64 walks an arm64 kernel stack by its frame records. Frames
// carry the frame record's address in FP (SP is the start's stack pointer
// on the first frame, else 0: frame records do not record it).
func UnwindARM64(mem Memory, st StartARM64, o ARM64Options) Trace {
	if o.MaxFrames == 0 {
		o.MaxFrames = 128
	}
	var tr Trace
	pc, fp := StripPAC(st.PC, o.VABits), st.FP
	tr.Frames = append(tr.Frames, Frame{PC: pc, SP: st.SP, FP: fp, Exact: st.Exact})
	where := func(i int) string {
		if i < 0 {
			return "outside the known stacks"
		}
		return "on the " + o.Stacks[i].Name + " stack"
	}
	find := func(addr uint64) int {
		for i, s := range o.Stacks {
			if s.holds(addr, 16) {
				return i
			}
		}
		return -1
	}
	left := make([]bool, len(o.Stacks))
	cur := -1 // the stack of the previous frame record
	var prev uint64
	var rec [16]byte
	for len(tr.Frames) < o.MaxFrames {
		if o.Final != 0 && fp == o.Final {
			if o.FinalUser {
				tr.End = "user mode"
			} else {
				tr.End = "end of stack"
			}
			return tr
		}
		if fp == 0 {
			if o.Final == 0 {
				tr.End = "end of stack"
			} else {
				tr.Stop = fmt.Sprintf("after %#x: a zero frame pointer before the final frame record %#x", pc, o.Final)
			}
			return tr
		}
		if fp&7 != 0 {
			tr.Stop = fmt.Sprintf("after %#x: frame pointer %#x is not 8-byte aligned", pc, fp)
			return tr
		}
		s := find(fp)
		switch {
		case len(o.Stacks) > 0 && s < 0:
			tr.Stop = fmt.Sprintf("after %#x: frame pointer %#x leaves the task's stacks (last %s)", pc, fp, where(cur))
			return tr
		case s >= 0 && left[s]:
			tr.Stop = fmt.Sprintf("after %#x: frame pointer %#x goes back to the %s stack, which the unwind had left", pc, fp, o.Stacks[s].Name)
			return tr
		case s == cur && fp <= prev:
			tr.Stop = fmt.Sprintf("after %#x: frame pointer %#x does not move up the stack (%s; previous %#x)", pc, fp, where(s), prev)
			return tr
		}
		if s != cur && cur >= 0 {
			left[cur] = true
		}
		if err := readFull(mem, rec[:], fp); err != nil {
			tr.Stop = fmt.Sprintf("after %#x: reading the frame record at %#x: %v", pc, fp, err)
			return tr
		}
		cur, prev = s, fp
		nfp := binary.LittleEndian.Uint64(rec[:])
		pc = StripPAC(binary.LittleEndian.Uint64(rec[8:]), o.VABits)
		tr.Frames = append(tr.Frames, Frame{PC: pc, FP: nfp})
		fp = nfp
	}
	tr.Stop = fmt.Sprintf("stopped after %d frames", o.MaxFrames)
	return tr
}

// TaskLayoutARM64 is what an arm64 backtrace needs of the kernel's types.
type TaskLayoutARM64 struct {
	Stack                        int64 // task_struct.stack
	CtxFP, CtxSP, CtxPC          int64 // task_struct.thread.cpu_context.{fp,sp,pc}
	ThreadSize                   uint64
	PtRegsSize                   uint64 // sizeof(struct pt_regs)
	PtStackframe, PtPstate, PtPC int64  // struct pt_regs' stackframe, pstate and pc
	RQCurr                       int64  // struct rq.curr; -1 when unknown
}

// TaskLayoutARM64FromTypes reads the offsets from the kernel's types.
// ThreadSize is left 0: the caller sets it (ThreadSizeARM64).
func TaskLayoutARM64FromTypes(src dwarfmodel.Source) (*TaskLayoutARM64, error) {
	get := func(name string) (*dwarfmodel.Struct, error) {
		t, err := src.Type(name)
		if err != nil {
			return nil, err
		}
		st, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Struct)
		if !ok {
			return nil, fmt.Errorf("%s is not a struct", name)
		}
		return st, nil
	}
	task, err := get("struct task_struct")
	if err != nil {
		return nil, err
	}
	l := &TaskLayoutARM64{RQCurr: -1}
	var ok [4]bool
	l.Stack, _, ok[0] = dwarfmodel.MemberPath(task, "stack")
	l.CtxFP, _, ok[1] = dwarfmodel.MemberPath(task, "thread.cpu_context.fp")
	l.CtxSP, _, ok[2] = dwarfmodel.MemberPath(task, "thread.cpu_context.sp")
	l.CtxPC, _, ok[3] = dwarfmodel.MemberPath(task, "thread.cpu_context.pc")
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] {
		return nil, errors.New("task_struct has no stack or thread.cpu_context.{fp,sp,pc} (not arm64?)")
	}
	pt, err := get("struct pt_regs")
	if err != nil {
		return nil, err
	}
	l.PtRegsSize = uint64(pt.ByteSize)
	var ok1, ok2 bool
	l.PtStackframe, _, ok1 = dwarfmodel.MemberPath(pt, "stackframe")
	l.PtPstate, _, ok2 = dwarfmodel.MemberPath(pt, "pstate")
	if !ok2 {
		l.PtPstate, _, ok2 = dwarfmodel.MemberPath(pt, "user_regs.pstate")
	}
	var ok3 bool
	l.PtPC, _, ok3 = dwarfmodel.MemberPath(pt, "pc")
	if !ok3 {
		l.PtPC, _, ok3 = dwarfmodel.MemberPath(pt, "user_regs.pc")
	}
	if !ok1 || !ok2 || !ok3 {
		return nil, errors.New("struct pt_regs has no stackframe, pstate or pc")
	}
	if rq, err := get("struct rq"); err == nil {
		if off, _, ok := dwarfmodel.MemberPath(rq, "curr"); ok {
			l.RQCurr = off
		}
	}
	return l, nil
}

// ThreadSizeARM64 is THREAD_SIZE: the size of the boot task's stack,
// __end_init_task - init_stack (arm64's linker script places it so), or
// 16 KiB (THREAD_SHIFT 14, no KASAN) when those symbols are unknown.
func ThreadSizeARM64(sym Symbols) uint64 {
	lo, err1 := sym("init_stack")
	hi, err2 := sym("__end_init_task")
	if err1 == nil && err2 == nil && hi > lo {
		if n := hi - lo; n&(n-1) == 0 && n >= 4096 && n <= 1<<20 {
			return n
		}
	}
	return 16384
}

// TaskStackARM64 returns a task's stack, its final frame record and
// whether that belongs to a user-mode pt_regs (pstate's mode is EL0t and
// a pc was saved: the boot CPU's idle task has an all-zero pt_regs).
func TaskStackARM64(mem Memory, l *TaskLayoutARM64, task uint64) (StackRange, uint64, bool, error) {
	var b [8]byte
	if err := readFull(mem, b[:], task+uint64(l.Stack)); err != nil {
		return StackRange{}, 0, false, fmt.Errorf("reading task->stack: %w", err)
	}
	lo := binary.LittleEndian.Uint64(b[:])
	if l.ThreadSize == 0 {
		return StackRange{}, 0, false, errors.New("THREAD_SIZE unknown")
	}
	if lo == 0 || lo&4095 != 0 {
		return StackRange{}, 0, false, fmt.Errorf("task->stack %#x is not a stack", lo)
	}
	s := StackRange{Lo: lo, Hi: lo + l.ThreadSize, Name: "task"}
	regs := s.Hi - l.PtRegsSize
	final := regs + uint64(l.PtStackframe)
	user := false
	if err := readFull(mem, b[:], regs+uint64(l.PtPstate)); err == nil {
		user = binary.LittleEndian.Uint64(b[:])&0xf == 0 // PSR_MODE_EL0t
	}
	if err := readFull(mem, b[:], regs+uint64(l.PtPC)); err != nil || binary.LittleEndian.Uint64(b[:]) == 0 {
		user = false
	}
	return s, final, user, nil
}
