// Package dwarfmodel is kvmgen's typed model of the DWARF in an ELF file:
// the types, global variables, symbols and data model of a kernel image (or
// any ELF with DWARF), for any target (32- or 64-bit, either byte order),
// whatever the host.
//
// Open indexes the file once (names of top-level types and variables, and
// the compilation units) and decodes a type only when it is asked for, so
// that a 590 MB vmlinux costs neither the time nor the memory of decoding
// all of its 17 million DIEs.
//
// Decoded types form a graph that may contain cycles (struct list_head
// points to itself); walk it with a visited set.
package dwarfmodel

import (
	"debug/elf"
	"encoding/binary"
)

// DataModel is the target's data model: what decides sizes, offsets and the
// byte order of every value the target stores.
type DataModel struct {
	Arch      string           // "x86_64", "i386", "aarch64", "s390x", ... (GNU triplet CPU names)
	Machine   elf.Machine      // e_machine
	Class     elf.Class        // ELFCLASS32 or ELFCLASS64
	PtrSize   int              // bytes in a pointer (4 or 8)
	ByteOrder binary.ByteOrder // binary.LittleEndian or binary.BigEndian
}

// BigEndian reports whether the target is big-endian.
func (m DataModel) BigEndian() bool { return m.ByteOrder == binary.BigEndian }

// Type is a decoded DWARF type. Concrete types: *Void, *Base, *Struct (also
// unions), *Enum, *Typedef, *Pointer, *Array, *Func, *Qualified.
type Type interface {
	// TypeName is the C spelling: "struct task_struct", "unsigned int",
	// "pid_t", "char *", "int [16]"; "" for anonymous aggregates.
	TypeName() string
	// Size is the byte size; -1 when unknown (void, functions, incomplete
	// types, flexible arrays).
	Size() int64
	// Offset is the DIE's offset in .debug_info: a stable identity (for a
	// DIE of a DWARF 4 type unit, its .debug_types offset plus the size of
	// .debug_info; 0 for the void that stands for a missing DW_AT_type).
	Offset() uint64
	isType()
}

// Encoding classifies a base type.
type Encoding int

const (
	EncSigned Encoding = iota + 1
	EncUnsigned
	EncSignedChar
	EncUnsignedChar
	EncBool
	EncFloat
	EncComplexFloat
	EncUTF // char16_t, char32_t, char8_t
)

// Void is the C void type (a pointer to void, a function returning nothing).
type Void struct{ Off uint64 }

// Base is an integer, character, boolean or floating-point type.
type Base struct {
	Name     string
	ByteSize int64
	Encoding Encoding
	Off      uint64
}

// Kind tells a struct from a union (and from a class, for C++ inputs).
type Kind int

const (
	KindStruct Kind = iota + 1
	KindUnion
	KindClass
)

func (k Kind) String() string {
	switch k {
	case KindStruct:
		return "struct"
	case KindUnion:
		return "union"
	case KindClass:
		return "class"
	}
	return "aggregate?"
}

// Struct is a struct, union or class.
type Struct struct {
	Kind       Kind
	Name       string // tag without "struct "; "" if anonymous
	ByteSize   int64  // -1 when Incomplete
	Incomplete bool   // a declaration only (DW_AT_declaration) with no definition found
	Members    []Member
	Off        uint64
}

// Member is one member of a struct or union.
type Member struct {
	Name string // "" for an anonymous struct or union member
	Type Type
	// ByteOffset is the offset in bytes from the start of the aggregate that
	// declares this member. For a bitfield it is DataBitOffset/8 rounded
	// down to a multiple of the storage unit when DWARF gives one, else
	// DataBitOffset/8.
	ByteOffset int64
	// BitSize is non-zero for a bitfield.
	BitSize int64
	// DataBitOffset is, for a bitfield, the DWARF 5 meaning: bits from the
	// start of the declaring aggregate to the field's first bit in the
	// target's bit numbering, whichever DWARF version the file has (DWARF 2-4
	// DW_AT_bit_offset is converted using the target byte order). For a
	// non-bitfield it is ByteOffset*8.
	DataBitOffset int64
}

// IsBitfield reports whether m is a bitfield.
func (m *Member) IsBitfield() bool { return m.BitSize != 0 }

// Anonymous reports whether m is an anonymous struct or union member whose
// members C lets you name directly.
func (m *Member) Anonymous() bool {
	if m.Name != "" {
		return false
	}
	_, ok := Underlying(m.Type).(*Struct)
	return ok
}

// Enumerator is one value of an enum.
type Enumerator struct {
	Name  string
	Value int64 // as a signed value; use uint64(Value) for unsigned enums
}

// Enum is a C enum.
type Enum struct {
	Name       string // tag without "enum "; "" if anonymous
	ByteSize   int64
	Signed     bool // the underlying type is signed (DW_AT_type or values)
	Values     []Enumerator
	Incomplete bool
	Off        uint64
}

// Typedef is a typedef name.
type Typedef struct {
	Name string
	Type Type // what it names
	Off  uint64
}

// Pointer is a pointer type. Elem is *Void for void *.
type Pointer struct {
	Elem     Type
	ByteSize int64 // the target's pointer size unless DWARF says otherwise
	Off      uint64
}

// Array is a C array. Dims holds each dimension's element count outermost
// first: int a[2][3] has Dims [2 3] and Elem int. A count of 0 is a
// zero-length array ("int a[0]"); -1 is a flexible array member ("int a[]")
// or an unknown bound.
type Array struct {
	Elem Type
	Dims []int64
	Off  uint64
}

// Count returns the element count of the outermost dimension.
func (a *Array) Count() int64 { return a.Dims[0] }

// Func is a function type (what a function pointer points to).
type Func struct {
	Return   Type // *Void for void
	Params   []Type
	Variadic bool
	Off      uint64
}

// Qualified is a const and/or volatile (or restrict, atomic) qualified type.
type Qualified struct {
	Const, Volatile, Restrict, Atomic bool
	Type                              Type
	Off                               uint64
}

// Variable is a global variable with a static address.
type Variable struct {
	Name    string
	Type    Type
	Address uint64 // link-time address (DW_OP_addr), before any KASLR displacement
	Off     uint64
}

// Symbol is an ELF symbol-table entry.
type Symbol struct {
	Name  string
	Value uint64
	Size  uint64
	Type  elf.SymType
	Bind  elf.SymBind
}

// Underlying strips typedefs and qualifiers.
func Underlying(t Type) Type {
	for i := 0; i < 1000; i++ { // a bound, never a hang on a malformed cycle
		switch x := t.(type) {
		case *Typedef:
			t = x.Type
		case *Qualified:
			t = x.Type
		default:
			return t
		}
	}
	return t
}
