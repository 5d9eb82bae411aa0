// Package isf writes a kernel's types and symbols in Volatility 3's
// Intermediate Symbol Format (ISF, JSON; schema version FormatVersion),
// from any dwarfmodel.Source that can list its types: the DWARF of a
// vmlinux (dwarfmodel.File), a BTF file or the BTF in a dump's memory
// (btfmodel.File).
//
// Write streams the document: types are written one by one, sorted by
// name, each encoded on its own line, so the writer holds the list of names
// and the few thousand anonymous types it has to name, never the document.
// (The type source keeps what it decoded: dwarfmodel memoizes every type
// it decodes; that, not the writer, is most of the memory of a run.)
//
// The rules the output follows, and what an ISF written from BTF lacks,
// are in docs/isf.md.
package isf

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// FormatVersion is the ISF schema version written (metadata.format):
// volatility3/schemas/schema-6.2.0.json, the newest Volatility 3 reads
// (its loader takes a file of 6.x.y with a handler of 6.z.0, z >= x). The
// output also satisfies schema-6.3.0.json (producer name and x.y.z
// version required).
const FormatVersion = "6.2.0"

// ProducerName is metadata.producer.name.
const ProducerName = "kvmgen"

// ProducerVersion is metadata.producer.version (x.y.z, as schema 6.3.0
// requires).
var ProducerVersion = "0.1.0"

// Types is what Write reads types from: a Source that lists its types.
type Types interface {
	dwarfmodel.Source
	dwarfmodel.Lister
}

// Symbol is one entry of the kernel's symbol table.
type Symbol struct {
	Name string
	// Address is the link-time address (before any KASLR displacement):
	// Volatility finds the displacement itself.
	Address uint64
	// Global is true for a global (or weak) symbol: among several symbols
	// of one name, a global one is written (see Dedup).
	Global bool
}

// Source describes one input file in metadata.linux.types or .symbols.
type Source struct {
	// Kind is "dwarf", "symtab" or "system-map": the only kinds the schema
	// allows (see docs/isf.md for how BTF and kallsyms are recorded).
	Kind   string
	Name   string // base name of the file
	SHA256 string // lower-case hex; "" if not computed
}

// Options is what Write writes besides the types.
type Options struct {
	// Symbols is the kernel's symbol table; several entries of one name
	// are resolved by Dedup.
	Symbols []Symbol
	// Banner is the bytes of linux_banner including its terminating NUL,
	// written as the constant_data of the linux_banner symbol that
	// Volatility matches dumps by; nil when unknown.
	Banner []byte
	// TypeSources and SymbolSources fill metadata.linux.types and
	// metadata.linux.symbols.
	TypeSources, SymbolSources []Source
	// TypesFrom, when not "", is recorded as metadata.producer.types_from
	// (free text: "BTF in the dump paging.vmcore", ...): the schema has no
	// kind for BTF or kallsyms.
	TypesFrom string
	// Datetime, when not "", is metadata.producer.datetime (RFC 3339).
	Datetime string
}

// Stats counts what Write wrote.
type Stats struct {
	BaseTypes, UserTypes, Enums, Symbols int
	// AnonymousTypes counts the anonymous structs, unions and enums named
	// unnamed_<hash>; TypedSymbols the symbols written with a type other
	// than void.
	AnonymousTypes, TypedSymbols int
	// Incomplete counts the struct and union declarations with no
	// definition, left out as dwarf2json leaves them out.
	Incomplete int
	// Shadowed counts the names given to two different types (a struct
	// tag equal to a typedef name of an anonymous struct, ...): the first
	// in sorted TypeNames order is written.
	Shadowed int
	// Banner is true when linux_banner was written with constant_data.
	Banner bool
}

// Dedup returns syms sorted by name with one entry a name: a global one
// if there is one, else the one at the lowest address.
func Dedup(syms []Symbol) []Symbol {
	out := append([]Symbol(nil), syms...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Global != b.Global {
			return a.Global
		}
		return a.Address < b.Address
	})
	n := 0
	for i, s := range out {
		if s.Name == "" || (i > 0 && s.Name == out[i-1].Name) {
			continue
		}
		out[n] = s
		n++
	}
	return out[:n]
}

// writer is the state of one Write.
type writer struct {
	src    Types
	endian string
	ptr    int64
	w      *bufio.Writer
	err    error

	// base types seen: name -> *Base (nil for void)
	bases map[string]*dwarfmodel.Base
	// anonymous types: identity -> assigned name; and name -> type
	anonName map[dwarfmodel.Type]string
	anonType map[string]dwarfmodel.Type
	naming   map[dwarfmodel.Type]bool // cycle guard
	// collecting is true in the first pass: descriptors register what
	// they reach.
	collecting bool
	scratch    []byte
}

