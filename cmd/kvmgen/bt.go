package main

import (
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kvmgen/kvmgen/ksym"
	"github.com/kvmgen/kvmgen/modules"
	"github.com/kvmgen/kvmgen/printk"
	"github.com/kvmgen/kvmgen/procs"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/unwind"
)

func init() {
	register(command{
		name:  "bt",
		usage: "bt [-core DUMP] [-p PID | -a | -T] [-nosched] [-json]: kernel backtraces (x86-64 ORC, arm64 frame records) of the panicking CPU, a task, or every CPU",
		run:   runBT,
	})
}

const btSynopsis = `bt [-kernel VMLINUX] [-core DUMP] [-p PID[,PID...] | -a | -T] [-nosched] [-regs] [-orc auto|memory|file] [-json]

Prints kernel backtraces. x86-64: unwound with the kernel's ORC tables
(from the dump's memory, the modules' too; -orc file: the kernel's from
the -kernel vmlinux's .orc_unwind sections, also the fallback when the
dump lacks the table's pages). aarch64: by the frame records (x29/x30 chain), which
needs the kernel's data symbols: give -kernel (or -symbols System.map).
A task that was running on a CPU when the dump was taken is unwound from
that CPU's registers as the dump recorded them (NT_PRSTATUS notes); a
sleeping task from its saved context (x86-64: task->thread.sp, struct
inactive_task_frame; aarch64: task->thread.cpu_context).

Without -p, -a or -T: the CPU that panicked (panic_cpu), with the panic
message from the kernel log and its registers; when no CPU panicked, as -a.
-a: the task on every CPU. -T: every task. -nosched leaves out the
scheduler's and locking functions as /proc/PID/stack does.

Frames read "#N [stack pointer] function+0xoff/0xsize [module]" (aarch64:
the frame record's address instead of the stack pointer). An unwind
that cannot continue keeps its frames and says why.`

type btFrame struct {
	PC     uint64 `json:"pc"`
	SP     uint64 `json:"sp"`
	FP     uint64 `json:"fp,omitempty"` // aarch64: the frame record's address
	Symbol string `json:"symbol,omitempty"`
	Func   string `json:"function,omitempty"`
	Offset uint64 `json:"offset"`
	Size   uint64 `json:"size"`
	Module string `json:"module,omitempty"`
	Regs   bool   `json:"exception_frame,omitempty"`
	exact  bool   // PC is not a return address
}

type btTrace struct {
	PID    int32             `json:"pid"`
	Comm   string            `json:"comm"`
	Task   uint64            `json:"task"`
	CPU    int               `json:"cpu"` // -1: not running
	Source string            `json:"source"`
	Panic  string            `json:"panic,omitempty"`
	Regs   map[string]uint64 `json:"registers,omitempty"`
	Frames []btFrame         `json:"frames"`
	Stop   string            `json:"stopped,omitempty"`
	End    string            `json:"end,omitempty"`
	Err    string            `json:"error,omitempty"`
}

// btContext is what every backtrace of one dump needs.
type btContext struct {
	kd                               *kvm.KVM
	s                                *procs.System
	layout                           *unwind.TaskLayout
	arm                              *armContext // aarch64 kernels
	orc                              *unwind.ORC
	syms                             *ksym.Table
	regs                             []kvm.Regs
	curr                             []uint64 // the task on each CPU (0 unknown)
	schedLo, schedHi, lockLo, lockHi uint64
}

