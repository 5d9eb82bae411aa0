// Package unwind walks kernel stacks from a dump's memory: x86-64 with the
// kernel's ORC unwind tables (.orc_unwind_ip, .orc_unwind), from the
// blocked task's saved frame (task->thread.sp, struct inactive_task_frame)
// or a CPU's registers recorded in the dump; arm64 by the frame records
// (x29/x30) from a sleeping task's task->thread.cpu_context or a CPU's
// registers. The ORC tables are read from the dump's memory or from the
// vmlinux file (VmlinuxORC).
//
// The walk is bounded (a frame limit, and a stack pointer that must move
// up the stack, except across an interrupt or exception frame), and an
// unwind that cannot continue keeps its frames and says why and where.
package unwind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Memory reads kernel virtual memory (kvm.KVM satisfies it).
type Memory interface {
	ReadMemory(buf []byte, addr uint64) (int, error)
}

// ORCFormat is the layout of struct orc_entry's flags (it changed twice).
type ORCFormat int

const (
	// ORC61: Linux up to 6.2: sp_reg:4 bp_reg:4 type:2 end:1; types CALL
	// 0, REGS 1, REGS_PARTIAL 2.
	ORC61 ORCFormat = iota
	// ORC63: Linux 6.3: sp_reg:4 bp_reg:4 type:2 signal:1 end:1.
	ORC63
	// ORC64: Linux 6.4+: sp_reg:4 bp_reg:4 type:3 signal:1; types
	// UNDEFINED 0, END_OF_STACK 1, CALL 2, REGS 3, REGS_PARTIAL 4.
	ORC64
)

// FormatForRelease picks the ORC format of a kernel release ("6.1.0-...").
func FormatForRelease(release string) ORCFormat {
	var major, minor int
	fmt.Sscanf(release, "%d.%d", &major, &minor)
	switch {
	case major > 6 || major == 6 && minor >= 4:
		return ORC64
	case major == 6 && minor == 3:
		return ORC63
	}
	return ORC61
}

// ORC entry types, normalized across formats.
const (
	TypeUndefined = iota
	TypeEndOfStack
	TypeCall
	TypeRegs
	TypeRegsPartial
)

// ORC register numbers (sp_reg, bp_reg).
const (
	regUndefined = iota
	regPrevSP
	regDX
	regDI
	regBP
	regSP
	regR10
	regR13
	regBPIndirect
	regSPIndirect
)

// Entry is a decoded struct orc_entry.
type Entry struct {
	SPOffset, BPOffset int16
	SPReg, BPReg       uint8
	Type               uint8 // TypeCall, ...
	Signal             bool  // the next frame's ip is exact (not a return address)
}

// DecodeEntry decodes the 6 bytes of one orc_entry (little-endian).
func DecodeEntry(b []byte, f ORCFormat) Entry {
	e := Entry{SPOffset: int16(binary.LittleEndian.Uint16(b)), BPOffset: int16(binary.LittleEndian.Uint16(b[2:]))}
	fl := binary.LittleEndian.Uint16(b[4:])
	e.SPReg, e.BPReg = uint8(fl&15), uint8(fl>>4&15)
	switch f {
	case ORC64:
		e.Type = uint8(fl >> 8 & 7)
		e.Signal = fl>>11&1 != 0
		if e.Type > TypeRegsPartial {
			e.Type = TypeUndefined
		}
	default:
		t := fl >> 8 & 3
		end := fl>>10&1 != 0
		if f == ORC63 {
			e.Signal = fl>>10&1 != 0
			end = fl>>11&1 != 0
		}
		switch t {
		case 0:
			e.Type = TypeCall
		case 1:
			e.Type = TypeRegs
		case 2:
			e.Type = TypeRegsPartial
		default:
			e.Type = TypeUndefined
		}
		if e.SPReg == regUndefined {
			if end {
				e.Type = TypeEndOfStack
			} else {
				e.Type = TypeUndefined
			}
		}
	}
	if e.Type == TypeRegs || e.Type == TypeRegsPartial {
		e.Signal = true
	}
	return e
}

// Table is one ORC table: sorted instruction addresses, each with the
// entry that applies from it up to the next. A lazy table (LazyTable)
// has neither slice: Find binary-searches the raw table where it lies,
// as the kernel's own orc_find does.
type Table struct {
	IPs     []uint64
	Entries []Entry
	lazy    *lazyTable
}

// lazyTable is an ORC table in place: n int32 instruction offsets at
// ipAddr (each relative to its own address), n 6-byte entries at entAddr.
type lazyTable struct {
	mem             Memory
	ipAddr, entAddr uint64
	n               int
	f               ORCFormat
}

// LazyTable makes a table that reads the raw table from mem at each Find
// (about log2(n) 4-byte reads and one 6-byte read) instead of decoding
// all n entries up front: for unwinding a few stacks out of a table of
// hundreds of thousands of entries. The table must be sorted, as the
// kernel's are (the build sorts vmlinux's, module loading a module's).
func LazyTable(mem Memory, ipAddr, entAddr uint64, n int, f ORCFormat) (*Table, error) {
	if n <= 0 || n > 1<<24 {
		return nil, fmt.Errorf("%w: %d entries", ErrORCCorrupt, n)
	}
	return &Table{lazy: &lazyTable{mem: mem, ipAddr: ipAddr, entAddr: entAddr, n: n, f: f}}, nil
}

