// Package modules lists a Linux kernel's loaded modules from its memory:
// the `modules` list of struct module, with each module's name, memory
// areas, state, reference count, users (as /proc/modules shows them) and
// its own symbol table (mod->kallsyms), used to name addresses inside
// modules.
//
// struct module's layout comes from the kernel's types (DWARF or BTF,
// through dwarfmodel.Source). Both layouts are handled by the members
// present: Linux up to 6.3 describes a module's memory with core_layout
// and init_layout (and data_layout where the architecture keeps data
// apart), 6.4 and later with the array mem[MOD_TEXT ... MOD_INIT_RODATA].
package modules

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/ksym"
)

// Memory reads kernel virtual memory (kvm.KVM satisfies it).
type Memory interface {
	ReadMemory(buf []byte, addr uint64) (int, error)
}

// Area is one memory area of a module.
type Area struct {
	Kind string `json:"kind"` // "core", "init", "data" (6.1) or "text", "data", "rodata", "ro_after_init", "init_text", "init_data", "init_rodata" (6.4+)
	Base uint64 `json:"base"`
	Size uint64 `json:"size"`
}

// Module is one loaded module.
type Module struct {
	Name     string   `json:"name"`
	Addr     uint64   `json:"struct_module"` // address of its struct module
	Base     uint64   `json:"base"`          // what /proc/modules shows: core_layout.base, mem[MOD_TEXT].base
	Size     uint64   `json:"size"`          // what /proc/modules shows: the sum of every area's size
	State    string   `json:"state"`         // "Live", "Loading", "Unloading"
	Refcount int64    `json:"refcount"`      // -1 unknown (no CONFIG_MODULE_UNLOAD)
	UsedBy   []string `json:"used_by"`       // modules that use this one (and "[permanent]")
	Areas    []Area   `json:"areas"`
	// Symbols is the module's own symbol table (mod->kallsyms), when
	// Options.Symbols asks for it.
	Symbols []ksym.Sym `json:"-"`
	// Err says what could not be read of this module (its symbols).
	Err string `json:"error,omitempty"`
}

// Layout is where List finds what it reads, in bytes.
type Layout struct {
	PtrSize   int
	ByteOrder binary.ByteOrder

	List, Name, NameLen, State int
	// Up to 6.3: offsets of {base, size} pairs, -1 when absent.
	CoreBase, CoreSize, InitBase, InitSize, DataBase, DataSize int
	// 6.4+: mem[], its element size and count, and base/size in an element.
	Mem, MemElem, MemCount, MemBase, MemSize int
	Refcnt                                   int // atomic_t refcnt, -1 absent
	SourceList                               int // list of struct module_use, -1 absent
	UseSourceList, UseSource                 int // in struct module_use
	InitFn, ExitFn                           int // mod->init, mod->exit, -1 absent
	Kallsyms                                 int // struct mod_kallsyms *, -1 absent
	KSymtab, KNumSymtab, KStrtab, KTypetab   int // in struct mod_kallsyms (typetab -1 absent)
}

// memKinds names mod->mem[] by index (enum mod_mem_type, Linux 6.4+).
var memKinds = []string{"text", "data", "rodata", "ro_after_init", "init_text", "init_data", "init_rodata"}

func structOf(src dwarfmodel.Source, name string) (*dwarfmodel.Struct, error) {
	t, err := src.Type("struct " + name)
	if err != nil {
		return nil, err
	}
	st, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Struct)
	if !ok || st.Incomplete {
		return nil, fmt.Errorf("struct %s: not a complete struct in the kernel's types", name)
	}
	return st, nil
}

