// Package ksym names kernel addresses as the kernel's own backtraces do,
// "function+0xoff/0xsize [module]", from the kernel's symbols (the
// runtime's: vmlinux, System.map or the dump's kallsyms, at run-time
// addresses) and the loaded modules' own symbol tables.
//
// A symbol's size is the distance to the next symbol at a higher address,
// as kallsyms computes it. An address is named by the kernel's symbols only
// below the end of the kernel image (_end), and by a module's symbols only
// inside one of that module's memory areas, so that an address in a
// module is never named as "last_kernel_symbol+0x3fc0a000".
package ksym

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Sym is one symbol at its run-time address.
type Sym struct {
	Name   string
	Addr   uint64
	Size   uint64 // to the next symbol; 0 for the last one
	Type   byte   // nm letter ('T', 't', 'D', ...), 0 unknown
	Module string // "" for the kernel image
}

// Range is a module's memory area [Start, End).
type Range struct {
	Start, End uint64
	Module     string
}

// Table is a sorted set of symbols.
type Table struct {
	kernel    []Sym
	kernelEnd uint64 // exclusive; 0 = no bound
	mods      []Range
	modSyms   map[string][]Sym
	modOrder  []string         // the modules in the order added
	byName    map[string][]Sym // built on the first Find
	// A lazy table (NewLazy) keeps the kernel's symbols as given until a
	// lookup needs them sorted; Prefetch names a set of addresses in one
	// pass without sorting.
	raw    []Sym
	cached map[uint64]hit
}

type hit struct {
	s   Sym
	off uint64
	ok  bool
}

// NewLazy is New without the sort: the symbols are only sorted (as New
// does) when Lookup meets an address that Prefetch did not name. For
// callers that name a few addresses (a backtrace) out of a large table.
func NewLazy(syms []Sym, end uint64) *Table {
	return &Table{kernelEnd: end, modSyms: map[string][]Sym{}, raw: syms}
}

func (t *Table) sorted() []Sym {
	if t.raw != nil {
		t.kernel = prepare(t.raw, "")
		t.raw = nil
	}
	return t.kernel
}

// Prefetch names the kernel-image addresses among addrs in one pass over
// the symbols (O(symbols × log addresses), no sort), with the result
// Lookup would give; later Lookups of them are map reads.
func (t *Table) Prefetch(addrs []uint64) {
	if t.raw == nil {
		return
	}
	var q []uint64
	for _, a := range addrs {
		if _, ok := t.ModuleAt(a); ok || (t.kernelEnd != 0 && a >= t.kernelEnd) {
			continue
		}
		q = append(q, a)
	}
	slices.Sort(q)
	q = slices.Compact(q)
	if len(q) == 0 {
		return
	}
	// Gap i holds the symbols in (q[i-1], q[i]]; best[i] is the highest
	// of them (aliases ranked as prepare ranks them), low[i] the lowest
	// address in the gap (the "next symbol" of q[i-1]); gap len(q) holds
	// the symbols above the last address.
	best := make([]int, len(q))
	for i := range best {
		best[i] = -1
	}
	low := make([]uint64, len(q)+1)
	hasLow := make([]bool, len(q)+1)
	for k := range t.raw {
		s := &t.raw[k]
		if s.Type == 'A' || s.Type == 'a' || s.Name == "" || ignored(s.Name) {
			continue
		}
		g, _ := slices.BinarySearch(q, s.Addr) // first q >= s.Addr
		if !hasLow[g] || s.Addr < low[g] {
			low[g], hasLow[g] = s.Addr, true
		}
		if g == len(q) {
			continue
		}
		if b := best[g]; b < 0 || s.Addr > t.raw[b].Addr || s.Addr == t.raw[b].Addr && rank(s, &t.raw[b]) < 0 {
			best[g] = k
		}
	}
	t.cached = make(map[uint64]hit, len(q))
	cur := -1
	for i, a := range q {
		if best[i] >= 0 {
			cur = best[i]
		}
		if cur < 0 {
			t.cached[a] = hit{}
			continue
		}
		sym := t.raw[cur]
		sym.Module = ""
		sym.Size = 0
		// The next higher symbol: the lowest address in the later gaps.
		for j := i + 1; j <= len(q); j++ {
			if hasLow[j] {
				sym.Size = low[j] - sym.Addr
				break
			}
		}
		if sym.Size == 0 {
			sym.Size = t.raw[cur].Size // the highest symbol keeps its own
		}
		h := hit{s: sym, off: a - sym.Addr, ok: true}
		if sym.Size != 0 && a-sym.Addr >= sym.Size {
			h = hit{}
		}
		t.cached[a] = h
	}
}

