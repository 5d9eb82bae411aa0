package dwarfmodel

import "strings"

// MemberPath resolves a dotted member path ("ctrl.pgrp") in st, looking
// through anonymous struct and union members as C does. It returns the
// byte offset from the start of st and the member's type. Bitfields are
// found too; their offset is ByteOffset's.
func MemberPath(st *Struct, path string) (int64, Type, bool) {
	m, base, ok := FindPath(st, path)
	if !ok {
		return 0, nil, false
	}
	return base + m.ByteOffset, m.Type, true
}

// FindPath is FindMember along a dotted path: a member name (found through
// anonymous members, as C does) or names joined by dots through named
// members of struct or union type ("thread_info.cpu"). base is the offset
// within st of the aggregate that declares the member found. The one
// member lookup of the generator, Bind's relocation and procs.
func FindPath(st *Struct, path string) (m *Member, base int64, ok bool) {
	var off int64
	for cur := st; ; {
		name, rest, more := strings.Cut(path, ".")
		m, b, ok := FindMember(cur, name)
		if !ok {
			return nil, 0, false
		}
		if !more {
			return m, off + b, true
		}
		next, isStruct := Underlying(m.Type).(*Struct)
		if !isStruct || m.IsBitfield() || next.Incomplete {
			return nil, 0, false
		}
		off += b + m.ByteOffset
		cur, path = next, rest
	}
}

// FindMember finds the member called name in st or, as C lets code name
// them, in its anonymous struct and union members. base is the byte offset
// of the aggregate that declares it within st: the member starts at
// base+m.ByteOffset (its bits at base*8+m.DataBitOffset).
func FindMember(st *Struct, name string) (m *Member, base int64, ok bool) {
	return findIn(st, name, 0)
}

func findIn(st *Struct, name string, depth int) (*Member, int64, bool) {
	if st == nil || depth > 16 { // anonymous nesting is shallow; bound it anyway
		return nil, 0, false
	}
	for i := range st.Members {
		if st.Members[i].Name == name {
			return &st.Members[i], 0, true
		}
	}
	for i := range st.Members {
		m := &st.Members[i]
		if m.Name != "" {
			continue
		}
		inner, ok := Underlying(m.Type).(*Struct)
		if !ok {
			continue
		}
		if x, o, ok := findIn(inner, name, depth+1); ok {
			return x, m.ByteOffset + o, true
		}
	}
	return nil, 0, false
}