// LayoutFromTypes reads struct module's layout from the kernel's types.
func LayoutFromTypes(src dwarfmodel.Source) (*Layout, error) {
	dm := src.DataModel()
	l := &Layout{PtrSize: dm.PtrSize, ByteOrder: dm.ByteOrder}
	if l.ByteOrder == nil {
		l.ByteOrder = binary.LittleEndian
	}
	mod, err := structOf(src, "module")
	if err != nil {
		return nil, err
	}
	off := func(st *dwarfmodel.Struct, path string) int {
		o, _, ok := dwarfmodel.MemberPath(st, path)
		if !ok {
			return -1
		}
		return int(o)
	}
	l.List, l.Name, l.State = off(mod, "list"), off(mod, "name"), off(mod, "state")
	if l.List < 0 || l.Name < 0 || l.State < 0 {
		return nil, errors.New("struct module has no list, name or state")
	}
	l.NameLen = 56
	if _, t, ok := dwarfmodel.MemberPath(mod, "name"); ok && t.Size() > 0 {
		l.NameLen = int(t.Size())
	}
	l.CoreBase, l.CoreSize = off(mod, "core_layout.base"), off(mod, "core_layout.size")
	l.InitBase, l.InitSize = off(mod, "init_layout.base"), off(mod, "init_layout.size")
	l.DataBase, l.DataSize = off(mod, "data_layout.base"), off(mod, "data_layout.size")
	l.Mem = -1
	if o, t, ok := dwarfmodel.MemberPath(mod, "mem"); ok {
		if a, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Array); ok && len(a.Dims) == 1 && a.Dims[0] > 0 {
			if el, ok := dwarfmodel.Underlying(a.Elem).(*dwarfmodel.Struct); ok {
				l.Mem, l.MemElem, l.MemCount = int(o), int(el.Size()), int(a.Dims[0])
				l.MemBase, l.MemSize = off(el, "base"), off(el, "size")
			}
		}
	}
	if l.CoreBase < 0 && (l.Mem < 0 || l.MemBase < 0 || l.MemSize < 0) {
		return nil, errors.New("struct module has neither core_layout (Linux < 6.4) nor mem[] (6.4+)")
	}
	l.Refcnt, l.SourceList = off(mod, "refcnt"), off(mod, "source_list")
	l.InitFn, l.ExitFn = off(mod, "init"), off(mod, "exit")
	l.UseSourceList, l.UseSource = -1, -1
	if l.SourceList >= 0 {
		if use, err := structOf(src, "module_use"); err == nil {
			l.UseSourceList, l.UseSource = off(use, "source_list"), off(use, "source")
		}
	}
	l.Kallsyms = off(mod, "kallsyms")
	l.KSymtab, l.KNumSymtab, l.KStrtab, l.KTypetab = -1, -1, -1, -1
	if l.Kallsyms >= 0 {
		if ks, err := structOf(src, "mod_kallsyms"); err == nil {
			l.KSymtab, l.KNumSymtab, l.KStrtab, l.KTypetab = off(ks, "symtab"), off(ks, "num_symtab"), off(ks, "strtab"), off(ks, "typetab")
		}
	}
	return l, nil
}

// Options bound List.
type Options struct {
	Symbols    bool // read each module's symbol table
	MaxModules int  // default 65536
	MaxSymbols int  // per module, default 1 << 20
}

type reader struct {
	mem Memory
	l   *Layout
}

func (r *reader) bytes(addr uint64, n int) ([]byte, error) {
	b := make([]byte, n)
	got, err := r.mem.ReadMemory(b, addr)
	if err == nil && got != n {
		err = fmt.Errorf("short read at %#x", addr)
	}
	return b, err
}

func (r *reader) word(b []byte, off int) uint64 {
	if off < 0 || off+r.l.PtrSize > len(b) {
		return 0
	}
	if r.l.PtrSize == 4 {
		return uint64(r.l.ByteOrder.Uint32(b[off:]))
	}
	return r.l.ByteOrder.Uint64(b[off:])
}

func (r *reader) u32(b []byte, off int) uint32 {
	if off < 0 || off+4 > len(b) {
		return 0
	}
	return r.l.ByteOrder.Uint32(b[off:])
}

func (r *reader) ptr(addr uint64) (uint64, error) {
	b, err := r.bytes(addr, r.l.PtrSize)
	if err != nil {
		return 0, err
	}
	return r.word(b, 0), nil
}