// rank orders aliases (symbols at one address) as scripts/kallsyms.c
// does; 0 keeps the input's order.
func rank(a, b *Sym) int {
	if c := cmp.Compare(weak(a), weak(b)); c != 0 {
		return c
	}
	if c := cmp.Compare(linkerScript(a.Name), linkerScript(b.Name)); c != 0 {
		return c
	}
	return cmp.Compare(underscores(a.Name), underscores(b.Name))
}

// New makes a table of the kernel image's symbols, in the order of the
// kernel's table (see prepare) (absolute symbols, type
// 'A'/'a', are left out: on x86-64 those are per-CPU offsets). end bounds
// the kernel image (the run-time _end; 0 for none).
func New(syms []Sym, end uint64) *Table {
	t := &Table{kernelEnd: end, modSyms: map[string][]Sym{}}
	t.kernel = prepare(syms, "")
	return t
}

func prepare(in []Sym, module string) []Sym {
	out := make([]Sym, 0, len(in))
	for _, s := range in {
		if s.Type == 'A' || s.Type == 'a' || s.Name == "" || ignored(s.Name) {
			continue
		}
		s.Module = module
		out = append(out, s)
	}
	// Among symbols at one address, the first in the input names it, as
	// the kernel's kallsyms lookups do (give the symbols in kallsyms'
	// order: runtime's SymbolsInTableOrder).
	// For the kernel image, aliases are ordered as scripts/kallsyms.c
	// sorts them (compare_symbols): strong before weak, then a
	// linker-script symbol (__start_x, __x_end...) after others, then
	// fewer leading underscores first, then the input's order. A list
	// from the kernel's kallsyms is already in that order; a vmlinux's
	// .symtab or a System.map is not (there __sched_text_start would name
	// __switch_to).
	if module == "" {
		cmpSym := func(a, b *Sym) int {
			if c := cmp.Compare(a.Addr, b.Addr); c != 0 {
				return c
			}
			return rank(a, b)
		}
		sorted := true
		for i := 1; i < len(out) && sorted; i++ {
			sorted = cmpSym(&out[i-1], &out[i]) <= 0
		}
		if !sorted {
			// An index sort (faster than a stable sort of the symbols);
			// the input's order breaks ties.
			idx := make([]int32, len(out))
			for i := range idx {
				idx[i] = int32(i)
			}
			slices.SortFunc(idx, func(a, b int32) int {
				if c := cmpSym(&out[a], &out[b]); c != 0 {
					return c
				}
				return cmp.Compare(a, b)
			})
			sortedSyms := make([]Sym, len(out))
			for i, j := range idx {
				sortedSyms[i] = out[j]
			}
			out = sortedSyms
		}
	} else {
		slices.SortStableFunc(out, func(a, b Sym) int { return cmp.Compare(a.Addr, b.Addr) })
	}
	// Sizes: to the next higher address.
	var next uint64
	for i := len(out) - 1; i >= 0; i-- {
		if i+1 < len(out) && out[i+1].Addr > out[i].Addr {
			next = out[i+1].Addr
		}
		if next > out[i].Addr {
			out[i].Size = next - out[i].Addr
		}
	}
	return out
}

func weak(s *Sym) int {
	if s.Type == 'w' || s.Type == 'W' {
		return 1
	}
	return 0
}

// linkerScript is scripts/kallsyms.c's may_be_linker_script_provide_symbol.
func linkerScript(n string) int {
	if len(n) < 8 || n[:2] != "__" {
		return 0
	}
	for _, p := range []string{"__start_", "__stop_", "__end_"} {
		if strings.HasPrefix(n, p) {
			return 1
		}
	}
	if strings.HasSuffix(n, "_start") || strings.HasSuffix(n, "_end") {
		return 1
	}
	return 0
}

