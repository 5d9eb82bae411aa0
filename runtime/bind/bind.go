package bind

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	kvm "github.com/kvmgen/kvmgen/runtime"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// This file is the run-time half of generated bindings (docs/generated-code.md):
// the layout table a binding reads member offsets from (Spec, Binding), the
// snapshot every generated view type embeds (View), the generic typed
// pointer (Ptr) and the decoders the generated accessors call.

// Kind is how a member's value is decoded: what the generator chose for it,
// and what a target's member must still be to be read the same way.
type Kind uint8

const (
	KindInt     Kind = iota + 1 // signed integers and enums (any width)
	KindUint                    // unsigned integers and enums, _Bool (any width)
	KindFloat                   // float, double (same size required)
	KindComplex                 // _Complex float, _Complex double (same size required)
	KindPtr                     // any pointer
	KindStruct                  // a struct or union by value
	KindBytes                   // anything else (long double, __int128): same size required
)

func (k Kind) String() string {
	switch k {
	case KindInt:
		return "signed integer"
	case KindUint:
		return "unsigned integer"
	case KindFloat:
		return "floating-point"
	case KindComplex:
		return "complex"
	case KindPtr:
		return "pointer"
	case KindStruct:
		return "struct or union"
	case KindBytes:
		return "opaque bytes"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Spec is the layout a binding was generated with: the data model, and
// every aggregate and member its accessors read. Generated code holds one
// (a package variable) and passes it to New.
type Spec struct {
	Package   string // Go package of the bindings, for messages
	BuildID   string // build ID of the kernel the bindings were generated from
	Arch      string // as dwarfmodel.DataModel.Arch
	PtrSize   int
	BigEndian bool
	// Relocatable says the accessors read offsets from the Binding's
	// table, so that the binding may be resolved against another kernel's
	// types. Fixed bindings compiled the generation-time offsets in and
	// bind only to their own kernel.
	Relocatable bool
	// Neutral says every accessor takes its sizes and offsets from the
	// table (no generation-time size is compiled in): relocated from the
	// target's own types, the bindings read a kernel of any architecture,
	// pointer size and byte order. The generator sets it for relocatable
	// bindings whose globals are all aggregates or pointers.
	Neutral bool
	Types   []TypeSpec

	fixed       atomic.Pointer[table]  // the generation-time table, built once
	fingerprint atomic.Pointer[string] // Fingerprint, computed once
}

// table is a layout table: sizes and first field of each type, fields.
type table struct {
	sizes  []int64
	first  []int32
	fields []Field
}

// TypeSpec is one generated aggregate. It is found in a target's types by
// Name (as dwarfmodel.Source.Type accepts it), or, for an anonymous
// aggregate, as the type of variable Var or of member Path of the
// aggregate Types[Parent]. An Opaque type is only pointed to: the bindings
// read none of it (typed pointers to it keep its identity), so it is not
// looked up.
type TypeSpec struct {
	C      string // how messages name it: "struct task_struct"
	Name   string
	Var    string
	Parent int // index in Spec.Types, or -1
	Path   string
	Size   int64 // generation-time size
	Opaque bool
	Fields []FieldSpec
}

// FieldSpec is one member a binding reads, with its generation-time
// layout. Generated code builds them with M, BF and Arr (and Or).
type FieldSpec struct {
	// Name is the C member name as it is spelled from the aggregate
	// (promoted through anonymous members), or a path through named
	// members of struct or union type ("thread_info.cpu", "ctrl.pgrp").
	Name string
	Kind Kind
	F    Field
	// Alt, when set, lists the member paths (as Name) looked for in a
	// target's types, in order: the member is read at the first one the
	// kernel has in a type that reads as Kind. Name is the one of them F
	// describes (F.Alt is its index). Set it with Or.
	Alt []string
}

// Or gives f alternative member paths (FieldSpec.Alt): for a member that
// was renamed or moved between kernel versions ("__state" or "state",
// "cpu" or "thread_info.cpu"). f.Name must be one of them.
func (f FieldSpec) Or(paths ...string) FieldSpec {
	f.Alt = paths
	for i, p := range paths {
		if p == f.Name && i <= math.MaxUint8 {
			f.F.Alt = uint8(i)
		}
	}
	return f
}

// paths are the member paths f is looked for by, in order.
func (f *FieldSpec) paths() []string {
	if len(f.Alt) > 0 {
		return f.Alt
	}
	return []string{f.Name}
}

// Field is where a member lies in one kernel's aggregate.
type Field struct {
	Off    int32 `json:"off"`               // byte offset from the start of the aggregate; -1: the kernel lacks the member
	Size   int32 `json:"size"`              // byte size of the value; of one element for arrays
	BitOff int32 `json:"bit_off,omitempty"` // bitfields: data bit offset from the start of the aggregate
	Bits   uint8 `json:"bits,omitempty"`    // bitfields: width in bits; 0 otherwise
	Signed bool  `json:"signed,omitempty"`  // integers: the kernel's type is signed
	Array  bool  `json:"array,omitempty"`   // an array: Count elements of Size bytes
	Count  int32 `json:"count,omitempty"`   // arrays: the element count (all dimensions); <= 0 for flexible and zero-length arrays
	Alt    uint8 `json:"alt,omitempty"`     // the index in FieldSpec.Alt of the path the kernel has the member at
}

// M describes a member that is not a bitfield or an array.
func M(name string, k Kind, off, size int32) FieldSpec {
	return FieldSpec{Name: name, Kind: k, F: Field{Off: off, Size: size, Signed: k == KindInt}}
}

// BF describes a bitfield of bits bits at data bit offset bitOff, declared
// with a type of size bytes.
func BF(name string, k Kind, bitOff int32, bits uint8, size int32) FieldSpec {
	return FieldSpec{Name: name, Kind: k, F: Field{Off: bitOff / 8, Size: size, BitOff: bitOff, Bits: bits, Signed: k == KindInt}}
}

// Arr describes an array member of count elements of elemSize bytes
// (count <= 0: flexible or zero-length).
func Arr(name string, elem Kind, off, elemSize, count int32) FieldSpec {
	return FieldSpec{Name: name, Kind: elem, F: Field{Off: off, Size: elemSize, Array: true, Count: count, Signed: elem == KindInt}}
}

// MissingMemberError is the error of reading a member (or a whole
// aggregate, Member "") that the bound kernel's types lack, or whose type
// changed so that it can no longer be read as generated.
type MissingMemberError struct {
	Type    string // "struct task_struct"
	Member  string // "" when the whole type is missing
	BuildID string // the bound kernel's build ID, "" if unknown
	Reason  string // e.g. "no such member", "type changed from pointer to unsigned integer"
}

func (e *MissingMemberError) Error() string {
	what := e.Type
	if e.Member != "" {
		what += " member " + e.Member
	}
	k := "the target kernel"
	if e.BuildID != "" {
		k += " (build ID " + e.BuildID + ")"
	}
	return fmt.Sprintf("%s: not readable in %s: %s", what, k, e.Reason)
}

// DataModelMismatchError is returned by Bind when the target (or the types
// given for it) has another architecture, pointer size or byte order than
// the bindings: no offset table can make them read it.
type DataModelMismatchError struct {
	What      string // "target", "types", "layout table", or "the target's types" (then Generated is the target's)
	Generated string // "x86_64, 8-byte pointers, little-endian"
	Got       string
	Hint      string // what to do, if anything
}

func (e *DataModelMismatchError) Error() string {
	var msg string
	if e.What == "the target's types" {
		msg = fmt.Sprintf("the types given (%s) are not those of the target (%s)", e.Got, e.Generated)
	} else {
		msg = fmt.Sprintf("bindings generated for %s cannot read %s of %s", e.Generated, describeWhat(e.What), e.Got)
	}
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func describeWhat(w string) string {
	switch w {
	case "types":
		return "types"
	case "layout table":
		return "a layout table"
	}
	return "a target"
}

func dataModelString(arch string, ptr int, be bool) string {
	o := "little-endian"
	if be {
		o = "big-endian"
	}
	return fmt.Sprintf("%s, %d-byte pointers, %s", arch, ptr, o)
}

// Types gives Bind the bound kernel's own types (its vmlinux's DWARF, or
// the BTF a dump carries): relocatable bindings then read each member at
// the offset these types give, when the kernel is not the one the
// bindings were generated from.
func Types(src dwarfmodel.Source) Option {
	return func(c *bindConfig) { c.types = func() (dwarfmodel.Source, error) { return src, nil } }
}

// TypesFrom is Types with a source that is loaded only if needed: when the
// target's build ID is not the bindings'.
func TypesFrom(load func() (dwarfmodel.Source, error)) Option {
	return func(c *bindConfig) { c.types = load }
}

// relocate makes Bind resolve every member from the types given with Types
// even when the build IDs match (for tests, and for kernels whose build ID
// does not identify them).
func relocate() Option { return func(c *bindConfig) { c.forceRelocate = true } }

// Binding is a generated binding attached to one target: the target, and
// the layout of every aggregate and member it reads in that target's
// kernel.
type Binding struct {
	t         kvm.Target
	spec      *Spec
	be        bool
	ptrSize   int
	relocated bool
	buildID   string
	arch      string  // the data model's architecture, when not the Spec's
	sizes     []int64 // per Spec.Types; -1 missing
	first     []int32 // index of each type's first field in fields
	fields    []Field
	reasons   map[int]string // missing fields and types (-1-typeIndex)
	err       atomic.Pointer[MissingMemberError]
}

// New attaches spec to t (what a generated Bind calls). It checks
// the target's architecture, pointer size and byte order (always, even
// with IgnoreBuildID), then takes each member's offset from the
// generation-time layout when t runs the kernel the bindings were
// generated from (or IgnoreBuildID is given without Types), else, for
// relocatable bindings, from the target's types given with Types or
// TypesFrom. A kernel of another build ID without types fails with a
// *kvm.BuildIDError.
//
// Architecture-neutral bindings (Spec.Neutral) also bind to a target of
// another data model, when its types are given: they are then always
// relocated, and read the target in the data model of its types. Without
// types such a target is refused with a *DataModelMismatchError.
func New(t kvm.Target, spec *Spec, opts ...Option) (*Binding, error) {
	if t == nil {
		return nil, fmt.Errorf("%s: Bind: nil target", spec.Package)
	}
	var c bindConfig
	for _, o := range opts {
		o(&c)
	}
	tdm, other, err := checkTarget(t, spec)
	if err != nil {
		return nil, err
	}
	b := &Binding{t: t, spec: spec, be: spec.BigEndian, ptrSize: spec.PtrSize, buildID: t.BuildID()}
	same := b.buildID == "" || spec.BuildID == "" || b.buildID == spec.BuildID
	relocate := spec.Relocatable && c.types != nil && (!same || c.forceRelocate || other)
	if !relocate {
		if other {
			return nil, &DataModelMismatchError{What: "target", Generated: spec.dataModel(), Got: tdm.String(),
				Hint: "these architecture-neutral bindings read it relocated: give its types (Types)"}
		}
		if !same && !c.ignoreBuildID {
			err := bindingsMismatch(spec.BuildID, b.buildID)
			if spec.Relocatable {
				return nil, fmt.Errorf("%w; or give the target's types (runtime.Types)", err)
			}
			return nil, err
		}
		b.fixed()
		return b, nil
	}
	src, err := c.types()
	if err != nil {
		return nil, fmt.Errorf("%s: Bind: loading the target's types: %w", spec.Package, err)
	}
	if src == nil {
		return nil, fmt.Errorf("%s: Bind: no types for the target", spec.Package)
	}
	dm := src.DataModel()
	if err := spec.checkTypes(dm); err != nil {
		return nil, err
	}
	if sdm := (dataModel{dm.Arch, dm.PtrSize, dm.BigEndian()}); !tdm.matches(sdm) {
		return nil, &DataModelMismatchError{What: "the target's types", Generated: tdm.String(), Got: sdm.String()}
	}
	if sid := src.BuildID(); sid != "" && b.buildID != "" && sid != b.buildID && !c.ignoreBuildID {
		return nil, fmt.Errorf("%s: Bind: the types given are of build ID %s, the target runs %s", spec.Package, sid, b.buildID)
	}
	b.be, b.ptrSize, b.arch = dm.BigEndian(), dm.PtrSize, dm.Arch
	b.resolve(src)
	return b, nil
}

// dataModel is an architecture, pointer size and byte order; an empty
// arch or a zero pointer size is unknown.
type dataModel struct {
	arch string
	ptr  int
	be   bool
}

func (d dataModel) String() string { return dataModelString(d.arch, d.ptr, d.be) }

// matches reports whether d and o may be the same data model: equal in
// what both know (an unknown architecture matches any, and so its byte
// order; an unknown pointer size any).
func (d dataModel) matches(o dataModel) bool {
	if d.arch == "" || o.arch == "" {
		return d.ptr == 0 || o.ptr == 0 || d.ptr == o.ptr
	}
	return d.arch == o.arch && d.be == o.be && (d.ptr == 0 || o.ptr == 0 || d.ptr == o.ptr)
}

// targetDataModel is what t tells of its data model (nothing, unless it
// has Info).
func targetDataModel(t kvm.Target) dataModel {
	if in, ok := t.(interface{ Info() kvm.DumpInfo }); ok {
		i := in.Info()
		return dataModel{i.Arch, i.PtrSize, i.BigEndian}
	}
	return dataModel{}
}

// checkTarget compares t's data model, when it tells it, with spec's:
// other says it differs, which only neutral relocatable bindings accept.
func checkTarget(t kvm.Target, spec *Spec) (tdm dataModel, other bool, err error) {
	tdm = targetDataModel(t)
	if tdm.matches(dataModel{spec.Arch, spec.PtrSize, spec.BigEndian}) {
		return tdm, false, nil
	}
	if !spec.Neutral || !spec.Relocatable {
		return tdm, true, &DataModelMismatchError{What: "target", Generated: spec.dataModel(), Got: tdm.String()}
	}
	return tdm, true, nil
}

func (s *Spec) dataModel() string { return dataModelString(s.Arch, s.PtrSize, s.BigEndian) }

// checkTypes refuses types of another data model than the bindings',
// unless they are neutral; then the data model must be one Bind can read.
func (s *Spec) checkTypes(dm dwarfmodel.DataModel) error {
	got := dataModelString(dm.Arch, dm.PtrSize, dm.BigEndian())
	if s.Neutral && s.Relocatable {
		if dm.PtrSize != 4 && dm.PtrSize != 8 {
			return &DataModelMismatchError{What: "types", Generated: s.dataModel(), Got: got, Hint: "pointers of 4 or 8 bytes only"}
		}
		return nil
	}
	if (dm.Arch != "" && dm.Arch != s.Arch) || dm.PtrSize != s.PtrSize || dm.BigEndian() != s.BigEndian {
		return &DataModelMismatchError{What: "types", Generated: s.dataModel(), Got: got}
	}
	return nil
}

// Table is the layout table of a binding resolved for one kernel: the
// size of every aggregate of its Spec and the layout of every member, in
// the kernel's data model. Binding.Table returns it and FromTable binds
// with it, without the kernel's types: saved (it marshals to JSON), it
// spares loading them again for a kernel seen before.
type Table struct {
	Spec      string         `json:"spec"`               // Spec.Fingerprint of the bindings
	BuildID   string         `json:"build_id,omitempty"` // the kernel's build ID; "" if unknown
	Arch      string         `json:"arch"`
	PtrSize   int            `json:"ptr_size"`
	BigEndian bool           `json:"big_endian"`
	Relocated bool           `json:"relocated"` // resolved from the kernel's types (else the generation-time layout)
	Sizes     []int64        `json:"sizes"`     // per Spec.Types; -1: missing
	Fields    []Field        `json:"fields"`    // every FieldSpec, in Spec order
	Reasons   map[int]string `json:"reasons,omitempty"`
}

// Table returns b's layout table (a copy).
func (b *Binding) Table() *Table {
	if b == nil {
		return nil
	}
	tab := &Table{Spec: b.spec.Fingerprint(), BuildID: b.buildID, Arch: b.spec.Arch, PtrSize: b.ptrSize, BigEndian: b.be,
		Relocated: b.relocated, Sizes: append([]int64(nil), b.sizes...), Fields: append([]Field(nil), b.fields...)}
	if b.arch != "" {
		tab.Arch = b.arch
	}
	if len(b.reasons) > 0 {
		tab.Reasons = make(map[int]string, len(b.reasons))
		for k, v := range b.reasons {
			tab.Reasons[k] = v
		}
	}
	return tab
}

// ResolveTable resolves spec against a kernel's types (its DWARF or BTF)
// without a target: the table FromTable binds with (the generation-time
// layout, when the types are of the kernel the bindings were generated
// from). The data model is checked as New does.
func ResolveTable(spec *Spec, src dwarfmodel.Source) (*Table, error) {
	if src == nil {
		return nil, fmt.Errorf("%s: no types to resolve the bindings against", spec.Package)
	}
	dm := src.DataModel()
	if err := spec.checkTypes(dm); err != nil {
		return nil, err
	}
	if !spec.Relocatable && spec.BuildID != "" && src.BuildID() != "" && src.BuildID() != spec.BuildID {
		return nil, bindingsMismatch(spec.BuildID, src.BuildID())
	}
	b := &Binding{spec: spec, be: dm.BigEndian(), ptrSize: dm.PtrSize, buildID: src.BuildID(), arch: dm.Arch}
	own := spec.BuildID != "" && src.BuildID() == spec.BuildID && dm.PtrSize == spec.PtrSize && dm.BigEndian() == spec.BigEndian
	if spec.Relocatable && !own {
		b.resolve(src)
	} else {
		b.fixed() // the kernel the bindings were generated from
	}
	return b.Table(), nil
}

// maxTableSize bounds the sizes a Table may give (a table may come from a
// file): no kernel aggregate the bindings read is near 16 MiB.
const maxTableSize = 1 << 24

// FromTable attaches spec to t with the layout table tab (from
// Binding.Table or ResolveTable, possibly saved and loaded since), without
// the target's types. tab must have been resolved for these bindings (its
// Spec fingerprint), for t's kernel (its build ID, when both are known;
// IgnoreBuildID waives it) and in t's data model, when t tells it.
func FromTable(t kvm.Target, spec *Spec, tab *Table, opts ...Option) (*Binding, error) {
	if t == nil {
		return nil, fmt.Errorf("%s: Bind: nil target", spec.Package)
	}
	if tab == nil {
		return nil, fmt.Errorf("%s: Bind: nil layout table", spec.Package)
	}
	var c bindConfig
	for _, o := range opts {
		o(&c)
	}
	if tab.Spec != spec.Fingerprint() {
		return nil, fmt.Errorf("%s: Bind: the layout table was resolved for other bindings (fingerprint %.12s, these are %.12s)", spec.Package, tab.Spec, spec.Fingerprint())
	}
	if id := t.BuildID(); id != "" && tab.BuildID != "" && id != tab.BuildID && !c.ignoreBuildID {
		return nil, &kvm.BuildIDError{Want: tab.BuildID, Got: id, WantFrom: "the layout table's kernel", GotFrom: "the target kernel",
			Hint: "resolve the table from the target's types"}
	}
	if tab.PtrSize != 4 && tab.PtrSize != 8 {
		return nil, fmt.Errorf("%s: Bind: layout table with %d-byte pointers", spec.Package, tab.PtrSize)
	}
	tdm := dataModel{tab.Arch, tab.PtrSize, tab.BigEndian}
	if !(spec.Neutral && spec.Relocatable) && !tdm.matches(dataModel{spec.Arch, spec.PtrSize, spec.BigEndian}) {
		return nil, &DataModelMismatchError{What: "layout table", Generated: spec.dataModel(), Got: tdm.String()}
	}
	if target := targetDataModel(t); !target.matches(tdm) {
		return nil, &DataModelMismatchError{What: "target", Generated: tdm.String() + " (the layout table's)", Got: target.String()}
	}
	n := 0
	for i := range spec.Types {
		n += len(spec.Types[i].Fields)
	}
	if len(tab.Sizes) != len(spec.Types) || len(tab.Fields) != n {
		return nil, fmt.Errorf("%s: Bind: the layout table has %d types and %d members, the bindings %d and %d", spec.Package, len(tab.Sizes), len(tab.Fields), len(spec.Types), n)
	}
	for i, sz := range tab.Sizes {
		if sz < -1 || sz > maxTableSize {
			return nil, fmt.Errorf("%s: Bind: layout table: %s of %d bytes", spec.Package, spec.Types[i].C, sz)
		}
	}
	for i, f := range tab.Fields {
		if f.Off < -1 || f.Size < 0 || f.Size > maxTableSize || f.BitOff < 0 || f.Bits > 64 || f.Count > maxTableSize {
			return nil, fmt.Errorf("%s: Bind: layout table: bad member %d: %+v", spec.Package, i, f)
		}
	}
	b := &Binding{t: t, spec: spec, be: tab.BigEndian, ptrSize: tab.PtrSize, buildID: t.BuildID(), arch: tab.Arch, relocated: tab.Relocated}
	if b.buildID == "" {
		b.buildID = tab.BuildID
	}
	b.sizes = append([]int64(nil), tab.Sizes...)
	b.fields = append([]Field(nil), tab.Fields...)
	b.first = make([]int32, len(spec.Types))
	k := 0
	for i := range spec.Types {
		b.first[i] = int32(k)
		k += len(spec.Types[i].Fields)
	}
	if len(tab.Reasons) > 0 {
		b.reasons = make(map[int]string, len(tab.Reasons))
		for k, v := range tab.Reasons {
			b.reasons[k] = v
		}
	}
	return b, nil
}

// Fingerprint identifies spec's layout table: a hash of its data model and
// of every aggregate and member it reads, with their generation-time
// layout. Two builds of the same bindings share it; a Table is only bound
// to bindings of its fingerprint.
func (s *Spec) Fingerprint() string {
	if p := s.fingerprint.Load(); p != nil {
		return *p
	}
	h := sha256.New()
	w := func(parts ...any) {
		for _, p := range parts {
			fmt.Fprint(h, p)
			h.Write([]byte{0})
		}
		h.Write([]byte{'\n'})
	}
	w("Spec 1", s.BuildID, s.Arch, s.PtrSize, s.BigEndian, s.Relocatable, s.Neutral, len(s.Types))
	for i := range s.Types {
		t := &s.Types[i]
		w("type", t.C, t.Name, t.Var, t.Parent, t.Path, t.Size, t.Opaque, len(t.Fields))
		for j := range t.Fields {
			f := &t.Fields[j]
			w("field", f.Name, f.Kind, f.F.Off, f.F.Size, f.F.BitOff, f.F.Bits, f.F.Signed, f.F.Array, f.F.Count, f.F.Alt, strconv.Quote(strings.Join(f.Alt, "|")))
		}
	}
	fp := hex.EncodeToString(h.Sum(nil))
	s.fingerprint.CompareAndSwap(nil, &fp)
	return *s.fingerprint.Load()
}

// fixed fills the table with the generation-time layout, built once per
// Spec and shared (read-only) by its bindings.
func (b *Binding) fixed() {
	s := b.spec
	t := s.fixed.Load()
	if t == nil {
		t = &table{sizes: make([]int64, len(s.Types)), first: make([]int32, len(s.Types))}
		n := 0
		for i := range s.Types {
			n += len(s.Types[i].Fields)
		}
		t.fields = make([]Field, 0, n)
		for i := range s.Types {
			ts := &s.Types[i]
			t.sizes[i] = ts.Size
			if ts.Opaque {
				t.sizes[i] = -1
			}
			t.first[i] = int32(len(t.fields))
			for j := range ts.Fields {
				t.fields = append(t.fields, ts.Fields[j].F)
			}
		}
		s.fixed.CompareAndSwap(nil, t)
	}
	b.sizes, b.first, b.fields = t.sizes, t.first, t.fields
}

// Relocated reports whether the layout was resolved from the target's
// types rather than taken from the generation.
func (b *Binding) Relocated() bool { return b != nil && b.relocated }

// Target returns the bound target.
func (b *Binding) Target() kvm.Target {
	if b == nil {
		return nil
	}
	return b.t
}

// Spec returns the generation-time layout.
func (b *Binding) Spec() *Spec {
	if b == nil {
		return nil
	}
	return b.spec
}

// Err returns the first *MissingMemberError an accessor met since Bind (an
// accessor of a member the kernel lacks returns the zero value and records
// it), or nil.
func (b *Binding) Err() error {
	if b == nil {
		return nil
	}
	if e := b.err.Load(); e != nil {
		return e
	}
	return nil
}

// Has reports whether the bound kernel has field i (an index into the
// flat table: generated HasX methods call it).
func (b *Binding) Has(i int) bool {
	return b != nil && i >= 0 && i < len(b.fields) && b.fields[i].Off >= 0
}

// Field returns the layout of field i in the bound kernel.
func (b *Binding) Field(i int) (Field, bool) {
	if b == nil || i < 0 || i >= len(b.fields) {
		return Field{Off: -1}, false
	}
	return b.fields[i], b.fields[i].Off >= 0
}

// Sizeof returns the bound kernel's size of aggregate typ (an index into
// Spec.Types), -1 when it lacks it.
func (b *Binding) Sizeof(typ int) int64 {
	if b == nil || typ < 0 || typ >= len(b.sizes) {
		return -1
	}
	return b.sizes[typ]
}

// FieldIndex returns the flat index of member name of aggregate typ: the
// member its FieldSpec names, or one of its alternative paths.
func (b *Binding) FieldIndex(typ int, name string) (int, bool) {
	if b == nil || typ < 0 || typ >= len(b.spec.Types) {
		return 0, false
	}
	fs := b.spec.Types[typ].Fields
	for j := range fs {
		if fs[j].Name == name {
			return int(b.first[typ]) + j, true
		}
	}
	for j := range fs {
		for _, p := range fs[j].Alt {
			if p == name {
				return int(b.first[typ]) + j, true
			}
		}
	}
	return 0, false
}

// MemberPath returns the member path field i was found at in the bound
// kernel: its FieldSpec's name, or the one of its alternative paths the
// kernel has ("" when the kernel lacks it).
func (b *Binding) MemberPath(i int) string {
	if b == nil || i < 0 || i >= len(b.fields) || b.fields[i].Off < 0 {
		return ""
	}
	t := b.typeOf(i)
	fs := &b.spec.Types[t].Fields[i-int(b.first[t])]
	if p := fs.paths(); int(b.fields[i].Alt) < len(p) {
		return p[b.fields[i].Alt]
	}
	return fs.Name
}

// PtrSize is the bound kernel's pointer size in bytes.
func (b *Binding) PtrSize() int {
	if b == nil {
		return 0
	}
	return b.ptrSize
}

// BigEndian reports whether the bound kernel stores values big-endian.
func (b *Binding) BigEndian() bool { return b != nil && b.be }

// Offsetof returns the bound kernel's offset of member (as named in C, or
// one of its alternative paths) in T: offsetof(T, member).
func Offsetof[T Viewer](b *Binding, member string) (int64, error) {
	off, _, err := memberOffset[T](b, member)
	return off, err
}

// FieldOf returns the bound kernel's layout of member (as named in C, or
// one of its alternative paths) of T: a *MissingMemberError when the
// kernel lacks it.
func FieldOf[T Viewer](b *Binding, member string) (Field, error) {
	var z T
	typ := z.KVMType()
	if b == nil || typ < 0 || typ >= len(b.spec.Types) {
		return Field{Off: -1}, errNotBound
	}
	i, ok := b.FieldIndex(typ, member)
	if !ok {
		return Field{Off: -1}, fmt.Errorf("%s: the bindings have no member %s (generate it)", b.spec.Types[typ].C, member)
	}
	if err := b.MissingError(typ, i); err != nil {
		return Field{Off: -1}, err
	}
	return b.fields[i], nil
}

// Span returns how many leading bytes of aggregate typ hold the members
// the bindings read, in the bound kernel (at most its size; -1 when the
// kernel lacks the type): a snapshot of that many bytes decodes every
// accessor of it (flexible arrays are read past it anyway).
func (b *Binding) Span(typ int) int64 {
	size := b.Sizeof(typ)
	if size < 0 {
		return -1
	}
	var end int64
	first := int(b.first[typ])
	for j := range b.spec.Types[typ].Fields {
		f := &b.fields[first+j]
		var e int64
		switch {
		case f.Off < 0:
			continue
		case f.Bits != 0:
			e = (int64(f.BitOff) + int64(f.Bits) + 7) / 8
		case f.Array:
			e = int64(f.Off) + int64(f.Size)*int64(max(f.Count, 0))
		default:
			e = int64(f.Off) + int64(f.Size)
		}
		end = max(end, e)
	}
	return min(end, size)
}

// MissingError is the *MissingMemberError of field i ("" name: type typ),
// nil when the kernel has it.
func (b *Binding) MissingError(typ, i int) error {
	if b == nil {
		return nil
	}
	if i < 0 {
		if b.sizes[typ] >= 0 {
			return nil
		}
		why := b.reasons[-1-typ]
		if b.spec.Types[typ].Opaque {
			why = "opaque in these bindings (generate the type to read it)"
		}
		return &MissingMemberError{Type: b.spec.Types[typ].C, BuildID: b.buildID, Reason: why}
	}
	if b.fields[i].Off >= 0 {
		return nil
	}
	t := b.typeOf(i)
	ts := &b.spec.Types[t]
	return &MissingMemberError{Type: ts.C, Member: ts.Fields[i-int(b.first[t])].Name, BuildID: b.buildID, Reason: b.reasons[i]}
}

func (b *Binding) typeOf(i int) int {
	lo, hi := 0, len(b.first)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if int(b.first[mid]) <= i {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// missing records that field i was read although the kernel lacks it.
func (b *Binding) missing(i int) {
	if b.err.Load() != nil {
		return
	}
	if e, ok := b.MissingError(b.typeOf(i), i).(*MissingMemberError); ok {
		b.err.CompareAndSwap(nil, e)
	}
}

// resolve fills the table from src.
func (b *Binding) resolve(src dwarfmodel.Source) {
	b.relocated = true
	s := b.spec
	b.fixed()
	b.sizes = append([]int64(nil), b.sizes...)
	b.fields = append([]Field(nil), b.fields...)
	b.reasons = map[int]string{}
	structs := make([]*dwarfmodel.Struct, len(s.Types))
	for i := range s.Types {
		ts := &s.Types[i]
		if ts.Opaque {
			b.sizes[i] = -1
			continue
		}
		st, why := b.findType(src, ts, structs)
		structs[i] = st
		if st == nil {
			b.sizes[i] = -1
			b.reasons[-1-i] = why
			for j := range ts.Fields {
				b.fields[int(b.first[i])+j] = Field{Off: -1}
				b.reasons[int(b.first[i])+j] = why
			}
			continue
		}
		b.sizes[i] = st.ByteSize
		for j := range ts.Fields {
			k := int(b.first[i]) + j
			f, why := resolveMember(st, &ts.Fields[j], b.ptrSize)
			if why != "" {
				f = Field{Off: -1}
				b.reasons[k] = why
			}
			b.fields[k] = f
		}
	}
}

func (b *Binding) findType(src dwarfmodel.Source, ts *TypeSpec, done []*dwarfmodel.Struct) (*dwarfmodel.Struct, string) {
	var t dwarfmodel.Type
	switch {
	case ts.Name != "":
		x, err := src.Type(ts.Name)
		if err != nil {
			return nil, "no such type"
		}
		t = x
	case ts.Var != "":
		v, err := src.Variable(ts.Var)
		if err != nil || v.Type == nil {
			return nil, "no variable " + ts.Var
		}
		t = v.Type
		if a, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Array); ok {
			t = a.Elem
		}
	case ts.Parent >= 0 && ts.Parent < len(done) && done[ts.Parent] != nil:
		m, _, ok := dwarfmodel.FindPath(done[ts.Parent], ts.Path)
		if !ok {
			return nil, "its parent has no member " + ts.Path
		}
		t = m.Type
		for i := 0; i < 8; i++ {
			if a, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Array); ok {
				t = a.Elem
			}
		}
	default:
		return nil, "its parent type is missing"
	}
	st, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Struct)
	if !ok {
		return nil, "not a struct or union in the target's types"
	}
	if st.Incomplete || st.ByteSize < 0 {
		return nil, "only declared in the target's types"
	}
	return st, ""
}

// kindOf classifies a target type as the generator would.
func kindOf(t dwarfmodel.Type) (Kind, int64, bool) {
	switch x := dwarfmodel.Underlying(t).(type) {
	case *dwarfmodel.Base:
		switch x.Encoding {
		case dwarfmodel.EncSigned, dwarfmodel.EncSignedChar:
			return KindInt, x.ByteSize, true
		case dwarfmodel.EncFloat:
			return KindFloat, x.ByteSize, false
		case dwarfmodel.EncComplexFloat:
			return KindComplex, x.ByteSize, false
		}
		if x.ByteSize > 8 {
			return KindBytes, x.ByteSize, false
		}
		return KindUint, x.ByteSize, false
	case *dwarfmodel.Enum:
		if x.Signed {
			return KindInt, x.ByteSize, true
		}
		return KindUint, x.ByteSize, false
	case *dwarfmodel.Pointer:
		return KindPtr, x.ByteSize, false
	case *dwarfmodel.Struct:
		return KindStruct, x.ByteSize, false
	}
	return 0, t.Size(), false
}

// resolveMember finds fs in st under the first of its paths that st has
// in a type fs can be read as.
func resolveMember(st *dwarfmodel.Struct, fs *FieldSpec, ptrSize int) (Field, string) {
	paths := fs.paths()
	var why string
	for k, p := range paths {
		m, base, ok := dwarfmodel.FindPath(st, p)
		if !ok || m.Type == nil {
			continue
		}
		f, w := resolveField(st, m, base, fs, ptrSize)
		if w == "" {
			f.Alt = uint8(min(k, math.MaxUint8))
			return f, ""
		}
		if why == "" {
			why = w
			if len(paths) > 1 {
				why = p + ": " + w
			}
		}
	}
	if why == "" {
		why = "no such member"
		if len(paths) > 1 {
			why = "no member " + strings.Join(paths, " or ")
		}
	}
	return Field{}, why
}

func resolveField(st *dwarfmodel.Struct, m *dwarfmodel.Member, base int64, fs *FieldSpec, ptrSize int) (Field, string) {
	t := m.Type
	f := Field{Off: int32(base + m.ByteOffset)}
	if a, ok := dwarfmodel.Underlying(t).(*dwarfmodel.Array); ok {
		if !fs.F.Array {
			return Field{}, "it is an array, the bindings read a " + fs.Kind.String()
		}
		count := int64(1)
		dims, elem := append([]int64(nil), a.Dims...), a.Elem
		for i := 0; i < 32; i++ {
			in, ok := dwarfmodel.Underlying(elem).(*dwarfmodel.Array)
			if !ok {
				break
			}
			dims, elem = append(dims, in.Dims...), in.Elem
		}
		for _, d := range dims {
			if d <= 0 {
				count = -1
				break
			}
			count *= d
		}
		if (fs.F.Count > 0) != (count > 0) {
			return Field{}, "it changed between a fixed-size and a flexible array"
		}
		if len(dims) > 1 && int64(fs.F.Count) != count {
			return Field{}, fmt.Sprintf("the multi-dimensional array changed shape (%v)", dims)
		}
		if count > math.MaxInt32 {
			return Field{}, "array too large"
		}
		f.Array, f.Count = true, int32(count)
		t = elem
	} else if fs.F.Array {
		return Field{}, "it is no longer an array"
	}
	k, size, signed := kindOf(t)
	compatible := k == fs.Kind || (k == KindInt || k == KindUint) && (fs.Kind == KindInt || fs.Kind == KindUint)
	if !compatible {
		what := "another type"
		if k != 0 {
			what = k.String()
		}
		return Field{}, fmt.Sprintf("its type changed from %s to %s (%s)", fs.Kind, what, dwarfmodel.Declare(m.Type, ""))
	}
	switch fs.Kind {
	case KindFloat, KindComplex, KindBytes:
		if size != int64(fs.F.Size) {
			return Field{}, fmt.Sprintf("its size changed from %d to %d bytes", fs.F.Size, size)
		}
	case KindInt, KindUint:
		if size != 1 && size != 2 && size != 4 && size != 8 {
			return Field{}, fmt.Sprintf("integer of %d bytes", size)
		}
	case KindPtr:
		if size <= 0 {
			size = int64(ptrSize)
		}
		if size != 4 && size != 8 {
			return Field{}, fmt.Sprintf("pointer of %d bytes", size)
		}
	}
	if size <= 0 || size > math.MaxInt32 {
		return Field{}, "its size is unknown"
	}
	f.Size, f.Signed = int32(size), signed
	if m.IsBitfield() {
		if f.Array || m.BitSize > 64 || (fs.Kind != KindInt && fs.Kind != KindUint) {
			return Field{}, "it became a bitfield"
		}
		f.BitOff, f.Bits = int32(base*8+m.DataBitOffset), uint8(m.BitSize)
		f.Off = f.BitOff / 8
		if int64(f.BitOff)+m.BitSize > st.ByteSize*8 {
			return Field{}, "it lies outside its aggregate"
		}
		return f, ""
	}
	end := int64(f.Off) + size
	if f.Array {
		end = int64(f.Off) + size*max(int64(f.Count), 0) // a flexible array may start at the very end
	}
	if f.Off < 0 || end > st.ByteSize {
		return Field{}, "it lies outside its aggregate"
	}
	return f, ""
}

// View is a snapshot of an aggregate read from a bound target: the bytes
// of one read, and where they came from. Every generated view type is a
// struct embedding View (type TaskStruct struct{ View }), which gives
// it Addr and Bytes.
type View struct {
	b    *Binding
	addr uint64
	snap []byte
}

// Addr returns the target address the snapshot was read from.
func (v View) Addr() uint64 { return v.addr }

// Bytes returns the snapshot's bytes (nil for the zero value); they are
// shared, not copied.
func (v View) Bytes() []byte { return v.snap }

// BindingOf returns the binding v was read through (nil for the zero
// value).
func BindingOf(v View) *Binding { return v.b }

// Viewer is the constraint of generated view types: a struct embedding
// View, whose KVMType method names its aggregate in the binding's Spec.
type Viewer interface {
	~struct{ View }
	KVMType() int
}

// ReadView reads the aggregate T at addr in one read of the bound
// kernel's size of T.
func ReadView[T Viewer](b *Binding, addr uint64) (T, error) {
	var z T
	if b == nil || b.t == nil {
		return z, errNotBound
	}
	typ := z.KVMType()
	size := b.Sizeof(typ)
	if size < 0 {
		return z, b.MissingError(typ, -1)
	}
	buf := make([]byte, size)
	if err := kvm.ReadFull(b.t, buf, addr); err != nil {
		return z, fmt.Errorf("%s at %#x: %w", b.spec.Types[typ].C, addr, err)
	}
	return T{View{b: b, addr: addr, snap: buf}}, nil
}

var errNotBound = errors.New("no target: use Bind")

// Ptr is a typed pointer to a T in the target.
type Ptr[T Viewer] struct {
	b    *Binding
	Addr uint64
}

// PtrTo makes a typed pointer to the T at addr.
func PtrTo[T Viewer](b *Binding, addr uint64) Ptr[T] { return Ptr[T]{b: b, Addr: addr} }

// Read reads the T p points to.
func (p Ptr[T]) Read() (T, error) {
	if p.Addr == 0 {
		var z T
		return z, fmt.Errorf("%s: NULL pointer", p.cname())
	}
	return ReadView[T](p.b, p.Addr)
}

// IsNil reports whether p is NULL.
func (p Ptr[T]) IsNil() bool { return p.Addr == 0 }

// Binding returns the binding p reads through.
func (p Ptr[T]) Binding() *Binding { return p.b }

func (p Ptr[T]) cname() string {
	var z T
	if p.b == nil || z.KVMType() >= len(p.b.spec.Types) {
		return "pointer"
	}
	return p.b.spec.Types[z.KVMType()].C + " pointer"
}

// field is v's binding's field i, nil when v has no binding or the kernel
// lacks it (then recorded for Err).
func (v View) field(i int) *Field {
	if v.b == nil || i < 0 || i >= len(v.b.fields) {
		return nil
	}
	f := &v.b.fields[i]
	if f.Off < 0 {
		v.b.missing(i)
		return nil
	}
	return f
}

func (b *Binding) uintAt(p []byte, off, size int) uint64 {
	return FixedUint(p, off, size, b.be)
}

func (b *Binding) decodeInt(p []byte, off int, f *Field) uint64 {
	if f.Bits != 0 {
		if uint64(len(p))*8 < uint64(f.BitOff)+uint64(f.Bits) {
			return 0
		}
		v := bitField(p, uint(f.BitOff), uint(f.Bits), b.be)
		if f.Signed {
			return uint64(SignExtend(v, uint(f.Bits)))
		}
		return v
	}
	v := b.uintAt(p, off, int(f.Size))
	if f.Signed && f.Size < 8 {
		return uint64(SignExtend(v, uint(f.Size)*8))
	}
	return v
}

// Uint decodes integer member i of v at the bound kernel's offset and
// width (bitfields too), sign-extended when the kernel's type is signed:
// convert the result to the Go type. A missing member reads 0 and is
// recorded (Binding.Err).
func Uint(v View, i int) uint64 {
	b := v.b
	if b == nil || uint(i) >= uint(len(b.fields)) {
		return 0
	}
	f := &b.fields[i]
	off, size := int(f.Off), int(f.Size)
	if f.Off < 0 || f.Bits != 0 || off+size > len(v.snap) {
		return uintSlow(v, i)
	}
	p := v.snap[off : off+size]
	var x uint64
	switch {
	case size == 8 && !b.be:
		return binary.LittleEndian.Uint64(p)
	case size == 4 && !b.be:
		x = uint64(binary.LittleEndian.Uint32(p))
	case size == 1:
		x = uint64(p[0])
	case size == 2 && !b.be:
		x = uint64(binary.LittleEndian.Uint16(p))
	case size == 8:
		return binary.BigEndian.Uint64(p)
	case size == 4:
		x = uint64(binary.BigEndian.Uint32(p))
	case size == 2:
		x = uint64(binary.BigEndian.Uint16(p))
	default:
		return 0
	}
	if f.Signed {
		shift := uint(64 - 8*size)
		x = uint64(int64(x<<shift) >> shift)
	}
	return x
}

func uintSlow(v View, i int) uint64 {
	f := v.field(i)
	if f == nil {
		return 0
	}
	return v.b.decodeInt(v.snap, int(f.Off), f)
}

// Float decodes a float (4 bytes) or double (8) member as float64.
func Float(v View, i int) float64 {
	f := v.field(i)
	if f == nil {
		return 0
	}
	x := v.b.uintAt(v.snap, int(f.Off), int(f.Size))
	if f.Size == 4 {
		return float64(math.Float32frombits(uint32(x)))
	}
	return math.Float64frombits(x)
}

// Complex decodes a _Complex float or double member.
func Complex(v View, i int) complex128 {
	f := v.field(i)
	if f == nil {
		return 0
	}
	h := int(f.Size) / 2
	re, im := v.b.uintAt(v.snap, int(f.Off), h), v.b.uintAt(v.snap, int(f.Off)+h, h)
	if h == 4 {
		return complex(float64(math.Float32frombits(uint32(re))), float64(math.Float32frombits(uint32(im))))
	}
	return complex(math.Float64frombits(re), math.Float64frombits(im))
}

// Raw returns member i's bytes (all elements for an array), shared with
// the snapshot; nil when missing.
func Raw(v View, i int) []byte {
	f := v.field(i)
	if f == nil {
		return nil
	}
	n := int(f.Size)
	if f.Array {
		n *= max(int(f.Count), 0)
	}
	return sub(v.snap, int(f.Off), n)
}

// RawElems returns elements [first, first+n) of array member i, shared
// with the snapshot; nil when out of range or missing.
func RawElems(v View, i, first, n int) []byte {
	f := v.field(i)
	if f == nil || first < 0 || n < 0 || first+n > int(f.Count) {
		return nil
	}
	return sub(v.snap, int(f.Off)+first*int(f.Size), n*int(f.Size))
}

func sub(b []byte, off, n int) []byte {
	if off < 0 || n < 0 || len(b)-off < n {
		return nil
	}
	return b[off : off+n : off+n]
}

// Sub is the view of struct or union member i (or, with elem >= 0, of
// element elem of an array member), sharing v's bytes.
func Sub(v View, i int) View { return subElem(v, i, 0, false) }

func subElem(v View, i, elem int, arr bool) View {
	f := v.field(i)
	if f == nil {
		return View{}
	}
	off := int(f.Off) + elem*int(f.Size)
	if arr && (elem < 0 || elem >= int(f.Count)) {
		return View{}
	}
	return View{b: v.b, addr: v.addr + uint64(off), snap: sub(v.snap, off, int(f.Size))}
}

// PtrAt is the typed pointer stored in member i of v.
func PtrAt[T Viewer](v View, i int) Ptr[T] { return Ptr[T]{b: v.b, Addr: Uint(v, i)} }

// Elem returns element e of array member i as a view of one element
// (decode it with ElemUint, ElemFloat...); ok is false when e is out of
// the bound kernel's range or the member is missing.
func Elem(v View, i, e int) (View, bool) {
	f := v.field(i)
	if f == nil || !f.Array || e < 0 || e >= int(f.Count) {
		return View{}, false
	}
	off := int(f.Off) + e*int(f.Size)
	return View{b: v.b, addr: v.addr + uint64(off), snap: sub(v.snap, off, int(f.Size))}, true
}

// ElemUint decodes e (from Elem or ReadElem) as an integer of field i's
// kind: sign-extended when the kernel's type is signed.
func ElemUint(e View, i int) uint64 {
	if e.b == nil {
		return 0
	}
	f := e.b.fields[i]
	f.Bits = 0
	return e.b.decodeInt(e.snap, 0, &f)
}

// ElemFloat decodes e as a float or double.
func ElemFloat(e View) float64 {
	if e.b == nil {
		return 0
	}
	x := e.b.uintAt(e.snap, 0, len(e.snap))
	if len(e.snap) == 4 {
		return float64(math.Float32frombits(uint32(x)))
	}
	return math.Float64frombits(x)
}

// ElemComplex decodes e as a _Complex float or double.
func ElemComplex(e View) complex128 {
	if e.b == nil {
		return 0
	}
	h := len(e.snap) / 2
	re, im := e.b.uintAt(e.snap, 0, h), e.b.uintAt(e.snap, h, h)
	if h == 4 {
		return complex(float64(math.Float32frombits(uint32(re))), float64(math.Float32frombits(uint32(im))))
	}
	return complex(math.Float64frombits(re), math.Float64frombits(im))
}

// ElemPtr is e as a typed pointer.
func ElemPtr[T Viewer](e View) Ptr[T] {
	if e.b == nil {
		return Ptr[T]{}
	}
	return Ptr[T]{b: e.b, Addr: e.b.uintAt(e.snap, 0, len(e.snap))}
}

// AsView converts an element or member view to the generated view type T.
func AsView[T Viewer](v View) T { return T{v} }

// ReadElem reads element e of flexible (or zero-length) array member i,
// which lies past the snapshot, from the target.
func ReadElem(v View, i, e int) (View, error) {
	if v.b == nil {
		return View{}, errNotBound
	}
	f := v.field(i)
	if f == nil {
		return View{}, v.b.MissingError(v.b.typeOf(i), i)
	}
	if e < 0 {
		return View{}, errors.New("index out of range")
	}
	addr := v.addr + uint64(f.Off) + uint64(e)*uint64(f.Size)
	buf := make([]byte, f.Size)
	if err := kvm.ReadFull(v.b.t, buf, addr); err != nil {
		return View{}, err
	}
	return View{b: v.b, addr: addr, snap: buf}, nil
}

// MemberAddr is the target address of member i of v (0 when missing).
func MemberAddr(v View, i int) uint64 {
	f := v.field(i)
	if f == nil {
		return 0
	}
	return v.addr + uint64(f.Off)
}

// Cstring is b up to its first NUL byte.
func Cstring(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// ReadString reads a NUL-terminated string of at most limit bytes at addr,
// in pieces that never cross a 64-byte boundary (so never a page
// boundary), byte by byte where a piece cannot be read whole.
func ReadString(m kvm.Memory, addr uint64, limit int) (string, error) {
	if m == nil {
		return "", errNotBound
	}
	if addr == 0 {
		return "", errors.New("string pointer is NULL")
	}
	var out []byte
	for len(out) < limit {
		n := 64 - int(addr%64)
		if n > limit-len(out) {
			n = limit - len(out)
		}
		b := make([]byte, n)
		err := kvm.ReadFull(m, b, addr)
		if err != nil && n > 1 {
			b = b[:1]
			err = kvm.ReadFull(m, b, addr)
		}
		if err != nil {
			return string(out), err
		}
		if i := strings.IndexByte(string(b), 0); i >= 0 {
			return string(append(out, b[:i]...)), nil
		}
		out = append(out, b...)
		addr += uint64(len(b))
	}
	return string(out), nil
}
