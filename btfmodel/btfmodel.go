// Package btfmodel reads a kernel's types from its BTF (BPF Type Format)
// into the same typed model as package dwarfmodel, so that everything that
// reads types through dwarfmodel.Source (the generator, the process
// interface, `kvmgen layout`) works on a kernel that ships no DWARF.
//
// BTF comes from three places: a raw file (/sys/kernel/btf/vmlinux), the
// .BTF section of an ELF image, or the kernel's own memory, where the
// section lies between the symbols __start_BTF and __stop_BTF (FromMemory).
// Decoding is cilium/ebpf's btf package; this package maps its types onto
// dwarfmodel's.
//
// BTF says less than DWARF; see docs/btf.md for the list. In short: it has
// no types for most global variables (only per-CPU ones), so Variable
// answers from a small table of globals (globals.txt); it does not tell a
// flexible array member ("int a[]") from a zero-length one ("int a[0]");
// it has no macros or line information.
package btfmodel

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// Options give what BTF itself does not record.
type Options struct {
	// Arch and Machine name the target's architecture ("x86_64",
	// elf.EM_X86_64). BTF does not record it: an ELF image gives it; for raw
	// BTF the caller should (a dump's architecture, or the host's for
	// /sys/kernel/btf/vmlinux). Empty means unknown.
	Arch    string
	Machine elf.Machine
	// PtrSize overrides the pointer size, which is otherwise the size of
	// BTF's "long unsigned int" (as in every Linux data model).
	PtrSize int
	// BuildID is the kernel's build ID when known (BTF has none).
	BuildID string
	// Symbol returns a global's link-time address, for Variable. Nil leaves
	// addresses 0.
	Symbol func(name string) (uint64, bool)
	// Name is how messages name the BTF's origin ("/sys/kernel/btf/vmlinux",
	// "BTF in the dump at 0x...").
	Name string
}

// File is a kernel's BTF as a dwarfmodel.Source. It is safe for concurrent
// use.
type File struct {
	spec *btf.Spec
	dm   dwarfmodel.DataModel
	opts Options
	size int64

	mu      sync.Mutex
	extra   map[string]string  // AddGlobal
	raw     []byte             // the BTF bytes, when read whole
	rawMem  *memReaderAt       // where they are in a target's memory (Raw reads them on demand)
	modules []moduleFile       // AddModule, in order
	modLoad func() []ModuleBTF // LoadModulesWith: run once, when a type is not the kernel's
	modOnce sync.Once
	conv    map[btf.Type]dwarfmodel.Type
	ids     map[btf.Type]btf.TypeID
	byName  map[string][]btf.Type
	tnames  []string
	ntypes  int
}

// FormatError is returned for BTF that cannot be decoded: Name is the
// origin, Off the byte offset in it where known (-1 otherwise).
type FormatError struct {
	Name string
	Off  int64
	Msg  string
	Err  error
}

