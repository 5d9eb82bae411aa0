package dwarfmodel

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// unitCacheBytes bounds the unit bytes kept between decodes.
const unitCacheBytes = 64 << 20

// unitCache keeps windows of recently decoded units, at most max bytes
// (the least recently used unit's windows are dropped first).
type unitCache struct {
	max   int
	bytes int
	order []*unit
	data  map[*unit][]window
}

type window struct {
	base uint64
	b    []byte
}

// find returns a cached window of u holding [off, end).
func (c *unitCache) find(u *unit, off, end uint64) ([]byte, uint64, bool) {
	for _, w := range c.data[u] {
		if w.base <= off && end <= w.base+uint64(len(w.b)) {
			c.touch(u)
			return w.b, w.base, true
		}
	}
	return nil, 0, false
}

func (c *unitCache) touch(u *unit) {
	n := len(c.order)
	if n == 0 || c.order[n-1] == u {
		return
	}
	for i, x := range c.order {
		if x == u {
			copy(c.order[i:], c.order[i+1:])
			c.order[n-1] = u
			return
		}
	}
}

// put adds a window of u starting at base, dropping the windows it covers.
func (c *unitCache) put(u *unit, base uint64, b []byte) {
	if c.data == nil {
		c.data = map[*unit][]window{}
	}
	for len(c.order) > 0 && c.bytes+len(b) > c.max {
		old := c.order[0]
		c.order = c.order[1:]
		for _, w := range c.data[old] {
			c.bytes -= len(w.b)
		}
		delete(c.data, old)
	}
	ws, ok := c.data[u]
	kept := ws[:0]
	end := base + uint64(len(b))
	for _, w := range ws {
		if base <= w.base && w.base+uint64(len(w.b)) <= end {
			c.bytes -= len(w.b)
			continue
		}
		kept = append(kept, w)
	}
	c.data[u] = append(kept, window{base, b})
	c.bytes += len(b)
	if !ok {
		c.order = append(c.order, u)
	} else {
		c.touch(u)
	}
}

// die holds the attributes of one DIE that the model uses.
type die struct {
	off      uint64
	tag      uint32
	children bool
	next     int // position in the unit bytes after the attributes

	name                string
	hasName             bool
	typ                 uint64
	hasType, badType    bool
	byteSize            int64
	hasByteSize         bool
	bitSize             int64
	bitOffset           int64
	hasBitOffset        bool
	dataBitOffset       int64
	hasDataBitOffset    bool
	memberLoc           int64
	hasMemberLoc        bool
	decl                bool
	encoding            int64
	count, upper, lower int64
	hasCount, hasUpper  bool
	countDyn            bool // a non-constant bound (VLA)
	constVal            val
	hasConst            bool
	location            []byte
	spec                uint64
	hasSpec             bool
	sig                 uint64 // DW_AT_signature: the type unit's type DIE
	hasSig              bool
	memberLocErr        string
	sibling             uint64
	prototyped          bool
	declLine            int64
}

// signExtend interprets a fixed-size data form's value as signed.
func signedConst(v val) int64 {
	switch v.form {
	case formData1, formData2, formData4, formData8, formSdata, formImplicitConst:
		return v.s
	}
	return int64(v.u)
}

// upperBound reads DW_AT_upper_bound: unsigned (the index type of C is
// size_t), except that all ones in a 4- or 8-byte form, or a negative
// sdata, is -1, what compilers write for a zero-length array.
func upperBound(v val) int64 {
	switch v.form {
	case formSdata, formImplicitConst:
		return v.s
	case formData4:
		if v.u == 0xffffffff {
			return -1
		}
	case formData8:
		return int64(v.u)
	}
	return int64(v.u)
}

func isConstForm(form uint32) bool {
	switch form {
	case formData1, formData2, formData4, formData8, formSdata, formUdata, formImplicitConst:
		return true
	}
	return false
}