func underscores(n string) int {
	return len(n) - len(strings.TrimLeft(n, "_"))
}

// ignored says the kernel's kallsyms leaves a symbol out
// (scripts/kallsyms.c): ARM and AArch64 mapping symbols ("$x", "$d",
// "$x.12") and assembler local labels (".L..."), which a vmlinux's
// .symtab holds.
func ignored(name string) bool {
	return name[0] == '$' || len(name) > 2 && name[:2] == ".L"
}

// AddModule adds a loaded module's memory areas and symbols.
func (t *Table) AddModule(name string, areas []Range, syms []Sym) {
	for _, r := range areas {
		if r.End > r.Start {
			r.Module = name
			t.mods = append(t.mods, r)
		}
	}
	slices.SortFunc(t.mods, func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
	ps := prepare(syms, name)
	// A module's last symbol ends with its area.
	for i := range ps {
		if ps[i].Size == 0 {
			for _, r := range areas {
				if ps[i].Addr >= r.Start && ps[i].Addr < r.End {
					ps[i].Size = r.End - ps[i].Addr
				}
			}
		}
	}
	if _, ok := t.modSyms[name]; !ok {
		t.modOrder = append(t.modOrder, name)
	}
	t.modSyms[name] = ps
	if t.byName != nil {
		for _, s := range ps {
			t.byName[s.Name] = append(t.byName[s.Name], s)
		}
	}
}

// Modules returns the modules' areas, by address.
func (t *Table) Modules() []Range { return t.mods }

// ModuleAt returns the module whose area holds addr.
func (t *Table) ModuleAt(addr uint64) (string, bool) {
	i := sort.Search(len(t.mods), func(i int) bool { return t.mods[i].Start > addr })
	if i > 0 && addr < t.mods[i-1].End {
		return t.mods[i-1].Module, true
	}
	return "", false
}

// Lookup returns the symbol holding addr and addr's offset in it.
func (t *Table) Lookup(addr uint64) (Sym, uint64, bool) {
	var list []Sym
	if m, ok := t.ModuleAt(addr); ok {
		list = t.modSyms[m]
	} else if t.kernelEnd != 0 && addr >= t.kernelEnd {
		return Sym{}, 0, false
	} else if h, ok := t.cached[addr]; ok {
		return h.s, h.off, h.ok
	} else {
		list = t.sorted()
	}
	i := sort.Search(len(list), func(i int) bool { return list[i].Addr > addr })
	if i == 0 {
		return Sym{}, 0, false
	}
	a := list[i-1].Addr
	j := sort.Search(i, func(j int) bool { return list[j].Addr >= a })
	s := list[j]
	if s.Size != 0 && addr-s.Addr >= s.Size {
		return Sym{}, 0, false
	}
	return s, addr - s.Addr, true
}

// Name formats addr as "function+0xoff/0xsize [module]", or its hex
// value when no symbol holds it.
func (t *Table) Name(addr uint64) string {
	s, off, ok := t.Lookup(addr)
	if !ok {
		return fmt.Sprintf("%#x", addr)
	}
	return Format(s, off)
}

// Format is "name+0xoff/0xsize", with " [module]" for a module's symbol.
func Format(s Sym, off uint64) string {
	r := fmt.Sprintf("%s+%#x/%#x", s.Name, off, s.Size)
	if s.Module != "" {
		r += " [" + s.Module + "]"
	}
	return r
}

// Find returns the symbols named name (the kernel's first, then the
// modules'; several when static functions share a name).
func (t *Table) Find(name string) []Sym {
	if t.byName == nil {
		kernel := t.sorted()
		t.byName = make(map[string][]Sym, len(kernel))
		for _, s := range kernel {
			t.byName[s.Name] = append(t.byName[s.Name], s)
		}
		for _, m := range t.modOrder {
			for _, s := range t.modSyms[m] {
				t.byName[s.Name] = append(t.byName[s.Name], s)
			}
		}
	}
	return t.byName[name]
}