func (e *FormatError) Error() string {
	s := e.Name + ": "
	if e.Off >= 0 {
		s += fmt.Sprintf("offset %#x: ", e.Off)
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

// ErrNoBTF is wrapped by errors for an ELF file that has no .BTF section.
var ErrNoBTF = errors.New("no BTF")

const btfMagic = 0xeb9f

// maxBTF bounds the BTF read from a file or from memory: the 6.1 and 6.12
// cloud kernels carry 4-6 MB, allmodconfig kernels about 30 MB.
const maxBTF = 256 << 20

// Open reads BTF from a file: raw BTF (/sys/kernel/btf/vmlinux) or an ELF
// image with a .BTF section (vmlinux). For an ELF image the data model
// comes from its header and the build ID from its notes.
func Open(name string) (*File, error) {
	return OpenWith(name, Options{})
}

// OpenWith is Open with options; those the file records override them.
func OpenWith(name string, opts Options) (*File, error) {
	if opts.Name == "" {
		opts.Name = name
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() && !strings.HasPrefix(name, "/sys/") {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	var magic [4]byte
	if n, _ := f.ReadAt(magic[:], 0); n == 4 && string(magic[:]) == elf.ELFMAG {
		return newFromELF(f, opts) // copies .BTF out; the file may close
	}
	// Raw BTF (/sys/kernel/btf files report no true size): read whole, bounded.
	b, err := io.ReadAll(io.LimitReader(f, maxBTF+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > maxBTF {
		return nil, &FormatError{Name: name, Off: -1, Msg: fmt.Sprintf("larger than %d bytes", maxBTF)}
	}
	bf, err := NewFile(bytes.NewReader(b), opts)
	if err != nil {
		return nil, err
	}
	bf.raw = b
	return bf, nil
}

// NewFile reads raw BTF or an ELF image with .BTF from r.
func NewFile(r io.ReaderAt, opts Options) (*File, error) {
	if opts.Name == "" {
		opts.Name = "BTF input"
	}
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return nil, &FormatError{Name: opts.Name, Off: 0, Msg: "expected BTF (magic 0xeb9f) or an ELF image", Err: err}
	}
	switch {
	case string(magic[:]) == elf.ELFMAG:
		return newFromELF(r, opts)
	case binary.LittleEndian.Uint16(magic[:]) == btfMagic:
		return newRaw(r, binary.LittleEndian, opts)
	case binary.BigEndian.Uint16(magic[:]) == btfMagic:
		return newRaw(r, binary.BigEndian, opts)
	}
	return nil, &FormatError{Name: opts.Name, Off: 0, Msg: fmt.Sprintf("expected BTF (magic 0xeb9f) or an ELF image, found %q", magic[:])}
}

func newFromELF(r io.ReaderAt, opts Options) (f *File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, &FormatError{Name: opts.Name, Off: -1, Msg: fmt.Sprintf("malformed ELF (%v)", p)}
		}
	}()
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, &FormatError{Name: opts.Name, Off: -1, Msg: "reading the ELF header", Err: err}
	}
	s := ef.Section(".BTF")
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil, &FormatError{Name: opts.Name, Off: -1, Msg: "the ELF image has no .BTF section (a kernel built without CONFIG_DEBUG_INFO_BTF)", Err: ErrNoBTF}
	}
	if s.Size > maxBTF {
		return nil, &FormatError{Name: opts.Name, Off: int64(s.Offset), Msg: fmt.Sprintf(".BTF is %d bytes, more than the limit of %d", s.Size, maxBTF)}
	}
	b := make([]byte, s.Size)
	if _, err := s.ReadAt(b, 0); err != nil {
		return nil, &FormatError{Name: opts.Name, Off: int64(s.Offset), Msg: "reading .BTF", Err: err}
	}
	o := opts
	if o.Arch == "" {
		o.Arch = dwarfmodel.ArchName(ef.Machine, ef.Class, ef.ByteOrder)
		o.Machine = ef.Machine
	}
	if o.PtrSize == 0 {
		o.PtrSize = 4
		if ef.Class == elf.ELFCLASS64 {
			o.PtrSize = 8
		}
	}
	if o.BuildID == "" {
		o.BuildID = elfBuildID(ef)
	}
	if o.Symbol == nil {
		// The image's own symbol table gives Variable its link-time
		// addresses.
		if syms, err := ef.Symbols(); err == nil && len(syms) < 1<<24 {
			m := make(map[string]uint64, len(syms))
			for _, s := range syms {
				if s.Section == elf.SHN_UNDEF || s.Name == "" {
					continue
				}
				if _, ok := m[s.Name]; !ok || elf.ST_BIND(s.Info) != elf.STB_LOCAL {
					m[s.Name] = s.Value
				}
			}
			o.Symbol = func(name string) (uint64, bool) { v, ok := m[name]; return v, ok }
		}
	}
	bf, err := newRaw(bytes.NewReader(b), ef.ByteOrder, o)
	if err == nil {
		bf.raw = b
	}
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) && fe.Off >= 0 {
			fe.Off += int64(s.Offset) // a file offset, not one in the section
		}
		return nil, err
	}
	return bf, nil
}