// readDIE decodes the DIE at pos of the unit bytes b.
func (f *File) readDIE(v view, pos int) (*die, error) {
	u, tab := v.u, v.tab
	r := rd{b: v.b, p: pos}
	code := r.uleb()
	if r.bad || code == 0 {
		return nil, f.errf(".debug_info", int64(v.base)+int64(pos), "expected a DIE, found %s", map[bool]string{true: "the end of the unit", false: "a null entry"}[r.bad])
	}
	a := tab.get(code)
	if a == nil {
		return nil, f.errf(".debug_info", int64(v.base)+int64(pos), "unknown abbreviation code %d", code)
	}
	d := &die{off: v.base + uint64(pos), tag: a.tag, children: a.children}
	order := f.dm.ByteOrder
	for i := range a.attrs {
		s := &a.attrs[i]
		switch s.attr {
		case atName, atType, atByteSize, atBitSize, atBitOffset, atDataBitOffset, atDataMemberLoc,
			atDeclaration, atEncoding, atCount, atUpperBound, atLowerBound, atConstValue, atLocation,
			atSpecification, atAbstractOrigin, atSibling, 0x27 /* prototyped */, atDeclLine, atSignature:
		default:
			skipVal(&r, u, s)
			continue
		}
		v := f.readVal(&r, u, s, order)
		if r.bad {
			break
		}
		switch s.attr {
		case atName:
			d.name, d.hasName = v.str, v.ok && v.str != ""
		case atType:
			d.typ, d.hasType = v.u, true
			if !v.ok {
				d.badType = true
			}
		case atByteSize:
			if isConstForm(v.form) {
				d.byteSize, d.hasByteSize = int64(v.u), true
			}
		case atBitSize:
			d.bitSize = int64(v.u)
		case atBitOffset:
			d.bitOffset, d.hasBitOffset = signedConst(v), true
			if v.form == formUdata || v.form == formData1 || v.form == formData2 {
				d.bitOffset = int64(v.u)
			}
		case atDataBitOffset:
			d.dataBitOffset, d.hasDataBitOffset = int64(v.u), true
		case atDataMemberLoc:
			if isConstForm(v.form) {
				d.memberLoc, d.hasMemberLoc = int64(v.u), true
			} else if v.blk != nil || v.form == formExprloc {
				n, err := evalMemberLoc(v.blk, order)
				if err != "" {
					d.memberLocErr = err
				} else {
					d.memberLoc, d.hasMemberLoc = n, true
				}
			}
		case atDeclaration:
			d.decl = v.u != 0
		case atEncoding:
			d.encoding = int64(v.u)
		case atCount:
			if isConstForm(v.form) {
				d.count, d.hasCount = int64(v.u), true
			} else {
				d.countDyn = true
			}
		case atUpperBound:
			if isConstForm(v.form) {
				d.upper, d.hasUpper = upperBound(v), true
			} else {
				d.countDyn = true
			}
		case atLowerBound:
			if isConstForm(v.form) {
				d.lower = signedConst(v)
			}
		case atConstValue:
			d.constVal, d.hasConst = v, true
		case atLocation:
			d.location = v.blk
		case atSpecification, atAbstractOrigin:
			if v.ok {
				d.spec, d.hasSpec = v.u, true
			}
		case atSibling:
			d.sibling = v.u
		case atSignature:
			d.sig, d.hasSig = v.u, v.ok
		case 0x27:
			d.prototyped = v.u != 0
		case atDeclLine:
			d.declLine = int64(v.u)
		}
	}
	if r.bad {
		return nil, f.errf(".debug_info", int64(d.off), "truncated or malformed DIE (tag %#x)", a.tag)
	}
	d.next = r.p
	return d, nil
}

// evalMemberLoc evaluates a DWARF 2 style member location expression (the
// address of the aggregate pushed first): DW_OP_plus_uconst and constant
// arithmetic. It returns a message when the expression is not constant.
func evalMemberLoc(expr []byte, order binary.ByteOrder) (int64, string) {
	r := rd{b: expr}
	stack := []int64{0}
	for r.p < len(expr) && !r.bad {
		op := r.u8()
		switch {
		case op == 0x23: // DW_OP_plus_uconst
			stack[len(stack)-1] += int64(r.uleb())
		case op == 0x10: // DW_OP_constu
			stack = append(stack, int64(r.uleb()))
		case op == 0x11: // DW_OP_consts
			stack = append(stack, r.sleb())
		case op == 0x08 || op == 0x0a || op == 0x0c || op == 0x0e: // DW_OP_constNu
			n := 1 << ((op - 0x08) / 2)
			stack = append(stack, int64(r.uN(n, order)))
		case op >= 0x30 && op <= 0x4f: // DW_OP_lit0..31
			stack = append(stack, int64(op-0x30))
		case op == 0x22: // DW_OP_plus
			if len(stack) < 2 {
				return 0, "DW_OP_plus on a stack of one"
			}
			stack[len(stack)-2] += stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		default:
			return 0, fmt.Sprintf("unsupported operation %#x in a member location", op)
		}
		if len(stack) > 64 {
			return 0, "member location expression too deep"
		}
	}
	if r.bad {
		return 0, "truncated member location expression"
	}
	return stack[len(stack)-1], ""
}

