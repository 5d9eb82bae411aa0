package dwarfmodel

import (
	"bytes"
	"encoding/binary"
	"io"
	"unsafe"
)

// DWARF constants used here (DWARF 5, section 7).
const (
	tagArrayType        = 0x01
	tagClassType        = 0x02
	tagEnumerationType  = 0x04
	tagFormalParameter  = 0x05
	tagMember           = 0x0d
	tagPointerType      = 0x0f
	tagReferenceType    = 0x10
	tagCompileUnit      = 0x11
	tagStructureType    = 0x13
	tagSubroutineType   = 0x15
	tagTypedef          = 0x16
	tagUnionType        = 0x17
	tagUnspecifiedParam = 0x18
	tagInheritance      = 0x1c
	tagSubrangeType     = 0x21
	tagBaseType         = 0x24
	tagConstType        = 0x26
	tagEnumerator       = 0x28
	tagSubprogram       = 0x2e
	tagVariable         = 0x34
	tagVolatileType     = 0x35
	tagRestrictType     = 0x37
	tagUnspecifiedType  = 0x3b
	tagRvalueRefType    = 0x42
	tagAtomicType       = 0x47

	atSibling          = 0x01
	atLocation         = 0x02
	atName             = 0x03
	atByteSize         = 0x0b
	atBitOffset        = 0x0c
	atBitSize          = 0x0d
	atConstValue       = 0x1c
	atUpperBound       = 0x2f
	atAbstractOrigin   = 0x31
	atCount            = 0x37
	atDataMemberLoc    = 0x38
	atDeclaration      = 0x3c
	atDeclLine         = 0x3b
	atEncoding         = 0x3e
	atSpecification    = 0x47
	atType             = 0x49
	atDataBitOffset    = 0x6b
	atSignature        = 0x69
	atStrOffsetsBase   = 0x72
	atAddrBase         = 0x73
	atLowerBound       = 0x22
	atGNUAddrBase      = 0x2133
	atGNUStrOffsetBase = 0x2134 // not standard; kept for symmetry

	formAddr          = 0x01
	formBlock2        = 0x03
	formBlock4        = 0x04
	formData2         = 0x05
	formData4         = 0x06
	formData8         = 0x07
	formString        = 0x08
	formBlock         = 0x09
	formBlock1        = 0x0a
	formData1         = 0x0b
	formFlag          = 0x0c
	formSdata         = 0x0d
	formStrp          = 0x0e
	formUdata         = 0x0f
	formRefAddr       = 0x10
	formRef1          = 0x11
	formRef2          = 0x12
	formRef4          = 0x13
	formRef8          = 0x14
	formRefUdata      = 0x15
	formIndirect      = 0x16
	formSecOffset     = 0x17
	formExprloc       = 0x18
	formFlagPresent   = 0x19
	formStrx          = 0x1a
	formAddrx         = 0x1b
	formRefSup4       = 0x1c
	formStrpSup       = 0x1d
	formData16        = 0x1e
	formLineStrp      = 0x1f
	formRefSig8       = 0x20
	formImplicitConst = 0x21
	formLoclistx      = 0x22
	formRnglistx      = 0x23
	formRefSup8       = 0x24
	formStrx1         = 0x25
	formStrx2         = 0x26
	formStrx3         = 0x27
	formStrx4         = 0x28
	formAddrx1        = 0x29
	formAddrx2        = 0x2a
	formAddrx3        = 0x2b
	formAddrx4        = 0x2c
	formGNUAddrIndex  = 0x1f01
	formGNUStrIndex   = 0x1f02
	formGNURefAlt     = 0x1f20
	formGNUStrpAlt    = 0x1f21
)

// Limits that bound work and allocation on malformed input.
const (
	maxAbbrevAttrs = 1024    // attributes in one abbreviation
	maxDepth       = 1 << 12 // DIE nesting
	maxDims        = 64      // array dimensions
)

// unit is one unit header of .debug_info.
type unit struct {
	off       uint64 // of the unit header
	end       uint64 // one past the unit's last byte
	dieOff    uint64 // of the unit's first DIE
	version   uint16
	unitType  uint8
	addrSize  uint8
	offSize   uint8 // 4, or 8 for 64-bit DWARF
	abbrevOff uint64
	strBase   uint64 // DW_AT_str_offsets_base
	addrBase  uint64 // DW_AT_addr_base
	sig       uint64 // type units
	typeOff   uint64 // type units: offset of the type DIE in the unit
	bigEndian bool
}

