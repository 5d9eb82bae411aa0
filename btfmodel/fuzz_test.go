package btfmodel_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/kvmgen/kvmgen/btfmodel"
	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
)

// smallBTF builds a small raw BTF blob with cilium/ebpf's marshaller: a
// struct with a bitfield, a pointer to itself, an array and an enum, and a
// typedef of it.
func smallBTF(t testing.TB) []byte {
	t.Helper()
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	long := &btf.Int{Name: "long unsigned int", Size: 8}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed | btf.Char}
	node := &btf.Struct{Name: "node", Size: 32}
	node.Members = []btf.Member{
		{Name: "next", Type: &btf.Pointer{Target: node}, Offset: 0},
		{Name: "flags", Type: u32, Offset: 64, BitfieldSize: 3},
		{Name: "mode", Type: u32, Offset: 67, BitfieldSize: 5},
		{Name: "name", Type: &btf.Array{Index: u32, Type: char, Nelems: 12}, Offset: 96},
		{Name: "kind", Type: &btf.Enum{Name: "kind", Size: 4, Values: []btf.EnumValue{{Name: "A", Value: 0}, {Name: "B", Value: 7}}}, Offset: 192},
		{Name: "tail", Type: &btf.Array{Index: u32, Type: long, Nelems: 0}, Offset: 256},
	}
	b, err := btf.NewBuilder([]btf.Type{node, &btf.Typedef{Name: "node_t", Type: node}, long}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestSmallBTF(t *testing.T) {
	f, err := btfmodel.NewFile(bytes.NewReader(smallBTF(t)), btfmodel.Options{Name: "small", Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	ty, err := f.Type("node_t")
	if err != nil {
		t.Fatal(err)
	}
	st := dwarfmodel.Underlying(ty).(*dwarfmodel.Struct)
	var got []string
	for _, m := range st.Members {
		got = append(got, fmt.Sprintf("%s@%d:%d/%d %s", m.Name, m.ByteOffset, m.DataBitOffset, m.BitSize, dwarfmodel.Declare(m.Type, "")))
	}
	want := []string{
		"next@0:0/0 struct node *",
		"flags@8:64/3 unsigned int",
		"mode@8:67/5 unsigned int",
		"name@12:96/0 char [12]",
		"kind@24:192/0 enum kind",
		"tail@32:256/0 long unsigned int []", // a trailing [0] reads as a flexible array
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("members\n got %v\nwant %v", got, want)
	}
	if dm := f.DataModel(); dm.PtrSize != 8 || dm.ByteOrder != binary.LittleEndian {
		t.Errorf("data model %+v", dm)
	}
	if _, err := f.Type("struct nosuch"); !errors.As(err, new(*dwarfmodel.NotFoundError)) {
		t.Errorf("missing type: %v", err)
	}
	v, err := f.ParseType("struct node *[4]")
	if err != nil || dwarfmodel.Declare(v, "") != "struct node *[4]" || v.Size() != 32 {
		t.Errorf("ParseType: %v, %v", v, err)
	}
	for _, bad := range []string{"struct node [x]", "struct nosuch", "struct { a, b }", "]"} {
		if _, err := f.ParseType(bad); err == nil {
			t.Errorf("ParseType(%q) succeeded", bad)
		}
	}
}

// TestBadBTF: damaged BTF gives a FormatError naming the input, never a
// panic.
func TestBadBTF(t *testing.T) {
	raw := smallBTF(t)
	cases := map[string][]byte{
		"empty":       {},
		"text":        []byte("type task_struct\n"),
		"truncated":   raw[:len(raw)/2],
		"header only": raw[:24],
		"bad version": append([]byte{raw[0], raw[1], 9}, raw[3:]...),
		"huge lengths": func() []byte {
			b := append([]byte(nil), raw...)
			binary.LittleEndian.PutUint32(b[12:], 0xfffffff0)
			return b
		}(),
	}
	for name, b := range cases {
		_, err := btfmodel.NewFile(bytes.NewReader(b), btfmodel.Options{Name: "input-" + name})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		var fe *btfmodel.FormatError
		if !errors.As(err, &fe) || fe.Name != "input-"+name {
			t.Errorf("%s: %v (%T), want a FormatError naming the input", name, err, err)
		}
	}
}

// TestBTFFromMemoryBad: __start_BTF/__stop_BTF that do not bound a BTF
// blob give a LocateError or FormatError; no allocation follows an
// unchecked size.
func TestBTFFromMemoryBad(t *testing.T) {
	raw := smallBTF(t)
	mem := &testfix.FlatMem{Base: 0xffff0000, Data: raw}
	for name, syms := range map[string]map[string]uint64{
		"no symbols":     {},
		"stop before":    {"__start_BTF": 0xffff0100, "__stop_BTF": 0xffff0000},
		"huge":           {"__start_BTF": 0xffff0000, "__stop_BTF": 0xffff0000 + 1<<40},
		"outside memory": {"__start_BTF": 0x1000, "__stop_BTF": 0x2000},
		"not BTF":        {"__start_BTF": 0xffff0010, "__stop_BTF": 0xffff0000 + uint64(len(raw))},
	} {
		lookup := func(n string) (uint64, error) {
			if v, ok := syms[n]; ok {
				return v, nil
			}
			return 0, fmt.Errorf("symbol %s not found", n)
		}
		_, err := btfmodel.FromMemory(mem, lookup, btfmodel.Options{})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !errors.As(err, new(*btfmodel.LocateError)) && !errors.As(err, new(*btfmodel.FormatError)) {
			t.Errorf("%s: %v (%T)", name, err, err)
		}
	}
	good := func(n string) (uint64, error) {
		return map[string]uint64{"__start_BTF": 0xffff0000, "__stop_BTF": 0xffff0000 + uint64(len(raw))}[n], nil
	}
	f, err := btfmodel.FromMemory(mem, good, btfmodel.Options{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Type("node"); err != nil {
		t.Error(err)
	}
}

// FuzzNewFile: any bytes, as raw BTF, give a File or an error; never a
// panic or a hang. Seeds: testdata/fuzz/FuzzNewFile.
func FuzzNewFile(f *testing.F) {
	f.Add(smallBTF(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		bf, err := btfmodel.NewFile(bytes.NewReader(b), btfmodel.Options{Name: "fuzz"})
		if err != nil {
			return
		}
		for _, n := range bf.TypeNames() {
			if _, err := bf.Type(n); err != nil {
				return
			}
		}
	})
}

// FuzzFromMemory: the BTF locator and decoder over arbitrary memory and
// symbol values.
func FuzzFromMemory(f *testing.F) {
	raw := smallBTF(f)
	f.Add(raw, uint64(0), uint64(len(raw)))
	f.Add(raw, uint64(8), uint64(4))
	f.Fuzz(func(t *testing.T, b []byte, start, stop uint64) {
		mem := &testfix.FlatMem{Base: 0x1000, Data: b}
		lookup := func(n string) (uint64, error) {
			switch n {
			case "__start_BTF":
				return 0x1000 + start, nil
			case "__stop_BTF":
				return 0x1000 + stop, nil
			}
			return 0, errors.New("no symbol")
		}
		bf, err := btfmodel.FromMemory(mem, lookup, btfmodel.Options{})
		if err == nil {
			bf.TypeNames()
		}
	})
}
