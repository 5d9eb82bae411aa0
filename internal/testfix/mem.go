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
