package freebsd

// amd64 page-table bits (sys/amd64/include/pmap.h).
const (
	amd64PGV       = 1 << 0
	amd64PGRW      = 1 << 1
	amd64PGPS      = 1 << 7
	amd64PGNX      = 1 << 63
	amd64PGFrame   = 0x000ffffffffff000
	amd64PGPSFrame = 0x000fffffffe00000
	amd64PG1GFrame = 0x000fffffc0000000
	amd64PDRShift  = 21
	amd64NBPDR     = 1 << amd64PDRShift
)

// i386 page-table bits (sys/i386/include/pmap.h).
const (
	i386PGV        = 1 << 0
	i386PGRW       = 1 << 1
	i386PGNX       = 1 << 63 // PAE only
	i386PGFrame    = 0xfffff000
	i386PGFramePAE = 0x000ffffffffff000
)

// arm64 descriptor bits (sys/arm64/include/pte.h).
const (
	arm64AttrMask  = 0xfffc000000000fff
	arm64DescrMask = 3
	arm64L3Page    = 3
	arm64APRO      = 1 << 7 // ATTR_AP(ATTR_AP_RO)
	arm64XN        = 1<<53 | 1<<54
)

func amd64Prot(e uint64) Prot {
	p := ProtRead
	if e&amd64PGRW != 0 {
		p |= ProtWrite
	}
	if e&amd64PGNX == 0 {
		p |= ProtExec
	}
	return p
}

func i386Prot(e uint64, pae bool) Prot {
	p := ProtRead
	if e&i386PGRW != 0 {
		p |= ProtWrite
	}
	if !pae || e&i386PGNX == 0 {
		p |= ProtExec
	}
	return p
}

func arm64Prot(e uint64) Prot {
	p := ProtRead
	if e&arm64APRO == 0 {
		p |= ProtWrite
	}
	if e&arm64XN == 0 {
		p |= ProtExec
	}
	return p
}

func (m *Minidump) translateAMD64(va uint64) (uint64, error) {
	h := &m.hdr
	off := va & (m.pageSize - 1)
	switch {
	case va >= h.KernBase:
		if h.Version == 1 {
			pte, ok := m.entry((va - h.KernBase) >> 12)
			if !ok {
				return 0, notMapped(va, "beyond the minidump's page map")
			}
			if pte&amd64PGV == 0 {
				return 0, notMapped(va, "pte not valid")
			}
			return pte&amd64PGFrame | off, nil
		}
		pde, ok := m.entry((va - h.KernBase) >> amd64PDRShift)
		if !ok {
			return 0, notMapped(va, "beyond the minidump's page map")
		}
		if pde&amd64PGV == 0 {
			return 0, notMapped(va, "pde not valid")
		}
		if pde&amd64PGPS != 0 {
			return pde&amd64PGPSFrame + va&(amd64NBPDR-1), nil
		}
		if pa, ok := m.tlb.get(va); ok {
			return pa, nil
		}
		pte, err := m.readPhysU64(pde&amd64PGFrame + (va>>12&511)*8)
		if err != nil {
			return 0, notMapped(va, "page table page not readable: %v", err)
		}
		if pte&amd64PGV == 0 {
			return 0, notMapped(va, "pte not valid")
		}
		m.tlb.put(va, pte&amd64PGFrame|off)
		return pte&amd64PGFrame | off, nil
	case va >= h.DMapBase && va < h.DMapEnd:
		return va - h.DMapBase, nil
	}
	return 0, notMapped(va, "neither in the kernel map (from %#x) nor in the direct map [%#x, %#x)", h.KernBase, h.DMapBase, h.DMapEnd)
}

func (m *Minidump) translateI386(va uint64) (uint64, error) {
	h := &m.hdr
	if va >= h.KernBase && va <= 0xffffffff {
		pte, ok := m.entry((va - h.KernBase) >> 12)
		if !ok {
			return 0, notMapped(va, "beyond the minidump's page map")
		}
		if pte&i386PGV == 0 {
			return 0, notMapped(va, "pte not valid")
		}
		frame := uint64(i386PGFrame)
		if h.PAEMode {
			frame = i386PGFramePAE
		}
		return pte&frame | va&0xfff, nil
	}
	return 0, notMapped(va, "not in the kernel map (from %#x)", h.KernBase)
}

func (m *Minidump) translateARM64(va uint64) (uint64, error) {
	h := &m.hdr
	off := va & (m.pageSize - 1)
	switch {
	case va >= h.DMapBase && va < h.DMapEnd:
		return va - h.DMapBase + h.DMapPhys, nil
	case va >= h.KernBase:
		l3, ok := m.entry((va - h.KernBase) >> m.pageShift)
		if !ok {
			return 0, notMapped(va, "beyond the minidump's page map")
		}
		if l3&arm64DescrMask != arm64L3Page {
			return 0, notMapped(va, "l3 entry not a valid page")
		}
		return (l3 &^ arm64AttrMask &^ (m.pageSize - 1)) | off, nil
	}
	return 0, notMapped(va, "neither in the kernel map (from %#x) nor in the direct map [%#x, %#x)", h.KernBase, h.DMapBase, h.DMapEnd)
}
