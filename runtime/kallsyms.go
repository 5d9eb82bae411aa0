package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// KernelSymbol is one kernel symbol.
type KernelSymbol struct {
	Name string
	Addr uint64
	// Type is the nm letter: 'T'/'t' text, 'D'/'d' data, 'B'/'b' bss,
	// 'R'/'r' read-only data, 'A' absolute (x86-64 per-cpu variables in
	// kallsyms), 'W'/'w' weak, ...; upper case is global.
	Type byte
}

// ErrNoKallsyms says a dump does not locate the kernel's kallsyms tables:
// its VMCOREINFO lacks them (kernels before 6.0, or QEMU without -device
// vmcoreinfo) or it has no VMCOREINFO at all.
var ErrNoKallsyms = errors.New("VMCOREINFO lacks the kallsyms tables (kernels before 6.0 do not record them, nor do QEMU dumps taken without -device vmcoreinfo): pass the kernel image instead (the execfile; kvmgen -kernel VMLINUX) or its System.map (Options.SymbolFile; kvmgen -symbols System.map)")

// KallsymsError is returned when the kernel's kallsyms table cannot be
// decoded from a dump's memory.
type KallsymsError struct {
	Table string // "kallsyms_names", "kallsyms_token_table", ...
	Addr  uint64 // where in the table (run-time address); 0 when unknown
	Want  string // what was expected there
	Err   error  // the cause (a *ReadError, ErrNoKallsyms), or nil
}

func (e *KallsymsError) Error() string {
	if errors.Is(e.Err, ErrNoKallsyms) {
		return "kallsyms: no " + e.Want + ": " + e.Err.Error()
	}
	s := fmt.Sprintf("kallsyms: %s at %#x: expected %s", e.Table, e.Addr, e.Want)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *KallsymsError) Unwrap() error { return e.Err }

// Limits on what ReadKallsyms accepts: a real kernel has ~150k symbols
// (allyesconfig under a million), names of under KSYM_NAME_LEN (512)
// bytes.
const (
	maxKallsyms        = 1 << 22
	maxKallsymsName    = 1024
	maxKallsymsNameSum = 1 << 27 // all names expanded
	kallsymsChunk      = 64 << 10
)

// ReadKallsyms decodes the kernel's kallsyms table from m, located through
// vi: since Linux 6.0 VMCOREINFO records SYMBOL(kallsyms_names),
// SYMBOL(kallsyms_num_syms), SYMBOL(kallsyms_token_table),
// SYMBOL(kallsyms_token_index) and either SYMBOL(kallsyms_offsets) with
// SYMBOL(kallsyms_relative_base) (CONFIG_KALLSYMS_BASE_RELATIVE) or
// SYMBOL(kallsyms_addresses). bo and ptrSize are the kernel's byte order
// and pointer size. The symbols are in the table's order (by address, as
// the kernel sorts them) and their addresses are run-time ones (any KASLR
// displacement applied): m's own addresses.
//
// With base-relative offsets, whether the kernel was built with
// CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86-64 SMP until 6.15: an offset >= 0 is
// an absolute value, a negative one is relative_base-1-offset) or not
// (relative_base+uint32(offset)) is read from the data: the decoding under
// which the symbol _stext lands at VMCOREINFO's SYMBOL(_stext) wins; failing
// that (no such symbol or line, or both or neither agree), the one under
// which _text lands at relative_base (the kernel makes it the base); failing
// that, absolute per-cpu when some offsets are negative (plain offsets of
// an image under 2 GiB never are).
//
// Every failure is a *KallsymsError; a dump without the VMCOREINFO lines
// gives one wrapping ErrNoKallsyms.
func ReadKallsyms(m Memory, vi *VMCoreInfo, bo binary.ByteOrder, ptrSize int) ([]KernelSymbol, error) {
	k, err := readKallsyms(m, vi, bo, ptrSize)
	if err != nil {
		return nil, err
	}
	return k.syms, nil
}