type named struct {
	name string
	t    dwarfmodel.Type // *Struct, or *Enum
}

// Write writes the ISF of src's types and opts' symbols to w.
func Write(w io.Writer, src Types, opts Options) (Stats, error) {
	var st Stats
	dm := src.DataModel()
	wr := &writer{
		src:      src,
		endian:   "little",
		ptr:      int64(dm.PtrSize),
		w:        bufio.NewWriterSize(w, 1<<16),
		bases:    map[string]*dwarfmodel.Base{},
		anonName: map[dwarfmodel.Type]string{},
		anonType: map[string]dwarfmodel.Type{},
		naming:   map[dwarfmodel.Type]bool{},
	}
	if dm.ByteOrder == binary.BigEndian {
		wr.endian = "big"
	}
	if wr.ptr == 0 {
		return st, errors.New("isf: the type source has no pointer size")
	}

	// Pass 1: the named structs, unions, enums and typedefs of anonymous
	// structs; the base types; the anonymous types every field and symbol
	// reaches (they must be named before anything is written).
	wr.collecting = true
	users := map[string]named{}
	enums := map[string]named{}
	for _, name := range src.TypeNames() {
		t, err := src.Type(name)
		if err != nil {
			return st, fmt.Errorf("isf: type %q: %w", name, err)
		}
		switch x := t.(type) {
		case *dwarfmodel.Struct:
			if x.Incomplete || x.ByteSize < 0 {
				st.Incomplete++
				continue
			}
			key := x.Name
			if key == "" {
				continue
			}
			if _, dup := users[key]; dup {
				st.Shadowed++
				continue
			}
			users[key] = named{key, x}
		case *dwarfmodel.Enum:
			if x.Incomplete || x.Name == "" {
				continue
			}
			if _, dup := enums[x.Name]; dup {
				st.Shadowed++
				continue
			}
			enums[x.Name] = named{x.Name, x}
		case *dwarfmodel.Typedef:
			// A typedef of a struct or union is a user type of the
			// typedef's name, as dwarf2json writes it (spinlock_t,
			// kernel_cap_t): Volatility's plugins know those names.
			if s, ok := x.Type.(*dwarfmodel.Struct); ok && !s.Incomplete && s.ByteSize >= 0 {
				if _, dup := users[x.Name]; dup {
					st.Shadowed++
					continue
				}
				users[x.Name] = named{x.Name, s}
			}
		case *dwarfmodel.Base:
			wr.bases[x.Name] = x
		}
	}
	for _, u := range users {
		wr.fields(u.t.(*dwarfmodel.Struct))
	}
	// Symbols, and the types of those the source has variables for.
	syms := Dedup(opts.Symbols)
	hasVar := map[string]bool{}
	for _, v := range src.VariableNames() {
		hasVar[v] = true
	}
	symType := map[string][]byte{}
	for _, s := range syms {
		if !hasVar[s.Name] {
			continue
		}
		v, err := src.Variable(s.Name)
		if err != nil || v.Type == nil {
			continue
		}
		if _, void := v.Type.(*dwarfmodel.Void); void {
			continue
		}
		symType[s.Name] = append([]byte(nil), wr.desc(nil, v.Type, 0)...)
	}
	// Anonymous types reach further anonymous types: name them all.
	for {
		n := len(wr.anonType)
		for _, t := range wr.anonSorted() {
			if s, ok := t.(*dwarfmodel.Struct); ok {
				wr.fields(s)
			}
		}
		if len(wr.anonType) == n {
			break
		}
	}
	for name, t := range wr.anonType {
		switch t.(type) {
		case *dwarfmodel.Struct:
			if _, dup := users[name]; !dup {
				users[name] = named{name, t}
			}
		case *dwarfmodel.Enum:
			if _, dup := enums[name]; !dup {
				enums[name] = named{name, t}
			}
		}
		st.AnonymousTypes++
	}
	wr.collecting = false

	// Pass 2: write.
	wr.str("{\n\"metadata\": ")
	wr.metadata(opts)
	wr.str(",\n\"base_types\": {")
	baseNames := make([]string, 0, len(wr.bases)+2)
	for n := range wr.bases {
		baseNames = append(baseNames, n)
	}
	if _, ok := wr.bases["void"]; !ok {
		baseNames = append(baseNames, "void")
	}
	if _, ok := wr.bases["pointer"]; !ok {
		baseNames = append(baseNames, "pointer")
	}
	sort.Strings(baseNames)
	for i, n := range baseNames {
		wr.sep(i)
		wr.key(n)
		wr.baseType(n)
		st.BaseTypes++
	}
	wr.str("\n},\n\"user_types\": {")
	for i, n := range sortedKeys(users) {
		wr.sep(i)
		wr.key(n)
		wr.userType(users[n].t.(*dwarfmodel.Struct))
		st.UserTypes++
		if wr.err != nil {
			return st, wr.err
		}
	}
	wr.str("\n},\n\"enums\": {")
	for i, n := range sortedKeys(enums) {
		wr.sep(i)
		wr.key(n)
		wr.enum(enums[n].t.(*dwarfmodel.Enum))
		st.Enums++
	}
	wr.str("\n},\n\"symbols\": {")
	for i, s := range syms {
		wr.sep(i)
		wr.key(s.Name)
		wr.str(`{"address":`)
		wr.str(strconv.FormatUint(s.Address, 10))
		wr.str(`,"type":`)
		if d, ok := symType[s.Name]; ok {
			wr.bytes(d)
			st.TypedSymbols++
		} else {
			wr.str(`{"kind":"base","name":"void"}`)
		}
		if s.Name == "linux_banner" && opts.Banner != nil {
			wr.str(`,"constant_data":"`)
			wr.str(base64.StdEncoding.EncodeToString(opts.Banner))
			wr.str(`"`)
			st.Banner = true
		}
		wr.str("}")
		st.Symbols++
	}
	wr.str("\n}\n}\n")
	if wr.err != nil {
		return st, wr.err
	}
	return st, wr.w.Flush()
}