func newRaw(r io.ReaderAt, bo binary.ByteOrder, opts Options) (f *File, err error) {
	// The header: magic u16, version u8, flags u8, hdr_len u32, type_off,
	// type_len, str_off, str_len (u32 each, after hdr_len).
	var hdr [24]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, &FormatError{Name: opts.Name, Off: 0, Msg: "truncated BTF header (24 bytes expected)", Err: err}
	}
	if v := hdr[2]; v != 1 {
		return nil, &FormatError{Name: opts.Name, Off: 2, Msg: fmt.Sprintf("BTF version %d, expected 1", v)}
	}
	hdrLen := int64(bo.Uint32(hdr[4:]))
	typeOff, typeLen := int64(bo.Uint32(hdr[8:])), int64(bo.Uint32(hdr[12:]))
	strOff, strLen := int64(bo.Uint32(hdr[16:])), int64(bo.Uint32(hdr[20:]))
	size := hdrLen + max(typeOff+typeLen, strOff+strLen)
	if hdrLen < 24 || size > maxBTF {
		return nil, &FormatError{Name: opts.Name, Off: 4, Msg: fmt.Sprintf("BTF header: header %d bytes, types at %#x+%#x, strings at %#x+%#x: out of bounds", hdrLen, typeOff, typeLen, strOff, strLen)}
	}
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, &FormatError{Name: opts.Name, Off: -1, Msg: fmt.Sprintf("malformed BTF (%v)", p)}
		}
	}()
	spec, err := btf.LoadSpecFromReader(newELFWrap(r, size, bo))
	if err != nil {
		return nil, &FormatError{Name: opts.Name, Off: -1, Msg: "decoding BTF", Err: err}
	}
	f = &File{spec: spec, opts: opts, size: size,
		conv: map[btf.Type]dwarfmodel.Type{}, ids: map[btf.Type]btf.TypeID{}, byName: map[string][]btf.Type{}}
	f.dm = dwarfmodel.DataModel{Arch: opts.Arch, Machine: opts.Machine, ByteOrder: bo, PtrSize: opts.PtrSize}
	if f.dm.PtrSize == 0 {
		f.dm.PtrSize = 8
		if ul, err := f.Type("long unsigned int"); err == nil && (ul.Size() == 4 || ul.Size() == 8) {
			f.dm.PtrSize = int(ul.Size())
		}
	}
	f.dm.Class = elf.ELFCLASS64
	if f.dm.PtrSize == 4 {
		f.dm.Class = elf.ELFCLASS32
	}
	if f.dm.Arch == "" {
		f.dm.Arch = "unknown"
	}
	return f, nil
}

// Spec is the decoded BTF, for callers that need cilium/ebpf's own view.
func (f *File) Spec() *btf.Spec { return f.spec }

// DataModel is the target's data model.
func (f *File) DataModel() dwarfmodel.DataModel { return f.dm }

// BuildID is the build ID given in Options or found in the ELF image.
func (f *File) BuildID() string { return f.opts.BuildID }

// Name is the BTF's origin, as messages name it.
func (f *File) Name() string { return f.opts.Name }

// Size is the BTF's size in bytes.
func (f *File) Size() int64 { return f.size }

// Close releases nothing today; it makes *File a drop-in for *dwarfmodel.File.
func (f *File) Close() error { return nil }

// Describe says where the types come from.
func (f *File) Describe() string {
	s := fmt.Sprintf("BTF in %s (%d bytes, %d types)", f.opts.Name, f.size, f.NumTypes())
	if mods := f.Modules(); len(mods) > 0 {
		s += fmt.Sprintf(", and the split BTF of %d modules (%s)", len(mods), strings.Join(mods, ", "))
	}
	return s
}

// NumTypes counts the BTF's types (decoding them all once).
func (f *File) NumTypes() int {
	f.TypeNames()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ntypes
}

// candidates returns the BTF types named bare, in type-ID order.
func (f *File) candidates(bare string) []btf.Type {
	f.mu.Lock()
	if ts, ok := f.byName[bare]; ok {
		f.mu.Unlock()
		return ts
	}
	f.mu.Unlock()
	ts, err := f.spec.AnyTypesByName(bare)
	if err != nil {
		ts = nil
	}
	f.mu.Lock()
	f.byName[bare] = ts
	f.mu.Unlock()
	return ts
}