// decoder decodes types by offset into f.memo, breadth first: a type is
// allocated and memoized before the types it refers to are decoded, so
// cycles come out as cycles and nothing recurses deeply.
type decoder struct {
	f       *File
	queue   []fixup
	bits    []bitFixup
	enums   []enumFixup
	created []uint64
	err     error // the first unresolvable reference
	sigHops int   // DW_AT_signature skeletons being followed (bounded)
}

type fixup struct {
	dst *Type
	ref uint64
}

type bitFixup struct {
	m       *Member
	d       *die
	version uint16
}

type enumFixup struct {
	e *Enum
	d []*die // enumerators
}

// view is a window of a unit's bytes: b[0] is at offset base of
// .debug_info. Decoding reads windows rather than whole units (a unit of
// the kernel is 60 KB on average, a type a few hundred bytes).
type view struct {
	u    *unit
	tab  *abbrevTable
	b    []byte
	base uint64
}

// partial reports whether the window stops before the end of its unit.
func (v view) partial() bool { return v.base+uint64(len(v.b)) < v.u.end }

// windowBlock is the granularity of the windows read for decoding (a
// power of two; a variable so that tests can shrink it).
var windowBlock uint64 = 16 << 10

// view returns a window of the unit containing off that holds off and, when
// need > 0, at least need bytes from off (fewer at the end of the unit).
// New windows are whole aligned blocks of windowBlock bytes.
func (f *File) view(off uint64, need int) (view, error) {
	u := f.unitAt(off)
	if u == nil {
		return view{}, f.errf(".debug_info", int64(off), "reference to an offset outside every unit")
	}
	tab, err := f.abbrevsFor(u)
	if err != nil {
		return view{}, err
	}
	if f.infoMem != nil {
		return view{u, tab, f.infoMem[u.off:u.end], u.off}, nil
	}
	want := off + 1
	if need > 0 {
		want = off + uint64(need)
	}
	if want > u.end {
		want = u.end
	}
	if b, base, ok := f.cache.find(u, off, want); ok {
		return view{u, tab, b, base}, nil
	}
	start := off &^ (windowBlock - 1)
	if start < u.off {
		start = u.off
	}
	end := (want + windowBlock - 1) &^ (windowBlock - 1)
	if end > u.end || end < want {
		end = u.end
	}
	b := make([]byte, end-start)
	if _, err := f.info.ReadAt(b, int64(start)); err != nil {
		return view{}, f.errf(".debug_info", int64(start), "reading %d bytes: %v", len(b), err)
	}
	f.cache.put(u, start, b)
	return view{u, tab, b, start}, nil
}

// parseDIE reads the DIE at off and, when withKids, its direct children,
// in a window grown until they fit.
func (f *File) parseDIE(off uint64, withKids bool) (*die, []*die, *unit, error) {
	for need := 0; ; need = max(2*need, int(windowBlock)) {
		v, err := f.view(off, need)
		if err != nil {
			return nil, nil, nil, err
		}
		d, err := f.readDIE(v, int(off-v.base))
		var kids []*die
		if err == nil && withKids && d.children {
			kids, err = f.children(v, d)
		}
		if err == nil || !v.partial() {
			return d, kids, v.u, err
		}
	}
}

func (f *File) voidType() *Void {
	if t, ok := f.memo[0]; ok {
		if v, ok := t.(*Void); ok {
			return v
		}
	}
	v := &Void{}
	f.memo[0] = v
	return v
}