// span is how many bytes of struct module List reads.
func (l *Layout) span() int {
	m := 0
	for _, o := range []int{l.List + 2*l.PtrSize, l.Name + l.NameLen, l.State + 4, l.CoreBase + l.PtrSize, l.CoreSize + 4,
		l.InitBase + l.PtrSize, l.InitSize + 4, l.DataBase + l.PtrSize, l.DataSize + 4, l.Refcnt + 4,
		l.SourceList + 2*l.PtrSize, l.InitFn + l.PtrSize, l.ExitFn + l.PtrSize, l.Kallsyms + l.PtrSize} {
		m = max(m, o)
	}
	if l.Mem >= 0 {
		m = max(m, l.Mem+l.MemElem*l.MemCount)
	}
	return m + 8
}

// List walks the list of modules whose head (the kernel's `modules`, a
// struct list_head) is at head.
func List(mem Memory, head uint64, l *Layout, o Options) ([]Module, error) {
	if o.MaxModules == 0 {
		o.MaxModules = 1 << 16
	}
	if o.MaxSymbols == 0 {
		o.MaxSymbols = 1 << 20
	}
	r := &reader{mem: mem, l: l}
	next, err := r.ptr(head)
	if err != nil {
		return nil, fmt.Errorf("modules: reading the list head at %#x: %w", head, err)
	}
	var out []Module
	seen := map[uint64]bool{}
	span := l.span()
	for next != head {
		if len(out) >= o.MaxModules {
			return out, fmt.Errorf("modules: more than %d modules: the list at %#x is corrupt", o.MaxModules, head)
		}
		if seen[next] || next == 0 {
			return out, fmt.Errorf("modules: the list loops or breaks at %#x", next)
		}
		seen[next] = true
		addr := next - uint64(l.List)
		b, err := r.bytes(addr, span)
		if err != nil {
			return out, fmt.Errorf("modules: reading struct module at %#x: %w", addr, err)
		}
		next = r.word(b, l.List)
		state := r.u32(b, l.State)
		if state == 3 { // MODULE_STATE_UNFORMED: not listed by /proc/modules
			continue
		}
		m := Module{Addr: addr, Name: cname(b[l.Name : l.Name+l.NameLen]), Refcount: -1}
		switch state {
		case 1:
			m.State = "Loading"
		case 2:
			m.State = "Unloading"
		default:
			m.State = "Live"
		}
		if l.Mem >= 0 && l.MemBase >= 0 {
			for i := 0; i < l.MemCount; i++ {
				e := l.Mem + i*l.MemElem
				a := Area{Base: r.word(b, e+l.MemBase), Size: uint64(r.u32(b, e+l.MemSize))}
				if i < len(memKinds) {
					a.Kind = memKinds[i]
				} else {
					a.Kind = fmt.Sprintf("mem%d", i)
				}
				m.Size += a.Size
				if a.Size > 0 {
					m.Areas = append(m.Areas, a)
				}
				if i == 0 {
					m.Base = a.Base
				}
			}
		} else {
			for _, k := range []struct {
				kind       string
				base, size int
			}{{"core", l.CoreBase, l.CoreSize}, {"init", l.InitBase, l.InitSize}, {"data", l.DataBase, l.DataSize}} {
				if k.base < 0 || k.size < 0 {
					continue
				}
				a := Area{Kind: k.kind, Base: r.word(b, k.base), Size: uint64(r.u32(b, k.size))}
				m.Size += a.Size
				if a.Size > 0 {
					m.Areas = append(m.Areas, a)
				}
				if k.kind == "core" {
					m.Base = a.Base
				}
			}
		}
		if l.Refcnt >= 0 {
			m.Refcount = int64(int32(r.u32(b, l.Refcnt))) - 1 // MODULE_REF_BASE
		}
		if l.SourceList >= 0 && l.UseSourceList >= 0 && l.UseSource >= 0 {
			m.UsedBy = r.users(addr+uint64(l.SourceList), r.word(b, l.SourceList))
		}
		if l.InitFn >= 0 && l.ExitFn >= 0 && r.word(b, l.InitFn) != 0 && r.word(b, l.ExitFn) == 0 {
			m.UsedBy = append(m.UsedBy, "[permanent]")
		}
		if o.Symbols && l.Kallsyms >= 0 && l.KSymtab >= 0 {
			syms, err := r.symbols(r.word(b, l.Kallsyms), o.MaxSymbols)
			if err != nil {
				m.Err = err.Error()
			}
			m.Symbols = syms
		}
		out = append(out, m)
	}
	return out, nil
}