// kallsymsTable is a decoded table and where it was.
type kallsymsTable struct {
	syms  []KernelSymbol
	names uint64 // SYMBOL(kallsyms_names)
	// absPercpu says base-relative offsets were decoded as
	// CONFIG_KALLSYMS_ABSOLUTE_PERCPU.
	absPercpu bool
}

func readKallsyms(m Memory, vi *VMCoreInfo, bo binary.ByteOrder, ptrSize int) (*kallsymsTable, error) {
	if vi == nil {
		return nil, &KallsymsError{Table: "kallsyms_names", Want: "VMCOREINFO in the dump", Err: ErrNoKallsyms}
	}
	if ptrSize != 4 && ptrSize != 8 {
		return nil, &KallsymsError{Table: "kallsyms_addresses", Want: "a pointer size of 4 or 8", Err: fmt.Errorf("pointer size %d", ptrSize)}
	}
	if bo == nil {
		return nil, &KallsymsError{Table: "kallsyms_num_syms", Want: "a byte order"}
	}
	sym := func(name string) (uint64, error) {
		a, ok := vi.Symbol(name)
		if !ok {
			return 0, &KallsymsError{Table: name, Want: "SYMBOL(" + name + ") in VMCOREINFO", Err: ErrNoKallsyms}
		}
		return a, nil
	}
	namesAddr, err := sym("kallsyms_names")
	if err != nil {
		return nil, err
	}
	numAddr, err := sym("kallsyms_num_syms")
	if err != nil {
		return nil, err
	}
	ttAddr, err := sym("kallsyms_token_table")
	if err != nil {
		return nil, err
	}
	tiAddr, err := sym("kallsyms_token_index")
	if err != nil {
		return nil, err
	}
	offAddr, relative := vi.Symbol("kallsyms_offsets")
	var baseAddr, addrsAddr uint64
	if relative {
		if baseAddr, err = sym("kallsyms_relative_base"); err != nil {
			return nil, err
		}
	} else if addrsAddr, err = sym("kallsyms_addresses"); err != nil {
		return nil, &KallsymsError{Table: "kallsyms_addresses", Want: "SYMBOL(kallsyms_offsets) or SYMBOL(kallsyms_addresses) in VMCOREINFO", Err: ErrNoKallsyms}
	}

	var b4 [8]byte
	if err := ReadFull(m, b4[:4], numAddr); err != nil {
		return nil, &KallsymsError{Table: "kallsyms_num_syms", Addr: numAddr, Want: "a 4-byte count", Err: err}
	}
	num := bo.Uint32(b4[:4])
	if num == 0 || num > maxKallsyms {
		return nil, &KallsymsError{Table: "kallsyms_num_syms", Addr: numAddr, Want: fmt.Sprintf("a count from 1 to %d", maxKallsyms), Err: fmt.Errorf("read %d", num)}
	}

	tokens, err := readKallsymsTokens(m, bo, ttAddr, tiAddr)
	if err != nil {
		return nil, err
	}
	syms, err := readKallsymsNames(m, namesAddr, int(num), tokens)
	if err != nil {
		return nil, err
	}

	k := &kallsymsTable{syms: syms, names: namesAddr}
	if !relative {
		err := readChunked(m, addrsAddr, uint64(num)*uint64(ptrSize), uint64(ptrSize), "kallsyms_addresses", fmt.Sprintf("%d %d-byte addresses", num, ptrSize), func(b []byte, i0 uint64) {
			i := int(i0 / uint64(ptrSize))
			for ; len(b) >= ptrSize; b = b[ptrSize:] {
				if ptrSize == 8 {
					syms[i].Addr = bo.Uint64(b)
				} else {
					syms[i].Addr = uint64(bo.Uint32(b))
				}
				i++
			}
		})
		if err != nil {
			return nil, err
		}
		return k, nil
	}

	if err := ReadFull(m, b4[:ptrSize], baseAddr); err != nil {
		return nil, &KallsymsError{Table: "kallsyms_relative_base", Addr: baseAddr, Want: fmt.Sprintf("an address of %d bytes", ptrSize), Err: err}
	}
	base := bo.Uint64(b4[:])
	if ptrSize == 4 {
		base = uint64(bo.Uint32(b4[:4]))
	}
	// The raw offsets go to Addr first; both decodings are made from them.
	err = readChunked(m, offAddr, uint64(num)*4, 4, "kallsyms_offsets", fmt.Sprintf("%d 4-byte offsets", num), func(b []byte, i0 uint64) {
		i := int(i0 / 4)
		for ; len(b) >= 4; b = b[4:] {
			syms[i].Addr = uint64(bo.Uint32(b))
			i++
		}
	})
	if err != nil {
		return nil, err
	}
	mask := ^uint64(0)
	if ptrSize == 4 {
		mask = 1<<32 - 1
	}
	plain := func(off uint32) uint64 { return (base + uint64(off)) & mask }
	absolute := func(off uint32) uint64 {
		if o := int32(off); o >= 0 {
			return uint64(o)
		} else {
			return (base - 1 - uint64(int64(o))) & mask
		}
	}
	k.absPercpu = chooseAbsPercpu(syms, vi, base, plain, absolute)
	dec := plain
	if k.absPercpu {
		dec = absolute
	}
	for i := range syms {
		syms[i].Addr = dec(uint32(syms[i].Addr))
	}
	return k, nil
}