// typeAt decodes the type at off and all it reaches. f.mu is held.
func (f *File) typeAt(off uint64) (t Type, err error) {
	if t, ok := f.memo[off]; ok {
		return t, nil
	}
	dc := &decoder{f: f}
	defer func() {
		// A last defence: malformed input must give an error, not a crash.
		if p := recover(); p != nil {
			for _, o := range dc.created {
				delete(f.memo, o)
			}
			t, err = nil, f.errf(".debug_info", int64(off), "malformed type information (%v)", p)
		}
	}()
	t, err = dc.get(off)
	if err == nil {
		err = dc.drain()
	}
	if err != nil {
		for _, o := range dc.created {
			delete(f.memo, o)
		}
		return nil, err
	}
	return t, nil
}

func (dc *decoder) drain() error {
	for len(dc.queue) > 0 && dc.err == nil {
		fx := dc.queue[len(dc.queue)-1]
		dc.queue = dc.queue[:len(dc.queue)-1]
		t, err := dc.get(fx.ref)
		if err != nil {
			return err
		}
		*fx.dst = t
	}
	if dc.err != nil {
		return dc.err
	}
	for _, e := range dc.enums {
		dc.fixEnum(e)
	}
	for _, b := range dc.bits {
		dc.fixBitfield(b)
	}
	return nil
}

func (dc *decoder) ref(dst *Type, d *die) {
	if d.badType && dc.err == nil {
		dc.err = dc.f.errf(".debug_info", int64(d.off), "type reference cannot be resolved (DW_FORM_ref_sig8 into .debug_types, or a supplementary object file): not supported")
	}
	if !d.hasType || d.badType {
		*dst = dc.f.voidType()
		return
	}
	*dst = nil
	dc.queue = append(dc.queue, fixup{dst, d.typ})
}

// maxSigHops bounds a chain of type-unit skeletons (each names the next by
// DW_AT_signature); real compilers write one hop.
const maxSigHops = 8

func (dc *decoder) memo(off uint64, t Type) {
	dc.f.memo[off] = t
	dc.created = append(dc.created, off)
}