func (l *lazyTable) ip(i int) (uint64, bool) {
	var b [4]byte
	a := l.ipAddr + uint64(4*i)
	if readFull(l.mem, b[:], a) != nil {
		return 0, false
	}
	return a + uint64(int64(int32(binary.LittleEndian.Uint32(b[:])))), true
}

func (l *lazyTable) find(ip uint64) (Entry, bool) {
	// The last index whose address is at or below ip.
	lo, hi := 0, l.n // invariant: ip(lo-1) <= ip < ip(hi)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		a, ok := l.ip(m)
		if !ok {
			return Entry{}, false
		}
		if a <= ip {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return Entry{}, false
	}
	var b [6]byte
	if readFull(l.mem, b[:], l.entAddr+uint64(6*(lo-1))) != nil {
		return Entry{}, false
	}
	return DecodeEntry(b[:], l.f), true
}

// Decoded returns the table with IPs and Entries filled (a lazy table is
// read whole and decoded).
func (t *Table) Decoded() (*Table, error) {
	if t.lazy == nil {
		return t, nil
	}
	l := t.lazy
	return ReadTable(l.mem, l.ipAddr, l.entAddr, l.n, l.f)
}

// bytesMem is memory holding b at base.
type bytesMem struct {
	b    []byte
	base uint64
}

func (m bytesMem) ReadMemory(buf []byte, addr uint64) (int, error) {
	if addr < m.base || addr-m.base >= uint64(len(m.b)) {
		return 0, fmt.Errorf("address %#x outside the table", addr)
	}
	return copy(buf, m.b[addr-m.base:]), nil
}

// ErrORCCorrupt says an ORC table is not sorted or its halves disagree.
var ErrORCCorrupt = errors.New("ORC table corrupt")

// DecodeTable decodes .orc_unwind_ip (int32 offsets, each relative to its
// own address; ipAddr is the address of the first) and .orc_unwind (6-byte
// entries). The result is sorted by address.
func DecodeTable(ipBytes []byte, ipAddr uint64, entryBytes []byte, f ORCFormat) (*Table, error) {
	n := len(ipBytes) / 4
	if len(entryBytes)/6 < n {
		return nil, fmt.Errorf("%w: %d instruction addresses, %d entries", ErrORCCorrupt, n, len(entryBytes)/6)
	}
	t := &Table{IPs: make([]uint64, n), Entries: make([]Entry, n)}
	sorted := true
	for i := 0; i < n; i++ {
		rel := int32(binary.LittleEndian.Uint32(ipBytes[4*i:]))
		t.IPs[i] = ipAddr + uint64(4*i) + uint64(int64(rel))
		t.Entries[i] = DecodeEntry(entryBytes[6*i:], f)
		if i > 0 && t.IPs[i] < t.IPs[i-1] {
			sorted = false
		}
	}
	if !sorted {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return t.IPs[idx[a]] < t.IPs[idx[b]] })
		ips := make([]uint64, n)
		es := make([]Entry, n)
		for i, j := range idx {
			ips[i], es[i] = t.IPs[j], t.Entries[j]
		}
		t.IPs, t.Entries = ips, es
	}
	return t, nil
}

// Find returns the entry for ip: that of the highest address at or below it.
func (t *Table) Find(ip uint64) (Entry, bool) {
	if t.lazy != nil {
		return t.lazy.find(ip)
	}
	i := sort.Search(len(t.IPs), func(i int) bool { return t.IPs[i] > ip })
	if i == 0 {
		return Entry{}, false
	}
	return t.Entries[i-1], true
}

// ORC finds the entry for an address in the kernel's table or a module's.
type ORC struct {
	Kernel       *Table
	KStart, KEnd uint64 // the kernel text the kernel table covers
	Modules      []ModuleORC
}

// ModuleORC is a module's ORC table and the text it covers.
type ModuleORC struct {
	Name       string
	Start, End uint64
	Table      *Table
}

// Find returns the entry for ip.
func (o *ORC) Find(ip uint64) (Entry, bool) {
	for _, m := range o.Modules {
		if ip >= m.Start && ip < m.End {
			return m.Table.Find(ip)
		}
	}
	if o.Kernel == nil || (o.KEnd != 0 && (ip < o.KStart || ip >= o.KEnd)) {
		return Entry{}, false
	}
	return o.Kernel.Find(ip)
}

// ReadTable reads a table from memory: n instruction addresses at ipAddr
// and n entries at entAddr.
func ReadTable(mem Memory, ipAddr, entAddr uint64, n int, f ORCFormat) (*Table, error) {
	if n <= 0 || n > 1<<24 {
		return nil, fmt.Errorf("%w: %d entries", ErrORCCorrupt, n)
	}
	ipb := make([]byte, 4*n)
	if err := readFull(mem, ipb, ipAddr); err != nil {
		return nil, fmt.Errorf("reading %d ORC instruction addresses at %#x: %w", n, ipAddr, err)
	}
	eb := make([]byte, 6*n)
	if err := readFull(mem, eb, entAddr); err != nil {
		return nil, fmt.Errorf("reading %d ORC entries at %#x: %w", n, entAddr, err)
	}
	return DecodeTable(ipb, ipAddr, eb, f)
}

func readFull(mem Memory, b []byte, addr uint64) error {
	n, err := mem.ReadMemory(b, addr)
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("short read at %#x: %d of %d bytes", addr, n, len(b))
	}
	return nil
}
