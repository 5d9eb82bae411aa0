package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// arm64Walker walks AArch64 stage-1 translation tables with a 4 KiB
// granule (the Linux default), for the kernel's upper (TTBR1) half.
type arm64Walker struct {
	phys   physReader
	root   uint64 // physical address of swapper_pg_dir
	vaBits uint   // VA_BITS: 39 (3 levels) or 48 (4 levels)
	cache  *tlb
	bo     binary.ByteOrder
	// user marks a walker of a process's tables (TTBR0, the lower half:
	// see rooted).
	user bool
}

const arm64OAMask = 0x0000fffffffff000 // output address bits 47..12

// arm64PTEProtNone is Linux's PTE_PROT_NONE, a software bit of an invalid
// user page descriptor whose page is resident but inaccessible.
const arm64PTEProtNone = 1 << 58

func (w *arm64Walker) levels() int { return int((w.vaBits - 12 + 8) / 9) }

func (w *arm64Walker) translate(va uint64) (uint64, uint64, error) {
	// Kernel addresses have every bit above VA_BITS set, user ones none.
	if w.user {
		if va>>w.vaBits != 0 {
			return 0, 0, &TranslationError{Addr: va, Msg: fmt.Sprintf("not a user address (bits above VA_BITS=%d must be zeros)", w.vaBits)}
		}
	} else if va>>w.vaBits != (^uint64(0))>>w.vaBits {
		return 0, 0, &TranslationError{Addr: va, Msg: fmt.Sprintf("not a kernel address (bits above VA_BITS=%d must be ones)", w.vaBits)}
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
	levels := w.levels()
	// Level numbers as in x86Walker: levels..1, 1 = the page level (ARM L3).
	for level := levels; level >= 1; level-- {
		shift := uint(12 + 9*(level-1))
		idx := (va >> shift) & 0x1ff
		if level == levels {
			// The top level indexes only the bits VA_BITS leaves it.
			idx &= (1<<(w.vaBits-shift) - 1)
		}
		ea := table + idx*8
		if n, err := w.phys.ReadPhys(b[:], ea); n != 8 {
			return 0, 0, &TranslationError{Addr: va, Level: level, Msg: fmt.Sprintf("reading the descriptor at physical %#x: %v", ea, err)}
		}
		d := w.bo.Uint64(b[:])
		if w.user && level == 1 && d&1 == 0 && d&arm64PTEProtNone != 0 {
			d |= 3 // a PROT_NONE user page: resident
		}
		switch {
		case d&1 == 0:
			return 0, 0, &TranslationError{Addr: va, Level: level, Entry: d, Msg: "invalid descriptor"}
		case level == 1 && d&2 == 0:
			return 0, 0, &TranslationError{Addr: va, Level: level, Entry: d, Msg: "reserved descriptor at the page level"}
		case level == 1 || d&2 == 0: // page, or block (1 GiB at L1, 2 MiB at L2)
			if level > 3 && d&2 == 0 {
				return 0, 0, &TranslationError{Addr: va, Level: level, Entry: d, Msg: "block descriptor at level 0"}
			}
			size := uint64(1) << shift
			base := d & arm64OAMask &^ (size - 1)
			if w.cache != nil {
				w.cache.put(vpage, tlbEntry{base: base + (va&(size-1))&^0xfff, size: 4096})
			}
			off := va & (size - 1)
			return base + off, size - off, nil
		}
		table = d & arm64OAMask
	}
	return 0, 0, &TranslationError{Addr: va, Msg: "table walk did not end"}
}

// arm64FromVMCoreInfo sets up translation from VMCOREINFO: swapper_pg_dir
// is a kernel-image address, at physical va - kimage_voffset.
func arm64FromVMCoreInfo(vi *VMCoreInfo, phys physReader, bo binary.ByteOrder) (*arm64Walker, error) {
	if ps, ok := vi.PageSize(); ok && ps != 4096 {
		return nil, fmt.Errorf("aarch64 with %d-byte pages is not supported (4 KiB only)", ps)
	}
	pgd, ok := vi.Symbol("swapper_pg_dir")
	if !ok {
		return nil, errors.New("VMCOREINFO has no SYMBOL(swapper_pg_dir)")
	}
	voff, ok := vi.Number("kimage_voffset")
	if !ok {
		return nil, errors.New("VMCOREINFO has no NUMBER(kimage_voffset)")
	}
	vaBits, ok := vi.Number("VA_BITS")
	if !ok {
		vaBits = 48
	}
	if t1sz, ok := vi.Number("TCR_EL1_T1SZ"); ok && t1sz > 0 && t1sz < 64 {
		// The kernel half actually configured (52-bit VA kernels may run
		// with 48).
		vaBits = 64 - t1sz
	}
	if vaBits != 39 && vaBits != 48 {
		return nil, fmt.Errorf("aarch64 VA_BITS=%d is not supported (39 or 48 with 4 KiB pages)", vaBits)
	}
	return &arm64Walker{phys: phys, root: pgd - uint64(voff), vaBits: uint(vaBits), cache: newTLB(), bo: bo}, nil
}

func (w *arm64Walker) String() string {
	return fmt.Sprintf("aarch64 %d-level tables (4 KiB granule, %d-bit VA) at physical %#x", w.levels(), w.vaBits, w.root)
}