// get returns the memoized type at off, or creates it and queues what it
// refers to.
func (dc *decoder) get(off uint64) (Type, error) {
	f := dc.f
	if t, ok := f.memo[off]; ok {
		return t, nil
	}
	d, kids, u, err := f.parseDIE(off, true)
	if err != nil {
		return nil, err
	}
	if d.hasSig && !d.children && d.sig != off {
		// A skeleton of a type that a type unit defines (GCC writes one,
		// with DW_AT_signature and no name, where a type unit refers to a
		// type of another type unit): the type is that unit's.
		if dc.sigHops >= maxSigHops {
			return nil, &FormatError{File: f.displayName(), Section: ".debug_info", Offset: int64(off),
				Msg: fmt.Sprintf("more than %d DW_AT_signature skeletons in a row (a cycle?)", maxSigHops)}
		}
		dc.sigHops++
		t, err := dc.get(d.sig)
		dc.sigHops--
		if err == nil {
			dc.memo(off, t)
		}
		return t, err
	}
	if t, ok, err := dc.canonical(d, kids); ok || err != nil {
		return t, err
	}
	switch d.tag {
	case tagBaseType:
		t := &Base{Name: d.name, ByteSize: d.byteSize, Encoding: encoding(d.encoding), Off: off}
		if !d.hasByteSize {
			t.ByteSize = -1
		}
		dc.memo(off, t)
		return t, nil
	case tagUnspecifiedType:
		t := &Void{Off: off}
		dc.memo(off, t)
		return t, nil
	case tagStructureType, tagUnionType, tagClassType:
		if d.decl || !d.hasByteSize && !d.children {
			if t, ok, err := dc.definition(d); ok || err != nil {
				return t, err
			}
		}
		kind := KindStruct
		switch d.tag {
		case tagUnionType:
			kind = KindUnion
		case tagClassType:
			kind = KindClass
		}
		t := &Struct{Kind: kind, Name: d.name, ByteSize: d.byteSize, Off: off}
		dc.memo(off, t)
		if d.decl || !d.hasByteSize {
			t.Incomplete = true
			t.ByteSize = -1
		}
		if !d.children {
			return t, nil
		}
		n := 0
		for _, k := range kids {
			if k.tag == tagMember {
				n++
			}
		}
		t.Members = make([]Member, 0, n)
		for _, k := range kids {
			if k.tag != tagMember {
				continue
			}
			if k.memberLocErr != "" {
				return nil, f.errf(".debug_info", int64(k.off), "%s", k.memberLocErr)
			}
			t.Members = append(t.Members, Member{Name: k.name, ByteOffset: k.memberLoc, BitSize: k.bitSize})
		}
		i := 0
		for _, k := range kids {
			if k.tag != tagMember {
				continue
			}
			m := &t.Members[i]
			i++
			dc.ref(&m.Type, k)
			m.DataBitOffset = m.ByteOffset * 8
			if k.bitSize != 0 || k.hasDataBitOffset {
				dc.bits = append(dc.bits, bitFixup{m, k, u.version})
			}
		}
		return t, nil
	case tagEnumerationType:
		if d.decl || !d.hasByteSize && !d.children {
			if t, ok, err := dc.definition(d); ok || err != nil {
				return t, err
			}
		}
		t := &Enum{Name: d.name, ByteSize: d.byteSize, Off: off}
		dc.memo(off, t)
		if !d.hasByteSize {
			t.ByteSize = -1
			t.Incomplete = true
		}
		// Signedness: from the underlying type, else from the values.
		switch {
		case d.hasType && !d.badType:
			t.Signed = f.peekSigned(d.typ)
		case d.encoding != 0:
			t.Signed = encoding(d.encoding) == EncSigned || encoding(d.encoding) == EncSignedChar
		}
		dc.enums = append(dc.enums, enumFixup{t, kids})
		return t, nil
	case tagTypedef:
		t := &Typedef{Name: d.name, Off: off}
		dc.memo(off, t)
		dc.ref(&t.Type, d)
		return t, nil
	case tagPointerType, tagReferenceType, tagRvalueRefType:
		t := &Pointer{ByteSize: d.byteSize, Off: off}
		if !d.hasByteSize {
			t.ByteSize = int64(u.addrSize)
		}
		dc.memo(off, t)
		dc.ref(&t.Elem, d)
		return t, nil
	case tagConstType, tagVolatileType, tagRestrictType, tagAtomicType:
		t := &Qualified{Off: off}
		switch d.tag {
		case tagConstType:
			t.Const = true
		case tagVolatileType:
			t.Volatile = true
		case tagRestrictType:
			t.Restrict = true
		case tagAtomicType:
			t.Atomic = true
		}
		dc.memo(off, t)
		dc.ref(&t.Type, d)
		return t, nil
	case tagArrayType:
		t := &Array{Off: off}
		dc.memo(off, t)
		dc.ref(&t.Elem, d)
		if d.children {
			for _, k := range kids {
				if k.tag != tagSubrangeType && k.tag != tagEnumerationType {
					continue
				}
				if len(t.Dims) >= maxDims {
					return nil, f.errf(".debug_info", int64(k.off), "array with more than %d dimensions", maxDims)
				}
				n := int64(-1)
				switch {
				case k.countDyn:
				case k.hasCount:
					n = k.count
				case k.hasUpper:
					n = k.upper - k.lower + 1
				}
				if n < -1 {
					n = -1
				}
				t.Dims = append(t.Dims, n)
			}
		}
		if len(t.Dims) == 0 {
			t.Dims = []int64{-1}
		}
		return t, nil
	case tagSubroutineType, tagSubprogram:
		t := &Func{Off: off}
		dc.memo(off, t)
		dc.ref(&t.Return, d)
		if d.children {
			n := 0
			for _, k := range kids {
				if k.tag == tagFormalParameter {
					n++
				}
			}
			t.Params = make([]Type, n)
			i := 0
			for _, k := range kids {
				switch k.tag {
				case tagFormalParameter:
					dc.ref(&t.Params[i], k)
					i++
				case tagUnspecifiedParam:
					t.Variadic = true
				}
			}
		}
		return t, nil
	}
	return nil, f.errf(".debug_info", int64(off), "DIE with tag %#x is not a type", d.tag)
}

