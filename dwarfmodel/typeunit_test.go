package dwarfmodel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// tu5 is a DWARF 5 type unit (64-bit addresses, abbreviations at offset
// 0) with signature sig whose type DIE is the first DIE after the unit's
// own: dies holds the type_unit DIE and its children.
func tu5(sig uint64, dies []byte) []byte {
	b := make([]byte, 24)
	le := binary.LittleEndian
	le.PutUint32(b, uint32(20+len(dies)))
	le.PutUint16(b[4:], 5)
	b[6] = 0x02 // DW_UT_type
	b[7] = 8
	le.PutUint64(b[12:], sig)
	le.PutUint32(b[20:], 25) // type_offset: after the type_unit DIE's abbrev code
	return append(b, dies...)
}

func sig8(v uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return b
}

// Abbreviations: 1 compile unit with children; 2 typedef (name string,
// type ref_sig8); 5 type unit with children; 6 a structure skeleton
// (DW_AT_signature ref_sig8, no children, no name), as GCC writes where
// one type unit refers to a type of another.
var typeUnitAbbrev = []byte{
	1, 0x11, 1, 0, 0,
	2, 0x16, 0, 0x03, 0x08, 0x49, 0x20, 0, 0,
	5, 0x41, 1, 0, 0,
	6, 0x13, 0, 0x69, 0x20, 0, 0,
	0,
}

// TestTypeUnitSkeletonCycle: two type units whose type DIEs are skeletons
// naming each other (a malformed file: a real skeleton names a unit that
// defines the type). Looking up a typedef of one gives a FormatError
// naming the chain, never a hang or a stack overflow.
func TestTypeUnitSkeletonCycle(t *testing.T) {
	const a, b = 0x1111111111111111, 0x2222222222222222
	var cu []byte
	cu = append(cu, 1)
	cu = append(cu, 2)
	cu = append(cu, "t\x00"...)
	cu = append(cu, sig8(a)...)
	cu = append(cu, 0)
	info := cu4(cu)
	info = append(info, tu5(a, append(append([]byte{5, 6}, sig8(b)...), 0))...)
	info = append(info, tu5(b, append(append([]byte{5, 6}, sig8(a)...), 0))...)
	f, err := NewFile(bytes.NewReader(mkELF([]elfSection{{".debug_info", info}, {".debug_abbrev", typeUnitAbbrev}})))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ty, err := f.Type("t")
	var fe *FormatError
	if err == nil {
		t.Fatalf("Type(t) = %v; want an error for the skeleton cycle", Declare(ty, "x"))
	}
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "DW_AT_signature") {
		t.Fatalf("Type(t): %v; want a *FormatError naming DW_AT_signature", err)
	}
}
