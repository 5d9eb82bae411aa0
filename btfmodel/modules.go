package btfmodel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/cilium/ebpf/btf"
	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// A module's BTF is split BTF: its own types, numbered after the kernel's
// and referring to them. The kernel keeps each loaded module's in a
// struct btf on the list btf_modules (kernel/bpf/btf.c), which
// /sys/kernel/btf/MODULE serves.

// ModuleBTF is one module's split BTF, as found in a target.
type ModuleBTF struct {
	Name string
	Addr uint64 // where its bytes are in the target's memory (0 for a file)
	Raw  []byte
}

// maxModules bounds the walk of btf_modules.
const maxModules = 1 << 14

// ModuleError says why a module's BTF could not be read.
type ModuleError struct {
	Module string // "" when the list itself is at fault
	Addr   uint64
	Msg    string
	Err    error
}

func (e *ModuleError) Error() string {
	s := "module BTF"
	if e.Module != "" {
		s += " of " + e.Module
	}
	s += fmt.Sprintf(" at %#x: %s", e.Addr, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ModuleError) Unwrap() error { return e.Err }

// member finds a member's byte offset by path ("list", "data_size") in a
// struct of the base BTF.
func (f *File) member(typ, path string) (int64, dwarfmodel.Type, error) {
	t, err := f.Type(typ)
	if err != nil {
		return 0, nil, err
	}
	st, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Struct)
	if !ok {
		return 0, nil, fmt.Errorf("%s is not a struct", typ)
	}
	off, mt, ok := dwarfmodel.MemberPath(st, path)
	if !ok {
		return 0, nil, fmt.Errorf("%s has no member %s", typ, path)
	}
	return off, mt, nil
}