// chooseAbsPercpu applies ReadKallsyms's rule; syms' Addr hold the raw
// offsets.
func chooseAbsPercpu(syms []KernelSymbol, vi *VMCoreInfo, base uint64, plain, absolute func(uint32) uint64) bool {
	find := func(name string) (uint32, bool) {
		for i := range syms {
			if syms[i].Name == name {
				return uint32(syms[i].Addr), true
			}
		}
		return 0, false
	}
	if want, ok := vi.Symbol("_stext"); ok {
		if off, ok := find("_stext"); ok {
			p, a := plain(off) == want, absolute(off) == want
			if p != a {
				return a
			}
		}
	}
	if off, ok := find("_text"); ok {
		p, a := plain(off) == base, absolute(off) == base
		if p != a {
			return a
		}
	}
	for i := range syms {
		if int32(uint32(syms[i].Addr)) < 0 {
			return true
		}
	}
	return false
}

// readChunked reads size bytes at addr, elements of elem bytes, in
// chunks, handing each to fn with its offset from addr. A chunk that cannot
// be read whole is retried up to the next page boundary so that a readable
// prefix is not lost to an unreadable tail.
func readChunked(m Memory, addr, size, elem uint64, table, want string, fn func(b []byte, off uint64)) error {
	if addr+size < addr {
		return &KallsymsError{Table: table, Addr: addr, Want: want, Err: errors.New("the table wraps around the address space")}
	}
	buf := make([]byte, min(size, kallsymsChunk)) // kallsymsChunk is a multiple of elem
	for off := uint64(0); off < size; {
		a := addr + off
		n := min(uint64(len(buf)), size-off)
		got, _ := m.ReadMemory(buf[:n], a) // a failure is retried below, page by page
		g := uint64(max(got, 0))
		g = min(g, n)
		g -= g % elem
		if g == 0 {
			p := max(elem, min(n, 4096-a%4096))
			got, err := m.ReadMemory(buf[:p], a)
			g = min(uint64(max(got, 0)), p)
			g -= g % elem
			if g == 0 {
				return &KallsymsError{Table: table, Addr: a, Want: want, Err: readErr(err, a, int(p))}
			}
		}
		fn(buf[:g], off)
		off += g
	}
	return nil
}

func readErr(err error, addr uint64, n int) error {
	if err == nil {
		err = errors.New("short read")
	}
	var re *ReadError
	if errors.As(err, &re) {
		return err
	}
	return &ReadError{Addr: addr, Len: n, Err: err}
}

