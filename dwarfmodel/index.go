package dwarfmodel

import (
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Namespaces of the index.
const (
	nsStruct = iota
	nsUnion
	nsClass
	nsEnum
	nsTypedef
	nsBase
	nsVar
	nsCount
)

// declBit marks an index entry that is only a declaration.
const declBit = 1 << 63

// index maps the names of top-level DIEs to their .debug_info offsets, per
// namespace: the first complete definition in file order, else the first
// declaration.
type index struct {
	ns [nsCount]map[string]uint64
}

func newIndex() index {
	var x index
	for i := range x.ns {
		x.ns[i] = map[string]uint64{}
	}
	return x
}

// better reports whether the entry off (a declaration when decl) should
// replace old: definitions beat declarations, then the smaller offset
// wins, so the result does not depend on the order of adds.
func better(old uint64, exists bool, off uint64, decl bool) bool {
	if !exists {
		return true
	}
	oldDecl := old&declBit != 0
	if oldDecl != decl {
		return oldDecl
	}
	return off < old&^declBit
}

func entry(off uint64, decl bool) uint64 {
	if decl {
		return off | declBit
	}
	return off
}

// add records name at off.
func (x *index) add(ns int, name string, off uint64, decl bool) {
	old, ok := x.ns[ns][name]
	if better(old, ok, off, decl) {
		x.ns[ns][name] = entry(off, decl)
	}
}

// partIndex is one indexing worker's index, keyed by the .debug_str
// offset of the name when it has one (hashing an integer is cheaper than a
// string, and no string is built), else by the name.
type partIndex struct {
	byOff [nsCount]map[uint64]uint64
	byStr index
	// defined is a direct-mapped cache of the (name, namespace) keys that
	// already have a definition here: a worker reads its units in offset
	// order, so any later DIE of such a key loses, and the map need not be
	// consulted. Every unit repeats its headers' types, so most adds stop
	// here.
	defined []uint64
}

const definedBits = 16

func newPartIndex() *partIndex {
	x := &partIndex{byStr: newIndex(), defined: make([]uint64, 1<<definedBits)}
	for i := range x.byOff {
		x.byOff[i] = map[uint64]uint64{}
	}
	return x
}

func (x *partIndex) addOff(ns int, strOff, off uint64, decl bool) {
	key := strOff<<3 | uint64(ns) + 1 // never 0, the empty slot
	h := (key * 0x9e3779b97f4a7c15) >> (64 - definedBits)
	if x.defined[h] == key {
		return
	}
	old, ok := x.byOff[ns][strOff]
	if better(old, ok, off, decl) {
		x.byOff[ns][strOff] = entry(off, decl)
	}
	if !decl || (ok && old&declBit == 0) {
		x.defined[h] = key
	}
}

// mergeInto adds the entries of x to idx.
func (x *partIndex) mergeInto(f *File, idx *index) {
	for ns := range x.byOff {
		for so, e := range x.byOff[ns] {
			if name, ok := strAt(f.str, so); ok && name != "" {
				idx.add(ns, name, e&^declBit, e&declBit != 0)
			}
		}
		for name, e := range x.byStr.ns[ns] {
			idx.add(ns, name, e&^declBit, e&declBit != 0)
		}
	}
}

func tagNS(tag uint32) int {
	switch tag {
	case tagStructureType:
		return nsStruct
	case tagUnionType:
		return nsUnion
	case tagClassType:
		return nsClass
	case tagEnumerationType:
		return nsEnum
	case tagTypedef:
		return nsTypedef
	case tagBaseType:
		return nsBase
	case tagVariable:
		return nsVar
	}
	return -1
}

// buildIndex scans the unit headers, then the top-level DIEs of every unit
// in parallel.
func (f *File) buildIndex() error {
	if err := f.readUnits(); err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0)
	if workers > 8 {
		workers = 8
	}
	if workers > len(f.units) {
		workers = len(f.units)
	}
	if workers < 1 {
		workers = 1
	}
	// Contiguous ranges of units of about equal size, so that merging in
	// range order keeps the first definition in file order.
	bounds := make([]int, 0, workers+1)
	bounds = append(bounds, 0)
	per := f.infoSize/int64(workers) + 1
	var acc int64
	for i, u := range f.units {
		acc += int64(u.end - u.off)
		if acc >= per*int64(len(bounds)) && len(bounds) < workers {
			bounds = append(bounds, i+1)
		}
	}
	bounds = append(bounds, len(f.units))

	var progMu sync.Mutex
	var done int64
	progress := func(n int64) {
		if f.opts.Progress == nil {
			return
		}
		progMu.Lock()
		done += n
		f.opts.Progress(done, f.infoSize)
		progMu.Unlock()
	}

	parts := make([]*partIndex, len(bounds)-1)
	errs := make([]error, len(bounds)-1)
	var wg sync.WaitGroup
	for w := 0; w+1 < len(bounds); w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			defer func() {
				// A last defence: malformed input must give an error.
				if p := recover(); p != nil {
					errs[w] = f.errf(".debug_info", 0, "malformed DWARF (%v)", p)
				}
			}()
			x := newPartIndex()
			var buf []byte
			tab := &abbrevTable{}
			for _, u := range f.units[bounds[w]:bounds[w+1]] {
				b, err := f.readUnit(u, buf)
				if err != nil {
					errs[w] = err
					return
				}
				if f.infoMem == nil {
					buf = b
				}
				if err := f.parseAbbrevsInto(tab, u.abbrevOff, u); err != nil {
					errs[w] = err
					return
				}
				if err := f.indexUnit(u, b, tab, x); err != nil {
					errs[w] = err
					return
				}
				progress(int64(u.end - u.off))
			}
			parts[w] = x
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	f.idx = newIndex()
	for _, x := range parts {
		x.mergeInto(f, &f.idx)
	}
	return nil
}

