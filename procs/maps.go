package procs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kvmgen/kvmgen/runtime/bind"
)

// VMA is one memory mapping of a process: a struct vm_area_struct, with
// what /proc/PID/maps shows of it.
type VMA struct {
	Addr       uint64 // the vm_area_struct (0 for the x86-64 gate VMA's copy)
	Start, End uint64 // [Start, End)
	Flags      uint64 // vm_flags: VMRead, VMWrite, VMExec, VMMayShare...
	Pgoff      uint64 // vm_pgoff, in pages
	File       uint64 // struct file * of a file mapping, 0 if anonymous
	// Offset, Dev and Inode are the maps columns: for a file mapping the
	// byte offset in the file (vm_pgoff << PAGE_SHIFT), the device (the
	// kernel's dev_t: major << 20 | minor) of the file's super_block and
	// its inode number; zero for an anonymous one.
	Offset uint64
	Dev    uint32
	Inode  uint64
	// Name is the last column: the file's path, "[heap]", "[stack]",
	// "[vdso]", "[vvar]", "[vsyscall]", "[anon:NAME]", or "".
	Name string
}

// vm_flags bits /proc/PID/maps shows (include/linux/mm.h).
const (
	VMRead     = 0x1
	VMWrite    = 0x2
	VMExec     = 0x4
	VMShared   = 0x8
	VMMayShare = 0x80
)

// Perms is the maps permission column: "rwxp", "r--s"...
func (v *VMA) Perms() string {
	b := []byte("---p")
	if v.Flags&VMRead != 0 {
		b[0] = 'r'
	}
	if v.Flags&VMWrite != 0 {
		b[1] = 'w'
	}
	if v.Flags&VMExec != 0 {
		b[2] = 'x'
	}
	if v.Flags&VMMayShare != 0 {
		b[3] = 's'
	}
	return string(b)
}

// MapsLine formats v as a line of /proc/PID/maps (show_map_vma), without
// the newline: hex addresses of at least 8 digits, the name padded to
// column 25+6*ptrSize as seq_pad does, and a trailing space when there is
// no name.
func (v *VMA) MapsLine(ptrSize int) string {
	var b strings.Builder
	hex := func(x uint64, w int) {
		s := strconv.FormatUint(x, 16)
		for i := len(s); i < w; i++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
	hex(v.Start, 8)
	b.WriteByte('-')
	hex(v.End, 8)
	b.WriteByte(' ')
	b.WriteString(v.Perms())
	b.WriteByte(' ')
	hex(v.Offset, 8)
	b.WriteByte(' ')
	hex(uint64(v.Dev>>20), 2)
	b.WriteByte(':')
	hex(uint64(v.Dev&(1<<20-1)), 2)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(v.Inode, 10))
	b.WriteByte(' ')
	if v.Name != "" {
		for w := 25 + 6*ptrSize - 1; b.Len() < w; {
			b.WriteByte(' ')
		}
		b.WriteByte(' ')
		b.WriteString(v.Name)
	}
	return b.String()
}

// MapsError reports a memory map that could not be read completely.
type MapsError struct {
	PID int32
	Err error
}

func (e *MapsError) Error() string { return fmt.Sprintf("procs: pid %d: memory map: %v", e.PID, e.Err) }
func (e *MapsError) Unwrap() error { return e.Err }

// ErrNoMapleTree says the kernel keeps its VMAs in something else than a
// maple tree (mm_struct.mm_mt, Linux 6.1+): older kernels' mm->mmap list
// is not read.
var ErrNoMapleTree = errors.New("kernel layout has no mm_struct.mm_mt maple tree (Linux 6.1+ only)")

// maxVMAs bounds a map (the default vm.max_map_count is 65530).
const maxVMAs = 1 << 20