// canonical returns the indexed definition of the same name as d (a named
// struct, union, enum, typedef or base type defined in another unit) when
// it has the same size, declaration line and members (names, places) or
// enumerators, or for a typedef names a type of the same tag, name and
// size, so that the copies every compilation unit carries of a header's
// types decode to one object.
// ok is false when d is its own canonical definition or differs from it.
func (dc *decoder) canonical(d *die, kids []*die) (Type, bool, error) {
	if !d.hasName || d.decl {
		return nil, false, nil
	}
	ns := tagNS(d.tag)
	if ns < 0 || ns == nsVar {
		return nil, false, nil
	}
	c, found := dc.f.idx.ns[ns][d.name]
	if !found || c&declBit != 0 || c == d.off {
		return nil, false, nil
	}
	cd, ckids, _, err := dc.f.parseDIE(c, true)
	if err != nil {
		return nil, false, err
	}
	if cd.tag != d.tag || cd.byteSize != d.byteSize || cd.hasByteSize != d.hasByteSize ||
		cd.declLine != d.declLine || cd.encoding != d.encoding || cd.children != d.children ||
		!sameKids(kids, ckids) {
		return nil, false, nil
	}
	if d.tag == tagTypedef && !dc.f.sameTarget(d, cd) {
		return nil, false, nil
	}
	t, err := dc.get(c)
	if err != nil {
		return nil, false, err
	}
	dc.memo(d.off, t)
	return t, true, nil
}

// sameKids reports whether two definitions have the same members (names,
// places, bit sizes) or enumerators (names, values).
func sameKids(a, b []*die) bool {
	if len(a) != len(b) {
		return false
	}
	for i, x := range a {
		y := b[i]
		if x.tag != y.tag || x.name != y.name || x.memberLoc != y.memberLoc || x.bitSize != y.bitSize ||
			x.bitOffset != y.bitOffset || x.dataBitOffset != y.dataBitOffset ||
			x.hasConst != y.hasConst || x.constVal.u != y.constVal.u || x.constVal.s != y.constVal.s {
			return false
		}
	}
	return true
}

// sameTarget reports whether two typedefs name alike types: the same tag,
// name and size one level down.
func (f *File) sameTarget(a, b *die) bool {
	if a.hasType != b.hasType {
		return false
	}
	if !a.hasType {
		return true
	}
	ta, _, _, err1 := f.parseDIE(a.typ, false)
	tb, _, _, err2 := f.parseDIE(b.typ, false)
	if err1 != nil || err2 != nil {
		return false
	}
	return ta.tag == tb.tag && ta.name == tb.name && ta.byteSize == tb.byteSize
}

// definition finds the complete definition of a declared struct, union or
// enum in the index. ok is false when there is none.
func (dc *decoder) definition(d *die) (Type, bool, error) {
	if !d.hasName {
		return nil, false, nil
	}
	ns := tagNS(d.tag)
	def, found := dc.f.idx.ns[ns][d.name]
	if !found || def&declBit != 0 || def == d.off {
		return nil, false, nil
	}
	t, err := dc.get(def)
	if err != nil {
		return nil, false, err
	}
	dc.memo(d.off, t)
	return t, true, nil
}

// children reads the direct children of d from v. In a partial window,
// running off its end is an error (parseDIE then retries with more).
func (f *File) children(v view, d *die) ([]*die, error) {
	var kids []*die
	pos := int(d.next)
	for {
		if pos >= len(v.b) {
			if v.partial() {
				return nil, f.errf(".debug_info", int64(d.off), "children run past the window")
			}
			return kids, nil
		}
		r := rd{b: v.b, p: pos}
		code := r.uleb()
		if r.bad && v.partial() {
			return nil, f.errf(".debug_info", int64(d.off), "children run past the window")
		}
		if code == 0 {
			return kids, nil
		}
		k, err := f.readDIE(v, pos)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
		if len(kids) > len(v.b) {
			return nil, f.errf(".debug_info", int64(k.off), "too many children")
		}
		pos = k.next
		if k.children {
			if k.sibling >= v.base+uint64(k.next) && k.sibling < v.u.end {
				pos = int(k.sibling - v.base)
				continue
			}
			r := rd{b: v.b, p: pos}
			if err := f.skipChildren(v.u, v.base, &r, v.tab); err != nil {
				return nil, err
			}
			if r.bad {
				return nil, f.errf(".debug_info", int64(k.off), "truncated children")
			}
			pos = r.p
		}
	}
}