// indexUnit records the named top-level DIEs of u, whose bytes (from the
// unit header on) are b.
func (f *File) indexUnit(u *unit, b []byte, tab *abbrevTable, x *partIndex) error {
	order := f.dm.ByteOrder
	r := rd{b: b, p: int(u.dieOff - u.off)}
	bad := func(at int, msg string) error {
		return f.errf(".debug_info", int64(u.off)+int64(at), "%s", msg)
	}
	// The unit DIE: take the bases that strx and addrx forms need.
	start := r.p
	code := r.uleb()
	if code == 0 {
		return nil
	}
	a := tab.get(code)
	if a == nil {
		return bad(start, "unknown abbreviation code in unit DIE")
	}
	for i := range a.attrs {
		s := &a.attrs[i]
		switch s.attr {
		case atStrOffsetsBase, atAddrBase, atGNUAddrBase:
			v := f.readVal(&r, u, s, order)
			if s.attr == atStrOffsetsBase {
				u.strBase = v.u
			} else {
				u.addrBase = v.u
			}
		default:
			skipVal(&r, u, s)
		}
	}
	if r.bad {
		return bad(start, "truncated unit DIE")
	}
	if !a.children {
		return nil
	}
	var k dieKeys
	for {
		start := r.p
		if start >= len(b) {
			return nil // missing terminator: tolerated
		}
		code := r.uleb()
		if code == 0 {
			return nil
		}
		a := tab.get(code)
		if a == nil {
			return bad(start, "unknown abbreviation code")
		}
		ns := tagNS(a.tag)
		want := wantSibling
		if ns >= 0 {
			want |= wantName | wantDecl
			if ns == nsVar {
				want |= wantLoc | wantSpec
			}
		}
		f.readKeys(&r, u, a, want, &k)
		if r.bad {
			return bad(start, "truncated DIE")
		}
		if ns >= 0 {
			off := u.off + uint64(start)
			if ns == nsVar {
				if k.hasLoc && !k.hasName && k.spec != 0 {
					if name, ok := f.peekName(u, b, k.spec, tab); ok {
						x.byStr.add(nsVar, name, off, false)
					}
				} else if k.hasLoc && k.hasName {
					k.addTo(x, nsVar, off, false)
				}
			} else if k.hasName {
				k.addTo(x, ns, off, k.decl)
			}
		}
		if a.children {
			if k.sibling > u.off+uint64(r.p) && k.sibling < u.end {
				r.p = int(k.sibling - u.off)
				continue
			}
			if err := f.skipChildren(u, u.off, &r, tab); err != nil {
				return err
			}
		}
	}
}