// Maps returns p's memory mappings in address order, as /proc/PID/maps
// lists them: the VMAs of mm->mm_mt, then, on x86-64, the vsyscall page
// (the gate VMA) unless vsyscall=none. A kernel thread has none
// (ErrKernelThread). A VMA that cannot be read ends the list with what was
// read and a *MapsError.
func (s *System) Maps(p *Proc) ([]VMA, error) {
	if p.Mm == 0 {
		return nil, &MapsError{PID: p.PID, Err: ErrKernelThread}
	}
	l := s.l
	if !l.Mm.MmMt.Present() || !l.MapleTree.Root.Present() || !l.MapleNode.R64Slot.Present() || !l.VMA.Start.Present() {
		return nil, &MapsError{PID: p.PID, Err: ErrNoMapleTree}
	}
	mb, err := s.read(p.Mm, span(l.Mm.StartBrk, l.Mm.Brk, l.Mm.StartStack), "struct mm_struct")
	if err != nil {
		return nil, &MapsError{PID: p.PID, Err: err}
	}
	startBrk, brk, startStack := s.u(mb, l.Mm.StartBrk), s.u(mb, l.Mm.Brk), s.u(mb, l.Mm.StartStack)
	var out []VMA
	err = s.mapleEntries(p.Mm+uint64(l.Mm.MmMt.Off), "mm_struct.mm_mt", func(entry uint64) error {
		if len(out) >= maxVMAs {
			return fmt.Errorf("more than %d VMAs", maxVMAs)
		}
		v, err := s.readVMA(entry)
		if err != nil {
			return err
		}
		if n := len(out); n > 0 && v.Start < out[n-1].End {
			return fmt.Errorf("VMA %#x at %#x-%#x overlaps or precedes the one before (%#x-%#x)", entry, v.Start, v.End, out[n-1].Start, out[n-1].End)
		}
		if v.Name == "" && v.File == 0 && !v.special {
			switch {
			case v.Start <= brk && v.End >= startBrk:
				v.Name = "[heap]"
			case v.Start <= startStack && v.End >= startStack:
				v.Name = "[stack]"
			case v.anonName != "":
				v.Name = "[anon:" + v.anonName + "]"
			}
		}
		out = append(out, v.VMA)
		return nil
	})
	if err != nil {
		return out, &MapsError{PID: p.PID, Err: err}
	}
	if g, ok := s.gateVMA(); ok {
		out = append(out, g)
	}
	return out, nil
}

type vmaRead struct {
	VMA
	special  bool // named by its vm_ops (even if the name is empty)
	anonName string
}

func (s *System) readVMA(addr uint64) (vmaRead, error) {
	l := s.l
	v := &l.VMA
	b, err := s.read(addr, span(v.Start, v.End, v.Flags, v.Pgoff, v.File, v.Ops, v.PrivateData, v.AnonName), "struct vm_area_struct")
	if err != nil {
		return vmaRead{}, err
	}
	r := vmaRead{VMA: VMA{Addr: addr, Start: s.u(b, v.Start), End: s.u(b, v.End), Flags: s.u(b, v.Flags), Pgoff: s.u(b, v.Pgoff), File: s.ptr(b, v.File)}}
	if r.End <= r.Start {
		return r, fmt.Errorf("VMA %#x: end %#x not above start %#x", addr, r.End, r.Start)
	}
	if r.File != 0 {
		r.Offset = r.Pgoff * s.pageSize
		if err := s.fileIdentity(&r.VMA); err != nil {
			return r, fmt.Errorf("VMA %#x: %w", addr, err)
		}
		return r, nil
	}
	if ops := s.ptr(b, v.Ops); ops != 0 {
		name, ok, err := s.opsName(ops, s.ptr(b, v.PrivateData))
		if err != nil {
			return r, fmt.Errorf("VMA %#x: %w", addr, err)
		}
		r.Name, r.special = name, ok
	}
	if an := s.ptr(b, v.AnonName); an != 0 && l.AnonVMAName.Name.Present() {
		name, err := s.readCString(an+uint64(l.AnonVMAName.Name.Off), 256, "anon_vma_name.name")
		if err != nil {
			return r, err
		}
		r.anonName = name
	}
	return r, nil
}

// fileIdentity fills a file mapping's path, device and inode number.
func (s *System) fileIdentity(v *VMA) error {
	l := s.l
	path, _, err := s.filePath(v.File)
	if err != nil {
		return err
	}
	v.Name = path
	fb, err := s.read(v.File, l.File.Inode.end(), "struct file")
	if err != nil {
		return err
	}
	ino := s.ptr(fb, l.File.Inode)
	if ino == 0 || !l.Inode.Ino.Present() || !l.Inode.Sb.Present() {
		return nil
	}
	ib, err := s.read(ino, span(l.Inode.Ino, l.Inode.Sb), "struct inode")
	if err != nil {
		return err
	}
	v.Inode = s.u(ib, l.Inode.Ino)
	if sb := s.ptr(ib, l.Inode.Sb); sb != 0 && l.SuperBlock.Dev.Present() {
		sbb, err := s.read(sb, l.SuperBlock.Dev.end(), "struct super_block")
		if err != nil {
			return err
		}
		v.Dev = uint32(s.u(sbb, l.SuperBlock.Dev))
	}
	return nil
}