func sortedKeys(m map[string]named) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (wr *writer) anonSorted() []dwarfmodel.Type {
	names := make([]string, 0, len(wr.anonType))
	for n := range wr.anonType {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]dwarfmodel.Type, len(names))
	for i, n := range names {
		out[i] = wr.anonType[n]
	}
	return out
}

func (wr *writer) str(s string) {
	if wr.err == nil {
		_, wr.err = wr.w.WriteString(s)
	}
}

func (wr *writer) bytes(b []byte) {
	if wr.err == nil {
		_, wr.err = wr.w.Write(b)
	}
}

func (wr *writer) sep(i int) {
	if i > 0 {
		wr.str(",\n")
	} else {
		wr.str("\n")
	}
}

func (wr *writer) key(k string) {
	wr.bytes(appendString(nil, k))
	wr.str(": ")
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	j, _ := json.Marshal(s)
	return append(b, j...)
}

func (wr *writer) metadata(opts Options) {
	type item struct {
		Kind      string `json:"kind"`
		Name      string `json:"name"`
		HashType  string `json:"hash_type,omitempty"`
		HashValue string `json:"hash_value,omitempty"`
	}
	items := func(ss []Source) []item {
		out := []item{}
		for _, s := range ss {
			it := item{Kind: s.Kind, Name: s.Name}
			if s.SHA256 != "" {
				it.HashType, it.HashValue = "sha256", s.SHA256
			}
			out = append(out, it)
		}
		return out
	}
	producer := map[string]string{"name": ProducerName, "version": ProducerVersion}
	if opts.TypesFrom != "" {
		producer["types_from"] = opts.TypesFrom
	}
	if opts.Datetime != "" {
		producer["datetime"] = opts.Datetime
	}
	linux := map[string][]item{}
	if len(opts.TypeSources) > 0 {
		linux["types"] = items(opts.TypeSources)
	}
	if len(opts.SymbolSources) > 0 {
		linux["symbols"] = items(opts.SymbolSources)
	}
	md := struct {
		Format   string            `json:"format"`
		Producer map[string]string `json:"producer"`
		Linux    map[string][]item `json:"linux"`
	}{FormatVersion, producer, linux}
	b, err := json.Marshal(md)
	if err != nil && wr.err == nil {
		wr.err = err
	}
	wr.bytes(b)
}

func (wr *writer) baseType(name string) {
	size, signed, kind := int64(0), false, "void"
	switch name {
	case "void":
	case "pointer":
		size, kind = wr.ptr, "int"
	default:
		b := wr.bases[name]
		if b == nil {
			break
		}
		size = b.ByteSize
		switch b.Encoding {
		case dwarfmodel.EncSigned:
			kind, signed = "int", true
		case dwarfmodel.EncSignedChar:
			kind, signed = "char", true
		case dwarfmodel.EncUnsignedChar:
			kind = "char"
		case dwarfmodel.EncBool:
			kind = "bool"
		case dwarfmodel.EncFloat, dwarfmodel.EncComplexFloat:
			kind, signed = "float", true
		default:
			kind = "int"
		}
	}
	wr.str(fmt.Sprintf(`{"size":%d,"signed":%t,"kind":%q,"endian":%q}`, size, signed, kind, wr.endian))
}