// dieKeys are the attributes of a top-level DIE the index reads.
type dieKeys struct {
	hasName, nameInline bool
	nameOff             uint64 // in .debug_str
	name                string // when nameInline
	decl, hasLoc        bool
	sibling, spec       uint64
}

func (k *dieKeys) addTo(x *partIndex, ns int, off uint64, decl bool) {
	if k.nameInline {
		x.byStr.add(ns, k.name, off, decl)
	} else {
		x.addOff(ns, k.nameOff, off, decl)
	}
}

const (
	wantName = 1 << iota
	wantDecl
	wantSibling
	wantLoc
	wantSpec
)

// readKeys reads the wanted attributes of the DIE whose attributes start
// at r.p and leaves r.p after them. When the attributes it needs sit at
// fixed positions it reads only those, and when the DIE has children and
// a sibling it does not walk the rest at all (the caller jumps).
func (f *File) readKeys(r *rd, u *unit, a *abbrev, want int, k *dieKeys) {
	*k = dieKeys{}
	base := r.p
	fast := true
	for key := 0; key < nKeyAttrs; key++ {
		if want&(1<<key) != 0 && a.pos[key] == posVar {
			fast = false
		}
	}
	if fast {
		for key := 0; key < nKeyAttrs; key++ {
			if want&(1<<key) == 0 || a.pos[key] == posNone {
				continue
			}
			q := rd{b: r.b, p: base + int(a.pos[key])}
			f.readKey(&q, u, &a.attrs[a.idx[key]], key, k)
			if q.bad {
				r.bad = true
				return
			}
		}
		switch {
		case a.children && k.sibling != 0:
			// The caller jumps to the sibling; r.p only has to be past
			// the abbreviation code, which it is.
			r.p = base
			if k.sibling <= u.off+uint64(base) {
				// A sibling pointing backwards: walk the DIE instead.
				k.sibling = 0
				f.skipAttrs(r, u, a)
			}
			return
		case a.fixedSize >= 0:
			r.skip(uint64(a.fixedSize))
			return
		}
		f.skipAttrs(r, u, a)
		return
	}
	for i := range a.attrs {
		s := &a.attrs[i]
		key := keyOf(s.attr)
		if key < 0 || want&(1<<key) == 0 {
			skipVal(r, u, s)
			continue
		}
		f.readKey(r, u, s, key, k)
	}
}

func (f *File) skipAttrs(r *rd, u *unit, a *abbrev) {
	if a.fixedSize >= 0 {
		r.skip(uint64(a.fixedSize))
		return
	}
	for i := range a.attrs {
		skipVal(r, u, &a.attrs[i])
	}
}

// readKey reads one wanted attribute value at r.
func (f *File) readKey(r *rd, u *unit, s *attrSpec, key int, k *dieKeys) {
	order := f.dm.ByteOrder
	if key == keyName {
		switch uint32(s.form) {
		case formStrp:
			k.nameOff = r.uN(int(u.offSize), order)
			// Empty names are dropped when the parts merge: testing the
			// first byte here costs a cache miss per DIE.
			k.hasName = k.nameOff < uint64(len(f.str))
			return
		case formStrx, formGNUStrIndex, formStrx1, formStrx2, formStrx3, formStrx4:
			var idx uint64
			if s.form == formStrx || s.form == formGNUStrIndex {
				idx = r.uleb()
			} else {
				idx = r.uN(int(s.form-formStrx1+1), order)
			}
			if so, ok := f.strxOff(u, idx); ok && so < uint64(len(f.str)) {
				k.nameOff, k.hasName = so, true
			}
			return
		}
		v := f.readVal(r, u, s, order)
		if v.ok && v.str != "" {
			k.name, k.hasName, k.nameInline = strings.Clone(v.str), true, true
		}
		return
	}
	switch {
	case key == keySibling && s.form == formRef4:
		k.sibling = u.off + r.uN(4, order)
		return
	case key == keyDecl && s.form == formFlagPresent:
		k.decl = true
		return
	}
	v := f.readVal(r, u, s, order)
	switch key {
	case keyDecl:
		k.decl = v.u != 0
	case keySibling:
		k.sibling = v.u
	case keyLocation:
		k.hasLoc = len(v.blk) > 0 && isAddrExpr(v.blk[0])
	case keySpec:
		if v.ok {
			k.spec = v.u
		}
	}
}