// opsName is vma->vm_ops->name(vma) for the operations kvmgen knows:
// special mappings (special_mapping_vmops: vm_special_mapping.name, e.g.
// "[vdso]", "[vvar]") and the x86-64 gate VMA ("[vsyscall]"). ok is false
// for other operations (drivers' mappings show no name).
func (s *System) opsName(ops, private uint64) (string, bool, error) {
	s.opsOnce.Do(func() {
		s.specialOps, _ = s.t.LookupSymbol("special_mapping_vmops")
		s.gateOps, _ = s.t.LookupSymbol("gate_vma_ops")
	})
	switch {
	case ops == s.specialOps && s.specialOps != 0:
		if private == 0 || !s.l.SpecialMapping.Name.Present() {
			return "", true, nil
		}
		np, err := s.readPtr(private+uint64(s.l.SpecialMapping.Name.Off), "vm_special_mapping.name")
		if err != nil || np == 0 {
			return "", true, err
		}
		name, err := s.readCString(np, 64, "vm_special_mapping name")
		return name, true, err
	case ops == s.gateOps && s.gateOps != 0:
		return "[vsyscall]", true, nil
	}
	return "", false, nil
}

// gateVMA is the x86-64 vsyscall page (get_gate_vma), which /proc lists
// after the tree's VMAs, when the kernel has one and vsyscall is not
// "none". (The kernel omits it for 32-bit compat processes, which this
// does not tell apart.)
func (s *System) gateVMA() (VMA, bool) {
	if s.l.Arch != "x86_64" {
		return VMA{}, false
	}
	g, err := s.t.LookupSymbol("gate_vma")
	if err != nil {
		return VMA{}, false
	}
	if m, err := s.t.LookupSymbol("vsyscall_mode"); err == nil {
		b, err := s.read(m, 4, "vsyscall_mode")
		if err != nil || s.bo.Uint32(b) == 2 { // NONE (EMULATE 0, XONLY 1)
			return VMA{}, false
		}
	}
	v, err := s.readVMA(g)
	if err != nil {
		return VMA{}, false
	}
	if v.Name == "" {
		v.Name = "[vsyscall]"
	}
	return v.VMA, true
}

// mapleEntries calls fn with every non-NULL entry of the maple tree at
// tree, in index order: the runtime's walker (bind.MapleTreeAt), which
// checks every node once (cycles, depth, pivots, memory outside the dump)
// and names the node at fault in a *bind.ListError.
func (s *System) mapleEntries(tree uint64, what string, fn func(uint64) error) error {
	b, err := s.mapleBinding()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for r, err := range bind.MapleTreeAt(b, tree) {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := fn(r.Entry); err != nil {
			return err
		}
	}
	return nil
}

// mapleBinding describes the maple tree's layout as the layout resolved it
// from the kernel's types (maple_tree.ma_root; the pivots and slots of
// maple_node's mr64 and ma64, as offsets from the node's start) as a
// binding for the runtime's walker. The layout does not record the nodes'
// metadata, so the walker ends a node's data at its pivots.
func (s *System) mapleBinding() (*bind.Binding, error) {
	l := s.l
	ps := int64(l.PtrSize)
	if ps != 4 && ps != 8 {
		return nil, fmt.Errorf("pointer size %d", ps)
	}
	arr := func(name string, k bind.Kind, f Field) bind.FieldSpec {
		return bind.Arr(name, k, int32(f.Off), int32(ps), int32(f.Size/ps))
	}
	node := l.MapleNode.Size
	types := []bind.TypeSpec{
		{C: "struct maple_tree", Name: "struct maple_tree", Parent: -1, Size: l.MapleTree.Root.end(), Fields: []bind.FieldSpec{
			bind.M("ma_root", bind.KindPtr, int32(l.MapleTree.Root.Off), int32(l.MapleTree.Root.Size)),
		}},
		// mr64 and ma64 at the node's start: the pivots' and slots'
		// offsets below are the node's.
		{C: "struct maple_node", Name: "struct maple_node", Parent: -1, Size: node, Fields: []bind.FieldSpec{
			bind.M("mr64", bind.KindStruct, 0, int32(node)),
			bind.M("ma64", bind.KindStruct, 0, int32(node)),
		}},
		{C: "struct maple_range_64", Name: "struct maple_range_64", Parent: -1, Size: node, Fields: []bind.FieldSpec{
			arr("pivot", bind.KindUint, l.MapleNode.R64Pivot),
			arr("slot", bind.KindPtr, l.MapleNode.R64Slot),
		}},
	}
	if l.MapleNode.A64Pivot.Present() && l.MapleNode.A64Slot.Present() {
		types = append(types, bind.TypeSpec{C: "struct maple_arange_64", Name: "struct maple_arange_64", Parent: -1, Size: node, Fields: []bind.FieldSpec{
			arr("pivot", bind.KindUint, l.MapleNode.A64Pivot),
			arr("slot", bind.KindPtr, l.MapleNode.A64Slot),
		}})
	}
	spec := &bind.Spec{Package: "procs", BuildID: l.BuildID, Arch: l.Arch, PtrSize: l.PtrSize, BigEndian: l.BigEndian, Types: types}
	return bind.New(s.t, spec)
}