// ModulesInMemory walks the kernel's btf_modules list and returns each
// loaded module's split BTF, in list order. f is the kernel's own BTF,
// whose struct btf_module, btf and module layouts it reads by.
func (f *File) ModulesInMemory(m Memory, lookup Lookup) ([]ModuleBTF, error) {
	head, err := lookup("btf_modules")
	if err != nil {
		return nil, &ModuleError{Msg: "symbol btf_modules not found (a kernel without CONFIG_DEBUG_INFO_BTF_MODULES)", Err: err}
	}
	var offs struct{ list, module, btf, data, size, name int64 }
	var nameLen int64
	for _, q := range []struct {
		typ, path string
		dst       *int64
	}{
		{"struct btf_module", "list", &offs.list},
		{"struct btf_module", "module", &offs.module},
		{"struct btf_module", "btf", &offs.btf},
		{"struct btf", "data", &offs.data},
		{"struct btf", "data_size", &offs.size},
		{"struct module", "name", &offs.name},
	} {
		off, mt, err := f.member(q.typ, q.path)
		if err != nil {
			return nil, &ModuleError{Addr: head, Msg: "the kernel's BTF lacks what the walk needs", Err: err}
		}
		*q.dst = off
		if q.path == "name" {
			nameLen = mt.Size()
		}
	}
	if nameLen <= 0 || nameLen > 256 {
		nameLen = 56
	}
	ps := uint64(f.dm.PtrSize)
	bo := f.dm.ByteOrder
	ptr := func(addr uint64) (uint64, error) {
		b := make([]byte, ps)
		if _, err := m.ReadMemory(b, addr); err != nil {
			return 0, err
		}
		if ps == 4 {
			return uint64(bo.Uint32(b)), nil
		}
		return bo.Uint64(b), nil
	}
	var out []ModuleBTF
	seen := map[uint64]bool{head: true}
	next, err := ptr(head)
	if err != nil {
		return nil, &ModuleError{Addr: head, Msg: "reading btf_modules", Err: err}
	}
	for next != head {
		if seen[next] {
			return out, &ModuleError{Addr: next, Msg: "btf_modules loops back to a node it passed"}
		}
		if len(out) >= maxModules {
			return out, &ModuleError{Addr: next, Msg: fmt.Sprintf("btf_modules has more than %d entries", maxModules)}
		}
		seen[next] = true
		node := next - uint64(offs.list)
		mod, err1 := ptr(node + uint64(offs.module))
		bt, err2 := ptr(node + uint64(offs.btf))
		if err := firstErr(err1, err2); err != nil {
			return out, &ModuleError{Addr: node, Msg: "reading struct btf_module", Err: err}
		}
		nb := make([]byte, nameLen)
		if _, err := m.ReadMemory(nb, mod+uint64(offs.name)); err != nil {
			return out, &ModuleError{Addr: mod, Msg: "reading struct module's name", Err: err}
		}
		name := string(nb[:max(0, bytes.IndexByte(nb, 0))])
		if bytes.IndexByte(nb, 0) < 0 {
			name = string(nb)
		}
		data, err := ptr(bt + uint64(offs.data))
		if err != nil {
			return out, &ModuleError{Module: name, Addr: bt, Msg: "reading struct btf", Err: err}
		}
		szb := make([]byte, 4)
		if _, err := m.ReadMemory(szb, bt+uint64(offs.size)); err != nil {
			return out, &ModuleError{Module: name, Addr: bt, Msg: "reading struct btf's data_size", Err: err}
		}
		size := uint64(bo.Uint32(szb))
		if size < 24 || size > maxBTF {
			return out, &ModuleError{Module: name, Addr: bt, Msg: fmt.Sprintf("data_size %d is not a BTF blob's", size)}
		}
		raw, err := readAll(m, data, size)
		if err != nil {
			return out, &ModuleError{Module: name, Addr: data, Msg: fmt.Sprintf("reading %d bytes of BTF", size), Err: err}
		}
		out = append(out, ModuleBTF{Name: name, Addr: data, Raw: raw})
		if next, err = ptr(next); err != nil {
			return out, &ModuleError{Module: name, Addr: node, Msg: "reading the next list entry", Err: err}
		}
	}
	return out, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// ModulesInSysfs reads the running kernel's module BTF from
// /sys/kernel/btf/MODULE (dir is /sys/kernel/btf), sorted by name.
func ModulesInSysfs(dir string) ([]ModuleBTF, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []ModuleBTF
	for _, e := range ents {
		if e.Name() == "vmlinux" || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || len(b) > maxBTF {
			continue
		}
		out = append(out, ModuleBTF{Name: e.Name(), Raw: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// AddModule adds a module's split BTF to f: Type then finds the module's
// types too (the kernel's first).
func (f *File) AddModule(mb ModuleBTF) error {
	name := fmt.Sprintf("%s (module %s)", f.opts.Name, mb.Name)
	if len(mb.Raw) < 24 {
		return &FormatError{Name: name, Off: 0, Msg: "shorter than a BTF header"}
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint16(mb.Raw) == btfMagic {
		bo = binary.BigEndian
	} else if bo.Uint16(mb.Raw) != btfMagic {
		return &FormatError{Name: name, Off: 0, Msg: fmt.Sprintf("expected the BTF magic 0xeb9f, found % x", mb.Raw[:2])}
	}
	if bo != f.dm.ByteOrder {
		return &FormatError{Name: name, Off: 0, Msg: "byte order differs from the kernel's BTF"}
	}
	spec, err := loadSplit(mb.Raw, f.spec)
	if err != nil {
		return &FormatError{Name: name, Off: -1, Msg: "decoding split BTF", Err: err}
	}
	o := f.opts
	o.Name = name
	mf := &File{spec: spec, opts: o, size: int64(len(mb.Raw)), dm: f.dm, raw: mb.Raw,
		conv: map[btf.Type]dwarfmodel.Type{}, ids: map[btf.Type]btf.TypeID{}, byName: map[string][]btf.Type{}}
	f.mu.Lock()
	f.modules = append(f.modules, moduleFile{name: mb.Name, f: mf})
	f.mu.Unlock()
	return nil
}

func loadSplit(raw []byte, base *btf.Spec) (s *btf.Spec, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("malformed split BTF (%v)", p)
		}
	}()
	return btf.LoadSplitSpecFromReader(bytes.NewReader(raw), base)
}

// LoadModulesWith defers finding the loaded modules' BTF (walking
// btf_modules, reading each module's blob) to the first lookup of a type
// that is not the kernel's own, or to Modules: most users (the process
// interface, bindings of kernel types) never need it. load's modules are
// added with AddModule; those that fail to decode are skipped.
func (f *File) LoadModulesWith(load func() []ModuleBTF) {
	f.mu.Lock()
	f.modLoad = load
	f.mu.Unlock()
}

func (f *File) loadModules() {
	f.mu.Lock()
	load := f.modLoad
	f.mu.Unlock()
	if load == nil {
		return
	}
	f.modOnce.Do(func() {
		for _, m := range load() {
			f.AddModule(m) // a module whose BTF does not decode is left out
		}
	})
}

// Modules lists the modules whose BTF was added, in order.
func (f *File) Modules() []string {
	f.loadModules()
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, m := range f.modules {
		names = append(names, m.name)
	}
	return names
}

type moduleFile struct {
	name string
	f    *File
}