// fields walks s's members (pass 1): their descriptors register the base
// and anonymous types they reach.
func (wr *writer) fields(s *dwarfmodel.Struct) {
	for i := range s.Members {
		wr.scratch = wr.desc(wr.scratch[:0], s.Members[i].Type, 0)
	}
}

func (wr *writer) userType(s *dwarfmodel.Struct) {
	b := wr.scratch[:0]
	b = append(b, `{"kind":`...)
	b = appendString(b, s.Kind.String())
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, s.ByteSize, 10)
	b = append(b, `,"fields":{`...)
	b = wr.appendFields(b, s)
	b = append(b, "}}"...)
	wr.bytes(b)
	wr.scratch = b
}

// appendFields appends s's fields, without the braces.
func (wr *writer) appendFields(b []byte, s *dwarfmodel.Struct) []byte {
	unnamed := 0
	for i := range s.Members {
		m := &s.Members[i]
		if i > 0 {
			b = append(b, ',')
		}
		name := m.Name
		if name == "" {
			name = fmt.Sprintf("unnamed_field_%x", unnamed)
			unnamed++
		}
		b = appendString(b, name)
		b = append(b, `:{"type":`...)
		off := m.ByteOffset
		if m.IsBitfield() {
			var pos int64
			off, pos = wr.bitfield(m)
			b = append(b, `{"kind":"bitfield","bit_position":`...)
			b = strconv.AppendInt(b, pos, 10)
			b = append(b, `,"bit_length":`...)
			b = strconv.AppendInt(b, m.BitSize, 10)
			b = append(b, `,"type":`...)
			b = wr.desc(b, m.Type, 0)
			b = append(b, '}')
		} else {
			b = wr.desc(b, m.Type, 0)
		}
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, off, 10)
		if m.Anonymous() {
			b = append(b, `,"anonymous":true`...)
		}
		b = append(b, '}')
	}
	return b
}

// bitfield returns the byte offset Volatility reads the bitfield's type
// at and the position of its lowest bit in the value read. Little-endian
// (dwarf2json's rule): the byte holding the field's first bit, and the
// bit in that byte. Big-endian: the same byte, the position counted from
// the least significant bit of the value of the field's type's size read
// there.
func (wr *writer) bitfield(m *dwarfmodel.Member) (off, pos int64) {
	off, pos = m.DataBitOffset/8, m.DataBitOffset%8
	if wr.endian == "big" {
		size := m.Type.Size()
		if size <= 0 {
			size = (pos + m.BitSize + 7) / 8
		}
		pos = size*8 - pos - m.BitSize
	}
	return off, pos
}

func (wr *writer) enum(e *dwarfmodel.Enum) {
	size := e.ByteSize
	if size < 0 {
		size = 0
	}
	b := wr.scratch[:0]
	b = append(b, `{"size":`...)
	b = strconv.AppendInt(b, size, 10)
	b = append(b, `,"base":`...)
	b = appendString(b, wr.enumBase(size, enumSigned(e)))
	b = append(b, `,"constants":{`...)
	b = appendConstants(b, e)
	b = append(b, "}}"...)
	wr.bytes(b)
	wr.scratch = b
}

// enumSigned: an enum is written signed when a value is negative (as
// dwarf2json decides, and as both DWARF and BTF can tell).
func enumSigned(e *dwarfmodel.Enum) bool {
	if !e.Signed {
		return false
	}
	for _, v := range e.Values {
		if v.Value < 0 {
			return true
		}
	}
	return false
}

func appendConstants(b []byte, e *dwarfmodel.Enum) []byte {
	vs := append([]dwarfmodel.Enumerator(nil), e.Values...)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	for i, v := range vs {
		if i > 0 && v.Name == vs[i-1].Name {
			continue
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v.Name)
		b = append(b, ':')
		if e.Signed {
			b = strconv.AppendInt(b, v.Value, 10)
		} else {
			b = strconv.AppendUint(b, uint64(v.Value), 10)
		}
	}
	return b
}

// enumBase picks the base type an enum reads as: the first, by name, of
// the integer base types of its size and signedness (as dwarf2json picks),
// else a character type of them, else "void".
func (wr *writer) enumBase(size int64, signed bool) string {
	names := make([]string, 0, len(wr.bases))
	for n := range wr.bases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, enc := range [][2]dwarfmodel.Encoding{{dwarfmodel.EncSigned, dwarfmodel.EncUnsigned}, {dwarfmodel.EncSignedChar, dwarfmodel.EncUnsignedChar}} {
		want := enc[1]
		if signed {
			want = enc[0]
		}
		for _, n := range names {
			if b := wr.bases[n]; b != nil && b.ByteSize == size && b.Encoding == want {
				return n
			}
		}
	}
	return "void"
}