// readKallsymsTokens reads the 256 tokens: kallsyms_token_index holds 256
// u16 offsets into kallsyms_token_table, NUL-terminated strings.
func readKallsymsTokens(m Memory, bo binary.ByteOrder, ttAddr, tiAddr uint64) (*[256][]byte, error) {
	var idx [512]byte
	if err := ReadFull(m, idx[:], tiAddr); err != nil {
		return nil, &KallsymsError{Table: "kallsyms_token_index", Addr: tiAddr, Want: "256 2-byte offsets", Err: err}
	}
	var offs [256]uint16
	maxOff := 0
	for i := range offs {
		offs[i] = bo.Uint16(idx[2*i:])
		maxOff = max(maxOff, int(offs[i]))
	}
	// The table runs to the NUL ending the token furthest in: read up to
	// it and then on in small steps until that NUL.
	tt := make([]byte, 0, maxOff+64)
	for len(tt) <= maxOff || indexNUL(tt[maxOff:]) < 0 {
		if len(tt) > maxOff+maxKallsymsName {
			return nil, &KallsymsError{Table: "kallsyms_token_table", Addr: ttAddr + uint64(maxOff), Want: fmt.Sprintf("a NUL-terminated token of under %d bytes", maxKallsymsName)}
		}
		want := 256
		if len(tt) <= maxOff {
			want = maxOff + 1 - len(tt)
		}
		chunk := make([]byte, min(want, kallsymsChunk))
		a := ttAddr + uint64(len(tt))
		n, _ := m.ReadMemory(chunk, a)
		if n <= 0 {
			// Perhaps only the chunk's tail is unreadable: up to the
			// page's end.
			p := min(len(chunk), int(4096-a%4096))
			var err error
			n, err = m.ReadMemory(chunk[:p], a)
			if n <= 0 {
				return nil, &KallsymsError{Table: "kallsyms_token_table", Addr: a, Want: fmt.Sprintf("%d bytes of tokens (kallsyms_token_index refers to offset %d)", maxOff+1, maxOff), Err: readErr(err, a, p)}
			}
		}
		tt = append(tt, chunk[:min(n, len(chunk))]...)
	}
	var toks [256][]byte
	for i, o := range offs {
		t := tt[o:]
		e := indexNUL(t)
		if e < 0 {
			return nil, &KallsymsError{Table: "kallsyms_token_table", Addr: ttAddr + uint64(o), Want: "a NUL-terminated token"}
		}
		toks[i] = t[:e:e]
	}
	return &toks, nil
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// readKallsymsNames expands the num entries of kallsyms_names: each is a
// length (one byte; since 6.1 two when the first has bit 0x80: its low
// seven bits, then the second byte's eight bits above them) and that many
// token indexes. An entry's first character is the symbol's type.
func readKallsymsNames(m Memory, addr uint64, num int, toks *[256][]byte) ([]KernelSymbol, error) {
	// Two passes: the first checks every entry and sums the expanded
	// lengths, the second expands into one string of exactly that size (no
	// regrowing of a 2 MB buffer, no allocation sized by the table alone).
	var tokLen [256]int
	for t, b := range toks {
		tokLen[t] = len(b)
	}
	total := 0
	if err := walkKallsymsNames(m, addr, num, func(i int, at uint64, idx []byte) error {
		n := 0
		for _, t := range idx {
			n += tokLen[t]
		}
		if n > maxKallsymsName {
			return &KallsymsError{Table: "kallsyms_names", Addr: at, Want: fmt.Sprintf("entry %d to expand to under %d bytes", i, maxKallsymsName)}
		}
		if n < 2 {
			return &KallsymsError{Table: "kallsyms_names", Addr: at, Want: fmt.Sprintf("entry %d to expand to a type letter and a name", i)}
		}
		total += n
		if total > maxKallsymsNameSum {
			return &KallsymsError{Table: "kallsyms_names", Addr: at, Want: fmt.Sprintf("names of under %d bytes in all", maxKallsymsNameSum)}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// num entries were read, so num is backed by that many bytes at least.
	syms := make([]KernelSymbol, num)
	arena := make([]byte, 0, total)
	ends := make([]int32, num) // total < maxKallsymsNameSum fits
	if err := walkKallsymsNames(m, addr, num, func(i int, at uint64, idx []byte) error {
		start := len(arena)
		for _, t := range idx {
			arena = append(arena, toks[t]...)
		}
		if len(arena) > total {
			return &KallsymsError{Table: "kallsyms_names", Addr: at, Want: "the table not to change between two reads"}
		}
		syms[i].Type = arena[start]
		ends[i] = int32(len(arena))
		return nil
	}); err != nil {
		return nil, err
	}
	// The names share the arena, which is not written again: a string
	// over it saves a 2 MB copy.
	all := unsafe.String(unsafe.SliceData(arena), len(arena))
	start := int32(0)
	for i := range syms {
		syms[i].Name = all[start+1 : ends[i]]
		start = ends[i]
	}
	return syms, nil
}

// walkKallsymsNames reads the num entries of kallsyms_names in order and
// calls fn with each entry's token indexes (valid during the call).
func walkKallsymsNames(m Memory, addr uint64, num int, fn func(i int, at uint64, idx []byte) error) error {
	r := &memStream{m: m, addr: addr, table: "kallsyms_names"}
	for i := 0; i < num; i++ {
		at := r.pos()
		b, ok := r.need(1)
		if !ok {
			return r.fail(fmt.Sprintf("entry %d of %d", i, num))
		}
		n := int(b[0])
		hdr := 1
		if n&0x80 != 0 {
			if b, ok = r.need(2); !ok {
				return r.fail(fmt.Sprintf("entry %d of %d: a two-byte length", i, num))
			}
			n = n&0x7f | int(b[1])<<7
			hdr = 2
		}
		if n == 0 {
			return &KallsymsError{Table: "kallsyms_names", Addr: at, Want: fmt.Sprintf("entry %d of %d to have a non-zero length", i, num)}
		}
		if b, ok = r.need(hdr + n); !ok {
			return r.fail(fmt.Sprintf("entry %d of %d: %d token bytes", i, num, n))
		}
		if err := fn(i, at, b[hdr:hdr+n]); err != nil {
			return err
		}
		r.skip(hdr + n)
	}
	return nil
}

// memStream reads a table sequentially in chunks.
type memStream struct {
	m     Memory
	addr  uint64 // address of buf[0]
	buf   []byte
	off   int // read position in buf
	table string
	eof   error // why no more can be read past addr+len(buf)
}

func (r *memStream) pos() uint64 { return r.addr + uint64(r.off) }

func (r *memStream) skip(n int) { r.off += n }

// fail is need's error.
func (r *memStream) fail(want string) error {
	return &KallsymsError{Table: r.table, Addr: r.pos(), Want: want, Err: r.eof}
}

// need returns at least n (at most kallsymsChunk/2) bytes from the current
// position without consuming them; false when they cannot be read (r.fail
// says why).
func (r *memStream) need(n int) ([]byte, bool) {
	for len(r.buf)-r.off < n {
		if r.eof != nil {
			return nil, false
		}
		// Keep the unread tail and read on after it.
		rest := copy(r.buf, r.buf[r.off:])
		r.addr += uint64(r.off)
		r.off = 0
		if r.buf == nil {
			r.buf = make([]byte, 0, kallsymsChunk)
		}
		r.buf = r.buf[:rest]
		a := r.addr + uint64(rest)
		if a < r.addr {
			r.eof = errors.New("the table wraps around the address space")
			continue
		}
		// To the buffer's end; retried to the page's end when that
		// fails.
		space := cap(r.buf) - rest
		got, _ := r.m.ReadMemory(r.buf[rest:rest+space], a)
		if got <= 0 {
			p := min(space, int(4096-a%4096))
			var err error
			got, err = r.m.ReadMemory(r.buf[rest:rest+p], a)
			if got <= 0 {
				r.eof = readErr(err, a, p)
				continue
			}
			got = min(got, p)
		}
		got = min(got, space)
		r.buf = r.buf[:rest+got]
	}
	return r.buf[r.off : r.off+n], true
}
