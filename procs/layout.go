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
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

// procs reads the kernel through bindings `kvmgen gen` generated for the
// types and members it needs (linux.members) from the Debian 6.1 kernel of
// the fixtures: zkvmgen_x86_64_kernel.go, relocatable and
// architecture-neutral, its names unexported (-prefix linux). Bound to a
// target with the layout table resolved from that kernel's own types (its
// DWARF or BTF), they read any kernel procs supports, of any architecture.
// Regenerate them with
//
//	KVMGEN_KERNEL=$KVMGEN_CACHE/linux-amd64/vmlinux go generate ./procs
//
//go:generate go run github.com/kvmgen/kvmgen/cmd/kvmgen gen -prefix linux -type @linux.members -var tk_core

// LayoutVersion changes whenever Layout's meaning changes; a saved layout of
// another version is not used.
const LayoutVersion = 3 // 3: the generated bindings' layout table

// DebugInfo is what ResolveLayout reads the kernel's types from: its DWARF
// (*dwarfmodel.File) or its BTF (*btfmodel.File, from a file, the image or
// the target's own memory).
type DebugInfo = dwarfmodel.Source

// Layout is how procs reads one kernel build: the layout table of its
// bindings resolved from that kernel's types (the offset, size and
// signedness of every member procs reads, in the kernel's data model). It
// marshals to JSON (SaveLayout, LoadLayout): a kernel seen before needs no
// types at all.
type Layout struct {
	Version   int         `json:"version"`
	BuildID   string      `json:"build_id"`
	Arch      string      `json:"arch"`
	PtrSize   int         `json:"ptr_size"`
	BigEndian bool        `json:"big_endian"`
	Table     *bind.Table `json:"table"` // bind.ResolveTable of the bindings

	// The members the memory-map reader (maps.go) reads, as byte ranges:
	// New fills them from Table (they are not saved).
	Mm struct {
		MmMt, StartBrk, Brk, StartStack Field
	} `json:"-"`
	File struct {
		Inode Field
	} `json:"-"`
	Inode struct {
		Ino, Sb Field
	} `json:"-"`
	SuperBlock struct {
		Dev Field
	} `json:"-"`
	VMA struct {
		Start, End, Flags, Pgoff, File, Ops, PrivateData Field
		AnonName                                         Field // anon_name (CONFIG_ANON_VMA_NAME)
	} `json:"-"`
	MapleTree struct {
		Root, Flags Field
	} `json:"-"`
	MapleNode struct {
		Size                                 int64
		R64Pivot, R64Slot, A64Pivot, A64Slot Field
	} `json:"-"`
	SpecialMapping struct {
		Name Field
	} `json:"-"`
	AnonVMAName struct {
		Name Field
	} `json:"-"`
}

// Field is where a member lives in its structure, as the memory-map
// reader uses it: byte offset, size (of the whole member: all elements of
// an array; -1 for a flexible array) and signedness. Path is the member
// path the kernel has it at; a Field with no Path is absent from the
// kernel.
type Field struct {
	Path   string
	Off    int64
	Size   int64
	Signed bool
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

// ByteOrder is the target's byte order.
func (l *Layout) ByteOrder() binary.ByteOrder {
	if l.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// ResolveLayout resolves the bindings' layout table against the kernel's
// types. A structure or member procs cannot do without, missing under
// every name it had in the kernel versions procs knows, is reported as a
// *bind.MissingMemberError naming it; the others (swap, file names, time,
// workqueue names, the memory map) fail only what needs them. Results are
// cached by build ID: resolving the same kernel twice is free.
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
	kernel := di.BuildID()
	if n, ok := di.(interface{ Name() string }); ok && n.Name() != "" {
		kernel = n.Name()
	}
	tab, err := bind.ResolveTable(&kvmSpecLinux, di)
	if err != nil {
		return nil, fmt.Errorf("procs: %s: %w", kernel, err)
	}
	l := layoutOf(tab)
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("procs: %s: %w", kernel, err)
	}
	return l, nil
}

func layoutOf(tab *bind.Table) *Layout {
	return &Layout{Version: LayoutVersion, BuildID: tab.BuildID, Arch: tab.Arch, PtrSize: tab.PtrSize, BigEndian: tab.BigEndian, Table: tab}
}