// peekSigned reports whether the type at off (a base type, possibly behind
// typedefs and qualifiers) is signed.
func (f *File) peekSigned(off uint64) bool {
	for i := 0; i < 16; i++ {
		d, _, _, err := f.parseDIE(off, false)
		if err != nil {
			return false
		}
		if d.tag == tagBaseType {
			e := encoding(d.encoding)
			return e == EncSigned || e == EncSignedChar
		}
		if !d.hasType || d.badType {
			return false
		}
		off = d.typ
	}
	return false
}

func (dc *decoder) fixEnum(x enumFixup) {
	e := x.e
	if !e.Signed {
		// No underlying type: signed when a value is negative.
		for _, k := range x.d {
			if k.tag != tagEnumerator || !k.hasConst {
				continue
			}
			v := k.constVal
			if v.form == formSdata && v.s < 0 {
				e.Signed = true
			}
		}
	}
	e.Values = make([]Enumerator, 0, len(x.d))
	for _, k := range x.d {
		if k.tag != tagEnumerator || !k.hasConst {
			continue
		}
		v := k.constVal
		var n int64
		switch v.form {
		case formSdata, formImplicitConst:
			n = v.s
		case formUdata:
			n = int64(v.u)
		default:
			// A fixed-size form has no sign of its own: its value is the
			// enum's underlying type's. GCC writes 128..255 of a signed
			// 4-byte enum as DW_FORM_data1 (cpuhp_state), so the sign bit
			// is that of the enum's size, not the form's.
			n = int64(v.u)
			if e.Signed {
				bits := uint(e.ByteSize) * 8
				formBits := map[uint32]uint{formData1: 8, formData2: 16, formData4: 32, formData8: 64}[v.form]
				if bits > 0 && bits < 64 && formBits >= bits {
					n = int64(v.u<<(64-bits)) >> (64 - bits)
				}
			}
		}
		e.Values = append(e.Values, Enumerator{Name: k.name, Value: n})
	}
}

// fixBitfield computes DataBitOffset (DWARF 5 meaning, target bit order)
// and ByteOffset of a bitfield, once member types are decoded.
//
// ByteOffset is the offset of the storage unit holding the first bit: a
// unit of the member type's size, aligned to that size (as pahole prints
// it, whatever DWARF version the file has; DWARF 2-4 compilers may put a
// different DW_AT_data_member_location on a bitfield of a packed struct).
func (dc *decoder) fixBitfield(b bitFixup) {
	m, d := b.m, b.d
	typeSize := sizeOf(m.Type, 0)
	switch {
	case d.hasDataBitOffset:
		m.DataBitOffset = d.dataBitOffset + d.memberLoc*8
	case d.hasBitOffset:
		size := d.byteSize
		if !d.hasByteSize {
			size = typeSize
		}
		if dc.f.dm.BigEndian() {
			m.DataBitOffset = d.memberLoc*8 + d.bitOffset
		} else {
			m.DataBitOffset = d.memberLoc*8 + size*8 - d.bitOffset - d.bitSize
		}
	default:
		m.DataBitOffset = d.memberLoc * 8
	}
	if m.BitSize == 0 {
		m.ByteOffset = m.DataBitOffset / 8
		return
	}
	if typeSize > 0 {
		m.ByteOffset = m.DataBitOffset / (typeSize * 8) * typeSize
	} else {
		m.ByteOffset = m.DataBitOffset / 8
	}
}

func encoding(e int64) Encoding {
	switch e {
	case 0x02:
		return EncBool
	case 0x03:
		return EncComplexFloat
	case 0x04, 0x09, 0x0f: // float, imaginary, decimal float
		return EncFloat
	case 0x05, 0x0d: // signed, signed fixed
		return EncSigned
	case 0x06:
		return EncSignedChar
	case 0x07, 0x01, 0x0e: // unsigned, address, unsigned fixed
		return EncUnsigned
	case 0x08:
		return EncUnsignedChar
	case 0x10:
		return EncUTF
	}
	return EncUnsigned
}