func runBT(stdout io.Writer, args []string) error {
	fs := newFlagSet("bt", btSynopsis)
	pf := addProcsFlags(fs)
	pids := fs.String("p", "", "the task(s) with these PIDs (comma-separated)")
	all := fs.Bool("a", false, "the task on every CPU")
	every := fs.Bool("T", false, "every task")
	nosched := fs.Bool("nosched", false, "leave out scheduler and lock functions, as /proc/PID/stack")
	showRegs := fs.Bool("regs", false, "print the registers of tasks unwound from a CPU's registers")
	asJSON := fs.Bool("json", false, "one JSON object per backtrace")
	orcFrom := fs.String("orc", "auto", "x86-64: where the kernel's ORC table is read: memory (the dump), file (-kernel's .orc_unwind sections), auto (memory, else the file)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("bt: unexpected arguments %q", fs.Args())
	}
	switch *orcFrom {
	case "auto", "memory", "file":
	default:
		return fmt.Errorf("bt: -orc %q: want auto, memory or file", *orcFrom)
	}
	s, kd, err := pf.open()
	if err != nil {
		return symbolHint(err, pf.targetArgs)
	}
	defer kd.Close()
	c, err := newBTContext(kd, s, pf.targetArgs, *orcFrom)
	if err != nil {
		return symbolHint(fmt.Errorf("bt: %w", err), pf.targetArgs)
	}
	var traces []btTrace
	panicMsg := ""
	switch {
	case *pids != "":
		want := map[int32]bool{}
		for _, f := range strings.Split(*pids, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("bt: -p %q: %w", f, err)
			}
			want[int32(n)] = true
		}
		ps, err := s.GetProcs(procs.Filter{Threads: true, Idle: true})
		if err != nil {
			return symbolHint(fmt.Errorf("bt: %w", err), pf.targetArgs)
		}
		found := map[int32]bool{}
		for _, p := range ps {
			if want[p.PID] {
				found[p.PID] = true
				traces = append(traces, c.trace(p.Addr, -1))
			}
		}
		for p := range want {
			if !found[p] {
				return fmt.Errorf("bt: no task with PID %d", p)
			}
		}
	case *every:
		ps, err := s.GetProcs(procs.Filter{Threads: true, Idle: true})
		if err != nil {
			return symbolHint(fmt.Errorf("bt: %w", err), pf.targetArgs)
		}
		for _, p := range ps {
			traces = append(traces, c.trace(p.Addr, -1))
		}
	default:
		cpus := []int{}
		pc := -1
		if !*all {
			pc = c.panicCPU()
		}
		if pc >= 0 {
			cpus = append(cpus, pc)
			panicMsg = panicMessage(kd)
			*showRegs = true
		} else {
			for i := range c.regs {
				cpus = append(cpus, i)
			}
		}
		for _, cpu := range cpus {
			t := c.trace(c.curr[cpu], cpu)
			t.Panic = panicMsg
			traces = append(traces, t)
		}
	}
	c.nameFrames(traces)
	failed := 0
	for i := range traces {
		t := &traces[i]
		if *nosched {
			kept := t.Frames[:0]
			for _, f := range t.Frames {
				if !c.inSched(f) {
					kept = append(kept, f)
				}
			}
			t.Frames = kept
		}
		if !*showRegs {
			t.Regs = nil
		}
		if t.Err != "" {
			failed++
		}
		if *asJSON {
			b, _ := json.Marshal(t)
			fmt.Fprintf(stdout, "%s\n", b)
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printTrace(stdout, t, c.kd.Info().Arch)
	}
	if failed == len(traces) && failed > 0 {
		return errors.New("bt: no backtrace could be unwound")
	}
	return nil
}