// binding binds procs' bindings to t with the layout's table (t is
// noTarget{} to look members up only).
func (l *Layout) binding(t kvm.Target) (*bind.Binding, error) {
	if l.Table == nil {
		return nil, errors.New("procs: layout has no layout table (make it with ResolveLayout)")
	}
	return bind.FromTable(t, &kvmSpecLinux, l.Table)
}

// noTarget stands for the target when a layout is checked on its own.
type noTarget struct{}

func (noTarget) ReadMemory([]byte, uint64) (int, error) { return 0, errors.New("no target") }
func (noTarget) LookupSymbol(string) (uint64, error)    { return 0, errors.New("no target") }
func (noTarget) BuildID() string                        { return "" }

// required are the members every process listing reads: a kernel lacking
// one (under all its names) cannot be listed.
var required = []struct {
	typ     int
	members []string
}{
	{linuxTaskStruct{}.KVMType(), []string{"__state", "flags", "exit_state", "tasks", "mm", "pid", "tgid", "real_parent",
		"start_boottime", "real_cred", "comm", "signal", "thread_info.cpu", "static_prio"}},
	{linuxMmStruct{}.KVMType(), []string{"pgd", "total_vm", "locked_vm", "arg_start", "arg_end", "env_start", "env_end"}},
	{linuxCred{}.KVMType(), []string{"uid.val", "gid.val", "euid.val", "egid.val"}},
	{linuxSignalStruct{}.KVMType(), []string{"pids", "nr_threads", "tty"}},
	{linuxPid{}.KVMType(), []string{"numbers"}},
	{linuxUpid{}.KVMType(), []string{"nr"}},
	{linuxTTYStruct{}.KVMType(), []string{"driver", "index", "name", "ctrl.pgrp"}},
	{linuxTTYDriver{}.KVMType(), []string{"major", "minor_start"}},
}

// check reports the first member procs cannot do without that the kernel
// lacks.
func (l *Layout) check() error {
	b, err := l.binding(noTarget{})
	if err != nil {
		return err
	}
	for _, r := range required {
		for _, m := range r.members {
			i, ok := b.FieldIndex(r.typ, m)
			if !ok {
				return fmt.Errorf("procs: the bindings have no member %s (regenerate them)", m)
			}
			if err := b.MissingError(r.typ, i); err != nil {
				return err
			}
		}
	}
	task := bind.AsView[linuxTaskStruct](bind.MakeView(b, 0, nil))
	if !task.HasThreadNode() && !task.HasThreadGroup() {
		return &bind.MissingMemberError{Type: "struct task_struct", Member: "thread_node", BuildID: l.BuildID, Reason: "neither thread_node (6.7+) nor thread_group"}
	}
	sig := bind.AsView[linuxSignalStruct](bind.MakeView(b, 0, nil))
	if task.HasThreadNode() && !sig.HasThreadHead() {
		return &bind.MissingMemberError{Type: "struct signal_struct", Member: "thread_head", BuildID: l.BuildID, Reason: "no such member, with task_struct.thread_node"}
	}
	mm := bind.AsView[linuxMmStruct](bind.MakeView(b, 0, nil))
	pc := bind.AsView[linuxPercpuCounter](bind.MakeView(b, 0, nil))
	if !mm.HasRssCount() && !(mm.HasRssCounters() && pc.HasCount() && pc.HasCounters()) {
		return &bind.MissingMemberError{Type: "struct mm_struct", Member: "rss_stat", BuildID: l.BuildID,
			Reason: "neither a struct mm_rss_stat (up to 6.1) nor an array of struct percpu_counter (6.2+)"}
	}
	return nil
}