// users follows mod->source_list (struct module_use.source_list) to the
// names of the modules using this one, bounded.
func (r *reader) users(head, next uint64) []string {
	var out []string
	l := r.l
	for i := 0; next != head && next != 0 && i < 4096; i++ {
		use := next - uint64(l.UseSourceList)
		b, err := r.bytes(use, max(l.UseSourceList, l.UseSource)+l.PtrSize)
		if err != nil {
			break
		}
		next = r.word(b, l.UseSourceList)
		src := r.word(b, l.UseSource)
		nb, err := r.bytes(src+uint64(l.Name), l.NameLen)
		if err != nil {
			break
		}
		out = append(out, cname(nb))
	}
	return out
}

func cname(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// symbols reads a struct mod_kallsyms: Elf_Sym symtab[num_symtab], the
// string table, and the nm letters (typetab).
func (r *reader) symbols(ks uint64, maxSyms int) ([]ksym.Sym, error) {
	l := r.l
	if ks == 0 {
		return nil, errors.New("no kallsyms")
	}
	b, err := r.bytes(ks, max(l.KSymtab, l.KNumSymtab, l.KStrtab, l.KTypetab)+l.PtrSize)
	if err != nil {
		return nil, fmt.Errorf("reading mod_kallsyms at %#x: %w", ks, err)
	}
	symtab, strtab := r.word(b, l.KSymtab), r.word(b, l.KStrtab)
	n := int(r.u32(b, l.KNumSymtab))
	var typetab uint64
	if l.KTypetab >= 0 {
		typetab = r.word(b, l.KTypetab)
	}
	if n > maxSyms {
		return nil, fmt.Errorf("mod_kallsyms at %#x: %d symbols (more than %d)", ks, n, maxSyms)
	}
	esz := 24 // Elf64_Sym: name u32, info u8, other u8, shndx u16, value u64, size u64
	if l.PtrSize == 4 {
		esz = 16 // Elf32_Sym: name u32, value u32, size u32, info u8, other u8, shndx u16
	}
	tab, err := r.bytes(symtab, n*esz)
	if err != nil {
		return nil, fmt.Errorf("reading %d symbols at %#x: %w", n, symtab, err)
	}
	var types []byte
	if typetab != 0 {
		types, _ = r.bytes(typetab, n)
	}
	// The string table's size is not recorded: read names in pages,
	// up to the highest name offset plus a bound.
	maxName := uint32(0)
	for i := 0; i < n; i++ {
		maxName = max(maxName, l.ByteOrder.Uint32(tab[i*esz:]))
	}
	strs, err := r.bytes(strtab, int(maxName)+512)
	if err != nil {
		// The last name may end near a page with nothing after it: read
		// up to the end of its page.
		end := (strtab + uint64(maxName)) | 0xfff + 1
		strs, err = r.bytes(strtab, int(end-strtab))
		if err != nil {
			return nil, fmt.Errorf("reading the string table at %#x: %w", strtab, err)
		}
	}
	var out []ksym.Sym
	for i := 0; i < n; i++ {
		e := tab[i*esz:]
		name := l.ByteOrder.Uint32(e)
		var value uint64
		var shndx uint16
		if esz == 24 {
			shndx = l.ByteOrder.Uint16(e[6:])
			value = l.ByteOrder.Uint64(e[8:])
		} else {
			value = uint64(l.ByteOrder.Uint32(e[4:]))
			shndx = l.ByteOrder.Uint16(e[14:])
		}
		if name == 0 || shndx == 0 || value == 0 || int(name) >= len(strs) {
			continue
		}
		s := ksym.Sym{Name: cname(strs[name:]), Addr: value}
		if i < len(types) {
			s.Type = types[i]
			if s.Type == 'U' || s.Type == 'u' {
				continue
			}
		}
		out = append(out, s)
	}
	return out, nil
}