// isAddrExpr reports whether a location expression starts with an address
// operation (a static variable).
func isAddrExpr(op byte) bool {
	return op == 0x03 || op == 0xa1 || op == 0xfb // DW_OP_addr, addrx, GNU_addr_index
}

// skipChildren skips the children of the DIE just read (and theirs).
func (f *File) skipChildren(u *unit, base uint64, r *rd, tab *abbrevTable) error {
	depth := 1
	for depth > 0 {
		start := r.p
		if r.p >= len(r.b) {
			if base+uint64(len(r.b)) < u.end {
				r.bad = true // a window that stops inside the unit
			}
			return nil
		}
		code := r.uleb()
		if code == 0 {
			depth--
			continue
		}
		a := tab.get(code)
		if a == nil {
			return f.errf(".debug_info", int64(base)+int64(start), "unknown abbreviation code %d", code)
		}
		var sibling uint64
		if a.fixedSize >= 0 && !a.children {
			r.skip(uint64(a.fixedSize))
		} else {
			for i := range a.attrs {
				s := &a.attrs[i]
				if s.attr == atSibling && a.children {
					sibling = f.readVal(r, u, s, f.dm.ByteOrder).u
				} else {
					skipVal(r, u, s)
				}
			}
		}
		if r.bad {
			return f.errf(".debug_info", int64(base)+int64(start), "truncated DIE")
		}
		if a.children {
			if sibling > base+uint64(r.p) && sibling < u.end {
				if sibling-base >= uint64(len(r.b)) {
					r.bad = true // beyond the window
					return nil
				}
				r.p = int(sibling - base)
				continue
			}
			depth++
			if depth > maxDepth {
				return f.errf(".debug_info", int64(base)+int64(start), "DIEs nested deeper than %d", maxDepth)
			}
		}
	}
	return nil
}

// peekName reads the name of the DIE at off when it lies in u (bytes b).
func (f *File) peekName(u *unit, b []byte, off uint64, tab *abbrevTable) (string, bool) {
	if off < u.dieOff || off >= u.end {
		return "", false
	}
	r := rd{b: b, p: int(off - u.off)}
	a := tab.get(r.uleb())
	if a == nil {
		return "", false
	}
	for i := range a.attrs {
		s := &a.attrs[i]
		if s.attr == atName {
			v := f.readVal(&r, u, s, f.dm.ByteOrder)
			return v.str, v.ok && v.str != "" && !r.bad
		}
		skipVal(&r, u, s)
	}
	return "", false
}

// TypeNames returns every indexed type name, sorted, spelled as Type
// accepts it: "struct x", "union x", "enum x", typedef and base type names.
func (f *File) TypeNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tnames == nil {
		prefix := [nsCount]string{nsStruct: "struct ", nsUnion: "union ", nsClass: "class ", nsEnum: "enum "}
		n := 0
		for ns := 0; ns < nsVar; ns++ {
			n += len(f.idx.ns[ns])
		}
		names := make([]string, 0, n)
		seen := map[string]bool{}
		for ns := 0; ns < nsVar; ns++ {
			for name := range f.idx.ns[ns] {
				s := prefix[ns] + name
				if (ns == nsTypedef || ns == nsBase) && seen[s] {
					continue
				}
				seen[s] = true
				names = append(names, s)
			}
		}
		sort.Strings(names)
		f.tnames = names
	}
	return append([]string(nil), f.tnames...)
}

// VariableNames returns the names of every indexed global variable (those
// with a static address), sorted.
func (f *File) VariableNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vnames == nil {
		names := make([]string, 0, len(f.idx.ns[nsVar]))
		for name := range f.idx.ns[nsVar] {
			names = append(names, name)
		}
		sort.Strings(names)
		f.vnames = names
	}
	return append([]string(nil), f.vnames...)
}
