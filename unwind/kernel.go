package unwind

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// Symbols looks up the kernel's run-time symbol addresses
// (kvm.KVM.LookupSymbol).
type Symbols func(name string) (uint64, error)

// KernelORC reads the kernel image's ORC table from memory (lazily: see
// LazyTable), located by the
// symbols __start_orc_unwind_ip, __stop_orc_unwind_ip and
// __start_orc_unwind (kallsyms has them with CONFIG_KALLSYMS_ALL; a
// vmlinux's symbol table always). The table covers [_stext, _end).
func KernelORC(mem Memory, sym Symbols, f ORCFormat) (*ORC, error) {
	start, err1 := sym("__start_orc_unwind_ip")
	stop, err2 := sym("__stop_orc_unwind_ip")
	ent, err3 := sym("__start_orc_unwind")
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("the kernel's ORC tables: %w", err)
	}
	if stop <= start || (stop-start)%4 != 0 {
		return nil, fmt.Errorf("%w: __start_orc_unwind_ip %#x, __stop_orc_unwind_ip %#x", ErrORCCorrupt, start, stop)
	}
	t, err := LazyTable(mem, start, ent, int((stop-start)/4), f)
	if err != nil {
		return nil, err
	}
	o := &ORC{Kernel: t}
	o.KStart, _ = sym("_stext")
	o.KEnd, _ = sym("_end")
	return o, nil
}

// TaskLayout is what an x86-64 backtrace needs of task_struct.
type TaskLayout struct {
	ThreadSP int64 // task_struct.thread.sp
	Stack    int64 // task_struct.stack
	// struct inactive_task_frame
	FrameBP, FrameRet, FrameSize int
	// struct module's ORC (mod->arch.orc_unwind_ip, orc_unwind,
	// num_orcs); -1 when absent.
	ModORCIP, ModORC, ModNumORCs int64
}

// TaskLayoutFromTypes reads the offsets from the kernel's types.
func TaskLayoutFromTypes(src dwarfmodel.Source) (*TaskLayout, error) {
	get := func(name string) (*dwarfmodel.Struct, error) {
		t, err := src.Type("struct " + name)
		if err != nil {
			return nil, err
		}
		st, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Struct)
		if !ok {
			return nil, fmt.Errorf("struct %s is not a struct", name)
		}
		return st, nil
	}
	task, err := get("task_struct")
	if err != nil {
		return nil, err
	}
	l := &TaskLayout{ModORCIP: -1, ModORC: -1, ModNumORCs: -1}
	var ok1, ok2 bool
	l.ThreadSP, _, ok1 = dwarfmodel.MemberPath(task, "thread.sp")
	l.Stack, _, ok2 = dwarfmodel.MemberPath(task, "stack")
	if !ok1 || !ok2 {
		return nil, errors.New("task_struct has no thread.sp or stack (not x86-64?)")
	}
	fr, err := get("inactive_task_frame")
	if err != nil {
		return nil, err
	}
	bp, _, ok1 := dwarfmodel.MemberPath(fr, "bp")
	ret, _, ok2 := dwarfmodel.MemberPath(fr, "ret_addr")
	if !ok1 || !ok2 {
		return nil, errors.New("struct inactive_task_frame has no bp or ret_addr")
	}
	l.FrameBP, l.FrameRet, l.FrameSize = int(bp), int(ret), int(fr.Size())
	if mod, err := get("module"); err == nil {
		a, _, ok1 := dwarfmodel.MemberPath(mod, "arch.orc_unwind_ip")
		b, _, ok2 := dwarfmodel.MemberPath(mod, "arch.orc_unwind")
		c, _, ok3 := dwarfmodel.MemberPath(mod, "arch.num_orcs")
		if ok1 && ok2 && ok3 {
			l.ModORCIP, l.ModORC, l.ModNumORCs = a, b, c
		}
	}
	return l, nil
}

// AddModule reads a module's ORC table (struct module at mod) and adds it
// for the text [start, end).
func (o *ORC) AddModule(mem Memory, l *TaskLayout, name string, mod, start, end uint64, f ORCFormat) error {
	if l.ModORCIP < 0 {
		return errors.New("struct module has no arch.orc_unwind_ip")
	}
	var b [8]byte
	rd := func(off int64, n int) (uint64, error) {
		if err := readFull(mem, b[:n], mod+uint64(off)); err != nil {
			return 0, err
		}
		if n == 4 {
			return uint64(binary.LittleEndian.Uint32(b[:])), nil
		}
		return binary.LittleEndian.Uint64(b[:]), nil
	}
	ip, err1 := rd(l.ModORCIP, 8)
	ent, err2 := rd(l.ModORC, 8)
	n, err3 := rd(l.ModNumORCs, 4)
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	if n == 0 || ip == 0 {
		return nil
	}
	t, err := ReadTable(mem, ip, ent, int(n), f)
	if err != nil {
		return fmt.Errorf("module %s: %w", name, err)
	}
	o.Modules = append(o.Modules, ModuleORC{Name: name, Start: start, End: end, Table: t})
	return nil
}
