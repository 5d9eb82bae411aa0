package dwarfmodel

import "strings"

// MemberPath resolves a dotted member path ("ctrl.pgrp") in st, looking
// through anonymous struct and union members as C does. It returns the
// byte offset from the start of st and the member's type. Bitfields are
// found too; their offset is ByteOffset's.
func MemberPath(st *Struct, path string) (int64, Type, bool) {
	var off int64
	cur := st
	parts := strings.Split(path, ".")
	for i, name := range parts {
		o, t, ok := findMember(cur, name, 0)
		if !ok {
			return 0, nil, false
		}
		off += o
		if i == len(parts)-1 {
			return off, t, true
		}
		next, ok := Underlying(t).(*Struct)
		if !ok {
			return 0, nil, false
		}
		cur = next
	}
	return 0, nil, false
}

func findMember(st *Struct, name string, depth int) (int64, Type, bool) {
	m, base, ok := FindMember(st, name)
	if !ok {
		return 0, nil, false
	}
	return base + m.ByteOffset, m.Type, true
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
