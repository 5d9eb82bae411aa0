package kvm

import (
	"bytes"
	"errors"
	"fmt"
)

// Finding an x86-64 Linux kernel in physical memory when the dump does not
// say where it is (no VMCOREINFO): with the execfile's symbols and
// contents, look for its linux_banner string.
//
// The kernel image is loaded at a 2 MiB-aligned physical address and mapped
// at a 2 MiB-aligned virtual one, so a symbol's physical address is
// congruent to its link address modulo 2 MiB: only one offset per 2 MiB of
// memory needs checking. init_top_pgt lies at the same distance from
// linux_banner physically as at link time, which gives the page tables;
// the displacement (KASLR slide) is then the one that maps linux_banner's
// link address to where it was found.

const (
	kaslrAlign   = 2 << 20 // CONFIG_PHYSICAL_ALIGN
	kaslrMaxDisp = 1 << 30 // the kernel image mapping is 1 GiB
	bannerProbe  = 64      // bytes of linux_banner compared
)

// kernelLocation is where findX86Kernel found the kernel.
type kernelLocation struct {
	walker *x86Walker
	disp   uint64
	how    string
}

// ErrKernelNotFound is returned when the kernel cannot be located in
// physical memory.
var ErrKernelNotFound = errors.New("kernel not found in physical memory")

// physRange is a range [Start, End) of physical memory a dump holds.
type physRange struct{ Start, End uint64 }

// findX86Kernel locates the kernel. cr3, when not 0, is a page-table root
// from the dump (a CPU's CR3); the scan visits only the ranges given (held
// memory), so it is bounded by the dump's size.
func findX86Kernel(phys physReader, ranges []physRange, x *execInfo, cr3 uint64) (*kernelLocation, error) {
	if x == nil || x.Symbol == nil || x.ReadLink == nil {
		return nil, fmt.Errorf("%w: no execfile with symbols to search with", ErrKernelNotFound)
	}
	bannerLink, ok := x.Symbol("linux_banner")
	if !ok {
		return nil, fmt.Errorf("%w: execfile has no linux_banner symbol", ErrKernelNotFound)
	}
	banner := make([]byte, bannerProbe)
	if _, err := x.ReadLink(banner, bannerLink); err != nil {
		return nil, fmt.Errorf("%w: reading linux_banner from the execfile: %v", ErrKernelNotFound, err)
	}
	// The version string is the same in memory unless the kernel was
	// patched; compare up to the first NUL.
	if i := bytes.IndexByte(banner, 0); i > 0 {
		banner = banner[:i]
	}
	// With a CPU's page tables, only the displacement is unknown.
	if cr3 != 0 {
		for _, levels := range []int{4, 5} {
			w := &x86Walker{phys: phys, root: cr3 & x86PTEAddrMask, levels: levels}
			if disp, ok := probeDisp(w, bannerLink, banner, nil); ok {
				w.cache = newTLB()
				return &kernelLocation{walker: w, disp: disp, how: "CPU state CR3 and linux_banner"}, nil
			}
		}
	}
	pgtLink, ok := x.Symbol("init_top_pgt")
	if !ok {
		return nil, fmt.Errorf("%w: execfile has no init_top_pgt symbol", ErrKernelNotFound)
	}
	got := make([]byte, len(banner))
	var firstErr error
	for _, r := range ranges {
		// The first candidate at or after r.Start.
		first := r.Start&^(kaslrAlign-1) + bannerLink%kaslrAlign
		if first < r.Start {
			first += kaslrAlign
		}
		for pa := first; pa < r.End && pa >= first; pa += kaslrAlign {
			loc, err := tryBannerAt(phys, pa, got, banner, bannerLink, pgtLink)
			if loc != nil {
				return loc, nil
			}
			if firstErr == nil && err != nil {
				firstErr = err
			}
		}
	}
	if firstErr != nil {
		return nil, fmt.Errorf("%w: linux_banner %q not found (first read error: %v)", ErrKernelNotFound, banner, firstErr)
	}
	return nil, fmt.Errorf("%w: linux_banner %q not found", ErrKernelNotFound, banner)
}

// tryBannerAt checks for linux_banner at physical pa and, when there,
// whether the page tables beside it translate it.
func tryBannerAt(phys physReader, pa uint64, got, banner []byte, bannerLink, pgtLink uint64) (*kernelLocation, error) {
	{
		n, err := phys.ReadPhys(got, pa)
		if n != len(got) {
			return nil, err
		}
		if !bytes.Equal(got, banner) {
			return nil, nil
		}
		root := pa + pgtLink - bannerLink
		for _, levels := range []int{4, 5} {
			w := &x86Walker{phys: phys, root: root, levels: levels}
			if disp, ok := probeDisp(w, bannerLink, banner, &pa); ok {
				w.cache = newTLB()
				return &kernelLocation{walker: w, disp: disp, how: fmt.Sprintf("linux_banner found at physical %#x", pa)}, nil
			}
		}
	}
	return nil, nil
}

// probeDisp tries each 2 MiB-aligned displacement: the right one maps
// linux_banner's link address to the banner (at physical *pa when given).
func probeDisp(w *x86Walker, bannerLink uint64, banner []byte, pa *uint64) (uint64, bool) {
	got := make([]byte, len(banner))
	for disp := uint64(0); disp < kaslrMaxDisp; disp += kaslrAlign {
		va := bannerLink + disp
		p, _, err := w.translate(va)
		if err != nil {
			continue
		}
		if pa != nil && p != *pa {
			continue
		}
		if n, _ := (&kernelMem{phys: w.phys, xlat: w}).ReadMemory(got, va); n == len(got) && bytes.Equal(got, banner) {
			return disp, true
		}
	}
	return 0, false
}

// findDispInMemory finds the displacement of a kernel whose virtual memory
// can be read (a dump with virtual PT_LOADs but no VMCOREINFO) by looking
// for linux_banner at each 2 MiB-aligned displacement.
func findDispInMemory(m Memory, x *execInfo) (uint64, bool) {
	if x == nil || x.Symbol == nil || x.ReadLink == nil {
		return 0, false
	}
	bannerLink, ok := x.Symbol("linux_banner")
	if !ok {
		return 0, false
	}
	banner := make([]byte, bannerProbe)
	if _, err := x.ReadLink(banner, bannerLink); err != nil {
		return 0, false
	}
	if i := bytes.IndexByte(banner, 0); i > 0 {
		banner = banner[:i]
	}
	got := make([]byte, len(banner))
	for disp := uint64(0); disp < kaslrMaxDisp; disp += kaslrAlign {
		if n, _ := m.ReadMemory(got, bannerLink+disp); n == len(got) && bytes.Equal(got, banner) {
			return disp, true
		}
	}
	return 0, false
}