func newBTContext(kd *kvm.KVM, s *procs.System, ta *targetArgs, orcFrom string) (*btContext, error) {
	c := &btContext{kd: kd, s: s}
	switch a := kd.Info().Arch; a {
	case "x86_64":
	case "aarch64":
		return newARMContext(c, ta)
	default:
		return nil, fmt.Errorf("backtraces of %s kernels are not supported (x86-64 and aarch64 only)", a)
	}
	ts, err := btTypes(kd, ta)
	if err != nil {
		return nil, err
	}
	defer ts.Close()
	c.layout, err = unwind.TaskLayoutFromTypes(ts)
	if err != nil {
		return nil, err
	}
	format := unwind.FormatForRelease(kd.Info().OSRelease)
	c.orc, err = kernelORC(kd, *ta.kernel, orcFrom, format)
	if err != nil {
		return nil, err
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
	}
	addModules(c.syms, mods)
	for _, m := range mods {
		for _, a := range m.Areas {
			if a.Kind == "core" || a.Kind == "text" {
				if err := c.orc.AddModule(kd, c.layout, m.Name, m.Addr, a.Base, a.Base+a.Size, format); err != nil {
					fmt.Fprintf(stderr, "kvmgen bt: %v\n", err)
				}
			}
		}
	}
	c.regs, err = kd.CPURegisters()
	if err != nil {
		fmt.Fprintf(stderr, "kvmgen bt: %v: running tasks are unwound from their saved context\n", err)
	}
	c.curr = make([]uint64, len(c.regs))
	// The task on each CPU: the per-CPU current_task (up to 6.1) or
	// pcpu_hot.current_task (6.2+: its first member).
	off, err := kd.LookupSymbol("current_task")
	if err != nil {
		off, err = kd.LookupSymbol("pcpu_hot")
	}
	// x86-64's per-CPU symbols are offsets from __per_cpu_start (0 at
	// link time); a vmlinux's symbol table gives them displaced by KASLR
	// like the others, kallsyms not: the difference is right either way.
	if start, err2 := kd.LookupSymbol("__per_cpu_start"); err == nil && err2 == nil && off >= start {
		off -= start
	}
	base, err2 := kd.LookupSymbol("__per_cpu_offset")
	if err == nil && err2 == nil {
		for cpu := range c.curr {
			pcpu, err := c.word(base + 8*uint64(cpu))
			if err != nil {
				continue
			}
			c.curr[cpu], _ = c.word(pcpu + off)
		}
	}
	c.schedLo, _ = kd.LookupSymbol("__sched_text_start")
	c.schedHi, _ = kd.LookupSymbol("__sched_text_end")
	c.lockLo, _ = kd.LookupSymbol("__lock_text_start")
	c.lockHi, _ = kd.LookupSymbol("__lock_text_end")
	return c, nil
}

// btTypes opens the kernel's types for the few structures a backtrace
// needs (task_struct, the saved frame, pt_regs, module): with -kernel and
// no -btf, the vmlinux's own .BTF section when it has one (the same
// compiler's layout as its DWARF, and an order of magnitude faster to
// read), else as the other commands do.
func btTypes(kd *kvm.KVM, ta *targetArgs) (*typeSource, error) {
	if *ta.kernel != "" && *ta.btf == "" {
		if ts, err := openTypes("", *ta.kernel, kd); err == nil {
			return ts, nil
		}
	}
	return ta.types(kd)
}

// kernelORC reads the kernel's ORC table from the dump's memory
// ("memory"; "auto" when it is readable there) or the vmlinux file
// ("file"; "auto" when memory fails and -kernel is given).
func kernelORC(kd *kvm.KVM, kernel, from string, format unwind.ORCFormat) (*unwind.ORC, error) {
	switch from {
	case "memory":
		return unwind.KernelORC(kd, kd.LookupSymbol, format)
	case "file":
		if kernel == "" {
			return nil, errors.New("-orc file needs -kernel VMLINUX")
		}
		return vmlinuxORC(kd, kernel, format)
	}
	// auto: the dump's memory (searched in place: nothing read up front),
	// else the vmlinux's sections (the dump may lack the table's pages).
	o, err := unwind.KernelORC(kd, kd.LookupSymbol, format)
	if err == nil {
		if _, ok := o.Find(o.KStart); ok || o.KStart == 0 {
			return o, nil
		}
		err = errors.New("the ORC table in the dump's memory is unreadable")
	}
	if kernel == "" {
		return nil, err
	}
	o2, err2 := vmlinuxORC(kd, kernel, format)
	if err2 != nil {
		return nil, fmt.Errorf("%w; from %s: %v", err, kernel, err2)
	}
	return o2, nil
}