// Type decodes the named type and everything it reaches. Accepted names:
// "struct task_struct", "union foo", "enum pid_type", "class x", a typedef
// name, a base type name ("unsigned int"), "void", or a bare tag
// ("task_struct"), tried as struct, union, enum, then typedef, then base
// type. A complete definition is preferred over a declaration; among
// several definitions of one name (each unit carries its own copy of a
// header's types) the first in the file is returned, and a definition of
// the same name, size and declaration line in another unit decodes to the
// same object, so a graph holds one struct list_head, not one per unit.
// Declarations reached from the type resolve to the indexed definition of
// their name when there is one, else stay Incomplete. Unknown names give a
// *NotFoundError with close names as suggestions.
func (f *File) Type(name string) (Type, error) {
	name = strings.Join(strings.Fields(name), " ")
	var try []int
	bare := name
	switch {
	case strings.HasPrefix(name, "struct "):
		try, bare = []int{nsStruct}, name[7:]
	case strings.HasPrefix(name, "union "):
		try, bare = []int{nsUnion}, name[6:]
	case strings.HasPrefix(name, "enum "):
		try, bare = []int{nsEnum}, name[5:]
	case strings.HasPrefix(name, "class "):
		try, bare = []int{nsClass}, name[6:]
	default:
		try = []int{nsStruct, nsUnion, nsEnum, nsTypedef, nsBase, nsClass}
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, fmt.Errorf("%s: Type(%q) on a closed file", f.displayName(), name)
	}
	if name == "void" {
		v := f.voidType()
		f.mu.Unlock()
		return v, nil
	}
	for _, ns := range try {
		if off, ok := f.idx.ns[ns][bare]; ok {
			t, err := f.typeAt(off &^ declBit)
			f.mu.Unlock()
			return t, err
		}
	}
	f.mu.Unlock()
	return nil, &NotFoundError{File: f.name, Kind: "type", Name: name, Suggestions: suggest(name, f.TypeNames())}
}

// Variable decodes the named global variable (one with a static address,
// DW_OP_addr or DW_OP_addrx) and the type it has; when several units
// define a static variable of that name, the first in the file. Address is
// the link-time address.
func (f *File) Variable(name string) (_ *Variable, err error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, fmt.Errorf("%s: Variable(%q) on a closed file", f.displayName(), name)
	}
	off, ok := f.idx.ns[nsVar][name]
	if !ok {
		f.mu.Unlock()
		return nil, &NotFoundError{File: f.name, Kind: "variable", Name: name, Suggestions: suggest(name, f.VariableNames())}
	}
	defer f.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			err = f.errf(".debug_info", int64(off), "malformed variable (%v)", p)
		}
	}()
	d, _, u, err := f.parseDIE(off, false)
	if err != nil {
		return nil, err
	}
	v := &Variable{Name: name, Off: off}
	addr, err := f.exprAddr(u, d)
	if err != nil {
		return nil, err
	}
	v.Address = addr
	// The type may be on the declaration the definition completes.
	td := d
	for i := 0; i < 8 && !td.hasType && td.hasSpec; i++ {
		if td, _, _, err = f.parseDIE(td.spec, false); err != nil {
			return nil, err
		}
	}
	if !td.hasType || td.badType {
		v.Type = f.voidType()
		return v, nil
	}
	if v.Type, err = f.typeAt(td.typ); err != nil {
		return nil, err
	}
	return v, nil
}

// exprAddr evaluates a location that starts with DW_OP_addr or DW_OP_addrx.
func (f *File) exprAddr(u *unit, d *die) (uint64, error) {
	if len(d.location) == 0 {
		return 0, f.errf(".debug_info", int64(d.off), "variable has no location expression")
	}
	r := rd{b: d.location}
	var a uint64
	ok := true
	switch op := r.u8(); op {
	case 0x03:
		a = r.uN(int(u.addrSize), f.dm.ByteOrder)
	case 0xa1, 0xfb:
		a, ok = f.addrx(u, r.uleb())
	default:
		return 0, f.errf(".debug_info", int64(d.off), "location starts with operation %#x, expected DW_OP_addr", op)
	}
	if r.bad || !ok {
		return 0, f.errf(".debug_info", int64(d.off), "malformed DW_OP_addr location")
	}
	return a, nil
}
