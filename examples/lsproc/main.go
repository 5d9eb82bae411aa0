// Command lsproc lists the tasks of a Linux kernel, from a crash dump or
// from the running kernel, the way ps does:
//
//	lsproc -kernel VMLINUX -core VMCORE
//	PID PPID STATE COMM
//	1 0 S init
//	2 0 S kthreadd
//	...
//
// It walks the kernel's task list (init_task.tasks, a circular list_head
// threaded through every thread-group leader) through bindings that
// `kvmgen gen` generated from the DWARF of the Debian 6.1.0-56-cloud-amd64
// kernel (zkvmgen_x86_64_kernel.go, committed). The bindings need no DWARF
// at run time: only the kernel's symbols (from -kernel, or /proc/kallsyms
// for the running kernel) and its memory. Regenerate them for another
// kernel with
//
//	KVMGEN_KERNEL=/path/to/vmlinux go generate ./examples/lsproc
//
// Without -core, lsproc reads the running kernel (/proc/kcore, as root).
// The bindings are relocatable: a dump of another kernel than the
// bindings' (its build ID, from VMCOREINFO, differs) is read with that
// kernel's own layout, taken from the DWARF of -kernel, else from the BTF
// the dump carries; a member that kernel lacks is a *bind.MissingMemberError.
package main

//go:generate go run github.com/kvmgen/kvmgen/cmd/kvmgen gen -type task_struct,list_head -var init_task,current_task

import (
	"bufio"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/kvmgen/kvmgen/btfmodel"
	"github.com/kvmgen/kvmgen/dwarfmodel"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lsproc:", err)
		}
		os.Exit(1)
	}
}

func run(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("lsproc", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	kernel := fs.String("kernel", os.Getenv("KVMGEN_KERNEL"), "kernel image with symbols (vmlinux); default $KVMGEN_KERNEL, else the running kernel's")
	core := fs.String("core", "", "crash dump (ELF vmcore, kdump-compressed, ...); default the running kernel's memory")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lsproc [-kernel VMLINUX] [-core VMCORE]\n\nPrints PID PPID STATE COMM for every task, like ps.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *kernel != "" {
		if err := checkKernelArch(*kernel); err != nil {
			return err
		}
	}
	kd, err := kvm.Open2(*kernel, *core, os.O_RDONLY, nil)
	if err != nil {
		return err
	}
	defer kd.Close()
	k, err := Bind(kd, bind.TypesFrom(func() (dwarfmodel.Source, error) { return kernelTypes(*kernel, kd) }))
	if err != nil {
		return err
	}
	tasks, err := listTasks(k)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	fmt.Fprintln(w, "PID PPID STATE COMM")
	for _, t := range tasks {
		fmt.Fprintf(w, "%d %d %c %s\n", t.PID, t.PPID, t.State, t.Comm)
	}
	return w.Flush()
}

// kernelTypes loads the types of the dump's kernel, which Bind needs
// when it is not the kernel the bindings were generated from: the DWARF
// of the kernel image given, else the BTF the kernel carries in memory.
func kernelTypes(kernel string, kd *kvm.KVM) (dwarfmodel.Source, error) {
	if kernel != "" {
		return dwarfmodel.Open(kernel)
	}
	i := kd.Info()
	return btfmodel.FromMemory(kd, kd.LookupSymbol, btfmodel.Options{Arch: i.Arch, PtrSize: i.PtrSize, BuildID: kd.BuildID()})
}

// checkKernelArch refuses a kernel image of another architecture than the
// one the bindings were generated for (Arch): lsproc lists x86-64 kernels.
// (The bindings themselves are architecture-neutral: bound with another
// architecture's types, they would read its dumps; lsproc keeps to the
// kernels its tests cover.)
func checkKernelArch(name string) error {
	f, err := elf.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	arch := dwarfmodel.ArchName(f.Machine, f.Class, f.ByteOrder)
	if arch != Arch {
		return fmt.Errorf("kernel %s is %s (%s %s), but lsproc's bindings were generated for an %s kernel (build ID %s)", name, arch, f.Class, f.Machine, Arch, BuildID)
	}
	return nil
}

// Task is one row of lsproc's table.
type Task struct {
	Addr  uint64 // address of the task_struct
	PID   int32  // task_struct.pid
	TGID  int32  // task_struct.tgid
	PPID  int32  // real_parent's tgid, as /proc/PID/stat reports it
	State byte   // as ps prints it: R, S, D, T, t, X, Z, P or I
	Comm  string // task_struct.comm
}

// listTasks walks init_task.tasks and returns every task but init_task
// itself (PID 0, which ps does not list either), sorted by PID. The
// runtime's list iterator checks every link (NULL, cycles, memory outside
// the dump, length) and names the node at fault: never a hang. A member
// the bound kernel lacks is a *bind.MissingMemberError (k.Err).
func listTasks(k *Kernel) ([]Task, error) {
	initTask, err := k.InitTask()
	if err != nil {
		return nil, fmt.Errorf("reading init_task: %w", err)
	}
	tgid := map[uint64]int32{initTask.Addr(): initTask.Tgid()}
	parent := map[uint64]bind.Ptr[TaskStruct]{}
	var tasks []Task
	for t, err := range bind.List[TaskStruct](initTask.Tasks().View, "tasks") {
		if err != nil {
			return nil, fmt.Errorf("task list: %w", err)
		}
		tgid[t.Addr()] = t.Tgid()
		parent[t.Addr()] = t.RealParent()
		tasks = append(tasks, Task{
			Addr:  t.Addr(),
			PID:   t.Pid(),
			TGID:  t.Tgid(),
			State: stateLetter(t.State(), uint32(t.ExitState())),
			Comm:  t.CommString(),
		})
	}
	for i := range tasks {
		pa := parent[tasks[i].Addr]
		g, ok := tgid[pa.Addr]
		if !ok && !pa.IsNil() {
			pt, err := pa.Read()
			if err != nil {
				return nil, fmt.Errorf("reading the parent (task_struct at %#x) of PID %d: %w", pa.Addr, tasks[i].PID, err)
			}
			g = pt.Tgid()
			tgid[pa.Addr] = g
		}
		tasks[i].PPID = g
	}
	if err := k.Err(); err != nil {
		return nil, err
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].PID < tasks[j].PID })
	return tasks, nil
}

// Task states of include/linux/sched.h (stable since Linux 4.14; they are
// macros, so not in the DWARF).
const (
	taskReport       = 0x7f  // TASK_REPORT: the states /proc shows
	taskUninterrupt  = 0x2   // TASK_UNINTERRUPTIBLE
	taskNoload       = 0x400 // TASK_NOLOAD
	taskIdle         = taskUninterrupt | taskNoload
	taskRTLockWait   = 0x1000 // TASK_RTLOCK_WAIT
	taskReportIdle   = taskReport + 1
	taskStateLetters = "RSDTtXZPI"
)

// stateLetter is the kernel's task_state_index (fs/proc/array.c's
// task_state_array): the letter ps shows for a task's __state and
// exit_state.
func stateLetter(state, exitState uint32) byte {
	s := (state | exitState) & taskReport
	if state&taskIdle == taskIdle {
		s = taskReportIdle
	}
	if state&taskRTLockWait != 0 {
		s = taskUninterrupt
	}
	i := 0 // fls: the index of the highest bit set, plus one
	for s != 0 {
		i++
		s >>= 1
	}
	if i >= len(taskStateLetters) {
		return '?'
	}
	return taskStateLetters[i]
}