// Type returns a named type: "task_struct" (a struct, union, enum,
// typedef or base type of that name, in that order), "struct pid",
// "union thread_union", "enum pid_type", "unsigned int". When several
// definitions share a name, the first complete one in the BTF wins.
func (f *File) Type(name string) (dwarfmodel.Type, error) {
	name = strings.Join(strings.Fields(name), " ")
	if name == "void" {
		return &dwarfmodel.Void{}, nil
	}
	kinds := []string{"struct", "union", "enum", "typedef", "base"}
	bare := name
	for _, k := range []string{"struct", "union", "enum"} {
		if strings.HasPrefix(name, k+" ") {
			kinds, bare = []string{k}, name[len(k)+1:]
		}
	}
	cands := f.candidates(bare)
	for _, k := range kinds {
		var fwd btf.Type
		for _, t := range cands {
			switch x := t.(type) {
			case *btf.Struct:
				if k == "struct" {
					return f.convert(x)
				}
			case *btf.Union:
				if k == "union" {
					return f.convert(x)
				}
			case *btf.Enum:
				if k == "enum" {
					if x.Size == 0 && len(x.Values) == 0 {
						fwd = x
						continue
					}
					return f.convert(x)
				}
			case *btf.Typedef:
				if k == "typedef" {
					return f.convert(x)
				}
			case *btf.Int, *btf.Float:
				if k == "base" {
					return f.convert(x)
				}
			case *btf.Fwd:
				if (k == "struct" && x.Kind == btf.FwdStruct) || (k == "union" && x.Kind == btf.FwdUnion) {
					fwd = x
				}
			}
		}
		if fwd != nil {
			return f.convert(fwd)
		}
	}
	f.loadModules()
	f.mu.Lock()
	mods := f.modules
	f.mu.Unlock()
	for _, m := range mods {
		if t, err := m.f.Type(name); err == nil {
			return t, nil
		}
	}
	return nil, &dwarfmodel.NotFoundError{File: f.opts.Name, Kind: "type", Name: name, Suggestions: dwarfmodel.Suggest(name, f.TypeNames())}
}

// TypeNames returns every named struct, union, enum, typedef and base type,
// sorted, spelled as Type accepts them.
func (f *File) TypeNames() []string {
	f.mu.Lock()
	if f.tnames != nil {
		defer f.mu.Unlock()
		return append([]string(nil), f.tnames...)
	}
	f.mu.Unlock()
	seen := map[string]bool{}
	var names []string
	n := 0
	for t, err := range f.spec.All() {
		if err != nil {
			break
		}
		n++
		var s string
		switch x := t.(type) {
		case *btf.Struct:
			s = "struct " + x.Name
		case *btf.Union:
			s = "union " + x.Name
		case *btf.Enum:
			s = "enum " + x.Name
		case *btf.Fwd:
			s = x.Kind.String() + " " + x.Name
		case *btf.Typedef, *btf.Int, *btf.Float:
			s = t.TypeName()
		}
		if t.TypeName() == "" || s == "" || seen[s] {
			continue
		}
		seen[s] = true
		names = append(names, s)
	}
	sort.Strings(names)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tnames, f.ntypes = names, n
	return append([]string(nil), names...)
}

// typeID is a stable identity for a converted type: its BTF type ID.
func (f *File) typeID(t btf.Type) uint64 {
	if id, ok := f.ids[t]; ok {
		return uint64(id)
	}
	id, err := f.spec.TypeID(t)
	if err != nil {
		return 0
	}
	f.ids[t] = id
	return uint64(id)
}

// maxDepth bounds the recursion of convert over BTF that nests types
// (pointers, arrays, typedefs) deeper than any real kernel.
const maxDepth = 4096

// convert maps a BTF type (and what it refers to) onto dwarfmodel's model.
func (f *File) convert(t btf.Type) (dwarfmodel.Type, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	out := f.conv1(t, 0, &err)
	return out, err
}

