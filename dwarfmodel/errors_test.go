package dwarfmodel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// elfSection is one section of a hand-made ELF file.
type elfSection struct {
	name string
	data []byte
}

// mkELF writes a minimal 64-bit little-endian x86-64 ELF executable with
// the given sections (and a .shstrtab), for malformed-input tests.
func mkELF(secs []elfSection) []byte {
	le := binary.LittleEndian
	var shstr bytes.Buffer
	shstr.WriteByte(0)
	nameOff := make([]uint32, len(secs)+1)
	for i, s := range secs {
		nameOff[i] = uint32(shstr.Len())
		shstr.WriteString(s.name)
		shstr.WriteByte(0)
	}
	nameOff[len(secs)] = uint32(shstr.Len())
	shstr.WriteString(".shstrtab\x00")
	all := append(append([]elfSection(nil), secs...), elfSection{".shstrtab", shstr.Bytes()})

	var body bytes.Buffer
	offs := make([]uint64, len(all))
	for i, s := range all {
		offs[i] = 64 + uint64(body.Len())
		body.Write(s.data)
	}
	for body.Len()%8 != 0 {
		body.WriteByte(0)
	}
	shoff := 64 + uint64(body.Len())
	hdr := make([]byte, 64)
	copy(hdr, "\x7fELF\x02\x01\x01")
	le.PutUint16(hdr[16:], 2)     // ET_EXEC
	le.PutUint16(hdr[18:], 62)    // EM_X86_64
	le.PutUint32(hdr[20:], 1)     // version
	le.PutUint64(hdr[40:], shoff) // e_shoff
	le.PutUint16(hdr[52:], 64)    // e_ehsize
	le.PutUint16(hdr[58:], 64)    // e_shentsize
	le.PutUint16(hdr[60:], uint16(len(all)+1))
	le.PutUint16(hdr[62:], uint16(len(all))) // e_shstrndx
	out := append(hdr, body.Bytes()...)
	out = append(out, make([]byte, 64)...) // section 0
	for i, s := range all {
		sh := make([]byte, 64)
		le.PutUint32(sh[0:], nameOff[i])
		typ := uint32(1) // SHT_PROGBITS
		if s.name == ".shstrtab" {
			typ = 3
		}
		le.PutUint32(sh[4:], typ)
		le.PutUint64(sh[24:], offs[i])
		le.PutUint64(sh[32:], uint64(len(s.data)))
		le.PutUint64(sh[48:], 1)
		out = append(out, sh...)
	}
	return out
}

// cu4 wraps DIE bytes in a DWARF 4 compilation unit header (64-bit
// addresses, abbreviations at offset 0).
func cu4(dies []byte) []byte {
	b := make([]byte, 11)
	binary.LittleEndian.PutUint32(b, uint32(7+len(dies)))
	binary.LittleEndian.PutUint16(b[4:], 4)
	b[10] = 8
	return append(b, dies...)
}

// Abbreviations: 1 compile unit with children; 2 typedef (name string,
// type ref4); 3 struct (name string, byte_size data1) with children;
// 4 member (name string, type ref4, data_member_location data1).
var testAbbrev = []byte{
	1, 0x11, 1, 0, 0,
	2, 0x16, 0, 0x03, 0x08, 0x49, 0x13, 0, 0,
	3, 0x13, 1, 0x03, 0x08, 0x0b, 0x0b, 0, 0,
	4, 0x0d, 0, 0x03, 0x08, 0x49, 0x13, 0x38, 0x0b, 0, 0,
	0,
}

func ref4(off int) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(off))
	return b
}

// cycleDWARF: typedef loop -> itself, and struct self { struct self s; }.
func cycleDWARF() []byte {
	var d []byte
	d = append(d, 1)             // CU at 11
	d = append(d, 2)             // typedef at 12
	d = append(d, "loop\x00"...) //
	d = append(d, ref4(12)...)   // -> itself
	self := 11 + len(d)          // struct at 22
	d = append(d, 3)             //
	d = append(d, "self\x00"...) //
	d = append(d, 8)             // byte_size
	d = append(d, 4)             // member
	d = append(d, "s\x00"...)    //
	d = append(d, ref4(self)...) // -> the struct itself
	d = append(d, 0)             // offset 0
	d = append(d, 0)             // end of struct
	d = append(d, 0)             // end of CU
	return cu4(d)
}