// desc appends the ISF type descriptor of t. In pass 1 it registers the
// base and anonymous types it reaches.
func (wr *writer) desc(b []byte, t dwarfmodel.Type, depth int) []byte {
	if depth > 64 {
		return append(b, `{"kind":"base","name":"void"}`...)
	}
	switch x := t.(type) {
	case nil, *dwarfmodel.Void:
		return append(b, `{"kind":"base","name":"void"}`...)
	case *dwarfmodel.Base:
		if wr.collecting {
			if _, ok := wr.bases[x.Name]; !ok {
				wr.bases[x.Name] = x
			}
		}
		b = append(b, `{"kind":"base","name":`...)
		b = appendString(b, x.Name)
		return append(b, '}')
	case *dwarfmodel.Struct:
		b = append(b, `{"kind":`...)
		b = appendString(b, x.Kind.String())
		b = append(b, `,"name":`...)
		b = appendString(b, wr.structName(x))
		return append(b, '}')
	case *dwarfmodel.Enum:
		name := x.Name
		if name == "" {
			name = wr.anon(x)
		}
		b = append(b, `{"kind":"enum","name":`...)
		b = appendString(b, name)
		return append(b, '}')
	case *dwarfmodel.Typedef:
		if s, ok := x.Type.(*dwarfmodel.Struct); ok {
			b = append(b, `{"kind":`...)
			b = appendString(b, s.Kind.String())
			b = append(b, `,"name":`...)
			b = appendString(b, x.Name)
			return append(b, '}')
		}
		return wr.desc(b, x.Type, depth+1)
	case *dwarfmodel.Qualified:
		return wr.desc(b, x.Type, depth+1)
	case *dwarfmodel.Pointer:
		b = append(b, `{"kind":"pointer","subtype":`...)
		b = wr.desc(b, x.Elem, depth+1)
		return append(b, '}')
	case *dwarfmodel.Array:
		return wr.array(b, x.Dims, x.Elem, depth)
	case *dwarfmodel.Func:
		return append(b, `{"kind":"function"}`...)
	}
	return append(b, `{"kind":"base","name":"void"}`...)
}

func (wr *writer) array(b []byte, dims []int64, elem dwarfmodel.Type, depth int) []byte {
	if len(dims) == 0 {
		return wr.desc(b, elem, depth+1)
	}
	n := dims[0]
	if n < 0 {
		n = 0 // a flexible array: dwarf2json's count
	}
	b = append(b, `{"kind":"array","count":`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `,"subtype":`...)
	b = wr.array(b, dims[1:], elem, depth+1)
	return append(b, '}')
}

func (wr *writer) structName(s *dwarfmodel.Struct) string {
	if s.Name != "" {
		return s.Name
	}
	return wr.anon(s)
}

// anon names an anonymous struct, union or enum "unnamed_" and 16 hex
// digits, as dwarf2json does: here the digits are the first 8 bytes of
// the SHA-1 of the type's ISF definition (kind, size, and each field's
// name, offset and type descriptor; an enum's size and constants), so
// two anonymous types of the same layout share a name, and the DWARF and
// the BTF of one kernel give a type the same name when they describe it
// the same.
func (wr *writer) anon(t dwarfmodel.Type) string {
	if n, ok := wr.anonName[t]; ok {
		return n
	}
	if wr.naming[t] {
		// A cycle through anonymous types only (not possible in C):
		// name by identity.
		return fmt.Sprintf("unnamed_%016x", t.Offset())
	}
	wr.naming[t] = true
	var def []byte
	switch x := t.(type) {
	case *dwarfmodel.Struct:
		def = append(def, x.Kind.String()...)
		def = strconv.AppendInt(append(def, ' '), x.ByteSize, 10)
		def = append(def, '{')
		def = wr.appendFields(def, x)
		def = append(def, '}')
	case *dwarfmodel.Enum:
		def = append(def, "enum "...)
		def = strconv.AppendInt(def, x.ByteSize, 10)
		def = append(def, '{')
		def = appendConstants(def, x)
		def = append(def, '}')
	}
	delete(wr.naming, t)
	sum := sha1.Sum(def)
	name := fmt.Sprintf("unnamed_%x", sum[:8])
	wr.anonName[t] = name
	if wr.collecting {
		if _, ok := wr.anonType[name]; !ok {
			wr.anonType[name] = t
		}
	}
	return name
}
