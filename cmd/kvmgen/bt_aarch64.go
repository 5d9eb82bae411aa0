package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/kvmgen/kvmgen/modules"
	"github.com/kvmgen/kvmgen/unwind"
)

// armContext is what arm64 backtraces need beyond btContext.
type armContext struct {
	l      *unwind.TaskLayoutARM64
	vaBits int
	// Each CPU's IRQ and overflow stacks (zero ranges when unknown).
	irq, overflow []unwind.StackRange
}

// overflowStackSize is arm64's OVERFLOW_STACK_SIZE (SZ_4K).
const overflowStackSize = 4096

// newARMContext prepares arm64 backtraces: frame records need no unwind
// tables, only the task and pt_regs layouts and, for running CPUs, their
// registers and stacks. The kernel's data symbols (runqueues,
// __per_cpu_offset, irq_stack_ptr) come from -kernel's symbol table (or
// -symbols' System.map): Debian's arm64 kallsyms has text symbols only.
func newARMContext(c *btContext, ta *targetArgs) (*btContext, error) {
	kd := c.kd
	ts, err := btTypes(kd, ta)
	if err != nil {
		return nil, err
	}
	defer ts.Close()
	a := &armContext{vaBits: 48}
	c.arm = a
	a.l, err = unwind.TaskLayoutARM64FromTypes(ts)
	if err != nil {
		return nil, err
	}
	a.l.ThreadSize = unwind.ThreadSizeARM64(kd.LookupSymbol)
	if v, err := strconv.Atoi(kd.VMCoreInfo().Fields["NUMBER(VA_BITS)"]); err == nil && v > 0 {
		a.vaBits = v
	}
	c.syms, err = kernelSymtabLazy(kd)
	if err != nil {
		return nil, err
	}
	var mods []modules.Module
	if head, err := kd.LookupSymbol("modules"); err == nil {
		if ml, err := modules.LayoutFromTypes(ts); err == nil {
			mods, err = modules.List(kd, head, ml, modules.Options{Symbols: true})
			if err != nil {
				fmt.Fprintf(stderr, "kvmgen bt: modules: %v\n", err)
			}
		}
	} else {
		fmt.Fprintf(stderr, "kvmgen bt: no module symbols: %v\n", err)
	}
	addModules(c.syms, mods)
	c.regs, err = kd.CPURegisters()
	if err != nil {
		fmt.Fprintf(stderr, "kvmgen bt: %v: running tasks are unwound from their saved context\n", err)
	}
	n := len(c.regs)
	c.curr = make([]uint64, n)
	a.irq = make([]unwind.StackRange, n)
	a.overflow = make([]unwind.StackRange, n)
	base, err := kd.LookupSymbol("__per_cpu_offset")
	if err != nil && n > 0 {
		fmt.Fprintf(stderr, "kvmgen bt: %v (a data symbol: give -kernel or -symbols System.map): the tasks on the CPUs are unknown\n", err)
	}
	rq, rqErr := kd.LookupSymbol("runqueues")
	irqPtr, irqErr := kd.LookupSymbol("irq_stack_ptr")
	ovf, ovfErr := kd.LookupSymbol("overflow_stack")
	for cpu := 0; cpu < n && err == nil; cpu++ {
		off, err := c.word(base + 8*uint64(cpu))
		if err != nil {
			continue
		}
		if rqErr == nil && a.l.RQCurr >= 0 {
			c.curr[cpu], _ = c.word(rq + off + uint64(a.l.RQCurr))
		}
		if irqErr == nil {
			if lo, err := c.word(irqPtr + off); err == nil && lo != 0 {
				a.irq[cpu] = unwind.StackRange{Lo: lo, Hi: lo + a.l.ThreadSize, Name: "irq"}
			}
		}
		if ovfErr == nil {
			lo := ovf + off
			a.overflow[cpu] = unwind.StackRange{Lo: lo, Hi: lo + overflowStackSize, Name: "overflow"}
		}
	}
	c.schedLo, _ = kd.LookupSymbol("__sched_text_start")
	c.schedHi, _ = kd.LookupSymbol("__sched_text_end")
	c.lockLo, _ = kd.LookupSymbol("__lock_text_start")
	c.lockHi, _ = kd.LookupSymbol("__lock_text_end")
	return c, nil
}

// traceARM unwinds the task at addr (cpu >= 0: from that CPU's
// registers) by its frame records.
func (c *btContext) traceARM(t *btTrace, addr uint64, cpu int) {
	a := c.arm
	o := unwind.ARM64Options{VABits: a.vaBits}
	if addr != 0 {
		stack, final, user, err := unwind.TaskStackARM64(c.kd, a.l, addr)
		if err != nil {
			t.Err = err.Error()
			return
		}
		o.Stacks = append(o.Stacks, stack)
		o.Final, o.FinalUser = final, user
	}
	var st unwind.StartARM64
	if cpu >= 0 && cpu < len(c.regs) {
		r := c.regs[cpu]
		t.CPU = cpu
		t.Source = fmt.Sprintf("CPU %d registers", cpu)
		t.Regs = map[string]uint64{}
		for i, n := range r.Names {
			t.Regs[n] = r.Values[i]
		}
		if ps, ok := r.Get("pstate"); ok && ps&0xf == 0 {
			// EL0t: the CPU was running user code; the task's kernel
			// stack holds nothing but its pt_regs.
			t.End = "user mode"
			return
		}
		for _, s := range []unwind.StackRange{a.irq[cpu], a.overflow[cpu]} {
			if s.Hi != 0 {
				o.Stacks = append(o.Stacks, s)
			}
		}
		st = unwind.StartARM64{PC: r.PC, FP: r.FP, SP: r.SP, Exact: true}
	} else {
		if addr == 0 {
			t.Err = "no task"
			return
		}
		var err error
		var v [3]uint64
		for i, off := range []int64{a.l.CtxPC, a.l.CtxFP, a.l.CtxSP} {
			if v[i], err = c.word(addr + uint64(off)); err != nil {
				t.Err = fmt.Sprintf("reading task->thread.cpu_context: %v", err)
				return
			}
		}
		t.Source = "saved context (thread.cpu_context)"
		st = unwind.StartARM64{PC: v[0], FP: v[1], SP: v[2]}
		if st.PC == 0 {
			t.Err = errors.New("task->thread.cpu_context.pc is 0: the task never ran").Error()
			return
		}
	}
	c.symbolize(t, unwind.UnwindARM64(c.kd, st, o))
}

var arm64RegOrder = func() []string {
	o := []string{"pc", "sp", "pstate"}
	for i := 0; i < 31; i++ {
		o = append(o, "x"+strconv.Itoa(i))
	}
	return o
}()
