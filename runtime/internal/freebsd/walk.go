package freebsd

import (
	"encoding/binary"
	"math/bits"
)

// WalkPages calls fn for every page the minidump holds: first each page the
// kernel page map maps (with its kernel virtual address and the protection
// of its mapping; a page mapped twice is reported twice), then each held
// page no kernel mapping reached, with its direct-map address where the
// architecture has a direct map (amd64, arm64) and VirtKnown false on i386.
// Pages are reported in the dump's page size; a 2 MiB mapping is reported
// as its held 4 KiB pages.
func (m *Minidump) WalkPages(fn func(Page) error) error {
	seen := make([]uint64, len(m.sparse.words))
	visit := func(pa, va uint64, prot Prot) error {
		bit, ok := m.sparse.bitOf(pa)
		if !ok || !m.sparse.isSet(bit) {
			return nil
		}
		off, ok, _ := m.sparse.lookup(pa)
		if !ok {
			return nil
		}
		seen[bit/64] |= 1 << (bit % 64)
		return fn(Page{Phys: pa, Virt: va, VirtKnown: true, Size: m.pageSize, Prot: prot, Offset: off})
	}
	h := &m.hdr
	nent := uint64(len(m.pmap) / m.entSize)
	switch {
	case m.arch == archAMD64 && h.Version >= 2:
		pt := make([]byte, 4096)
		for i := uint64(0); i < nent; i++ {
			pde, _ := m.entry(i)
			if pde&amd64PGV == 0 {
				continue
			}
			va := h.KernBase + i<<amd64PDRShift
			if pde&amd64PGPS != 0 {
				base := pde & amd64PGPSFrame
				for j := uint64(0); j < 512; j++ {
					if err := visit(base+j<<12, va+j<<12, amd64Prot(pde)); err != nil {
						return err
					}
				}
				continue
			}
			if _, err := m.ReadPhys(pt, pde&amd64PGFrame); err != nil {
				continue // page-table page not dumped
			}
			for j := uint64(0); j < 512; j++ {
				pte := binary.LittleEndian.Uint64(pt[j*8:])
				if pte&amd64PGV == 0 {
					continue
				}
				if err := visit(pte&amd64PGFrame, va+j<<12, amd64Prot(pte)); err != nil {
					return err
				}
			}
		}
	case m.arch == archAMD64:
		for i := uint64(0); i < nent; i++ {
			pte, _ := m.entry(i)
			if pte&amd64PGV == 0 {
				continue
			}
			if err := visit(pte&amd64PGFrame, h.KernBase+i<<12, amd64Prot(pte)); err != nil {
				return err
			}
		}
	case m.arch == archI386:
		frame := uint64(i386PGFrame)
		if h.PAEMode {
			frame = i386PGFramePAE
		}
		for i := uint64(0); i < nent; i++ {
			va := h.KernBase + i<<12
			if va > 0xffffffff {
				break
			}
			pte, _ := m.entry(i)
			if pte&i386PGV == 0 {
				continue
			}
			if err := visit(pte&frame, va, i386Prot(pte, h.PAEMode)); err != nil {
				return err
			}
		}
	case m.arch == archARM64:
		for i := uint64(0); i < nent; i++ {
			l3, _ := m.entry(i)
			if l3&arm64DescrMask != arm64L3Page {
				continue
			}
			pa := l3 &^ arm64AttrMask &^ (m.pageSize - 1)
			if err := visit(pa, h.KernBase+i<<m.pageShift, arm64Prot(l3)); err != nil {
				return err
			}
		}
	}

	// Held pages no kernel mapping reached: report them by direct map.
	for w, word := range m.sparse.words {
		word &^= seen[w]
		for word != 0 {
			b := uint64(bits.TrailingZeros64(word))
			word &= word - 1
			bit := uint64(w)*64 + b
			pa, ok := m.sparse.paOf(bit)
			if !ok {
				continue
			}
			off, ok, _ := m.sparse.lookup(pa)
			if !ok {
				continue
			}
			p := Page{Phys: pa, Size: m.pageSize, Prot: ProtRead | ProtWrite, Offset: off}
			switch m.arch {
			case archAMD64:
				if va := h.DMapBase + pa; va >= h.DMapBase && va+m.pageSize <= h.DMapEnd {
					p.Virt, p.VirtKnown = va, true
				}
			case archARM64:
				if pa >= h.DMapPhys {
					if va := h.DMapBase + pa - h.DMapPhys; va >= h.DMapBase && va+m.pageSize <= h.DMapEnd {
						p.Virt, p.VirtKnown = va, true
					}
				}
			}
			if err := fn(p); err != nil {
				return err
			}
		}
	}
	return nil
}