// mapsFields fills the memory-map members of l from b.
func (l *Layout) mapsFields(b *bind.Binding) {
	l.Mm.MmMt = fieldOf[linuxMmStruct](b, "mm_mt")
	l.Mm.StartBrk = fieldOf[linuxMmStruct](b, "start_brk")
	l.Mm.Brk = fieldOf[linuxMmStruct](b, "brk")
	l.Mm.StartStack = fieldOf[linuxMmStruct](b, "start_stack")
	l.File.Inode = fieldOf[linuxFile](b, "f_inode")
	l.Inode.Ino = fieldOf[linuxInode](b, "i_ino")
	l.Inode.Sb = fieldOf[linuxInode](b, "i_sb")
	l.SuperBlock.Dev = fieldOf[linuxSuperBlock](b, "s_dev")
	v := &l.VMA
	v.Start = fieldOf[linuxVmAreaStruct](b, "vm_start")
	v.End = fieldOf[linuxVmAreaStruct](b, "vm_end")
	v.Flags = fieldOf[linuxVmAreaStruct](b, "vm_flags")
	v.Pgoff = fieldOf[linuxVmAreaStruct](b, "vm_pgoff")
	v.File = fieldOf[linuxVmAreaStruct](b, "vm_file")
	v.Ops = fieldOf[linuxVmAreaStruct](b, "vm_ops")
	v.PrivateData = fieldOf[linuxVmAreaStruct](b, "vm_private_data")
	v.AnonName = fieldOf[linuxVmAreaStruct](b, "anon_name")
	l.MapleTree.Root = fieldOf[linuxMapleTree](b, "ma_root")
	l.MapleTree.Flags = fieldOf[linuxMapleTree](b, "ma_flags")
	l.MapleNode.Size = b.Sizeof(linuxMapleNode{}.KVMType())
	l.MapleNode.R64Pivot = fieldOf[linuxMapleNode](b, "mr64.pivot")
	l.MapleNode.R64Slot = fieldOf[linuxMapleNode](b, "mr64.slot")
	l.MapleNode.A64Pivot = fieldOf[linuxMapleNode](b, "ma64.pivot")
	l.MapleNode.A64Slot = fieldOf[linuxMapleNode](b, "ma64.slot")
	l.SpecialMapping.Name = fieldOf[linuxVmSpecialMapping](b, "name")
	l.AnonVMAName.Name = fieldOf[linuxAnonVmaName](b, "name")
}

// fieldOf is member of T as a Field: absent (no Path) when the kernel
// lacks it.
func fieldOf[T bind.Viewer](b *bind.Binding, member string) Field {
	f, err := bind.FieldOf[T](b, member)
	if err != nil {
		return Field{}
	}
	var z T
	i, _ := b.FieldIndex(z.KVMType(), member)
	out := Field{Path: b.MemberPath(i), Off: int64(f.Off), Size: int64(f.Size), Signed: f.Signed}
	if f.Array {
		out.Size = int64(f.Size) * int64(f.Count)
		if f.Count <= 0 {
			out.Size = -1
		}
	}
	return out
}

// SaveLayout writes l as JSON to dir/<build ID>.json (creating dir).
func SaveLayout(dir string, l *Layout) error {
	if l.BuildID == "" {
		return errors.New("procs: layout has no build ID to key it by")
	}
	b, err := json.Marshal(l)
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
// is of another LayoutVersion, another build or other bindings (procs
// built from other generated code).
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
	if l.BuildID != buildID || l.Table == nil || l.Table.BuildID != buildID {
		return nil, fmt.Errorf("procs: %s: not the layout of build ID %s", p, buildID)
	}
	if l.Table.Spec != kvmSpecLinux.Fingerprint() {
		return nil, fmt.Errorf("procs: %s: a layout of other bindings (another kvmgen version)", p)
	}
	if l.PtrSize != l.Table.PtrSize || l.Arch != l.Table.Arch || l.BigEndian != l.Table.BigEndian {
		return nil, fmt.Errorf("procs: %s: data model %s/%d differs from its table's", p, l.Arch, l.PtrSize)
	}
	if _, err := l.binding(noTarget{}); err != nil {
		return nil, fmt.Errorf("procs: %s: %w", p, err)
	}
	layoutCache.Store(buildID, &l)
	return &l, nil
}

func layoutFileName(buildID string) string {
	// Build IDs are hex (or "sha256:" + hex); keep the name portable.
	return "procs-" + strings.ReplaceAll(buildID, ":", "-") + ".json"
}
