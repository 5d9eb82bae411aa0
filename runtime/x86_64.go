package kvm

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// x86-64 kernel address space constants.
const (
	x86StartKernelMap = 0xffffffff80000000 // __START_KERNEL_map
	x86PTEPresent     = 1 << 0
	x86PTEPS          = 1 << 7             // large page
	x86PTEAddrMask    = 0x000ffffffffff000 // bits 12..51
)

// TranslationError reports a virtual address that cannot be translated.
type TranslationError struct {
	Addr  uint64 // the virtual address
	Level int    // page-table level where the walk stopped (5..1), 0 if none
	Entry uint64 // the entry read at that level
	Msg   string
}

func (e *TranslationError) Error() string {
	if e.Level == 0 {
		return fmt.Sprintf("translate %#x: %s", e.Addr, e.Msg)
	}
	return fmt.Sprintf("translate %#x: level %d entry %#x: %s", e.Addr, e.Level, e.Entry, e.Msg)
}

// translator maps a virtual address to a physical one; n is how many bytes
// from va are contiguous in physical memory (to the end of the page).
type translator interface {
	translate(va uint64) (pa uint64, n uint64, err error)
}

// tlb caches page translations. It is safe for concurrent use and bounded.
type tlb struct {
	mu  sync.RWMutex
	m   map[uint64]tlbEntry
	max int
}

type tlbEntry struct{ base, size uint64 } // physical base of the page, page size

const tlbMax = 1 << 16

func newTLB() *tlb { return &tlb{m: make(map[uint64]tlbEntry), max: tlbMax} }

func (t *tlb) get(vpage uint64) (tlbEntry, bool) {
	t.mu.RLock()
	e, ok := t.m[vpage]
	t.mu.RUnlock()
	return e, ok
}

func (t *tlb) put(vpage uint64, e tlbEntry) {
	t.mu.Lock()
	if len(t.m) >= t.max {
		clear(t.m)
	}
	t.m[vpage] = e
	t.mu.Unlock()
}

// x86Walker walks x86-64 4- or 5-level page tables held in physical memory.
type x86Walker struct {
	phys   physReader
	root   uint64 // physical address of the top-level table (CR3 & mask)
	levels int    // 4 or 5
	cache  *tlb   // nil: no caching
	// user marks a walker of a process's page tables (see rooted): a
	// PROT_NONE page table entry (present bit clear, _PAGE_PROTNONE set,
	// frame number inverted as the L1TF mitigation stores it) still
	// maps memory.
	user bool
}

// x86PTEProtNone is _PAGE_PROTNONE (_PAGE_GLOBAL's bit, only meaningful in
// a non-present user entry).
const x86PTEProtNone = 1 << 8

func (w *x86Walker) translate(va uint64) (uint64, uint64, error) {
	// Canonical check: bits above the top bit must equal it.
	top := uint(47)
	if w.levels == 5 {
		top = 56
	}
	hi := int64(va) >> top
	if hi != 0 && hi != -1 {
		return 0, 0, &TranslationError{Addr: va, Msg: "not a canonical address"}
	}
	vpage := va >> 12
	if w.cache != nil {
		if e, ok := w.cache.get(vpage); ok {
			off := va & (e.size - 1)
			return e.base + off, e.size - off, nil
		}
	}
	table := w.root
	var b [8]byte
	for level := w.levels; level >= 1; level-- {
		shift := uint(12 + 9*(level-1))
		idx := (va >> shift) & 0x1ff
		ea := table + idx*8
		if n, err := w.phys.ReadPhys(b[:], ea); n != 8 {
			return 0, 0, &TranslationError{Addr: va, Level: level, Msg: fmt.Sprintf("reading the entry at physical %#x: %v", ea, err)}
		}
		pte := binary.LittleEndian.Uint64(b[:])
		if pte&x86PTEPresent == 0 && w.user && level == 1 && pte&x86PTEProtNone != 0 {
			// A PROT_NONE user page: resident, its frame inverted.
			pte = ^pte&x86PTEAddrMask | x86PTEPresent
		}
		if pte&x86PTEPresent == 0 {
			return 0, 0, &TranslationError{Addr: va, Level: level, Entry: pte, Msg: "not present"}
		}
		if level == 1 || (pte&x86PTEPS != 0 && (level == 2 || level == 3)) {
			size := uint64(1) << shift
			base := pte & x86PTEAddrMask &^ (size - 1)
			if w.cache != nil {
				// Cache at 4 KiB granularity so lookups need one key.
				w.cache.put(vpage, tlbEntry{base: base + (va&(size-1))&^0xfff, size: 4096})
			}
			off := va & (size - 1)
			return base + off, size - off, nil
		}
		if pte&x86PTEPS != 0 {
			return 0, 0, &TranslationError{Addr: va, Level: level, Entry: pte, Msg: "large-page bit set at a level that has none"}
		}
		table = pte & x86PTEAddrMask
	}
	return 0, 0, &TranslationError{Addr: va, Msg: "page-table walk did not end"}
}

// kernelMem reads virtual memory through a translator over physical memory.
type kernelMem struct {
	phys physReader
	xlat translator
}

func (k *kernelMem) ReadMemory(buf []byte, addr uint64) (int, error) {
	done := 0
	for done < len(buf) {
		va := addr + uint64(done)
		pa, n, err := k.xlat.translate(va)
		if err != nil {
			return done, err
		}
		want := uint64(len(buf) - done)
		if n < want {
			want = n
		}
		got, err := k.phys.ReadPhys(buf[done:done+int(want)], pa)
		done += got
		if err != nil {
			return done, &ReadError{Addr: va, Len: int(want), Err: fmt.Errorf("physical %#x: %w", pa, err)}
		}
	}
	return done, nil
}

// x86RootFromVMCoreInfo finds the kernel's top page table from VMCOREINFO:
// SYMBOL(init_top_pgt) or SYMBOL(swapper_pg_dir), a kernel-image address,
// is at physical va - __START_KERNEL_map + phys_base.
func x86RootFromVMCoreInfo(vi *VMCoreInfo) (root uint64, levels int, ok bool) {
	sym, ok := vi.Symbol("init_top_pgt")
	if !ok {
		sym, ok = vi.Symbol("swapper_pg_dir")
	}
	if !ok || sym < x86StartKernelMap {
		return 0, 0, false
	}
	pb, _ := vi.Number("phys_base")
	levels = 4
	if l5, ok := vi.Number("pgtable_l5_enabled"); ok && l5 != 0 {
		levels = 5
	}
	return sym - x86StartKernelMap + uint64(pb), levels, true
}

func (w *x86Walker) String() string {
	return fmt.Sprintf("x86-64 %d-level page tables at physical %#x", w.levels, w.root)
}

// describe names a translator and where its root came from.
func describe(t translator, from string) string {
	d := fmt.Sprint(t)
	if from != "" {
		d += " (from " + from + ")"
	}
	return d
}