func vmlinuxORC(kd *kvm.KVM, kernel string, format unwind.ORCFormat) (*unwind.ORC, error) {
	f, err := elf.Open(kernel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	disp := uint64(kd.Kerndisp())
	// The displacement must carry the file's _stext to the dump's.
	if text := f.Section(".text"); text != nil {
		if st, err := kd.LookupSymbol("_stext"); err == nil && st-disp != text.Addr {
			return nil, fmt.Errorf("%s: .text at %#x, but the dump's _stext %#x less the displacement %#x is %#x", kernel, text.Addr, st, disp, st-disp)
		}
	}
	o, err := unwind.VmlinuxORC(f, disp, kd.LookupSymbol, format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kernel, err)
	}
	return o, nil
}

func (c *btContext) word(addr uint64) (uint64, error) {
	var b [8]byte
	n, err := c.kd.ReadMemory(b[:], addr)
	if err == nil && n != 8 {
		err = fmt.Errorf("short read at %#x", addr)
	}
	return binary.LittleEndian.Uint64(b[:]), err
}

// panicCPU is the kernel's panic_cpu (-1: none panicked).
func (c *btContext) panicCPU() int {
	a, err := c.kd.LookupSymbol("panic_cpu")
	if err != nil {
		return -1
	}
	var b [4]byte
	if n, err := c.kd.ReadMemory(b[:], a); err != nil || n != 4 {
		return -1
	}
	v := int32(binary.LittleEndian.Uint32(b[:]))
	if v < 0 || int(v) >= len(c.regs) {
		return -1
	}
	return int(v)
}

// panicMessage is the last "Kernel panic - not syncing: ..." of the log.
func panicMessage(kd *kvm.KVM) string {
	i := kd.Info()
	lg, err := printk.Read(kd, kd.VMCoreInfo(), i.PtrSize, i.BigEndian, printk.Options{})
	if err != nil {
		return ""
	}
	for k := len(lg.Records) - 1; k >= 0; k-- {
		t := lg.Records[k].Text
		if strings.HasPrefix(t, "Kernel panic - not syncing: ") {
			return strings.TrimRight(t, "\n")
		}
	}
	return ""
}

func (c *btContext) inSched(f btFrame) bool {
	pc := f.PC
	return (pc >= c.schedLo && pc < c.schedHi) || (pc >= c.lockLo && pc < c.lockHi)
}

// trace unwinds the task at addr; cpu >= 0 when it is the task on that CPU
// (from -a or the panic CPU); a task found running on a CPU is unwound
// from that CPU's registers either way.
func (c *btContext) trace(addr uint64, cpu int) btTrace {
	t := btTrace{Task: addr, CPU: -1}
	if cpu < 0 {
		for i, cur := range c.curr {
			if cur == addr && addr != 0 {
				cpu = i
			}
		}
	}
	if addr != 0 {
		if p, err := c.s.ReadProc(addr); err == nil {
			t.PID, t.Comm = p.PID, p.Comm
			if p.ExitState != 0 && cpu < 0 {
				t.Source = "none"
				t.Stop = "the task has exited (state " + string(p.State) + "): its kernel stack is gone"
				return t
			}
		} else {
			t.Err = err.Error()
		}
	}
	if c.arm != nil {
		c.traceARM(&t, addr, cpu)
		return t
	}
	var st unwind.StartX86
	if cpu >= 0 && cpu < len(c.regs) {
		r := c.regs[cpu]
		t.CPU = cpu
		t.Source = fmt.Sprintf("CPU %d registers", cpu)
		st = unwind.StartX86{IP: r.PC, SP: r.SP, BP: r.FP, Exact: true, Regs: map[int]uint64{}}
		t.Regs = map[string]uint64{}
		for i, n := range r.Names {
			t.Regs[n] = r.Values[i]
		}
		for off, n := range map[int]string{96: "rdx", 112: "rdi", 56: "r10", 16: "r13", 32: "rbp"} {
			st.Regs[off] = t.Regs[n]
		}
	} else {
		sp, err := c.word(addr + uint64(c.layout.ThreadSP))
		if err != nil {
			t.Err = fmt.Sprintf("reading task->thread.sp: %v", err)
			return t
		}
		t.Source = "saved context (thread.sp)"
		st, err = unwind.FromInactiveFrame(c.kd, sp, c.layout.FrameBP, c.layout.FrameRet, c.layout.FrameSize)
		if err != nil {
			t.Err = err.Error()
			return t
		}
	}
	tr := unwind.UnwindX86(c.kd, c.orc, st, unwind.Options{})
	c.symbolize(&t, tr)
	return t
}