func TestNoDWARF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodwarf")
	if err := os.WriteFile(path, mkELF([]elfSection{{".text", []byte{0xc3}}}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if !errors.Is(err, ErrNoDWARF) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), ".debug_info section") {
		t.Fatalf("Open: %v; want ErrNoDWARF naming %s and .debug_info", err, path)
	}
}

func TestNotELF(t *testing.T) {
	_, err := NewFile(bytes.NewReader([]byte("not an ELF file at all, just text")))
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("NewFile: %v, want *FormatError", err)
	}
}

func TestCycles(t *testing.T) {
	f, err := NewFile(bytes.NewReader(mkELF([]elfSection{{".debug_info", cycleDWARF()}, {".debug_abbrev", testAbbrev}})))
	if err != nil {
		t.Fatal(err)
	}
	ty, err := f.Type("loop")
	if err != nil {
		t.Fatal(err)
	}
	td := ty.(*Typedef)
	if td.Type != Type(td) {
		t.Fatalf("typedef loop -> %v, want itself", td.Type)
	}
	if td.Size() != -1 || Declare(td, "x") != "loop x" {
		t.Errorf("size %d decl %q", td.Size(), Declare(td, "x"))
	}
	_ = Underlying(td) // must return
	s, err := f.Type("struct self")
	if err != nil {
		t.Fatal(err)
	}
	if st := s.(*Struct); st.Members[0].Type != s || st.Size() != 8 {
		t.Errorf("struct self: %+v", st)
	}
	f.Close()
	if _, err := f.Type("struct self"); err == nil {
		t.Errorf("Type after Close succeeded")
	}
}

func TestCorruptDWARF(t *testing.T) {
	good := cycleDWARF()
	cases := map[string][]byte{
		"truncated":      good[:20],
		"length too big": append([]byte{0xf0, 0xff, 0, 0}, good[4:]...),
		"bad version":    append(append(append([]byte{}, good[:4]...), 9, 0), good[6:]...),
		"bad abbrev code": func() []byte {
			b := append([]byte{}, good...)
			b[12] = 77
			return b
		}(),
	}
	for name, info := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := NewFile(bytes.NewReader(mkELF([]elfSection{{".debug_info", info}, {".debug_abbrev", testAbbrev}})))
			if err == nil {
				_, err = f.Type("loop")
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want *FormatError", err)
			}
			if fe.Section != ".debug_info" || !strings.Contains(fe.Error(), ".debug_info+0x") {
				t.Errorf("error %q does not name .debug_info and an offset", fe)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	all := []string{"struct list_head", "struct hlist_head", "int", "struct task_struct",
		"struct mm_struct", "struct tm", "unsigned int", "union mm_u", "pid_t"}
	cases := []struct {
		name      string
		want, not []string
	}{
		{"list_haed", []string{"struct list_head", "struct hlist_head"}, []string{"struct task_struct", "int"}},
		{"struct mm", []string{"struct mm_struct", "union mm_u"}, []string{"pid_t"}},
		{"TASK_STRUCT", []string{"struct task_struct"}, []string{"struct list_head"}},
		{"unsigned", []string{"unsigned int"}, nil},
		{"zzzzzz", nil, all},
	}
	for _, c := range cases {
		got := suggest(c.name, all)
		if len(got) > maxSuggestions || !sort.StringsAreSorted(got) {
			t.Errorf("suggest(%q) = %v: more than %d or unsorted", c.name, got, maxSuggestions)
		}
		for _, w := range c.want {
			if !contains(got, w) {
				t.Errorf("suggest(%q) = %v, lacks %q", c.name, got, w)
			}
		}
		for _, n := range c.not {
			if contains(got, n) {
				t.Errorf("suggest(%q) = %v, has %q", c.name, got, n)
			}
		}
	}
	var many []string
	for i := 0; i < 100; i++ {
		many = append(many, fmt.Sprintf("struct foo%d", i))
	}
	if got := suggest("foo", many); len(got) != maxSuggestions {
		t.Errorf("suggest over 100 prefixed names gave %d", len(got))
	}
}
