package testfix

import "fmt"

// FlatMem is target memory holding Data at virtual address Base and nothing
// else: the one synthetic memory of the tests (kvm.Memory). A read outside
// it, or running past its end, fails after copying what is inside. Reads
// counts the calls, for tests of how often a walker reads.
type FlatMem struct {
	Base  uint64
	Data  []byte
	Reads int
}

// ReadMemory implements kvm.Memory.
func (m *FlatMem) ReadMemory(buf []byte, addr uint64) (int, error) {
	m.Reads++
	if addr < m.Base || addr-m.Base >= uint64(len(m.Data)) {
		if len(buf) == 0 && addr == m.Base+uint64(len(m.Data)) {
			return 0, nil
		}
		return 0, fmt.Errorf("address %#x not in memory [%#x, %#x)", addr, m.Base, m.Base+uint64(len(m.Data)))
	}
	n := copy(buf, m.Data[addr-m.Base:])
	if n < len(buf) {
		return n, fmt.Errorf("address %#x: %d bytes past the end of memory at %#x", addr, len(buf)-n, m.Base+uint64(len(m.Data)))
	}
	return n, nil
}

// sparsePage is the page size of SparseMem.
const sparsePage = 4096

// SparseMem is target memory built by hand, 4 KiB page by page, with a
// symbol table: the one fake kernel (kvm.Target) of the tests. A read
// touching a page that is not there fails after copying what comes before
// it, as a read outside a dump does. Tests keep their typed writers (byte
// order, pointer size) beside it and lay bytes down with Write.
type SparseMem struct {
	Pages map[uint64][]byte // 4 KiB pages by page-aligned virtual address
	Syms  map[string]uint64
	ID    string // what BuildID returns
}

// NewSparseMem returns a SparseMem with no pages and no symbols.
func NewSparseMem() *SparseMem {
	return &SparseMem{Pages: map[uint64][]byte{}, Syms: map[string]uint64{}}
}

// ReadMemory implements kvm.Memory: it copies across pages and fails at
// the first address whose page is missing, after the bytes before it.
func (m *SparseMem) ReadMemory(buf []byte, addr uint64) (int, error) {
	n := 0
	for n < len(buf) {
		a := addr + uint64(n)
		p, ok := m.Pages[a&^(sparsePage-1)]
		if !ok {
			return n, fmt.Errorf("address %#x not in the fake dump", a)
		}
		n += copy(buf[n:], p[a&(sparsePage-1):])
	}
	return n, nil
}

// LookupSymbol implements kvm.Target: the address of name in Syms.
func (m *SparseMem) LookupSymbol(name string) (uint64, error) {
	if a, ok := m.Syms[name]; ok {
		return a, nil
	}
	return 0, fmt.Errorf("no symbol %s", name)
}

// BuildID implements kvm.Target: ID.
func (m *SparseMem) BuildID() string { return m.ID }

// Write lays b down at addr, allocating (zeroed) pages as needed, across
// page boundaries.
func (m *SparseMem) Write(addr uint64, b []byte) {
	if m.Pages == nil {
		m.Pages = map[uint64][]byte{}
	}
	for len(b) > 0 {
		base := addr &^ (sparsePage - 1)
		p, ok := m.Pages[base]
		if !ok {
			p = make([]byte, sparsePage)
			m.Pages[base] = p
		}
		n := copy(p[addr-base:], b)
		b = b[n:]
		addr += uint64(n)
	}
}