// symbolize adds an unwind's frames to t; nameFrames names them.
func (c *btContext) symbolize(t *btTrace, tr unwind.Trace) {
	t.Stop, t.End = tr.Stop, tr.End
	for _, f := range tr.Frames {
		t.Frames = append(t.Frames, btFrame{PC: f.PC, SP: f.SP, FP: f.FP, Regs: f.Regs && !f.Exact, exact: f.Exact})
	}
}

// nameFrames names every frame of the traces: the kernel's symbols are
// searched once for all their addresses (ksym.Table.Prefetch), not sorted.
func (c *btContext) nameFrames(traces []btTrace) {
	look := func(f *btFrame) uint64 {
		if f.exact {
			return f.PC
		}
		return f.PC - 1 // a return address: the call is before it
	}
	var addrs []uint64
	for i := range traces {
		for j := range traces[i].Frames {
			addrs = append(addrs, look(&traces[i].Frames[j]))
		}
	}
	c.syms.Prefetch(addrs)
	for i := range traces {
		for j := range traces[i].Frames {
			f := &traces[i].Frames[j]
			if s, off, ok := c.syms.Lookup(look(f)); ok {
				if !f.exact {
					off++
				}
				f.Func, f.Offset, f.Size, f.Module = s.Name, off, s.Size, s.Module
				f.Symbol = ksym.Format(s, off)
			}
		}
	}
}

var x86RegOrder = []string{"rip", "rsp", "eflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "cs", "ss", "cr2", "cr3"}

func printTrace(w io.Writer, t *btTrace, arch string) {
	if t.Panic != "" {
		fmt.Fprintf(w, "PANIC: %q\n", t.Panic)
	}
	cpu := "-"
	if t.CPU >= 0 {
		cpu = strconv.Itoa(t.CPU)
	}
	fmt.Fprintf(w, "PID: %-6d TASK: %#x  CPU: %s  COMMAND: %q  (%s)\n", t.PID, t.Task, cpu, t.Comm, t.Source)
	if len(t.Regs) > 0 {
		var line []string
		order := x86RegOrder
		if arch == "aarch64" {
			order = arm64RegOrder
		}
		for _, n := range order {
			if v, ok := t.Regs[n]; ok {
				line = append(line, fmt.Sprintf("%s: %016x", strings.ToUpper(n), v))
			}
			if len(line) == 3 {
				fmt.Fprintf(w, "    %s\n", strings.Join(line, "  "))
				line = line[:0]
			}
		}
		if len(line) > 0 {
			fmt.Fprintf(w, "    %s\n", strings.Join(line, "  "))
		}
	}
	if t.Err != "" {
		fmt.Fprintf(w, "    error: %s\n", t.Err)
	}
	for i, f := range t.Frames {
		name := f.Symbol
		if name == "" {
			name = fmt.Sprintf("%#x", f.PC)
		}
		mark := ""
		if f.Regs {
			mark = "  (exception frame)"
		}
		if arch == "x86_64" && f.PC>>47 == 0 {
			mark += "  (user mode)" // the lower canonical half: a CPU stopped in user code
		}
		at := f.SP
		if arch == "aarch64" {
			at = f.FP // the frame record: what arm64 stacks record
		}
		fmt.Fprintf(w, " #%-2d [%016x] %s%s\n", i, at, name, mark)
	}
	if t.Stop != "" {
		fmt.Fprintf(w, "    unwind stopped: %s\n", t.Stop)
	}
}
