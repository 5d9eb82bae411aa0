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
	if st == nil || depth > 16 { // anonymous nesting is shallow; bound it anyway
		return 0, nil, false
	}
	for i := range st.Members {
		m := &st.Members[i]
		if m.Name == name {
			return m.ByteOffset, m.Type, true
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
		if o, t, ok := findMember(inner, name, depth+1); ok {
			return m.ByteOffset + o, t, true
		}
	}
	return 0, nil, false
}