type abbrevKey struct {
	off            uint64
	addrSize, offs uint8
	v2             bool
}

// attrSpec is one attribute of an abbreviation.
type attrSpec struct {
	attr     uint16 // all standard and GNU attributes fit
	form     uint16
	size     int32 // fixed size of the value in bytes, or -1
	implicit int64
}

type abbrev struct {
	tag       uint32
	children  bool
	fixedSize int32 // total size of all values when all are fixed, else -1
	first, n  int32 // the attributes' span in the table's specs
	attrs     []attrSpec
	// For the index's fast path: where the attributes it reads are, as a
	// byte offset from the end of the abbreviation code when every value
	// before them has a fixed size (posVar when not, posNone when absent),
	// and their index in attrs.
	pos [nKeyAttrs]int32
	idx [nKeyAttrs]int16
}

// The attributes the index reads.
const (
	keyName = iota
	keyDecl
	keySibling
	keyLocation
	keySpec
	nKeyAttrs
)

const (
	posNone = -1
	posVar  = -2
)

func keyOf(attr uint16) int {
	switch attr {
	case atName:
		return keyName
	case atDeclaration:
		return keyDecl
	case atSibling:
		return keySibling
	case atLocation:
		return keyLocation
	case atSpecification, atAbstractOrigin:
		return keySpec
	}
	return -1
}

// abbrevTable is one parsed abbreviation table. Its slices are reused when
// the table is parsed again for another unit (see parseAbbrevsInto).
type abbrevTable struct {
	abbrs  []abbrev
	specs  []attrSpec
	dense  []int32 // by code: index in abbrs + 1, 0 when absent
	sparse map[uint64]int32
	buf    []byte // the table's bytes, while parsing
}

func (t *abbrevTable) get(code uint64) *abbrev {
	var i int32
	if code < uint64(len(t.dense)) {
		i = t.dense[code]
	} else if t.sparse != nil {
		i = t.sparse[code]
	}
	if i == 0 {
		return nil
	}
	return &t.abbrs[i-1]
}

// rd reads a byte slice; out-of-range reads set bad and return zeros, so
// callers check once at the end of a DIE instead of at every read.
type rd struct {
	b   []byte
	p   int
	bad bool
}

func (r *rd) u8() uint8 {
	if r.p >= len(r.b) {
		r.bad = true
		return 0
	}
	v := r.b[r.p]
	r.p++
	return v
}

func (r *rd) need(n int) bool {
	if n < 0 || r.p > len(r.b) || n > len(r.b)-r.p {
		r.bad = true
		r.p = len(r.b)
		return false
	}
	return true
}

func (r *rd) uN(n int, order binary.ByteOrder) uint64 {
	if !r.need(n) {
		return 0
	}
	b := r.b[r.p : r.p+n]
	r.p += n
	switch n {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(order.Uint16(b))
	case 3:
		if order == binary.BigEndian {
			return uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2])
		}
		return uint64(b[2])<<16 | uint64(b[1])<<8 | uint64(b[0])
	case 4:
		return uint64(order.Uint32(b))
	case 8:
		return order.Uint64(b)
	}
	r.bad = true
	return 0
}

func (r *rd) uleb() uint64 {
	var v uint64
	var shift uint
	for {
		if r.p >= len(r.b) {
			r.bad = true
			return 0
		}
		c := r.b[r.p]
		r.p++
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			return v
		}
	}
}