func (f *File) conv1(t btf.Type, depth int, errp *error) dwarfmodel.Type {
	if t == nil {
		return &dwarfmodel.Void{}
	}
	if c, ok := f.conv[t]; ok {
		return c
	}
	if depth > maxDepth {
		if *errp == nil {
			*errp = &FormatError{Name: f.opts.Name, Off: -1, Msg: fmt.Sprintf("type %d nests more than %d deep", f.typeID(t), maxDepth)}
		}
		return &dwarfmodel.Void{}
	}
	off := f.typeID(t)
	switch x := t.(type) {
	case *btf.Void:
		return &dwarfmodel.Void{Off: off}
	case *btf.Int:
		b := &dwarfmodel.Base{Name: x.Name, ByteSize: int64(x.Size), Off: off}
		switch {
		case x.Encoding&btf.Bool != 0:
			b.Encoding = dwarfmodel.EncBool
		case x.Encoding&btf.Char != 0 || (x.Size == 1 && strings.Contains(x.Name, "char")):
			b.Encoding = dwarfmodel.EncUnsignedChar
			if x.Encoding&btf.Signed != 0 { // pahole keeps DWARF's signedness
				b.Encoding = dwarfmodel.EncSignedChar
			}
		case x.Encoding&btf.Signed != 0:
			b.Encoding = dwarfmodel.EncSigned
		default:
			b.Encoding = dwarfmodel.EncUnsigned
		}
		f.conv[t] = b
		return b
	case *btf.Float:
		b := &dwarfmodel.Base{Name: x.Name, ByteSize: int64(x.Size), Encoding: dwarfmodel.EncFloat, Off: off}
		f.conv[t] = b
		return b
	case *btf.Pointer:
		p := &dwarfmodel.Pointer{ByteSize: int64(f.ptrSize()), Off: off}
		f.conv[t] = p
		p.Elem = f.conv1(x.Target, depth+1, errp)
		return p
	case *btf.Array:
		a := &dwarfmodel.Array{Off: off, Dims: []int64{int64(x.Nelems)}}
		f.conv[t] = a
		// int a[2][3] is an array of arrays in BTF and one array with two
		// dimensions in DWARF: fold directly nested arrays.
		elem := x.Type
		for i := 0; i < 64; i++ {
			inner, ok := elem.(*btf.Array)
			if !ok {
				break
			}
			a.Dims = append(a.Dims, int64(inner.Nelems))
			elem = inner.Type
		}
		a.Elem = f.conv1(elem, depth+1, errp)
		return a
	case *btf.Struct:
		s := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: x.Name, ByteSize: int64(x.Size), Off: off}
		f.conv[t] = s
		s.Members = f.members(x.Members, depth, errp)
		return s
	case *btf.Union:
		s := &dwarfmodel.Struct{Kind: dwarfmodel.KindUnion, Name: x.Name, ByteSize: int64(x.Size), Off: off}
		f.conv[t] = s
		s.Members = f.members(x.Members, depth, errp)
		return s
	case *btf.Fwd:
		if x.Kind == btf.FwdUnion {
			s := &dwarfmodel.Struct{Kind: dwarfmodel.KindUnion, Name: x.Name, ByteSize: -1, Incomplete: true, Off: off}
			f.conv[t] = s
			return s
		}
		s := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: x.Name, ByteSize: -1, Incomplete: true, Off: off}
		f.conv[t] = s
		return s
	case *btf.Enum:
		e := &dwarfmodel.Enum{Name: x.Name, ByteSize: int64(x.Size), Signed: x.Signed, Off: off}
		if x.Size == 0 && len(x.Values) == 0 {
			e.Incomplete = true
		}
		for _, v := range x.Values {
			val := int64(v.Value)
			if x.Signed && x.Size > 0 && x.Size < 8 {
				sh := 64 - 8*x.Size
				val = int64(v.Value<<sh) >> sh
			}
			e.Values = append(e.Values, dwarfmodel.Enumerator{Name: v.Name, Value: val})
		}
		f.conv[t] = e
		return e
	case *btf.Typedef:
		td := &dwarfmodel.Typedef{Name: x.Name, Off: off}
		f.conv[t] = td
		td.Type = f.conv1(x.Type, depth+1, errp)
		return td
	case *btf.Const:
		q := &dwarfmodel.Qualified{Const: true, Off: off}
		f.conv[t] = q
		q.Type = f.conv1(x.Type, depth+1, errp)
		return q
	case *btf.Volatile:
		q := &dwarfmodel.Qualified{Volatile: true, Off: off}
		f.conv[t] = q
		q.Type = f.conv1(x.Type, depth+1, errp)
		return q
	case *btf.Restrict:
		q := &dwarfmodel.Qualified{Restrict: true, Off: off}
		f.conv[t] = q
		q.Type = f.conv1(x.Type, depth+1, errp)
		return q
	case *btf.TypeTag:
		// An annotation (__user, __rcu, __percpu): the type it tags.
		c := f.conv1(x.Type, depth+1, errp)
		f.conv[t] = c
		return c
	case *btf.FuncProto:
		fn := &dwarfmodel.Func{Off: off}
		f.conv[t] = fn
		fn.Return = f.conv1(x.Return, depth+1, errp)
		for i, p := range x.Params {
			if _, void := p.Type.(*btf.Void); void && i == len(x.Params)-1 && p.Name == "" {
				fn.Variadic = true // BTF spells "..." as a last unnamed void parameter
				continue
			}
			fn.Params = append(fn.Params, f.conv1(p.Type, depth+1, errp))
		}
		return fn
	case *btf.Func:
		return f.conv1(x.Type, depth+1, errp)
	case *btf.Var:
		return f.conv1(x.Type, depth+1, errp)
	}
	return &dwarfmodel.Void{Off: off}
}

