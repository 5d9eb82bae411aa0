package gen_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/gen"
)

// selectModel is a small kernel of two versions' worth of members: task
// has __state (not state), thread_info.cpu (not cpu), a pointer to a
// struct that is not generated, and counters, a struct the generation
// kernel does not use as the member rss of task.
func selectModel() (task, counter *dwarfmodel.Struct, lookup func(string) (dwarfmodel.Type, error)) {
	u32 := &dwarfmodel.Base{Name: "unsigned int", ByteSize: 4, Encoding: dwarfmodel.EncUnsigned}
	i64 := &dwarfmodel.Base{Name: "long int", ByteSize: 8, Encoding: dwarfmodel.EncSigned}
	ti := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "thread_info", ByteSize: 16, Members: []dwarfmodel.Member{
		{Name: "flags", Type: u32}, {Name: "cpu", Type: u32, ByteOffset: 8}}}
	mm := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "mm", ByteSize: 8, Members: []dwarfmodel.Member{{Name: "x", Type: i64}}}
	counter = &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "counter", ByteSize: 16, Members: []dwarfmodel.Member{
		{Name: "lock", Type: i64}, {Name: "count", Type: i64, ByteOffset: 8}}}
	task = &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "task", ByteSize: 64, Members: []dwarfmodel.Member{
		{Name: "thread_info", Type: ti},
		{Name: "__state", Type: u32, ByteOffset: 16},
		{Name: "mm", Type: &dwarfmodel.Pointer{Elem: mm, ByteSize: 8}, ByteOffset: 24},
		{Name: "unused", Type: i64, ByteOffset: 32},
		{Name: "rss", Type: &dwarfmodel.Array{Elem: i64, Dims: []int64{2}}, ByteOffset: 40},
	}}
	lookup = func(name string) (dwarfmodel.Type, error) {
		switch name {
		case "struct counter", "counter":
			return counter, nil
		}
		return nil, &dwarfmodel.NotFoundError{Kind: "type", Name: name}
	}
	return task, counter, lookup
}

// TestMemberSelection: a type with members selected gets accessors for
// those only, named as asked, with alternative paths and declared shapes
// in its layout table; the output compiles.
func TestMemberSelection(t *testing.T) {
	task, counter, lookup := selectModel()
	var sel []gen.Member
	for _, spec := range []string{"state=__state|state", "cpu|thread_info.cpu", "mm", "rss", "rss_counters=rss:struct counter[4]"} {
		m, err := gen.ParseMember(spec, lookup)
		if err != nil {
			t.Fatal(spec, err)
		}
		sel = append(sel, m)
	}
	cm, _ := gen.ParseMember("count", lookup)
	src, err := gen.GenerateModel(gen.Input{Package: "sel", DataModel: le64, BuildID: "abc",
		Types:   []dwarfmodel.Type{task, counter},
		Members: map[dwarfmodel.Type][]gen.Member{task: sel, counter: {cm}}})
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	for _, want := range []string{
		`bind.M("__state", bind.KindUint, 16, 4).Or("__state", "state")`,
		`bind.M("thread_info.cpu", bind.KindUint, 8, 4).Or("cpu", "thread_info.cpu")`,
		`bind.Arr("rss", bind.KindStruct, -1, 16, 4)`,
		"func (s Task) State() uint32",
		"func (s Task) CPU() uint32",
		"func (s Task) Mm() MmPtr",
		"func (s Task) RssCounters(i int) (v Counter, ok bool)",
		"MmPtr = bind.Ptr[Mm]", // opaque
		"func (s Counter) Count() int64",
		"Neutral:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, absent := range []string{") Unused(", ") ThreadInfo(", "type ThreadInfo struct", ") Lock("} {
		if strings.Contains(text, absent) {
			t.Errorf("output has %q", absent)
		}
	}
	vet(t, tempPackage(t, map[string][]byte{"z.go": src}))

	// A member the generation kernel lacks under every path, with no
	// declared type, is an error naming it.
	bad, _ := gen.ParseMember("state", lookup)
	_, err = gen.GenerateModel(gen.Input{Package: "sel", DataModel: le64, Types: []dwarfmodel.Type{task},
		Members: map[dwarfmodel.Type][]gen.Member{task: {bad}}})
	if err == nil || !strings.Contains(err.Error(), "struct task has no member state") {
		t.Errorf("missing member: %v", err)
	}
	for _, spec := range []string{"a b", "x=", "n=a|b.", "x:struct nothing", "x:struct counter[", "1x"} {
		if _, err := gen.ParseMember(spec, lookup); err == nil {
			t.Errorf("ParseMember(%q): no error", spec)
		}
	}
}