func (r *rd) sleb() int64 {
	var v int64
	var shift uint
	for {
		if r.p >= len(r.b) {
			r.bad = true
			return 0
		}
		c := r.b[r.p]
		r.p++
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
}

func (r *rd) skip(n uint64) {
	if r.p > len(r.b) || n > uint64(len(r.b)-r.p) {
		r.bad = true
		r.p = len(r.b)
		return
	}
	r.p += int(n)
}

// cstr reads a NUL-terminated string in place.
func (r *rd) cstr() []byte {
	if r.p >= len(r.b) {
		r.bad = true
		r.p = len(r.b)
		return nil
	}
	i := bytes.IndexByte(r.b[r.p:], 0)
	if i < 0 {
		r.bad = true
		r.p = len(r.b)
		return nil
	}
	s := r.b[r.p : r.p+i]
	r.p += i + 1
	return s
}

// fixedFormSize is the size of a value of form, or -1 when it varies.
func fixedFormSize(form uint32, u *unit) int32 {
	switch form {
	case formAddr:
		return int32(u.addrSize)
	case formData1, formRef1, formFlag, formStrx1, formAddrx1:
		return 1
	case formData2, formRef2, formStrx2, formAddrx2:
		return 2
	case formStrx3, formAddrx3:
		return 3
	case formData4, formRef4, formRefSup4, formStrx4, formAddrx4:
		return 4
	case formData8, formRef8, formRefSig8, formRefSup8:
		return 8
	case formData16:
		return 16
	case formStrp, formSecOffset, formLineStrp, formStrpSup, formGNURefAlt, formGNUStrpAlt:
		return int32(u.offSize)
	case formRefAddr:
		if u.version <= 2 {
			return int32(u.addrSize)
		}
		return int32(u.offSize)
	case formFlagPresent, formImplicitConst:
		return 0
	}
	return -1
}

// parseAbbrevs parses the abbreviation table at off of .debug_abbrev for
// unit u (sizes depend on the unit's address and offset sizes).
func (f *File) parseAbbrevs(off uint64, u *unit) (*abbrevTable, error) {
	t := &abbrevTable{}
	if err := f.parseAbbrevsInto(t, off, u); err != nil {
		return nil, err
	}
	// Trim what a reused table would keep spare.
	t.abbrs = t.abbrs[:len(t.abbrs):len(t.abbrs)]
	t.buf = nil
	return t, nil
}

// abbrevChunk is the first read of an abbreviation table (2 KB on average
// in the kernel); longer tables are read again, larger. A variable so that
// tests can shrink it.
var abbrevChunk = 8 << 10

// parseAbbrevsInto parses the table at off into t, reusing its memory.
// .debug_abbrev is read with ReadAt, a table at a time.
func (f *File) parseAbbrevsInto(t *abbrevTable, off uint64, u *unit) error {
	size := uint64(f.abbrevSize)
	if off >= size {
		return f.errf(".debug_info", int64(u.off), "abbreviation table offset %#x is beyond .debug_abbrev (%#x bytes)", off, size)
	}
	for n := uint64(abbrevChunk); ; n *= 4 {
		end := size
		if n < size-off {
			end = off + n
		}
		if uint64(cap(t.buf)) < end-off {
			t.buf = make([]byte, end-off)
		}
		b := t.buf[:end-off]
		if _, err := f.abbrevRA.ReadAt(b, int64(off)); err != nil && err != io.EOF {
			return f.errf(".debug_abbrev", int64(off), "reading: %v", err)
		}
		err := f.parseAbbrevBytes(t, b, off, u)
		if err == nil || end == size {
			return err
		}
	}
}

// parseAbbrevBytes parses the table at the start of b (which is at off of
// .debug_abbrev) into t. Running off the end of b is an error.
func (f *File) parseAbbrevBytes(t *abbrevTable, b []byte, off uint64, u *unit) error {
	t.abbrs = t.abbrs[:0]
	t.specs = t.specs[:0]
	clear(t.dense)
	t.dense = t.dense[:0]
	t.sparse = nil
	r := rd{b: b}
	for {
		start := int(off) + r.p
		code := r.uleb()
		if r.bad {
			return f.errf(".debug_abbrev", int64(start), "truncated abbreviation table")
		}
		if code == 0 {
			break
		}
		a := abbrev{tag: uint32(r.uleb()), children: r.u8() != 0}
		first := len(t.specs)
		fixed := int32(0)
		for {
			at := r.uleb()
			fm := r.uleb()
			if r.bad {
				return f.errf(".debug_abbrev", int64(start), "truncated abbreviation %d", code)
			}
			if at == 0 && fm == 0 {
				break
			}
			if at > 0xffff || fm > 0xffff {
				return f.errf(".debug_abbrev", int64(start), "abbreviation %d has attribute %#x with form %#x: out of range", code, at, fm)
			}
			s := attrSpec{attr: uint16(at), form: uint16(fm)}
			if fm == formImplicitConst {
				s.implicit = r.sleb()
			}
			s.size = fixedFormSize(uint32(s.form), u)
			if s.size < 0 || fixed < 0 {
				fixed = -1
			} else {
				fixed += s.size
			}
			t.specs = append(t.specs, s)
			if len(t.specs)-first > maxAbbrevAttrs {
				return f.errf(".debug_abbrev", int64(start), "abbreviation %d has more than %d attributes", code, maxAbbrevAttrs)
			}
		}
		a.fixedSize = fixed
		a.first, a.n = int32(first), int32(len(t.specs)-first)
		t.abbrs = append(t.abbrs, a)
		idx := int32(len(t.abbrs))
		if code < 1<<14 {
			for uint64(len(t.dense)) <= code {
				t.dense = append(t.dense, 0)
			}
			if t.dense[code] == 0 {
				t.dense[code] = idx
			}
		} else {
			if t.sparse == nil {
				t.sparse = map[uint64]int32{}
			}
			if t.sparse[code] == 0 {
				t.sparse[code] = idx
			}
		}
	}
	// attrs can point into specs now that it no longer grows.
	for i := range t.abbrs {
		a := &t.abbrs[i]
		a.attrs = t.specs[a.first : a.first+a.n : a.first+a.n]
		for k := range a.pos {
			a.pos[k] = posNone
		}
		at := int32(0)
		for j := range a.attrs {
			if k := keyOf(a.attrs[j].attr); k >= 0 && a.pos[k] == posNone {
				a.pos[k] = at
				a.idx[k] = int16(j)
			}
			if at >= 0 {
				if sz := a.attrs[j].size; sz >= 0 {
					at += sz
				} else {
					at = posVar
				}
			}
		}
	}
	return nil
}

// abbrevsFor returns the (cached) abbreviation table of u.
func (f *File) abbrevsFor(u *unit) (*abbrevTable, error) {
	key := abbrevKey{u.abbrevOff, u.addrSize, u.offSize, u.version <= 2}
	f.abbrevMu.Lock()
	t := f.abbrevMap[key]
	f.abbrevMu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := f.parseAbbrevs(u.abbrevOff, u)
	if err != nil {
		return nil, err
	}
	f.abbrevMu.Lock()
	f.abbrevMap[key] = t
	f.abbrevMu.Unlock()
	return t, nil
}

// readUnits scans the unit headers of .debug_info.
func (f *File) readUnits() error {
	var hdr [32]byte
	order := f.dm.ByteOrder
	off := uint64(0)
	size := uint64(f.infoSize)
	for off < size {
		n := len(hdr)
		if uint64(n) > size-off {
			n = int(size - off)
		}
		if _, err := f.info.ReadAt(hdr[:n], int64(off)); err != nil {
			return f.errf(".debug_info", int64(off), "reading unit header: %v", err)
		}
		r := rd{b: hdr[:n]}
		u := &unit{off: off, offSize: 4, bigEndian: order == binary.BigEndian}
		length := r.uN(4, order)
		if length == 0xffffffff {
			u.offSize = 8
			length = r.uN(8, order)
		} else if length >= 0xfffffff0 {
			return f.errf(".debug_info", int64(off), "reserved unit length %#x", length)
		}
		if r.bad {
			return f.errf(".debug_info", int64(off), "truncated unit header")
		}
		if length > size-off-uint64(r.p) {
			return f.errf(".debug_info", int64(off), "unit length %#x runs past the end of the section (%#x bytes)", length, size)
		}
		u.end = off + uint64(r.p) + length
		u.version = uint16(r.uN(2, order))
		if u.version < 2 || u.version > 5 {
			return f.errf(".debug_info", int64(off), "unsupported DWARF version %d (expected 2 to 5)", u.version)
		}
		if f.typesBase > 0 && off >= uint64(f.typesBase) {
			// A DWARF 4 type unit of .debug_types.
			u.unitType = 0x02
			u.abbrevOff = r.uN(int(u.offSize), order)
			u.addrSize = r.u8()
			u.sig = r.uN(8, order)
			u.typeOff = r.uN(int(u.offSize), order)
		} else if u.version >= 5 {
			u.unitType = r.u8()
			u.addrSize = r.u8()
			u.abbrevOff = r.uN(int(u.offSize), order)
			switch u.unitType {
			case 0x02, 0x06: // type, split_type
				u.sig = r.uN(8, order)
				u.typeOff = r.uN(int(u.offSize), order)
			case 0x04, 0x05: // skeleton, split_compile
				r.uN(8, order)
			}
		} else {
			u.unitType = 0x01
			u.abbrevOff = r.uN(int(u.offSize), order)
			u.addrSize = r.u8()
		}
		if r.bad || off+uint64(r.p) > u.end {
			return f.errf(".debug_info", int64(off), "truncated unit header")
		}
		if u.addrSize != 1 && u.addrSize != 2 && u.addrSize != 4 && u.addrSize != 8 {
			return f.errf(".debug_info", int64(off), "unsupported address size %d", u.addrSize)
		}
		u.dieOff = off + uint64(r.p)
		if u.unitType == 0x02 || u.unitType == 0x06 {
			if f.sigs == nil {
				f.sigs = map[uint64]uint64{}
			}
			if _, dup := f.sigs[u.sig]; !dup && u.typeOff < u.end-u.off {
				f.sigs[u.sig] = u.off + u.typeOff
			}
		}
		f.units = append(f.units, u)
		off = u.end
	}
	return nil
}

// unitAt finds the unit that contains the .debug_info offset off.
func (f *File) unitAt(off uint64) *unit {
	lo, hi := 0, len(f.units)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f.units[m].end <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(f.units) && f.units[lo].dieOff <= off {
		return f.units[lo]
	}
	return nil
}

// unitBytes reads the bytes of u.
func (f *File) readUnit(u *unit, buf []byte) ([]byte, error) {
	n := int(u.end - u.off)
	if f.infoMem != nil {
		return f.infoMem[u.off:u.end], nil
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := f.info.ReadAt(buf, int64(u.off)); err != nil {
		return nil, f.errf(".debug_info", int64(u.off), "reading unit of %d bytes: %v", n, err)
	}
	return buf, nil
}

// strAt returns the NUL-terminated string at off in sec, without copying
// (sections live as long as the File and are never written).
func strAt(sec []byte, off uint64) (string, bool) {
	if off >= uint64(len(sec)) {
		return "", false
	}
	i := bytes.IndexByte(sec[off:], 0)
	if i < 0 {
		return "", false
	}
	if i == 0 {
		return "", true
	}
	return unsafe.String(&sec[off], i), true
}

// strx resolves a string index through .debug_str_offsets.
func (f *File) strx(u *unit, idx uint64) (string, bool) {
	so, ok := f.strxOff(u, idx)
	if !ok {
		return "", false
	}
	return strAt(f.str, so)
}

// strxOff resolves a string index to an offset in .debug_str.
func (f *File) strxOff(u *unit, idx uint64) (uint64, bool) {
	base := u.strBase
	if base == 0 && u.version >= 5 {
		base = 8 // the first contribution's header, when no base is given
		if u.offSize == 8 {
			base = 16
		}
	}
	p := base + idx*uint64(u.offSize)
	if idx > uint64(len(f.strOffs)) || p+uint64(u.offSize) > uint64(len(f.strOffs)) {
		return 0, false
	}
	if u.offSize == 8 {
		return f.dm.ByteOrder.Uint64(f.strOffs[p:]), true
	}
	return uint64(f.dm.ByteOrder.Uint32(f.strOffs[p:])), true
}

// addrx resolves an address index through .debug_addr.
func (f *File) addrx(u *unit, idx uint64) (uint64, bool) {
	as := uint64(u.addrSize)
	p := u.addrBase + idx*as
	if idx > uint64(len(f.addr)) || p+as > uint64(len(f.addr)) {
		return 0, false
	}
	r := rd{b: f.addr, p: int(p)}
	return r.uN(int(as), f.dm.ByteOrder), true
}

// val is a decoded attribute value.
type val struct {
	form uint32
	u    uint64 // constants, offsets, references (absolute), addresses
	s    int64  // sdata, implicit_const
	blk  []byte // blocks, exprloc, data16
	str  string // strings
	ok   bool
}

// readVal reads one attribute value of form at r for unit u.
func (f *File) readVal(r *rd, u *unit, spec *attrSpec, order binary.ByteOrder) val {
	form := uint32(spec.form)
	v := val{form: form, ok: true}
	for i := 0; form == formIndirect; i++ {
		form = uint32(r.uleb())
		v.form = form
		if i > 4 {
			r.bad = true
			return val{}
		}
	}
	switch form {
	case formAddr:
		v.u = r.uN(int(u.addrSize), order)
	case formData1, formFlag:
		v.u = r.uN(1, order)
		v.s = int64(int8(v.u))
	case formData2:
		v.u = r.uN(2, order)
		v.s = int64(int16(v.u))
	case formData4:
		v.u = r.uN(4, order)
		v.s = int64(int32(v.u))
	case formData8:
		v.u = r.uN(8, order)
		v.s = int64(v.u)
	case formData16:
		if r.need(16) {
			v.blk = r.b[r.p : r.p+16]
			r.p += 16
		}
	case formSdata:
		v.s = r.sleb()
		v.u = uint64(v.s)
	case formUdata:
		v.u = r.uleb()
		v.s = int64(v.u)
	case formImplicitConst:
		v.s = spec.implicit
		v.u = uint64(v.s)
	case formFlagPresent:
		v.u = 1
	case formString:
		v.str = string(r.cstr())
	case formStrp, formLineStrp:
		off := r.uN(int(u.offSize), order)
		sec := f.str
		if form == formLineStrp {
			sec = f.lineStr
		}
		v.str, v.ok = strAt(sec, off)
	case formStrx, formGNUStrIndex:
		v.str, v.ok = f.strx(u, r.uleb())
	case formStrx1, formStrx2, formStrx3, formStrx4:
		v.str, v.ok = f.strx(u, r.uN(int(form-formStrx1+1), order))
	case formStrpSup, formGNUStrpAlt:
		r.uN(int(u.offSize), order)
		v.ok = false // supplementary files are not supported
	case formRef1, formRef2, formRef4, formRef8:
		n := 1 << (form - formRef1) // 1, 2, 4, 8
		v.u = u.off + r.uN(int(n), order)
	case formRefUdata:
		v.u = u.off + r.uleb()
	case formRefAddr:
		if u.version <= 2 {
			v.u = r.uN(int(u.addrSize), order)
		} else {
			v.u = r.uN(int(u.offSize), order)
		}
	case formRefSig8:
		sig := r.uN(8, order)
		off, ok := f.sigs[sig]
		v.u, v.ok = off, ok
	case formRefSup4:
		r.uN(4, order)
		v.ok = false
	case formRefSup8:
		r.uN(8, order)
		v.ok = false
	case formGNURefAlt:
		r.uN(int(u.offSize), order)
		v.ok = false
	case formSecOffset:
		v.u = r.uN(int(u.offSize), order)
	case formExprloc, formBlock:
		n := r.uleb()
		if r.need(int(min(n, 1<<31))) {
			v.blk = r.b[r.p : r.p+int(n)]
			r.p += int(n)
		}
	case formBlock1, formBlock2, formBlock4:
		w := 1
		switch form {
		case formBlock2:
			w = 2
		case formBlock4:
			w = 4
		}
		n := r.uN(w, order)
		if r.need(int(min(n, 1<<31))) {
			v.blk = r.b[r.p : r.p+int(n)]
			r.p += int(n)
		}
	case formAddrx, formGNUAddrIndex:
		v.u, v.ok = f.addrx(u, r.uleb())
	case formAddrx1, formAddrx2, formAddrx3, formAddrx4:
		v.u, v.ok = f.addrx(u, r.uN(int(form-formAddrx1+1), order))
	case formLoclistx, formRnglistx:
		v.u = r.uleb()
	default:
		r.bad = true
		return val{}
	}
	return v
}

// skipVal skips one attribute value.
func skipVal(r *rd, u *unit, spec *attrSpec) {
	if spec.size >= 0 {
		r.skip(uint64(spec.size))
		return
	}
	form := uint32(spec.form)
	for i := 0; form == formIndirect; i++ {
		form = uint32(r.uleb())
		if i > 4 {
			r.bad = true
			return
		}
	}
	if form != uint32(spec.form) {
		if s := fixedFormSize(form, u); s >= 0 {
			r.skip(uint64(s))
			return
		}
	}
	switch form {
	case formSdata, formUdata, formRefUdata, formStrx, formAddrx, formLoclistx, formRnglistx, formGNUAddrIndex, formGNUStrIndex:
		r.uleb()
	case formString:
		r.cstr()
	case formExprloc, formBlock:
		r.skip(r.uleb())
	case formBlock1:
		r.skip(r.uN(1, binary.LittleEndian))
	case formBlock2, formBlock4:
		// The length's byte order does not matter for skipping only when
		// it is one byte; read it properly.
		n := 2
		if form == formBlock4 {
			n = 4
		}
		if r.need(n) {
			var l uint64
			b := r.b[r.p : r.p+n]
			if u.bigEndian {
				for _, c := range b {
					l = l<<8 | uint64(c)
				}
			} else {
				for i := n - 1; i >= 0; i-- {
					l = l<<8 | uint64(b[i])
				}
			}
			r.p += n
			r.skip(l)
		}
	default:
		r.bad = true
	}
}
