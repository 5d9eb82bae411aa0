package dwarfmodel

// Source is a source of a kernel's types: the DWARF of an image (*File) or
// its BTF (package btfmodel). The generator, the process interface,
// `kvmgen layout` and the ISF writer read types only through it, so each
// works from either.
type Source interface {
	// DataModel is the target's: sizes, offsets and byte order follow it.
	DataModel() DataModel
	// BuildID is the kernel's GNU build ID in lower-case hex, "" if unknown.
	BuildID() string
	// Type returns a named type: "task_struct", "struct pid", "union
	// thread_union", "enum pid_type", a typedef or base type name.
	Type(name string) (Type, error)
	// Variable returns a global variable and its type. Address is the
	// link-time address when the source knows it, else 0.
	Variable(name string) (*Variable, error)
}

// Lister is a Source that can list what it holds, sorted; names are
// spelled as Type and Variable accept them.
type Lister interface {
	TypeNames() []string
	VariableNames() []string
}

// Describer is a Source that says where its types come from, for humans:
// "DWARF in /path/vmlinux", "BTF in the dump at 0xffffffff82a00000
// (120431 types)".
type Describer interface {
	Describe() string
}

var _ Source = (*File)(nil)
var _ Lister = (*File)(nil)

// Describe says where the types come from.
func (f *File) Describe() string { return "DWARF in " + f.displayName() }

// Suggest returns the names of all that are close to name (edit distance,
// case, a missing or extra struct/union/enum tag), best first: what a
// NotFoundError lists.
func Suggest(name string, all []string) []string { return suggest(name, all) }