// TestOpaqueStable: an accessor of a pointer to a type that is not
// generated has the same Go type as when the type is generated.
func TestOpaqueStable(t *testing.T) {
	task, _, _ := selectModel()
	mm := task.Members[2].Type.(*dwarfmodel.Pointer).Elem
	want := "func (s Task) Mm() MmPtr"
	for _, types := range [][]dwarfmodel.Type{{task}, {task, mm}} {
		src, err := gen.GenerateModel(gen.Input{Package: "p", DataModel: le64, Types: types})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(src, []byte(want)) {
			t.Errorf("with %d types: output lacks %q", len(types), want)
		}
		opaque := bytes.Contains(src, []byte("Opaque: true"))
		if opaque != (len(types) == 1) {
			t.Errorf("with %d types: opaque mm %v", len(types), opaque)
		}
	}
}

// TestPrefixTwoKernels: two kernels' bindings, one with an exported and
// one with an unexported prefix, compile in one package.
func TestPrefixTwoKernels(t *testing.T) {
	task, _, _ := selectModel()
	be := dwarfmodel.DataModel{Arch: "s390x", PtrSize: 8, ByteOrder: binary.BigEndian}
	files := map[string][]byte{}
	for i, c := range []struct {
		prefix string
		dm     dwarfmodel.DataModel
	}{{"K", le64}, {"linux", be}} {
		src, err := gen.GenerateModel(gen.Input{Package: "two", DataModel: c.dm, Prefix: c.prefix, Types: []dwarfmodel.Type{task}})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"type " + c.prefix + "Kernel struct", "func " + c.prefix + "Bind(", c.prefix + "BuildID = ", c.prefix + "SizeofTask = ", "type " + c.prefix + "Task struct"} {
			if !bytes.Contains(src, []byte(want)) {
				t.Errorf("prefix %s: output lacks %q", c.prefix, want)
			}
		}
		files[[]string{"a.go", "b.go"}[i]] = src
	}
	if !bytes.Contains(files["b.go"], []byte("func (k *linuxKernel) ReadTask(")) {
		t.Error("Read methods are named without the prefix")
	}
	vet(t, tempPackage(t, files))
	if _, err := gen.GenerateModel(gen.Input{Package: "p", DataModel: le64, Prefix: "no-go", Types: []dwarfmodel.Type{task}}); err == nil {
		t.Error("prefix no-go accepted")
	}
}

// TestTypesFile: -type @FILE reads entries from a file.
func TestTypesFile(t *testing.T) {
	obj := buildKinds(t, toolchains[0], false)
	f, err := dwarfmodel.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	list := filepath.Join(t.TempDir(), "members")
	if err := os.WriteFile(list, []byte("# kinds\nkinds.i, kinds.self\n\nkinds.n=nflex|nothing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := gen.Generate(f, gen.Config{Package: "k", Types: []string{"@" + list}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{") I() int32", ") Self() KindsPtr", ") N() uint16", `.Or("nflex", "nothing")`} {
		if !bytes.Contains(src, []byte(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
	if bytes.Contains(src, []byte(") Ui() ")) {
		t.Error("unselected member ui has an accessor")
	}
}
