package dwarfmodel

import (
	"runtime"
	"sort"
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
// namespace: the first complete definition, else the first declaration.
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

// add records name at off, keeping the first definition.
func (x *index) add(ns int, name string, off uint64, decl bool) {
	m := x.ns[ns]
	old, ok := m[name]
	if !decl {
		if !ok || old&declBit != 0 {
			m[name] = off
		}
		return
	}
	if !ok {
		m[name] = off | declBit
	}
}

// merge folds y (from later units) into x.
func (x *index) merge(y *index) {
	for ns := range y.ns {
		for name, off := range y.ns[ns] {
			x.add(ns, name, off&^declBit, off&declBit != 0)
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

	parts := make([]index, len(bounds)-1)
	errs := make([]error, len(bounds)-1)
	var wg sync.WaitGroup
	for w := 0; w+1 < len(bounds); w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			x := newIndex()
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
				if err := f.indexUnit(u, b, tab, &x); err != nil {
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
	if len(parts) == 0 {
		f.idx = newIndex()
		return nil
	}
	f.idx = parts[0]
	for i := 1; i < len(parts); i++ {
		f.idx.merge(&parts[i])
	}
	return nil
}

// indexUnit records the named top-level DIEs of u, whose bytes (from the
// unit header on) are b.
func (f *File) indexUnit(u *unit, b []byte, tab *abbrevTable, x *index) error {
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
		var sibling uint64
		if ns < 0 {
			// Not indexed: only find the sibling to skip the subtree.
			if !a.children && a.fixedSize >= 0 {
				r.skip(uint64(a.fixedSize))
			} else {
				for i := range a.attrs {
					s := &a.attrs[i]
					if s.attr == atSibling && a.children {
						sibling = f.readVal(&r, u, s, order).u
					} else {
						skipVal(&r, u, s)
					}
				}
			}
		} else {
			var name string
			var hasName, decl, hasLoc bool
			var spec uint64
			for i := range a.attrs {
				s := &a.attrs[i]
				switch s.attr {
				case atName:
					v := f.readVal(&r, u, s, order)
					name, hasName = v.str, v.ok && v.str != ""
				case atDeclaration:
					decl = f.readVal(&r, u, s, order).u != 0
				case atSibling:
					sibling = f.readVal(&r, u, s, order).u
				case atLocation:
					if ns == nsVar {
						v := f.readVal(&r, u, s, order)
						hasLoc = len(v.blk) > 0 && isAddrExpr(v.blk[0])
					} else {
						skipVal(&r, u, s)
					}
				case atSpecification, atAbstractOrigin:
					if ns == nsVar {
						v := f.readVal(&r, u, s, order)
						if v.ok {
							spec = v.u
						}
					} else {
						skipVal(&r, u, s)
					}
				default:
					skipVal(&r, u, s)
				}
			}
			if r.bad {
				return bad(start, "truncated DIE")
			}
			off := u.off + uint64(start)
			if ns == nsVar {
				if hasLoc && !hasName && spec != 0 {
					name, hasName = f.peekName(u, b, spec, tab)
				}
				if hasLoc && hasName {
					x.add(nsVar, name, off, false)
				}
			} else if hasName {
				x.add(ns, name, off, decl)
			}
		}
		if r.bad {
			return bad(start, "truncated DIE")
		}
		if a.children {
			if sibling > u.off+uint64(r.p) && sibling < u.end {
				r.p = int(sibling - u.off)
				continue
			}
			if err := f.skipChildren(u, &r, tab); err != nil {
				return err
			}
		}
	}
}

// isAddrExpr reports whether a location expression starts with an address
// operation (a static variable).
func isAddrExpr(op byte) bool {
	return op == 0x03 || op == 0xa1 || op == 0xfb // DW_OP_addr, addrx, GNU_addr_index
}

// skipChildren skips the children of the DIE just read (and theirs).
func (f *File) skipChildren(u *unit, r *rd, tab *abbrevTable) error {
	depth := 1
	for depth > 0 {
		start := r.p
		if r.p >= len(r.b) {
			return nil
		}
		code := r.uleb()
		if code == 0 {
			depth--
			continue
		}
		a := tab.get(code)
		if a == nil {
			return f.errf(".debug_info", int64(u.off)+int64(start), "unknown abbreviation code %d", code)
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
			return f.errf(".debug_info", int64(u.off)+int64(start), "truncated DIE")
		}
		if a.children {
			if sibling > u.off+uint64(r.p) && sibling < u.end {
				r.p = int(sibling - u.off)
				continue
			}
			depth++
			if depth > maxDepth {
				return f.errf(".debug_info", int64(u.off)+int64(start), "DIEs nested deeper than %d", maxDepth)
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
