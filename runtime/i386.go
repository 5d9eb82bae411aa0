package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// i386Walker walks 32-bit x86 page tables: PAE (3 levels of 8-byte
// entries: a 4-entry PDPT, 2 MiB large pages) or classic (2 levels of
// 4-byte entries, 4 MiB large pages).
type i386Walker struct {
	phys  physReader
	root  uint64 // physical address of swapper_pg_dir
	pae   bool
	cache *tlb
}

func (w *i386Walker) translate(va uint64) (uint64, uint64, error) {
	if va > 0xffffffff {
		return 0, 0, &TranslationError{Addr: va, Msg: "not a 32-bit address"}
	}
	vpage := va >> 12
	if w.cache != nil {
		if e, ok := w.cache.get(vpage); ok {
			off := va & (e.size - 1)
			return e.base + off, e.size - off, nil
		}
	}
	var pa, size uint64
	var err error
	if w.pae {
		pa, size, err = w.walkPAE(va)
	} else {
		pa, size, err = w.walk2(va)
	}
	if err != nil {
		return 0, 0, err
	}
	if w.cache != nil {
		w.cache.put(vpage, tlbEntry{base: pa &^ 0xfff, size: 4096})
	}
	off := va & (size - 1)
	return pa, size - off, nil
}

func (w *i386Walker) entry(va uint64, level int, ea uint64, n int) (uint64, error) {
	var b [8]byte
	if m, err := w.phys.ReadPhys(b[:n], ea); m != n {
		return 0, &TranslationError{Addr: va, Level: level, Msg: fmt.Sprintf("reading the entry at physical %#x: %v", ea, err)}
	}
	if n == 4 {
		return uint64(binary.LittleEndian.Uint32(b[:])), nil
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func (w *i386Walker) walkPAE(va uint64) (uint64, uint64, error) {
	const mask = 0x000ffffffffff000
	pdpte, err := w.entry(va, 3, w.root+(va>>30)*8, 8)
	if err != nil {
		return 0, 0, err
	}
	if pdpte&x86PTEPresent == 0 {
		return 0, 0, &TranslationError{Addr: va, Level: 3, Entry: pdpte, Msg: "not present"}
	}
	pde, err := w.entry(va, 2, pdpte&mask+(va>>21&0x1ff)*8, 8)
	if err != nil {
		return 0, 0, err
	}
	if pde&x86PTEPresent == 0 {
		return 0, 0, &TranslationError{Addr: va, Level: 2, Entry: pde, Msg: "not present"}
	}
	if pde&x86PTEPS != 0 {
		return pde&mask&^(1<<21-1) + va&(1<<21-1), 1 << 21, nil
	}
	pte, err := w.entry(va, 1, pde&mask+(va>>12&0x1ff)*8, 8)
	if err != nil {
		return 0, 0, err
	}
	if pte&x86PTEPresent == 0 {
		return 0, 0, &TranslationError{Addr: va, Level: 1, Entry: pte, Msg: "not present"}
	}
	return pte&mask + va&0xfff, 4096, nil
}

func (w *i386Walker) walk2(va uint64) (uint64, uint64, error) {
	pde, err := w.entry(va, 2, w.root+(va>>22)*4, 4)
	if err != nil {
		return 0, 0, err
	}
	if pde&x86PTEPresent == 0 {
		return 0, 0, &TranslationError{Addr: va, Level: 2, Entry: pde, Msg: "not present"}
	}
	if pde&x86PTEPS != 0 {
		return pde&0xffc00000 + va&(1<<22-1), 1 << 22, nil
	}
	pte, err := w.entry(va, 1, pde&0xfffff000+(va>>12&0x3ff)*4, 4)
	if err != nil {
		return 0, 0, err
	}
	if pte&x86PTEPresent == 0 {
		return 0, 0, &TranslationError{Addr: va, Level: 1, Entry: pte, Msg: "not present"}
	}
	return pte&0xfffff000 + va&0xfff, 4096, nil
}

// i386PageOffsets are the kernel's possible PAGE_OFFSETs (VMSPLIT_3G
// first).
var i386PageOffsets = []uint64{0xc0000000, 0x80000000, 0x40000000, 0xb0000000, 0x78000000}

// i386FromVMCoreInfo sets up translation from VMCOREINFO: swapper_pg_dir
// is a lowmem address, at physical va - PAGE_OFFSET. PAGE_OFFSET is not in
// VMCOREINFO: the right one is the one under which the page tables map
// swapper_pg_dir's own address to it.
func i386FromVMCoreInfo(vi *VMCoreInfo, phys physReader) (*i386Walker, error) {
	pgd, ok := vi.Symbol("swapper_pg_dir")
	if !ok {
		return nil, errors.New("VMCOREINFO has no SYMBOL(swapper_pg_dir)")
	}
	pae := false
	if v, ok := vi.Get("CONFIG_X86_PAE"); ok && v == "y" {
		pae = true
	}
	for _, po := range i386PageOffsets {
		if pgd < po {
			continue
		}
		w := &i386Walker{phys: phys, root: pgd - po, pae: pae}
		if pa, _, err := w.translate(pgd); err == nil && pa == pgd-po {
			w.cache = newTLB()
			return w, nil
		}
	}
	return nil, fmt.Errorf("no PAGE_OFFSET maps swapper_pg_dir (%#x) onto itself (PAE %v)", pgd, pae)
}

func (w *i386Walker) String() string {
	if w.pae {
		return fmt.Sprintf("i386 PAE page tables at physical %#x", w.root)
	}
	return fmt.Sprintf("i386 2-level page tables at physical %#x", w.root)
}