func (f *File) members(ms []btf.Member, depth int, errp *error) []dwarfmodel.Member {
	out := make([]dwarfmodel.Member, 0, len(ms))
	for _, m := range ms {
		dm := dwarfmodel.Member{
			Name:          m.Name,
			DataBitOffset: int64(m.Offset),
			ByteOffset:    int64(m.Offset) / 8,
			BitSize:       int64(m.BitfieldSize),
		}
		dm.Type = f.conv1(m.Type, depth+1, errp)
		if dm.BitSize != 0 {
			// The storage unit holding the first bit, as dwarfmodel (and
			// pahole) report a bitfield's byte offset.
			if ts := dm.Type.Size(); ts > 0 {
				dm.ByteOffset = dm.DataBitOffset / (ts * 8) * ts
			}
		}
		out = append(out, dm)
	}
	// BTF spells a flexible array member "T a[]" as "T a[0]". A trailing
	// zero-length array is read as one (both mean "what follows the
	// struct" in the kernel); a zero-length array elsewhere stays [0].
	if n := len(out); n > 0 && !out[n-1].IsBitfield() {
		out[n-1].Type = flexible(out[n-1].Type)
	}
	return out
}

// flexible turns T [0] (under any qualifiers) into T [].
func flexible(t dwarfmodel.Type) dwarfmodel.Type {
	switch x := t.(type) {
	case *dwarfmodel.Array:
		if len(x.Dims) == 1 && x.Dims[0] == 0 {
			flex := *x
			flex.Dims = []int64{-1}
			return &flex
		}
	case *dwarfmodel.Qualified:
		if in := flexible(x.Type); in != x.Type {
			q := *x
			q.Type = in
			return &q
		}
	}
	return t
}

func (f *File) ptrSize() int {
	if f.dm.PtrSize != 0 {
		return f.dm.PtrSize
	}
	if f.opts.PtrSize != 0 {
		return f.opts.PtrSize
	}
	return 8 // only while the data model is being worked out
}

// elfBuildID returns the GNU build ID note of an ELF file.
func elfBuildID(ef *elf.File) string {
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOTE || s.Size > 1<<20 {
			continue
		}
		b, err := s.Data()
		if err != nil {
			continue
		}
		if id := dwarfmodel.NoteBuildID(b, ef.ByteOrder); id != "" {
			return id
		}
	}
	return ""
}
