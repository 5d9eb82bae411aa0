package isf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
)

// fake is a small hand-built type source.
type fake struct {
	dm    dwarfmodel.DataModel
	types map[string]dwarfmodel.Type
	vars  map[string]*dwarfmodel.Variable
}

func (f *fake) DataModel() dwarfmodel.DataModel { return f.dm }
func (f *fake) BuildID() string                 { return "" }
func (f *fake) Type(name string) (dwarfmodel.Type, error) {
	if t, ok := f.types[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("no type %q", name)
}
func (f *fake) Variable(name string) (*dwarfmodel.Variable, error) {
	if v, ok := f.vars[name]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("no variable %q", name)
}
func (f *fake) TypeNames() []string     { return sortedNames(f.types) }
func (f *fake) VariableNames() []string { return sortedNames(f.vars) }

func sortedNames[T any](m map[string]T) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out { // tiny: insertion sort
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func newFake(order binary.ByteOrder) *fake {
	i32 := &dwarfmodel.Base{Name: "int", ByteSize: 4, Encoding: dwarfmodel.EncSigned}
	u32 := &dwarfmodel.Base{Name: "unsigned int", ByteSize: 4, Encoding: dwarfmodel.EncUnsigned}
	ch := &dwarfmodel.Base{Name: "char", ByteSize: 1, Encoding: dwarfmodel.EncSignedChar}
	ul := &dwarfmodel.Base{Name: "long unsigned int", ByteSize: 8, Encoding: dwarfmodel.EncUnsigned}
	en := &dwarfmodel.Enum{Name: "e", ByteSize: 4, Signed: true, Values: []dwarfmodel.Enumerator{{Name: "A", Value: 1}, {Name: "B", Value: -1}}}
	anonEnum := &dwarfmodel.Enum{ByteSize: 4, Values: []dwarfmodel.Enumerator{{Name: "X", Value: 0x80000000}}}
	atomic := &dwarfmodel.Typedef{Name: "atomic_t", Type: &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, ByteSize: 4,
		Members: []dwarfmodel.Member{{Name: "counter", Type: i32}}}}
	u := &dwarfmodel.Struct{Kind: dwarfmodel.KindUnion, ByteSize: 4, Members: []dwarfmodel.Member{
		{Name: "x", Type: i32}, {Name: "y", Type: ch}}}
	inner := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, ByteSize: 4, Members: []dwarfmodel.Member{{Name: "p", Type: anonEnum}}}
	s := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "s", ByteSize: 72}
	s.Members = []dwarfmodel.Member{
		{Name: "a", Type: i32, ByteOffset: 0},
		{Name: "b", Type: u32, ByteOffset: 4, BitSize: 3, DataBitOffset: 32},
		{Name: "c", Type: &dwarfmodel.Qualified{Const: true, Type: en}, ByteOffset: 4, BitSize: 5, DataBitOffset: 35},
		{Name: "", Type: u, ByteOffset: 8},
		{Name: "named_anon", Type: inner, ByteOffset: 12},
		{Name: "m", Type: &dwarfmodel.Array{Elem: i32, Dims: []int64{2, 3}}, ByteOffset: 16},
		{Name: "next", Type: &dwarfmodel.Pointer{Elem: s, ByteSize: 8}, ByteOffset: 40},
		{Name: "fn", Type: &dwarfmodel.Pointer{Elem: &dwarfmodel.Func{Return: &dwarfmodel.Void{}}, ByteSize: 8}, ByteOffset: 48},
		{Name: "f", Type: en, ByteOffset: 56},
		{Name: "at", Type: atomic, ByteOffset: 60},
		{Name: "vp", Type: &dwarfmodel.Pointer{Elem: &dwarfmodel.Void{}, ByteSize: 8}, ByteOffset: 64},
		{Name: "flex", Type: &dwarfmodel.Array{Elem: ul, Dims: []int64{-1}}, ByteOffset: 72},
	}
	return &fake{
		dm: dwarfmodel.DataModel{Arch: "x86_64", Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, PtrSize: 8, ByteOrder: order},
		types: map[string]dwarfmodel.Type{
			"struct s": s, "enum e": en, "atomic_t": atomic, "int": i32, "unsigned int": u32, "char": ch,
			"long unsigned int": ul, "s_t": &dwarfmodel.Typedef{Name: "s_t", Type: s}, "struct fwd": &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "fwd", ByteSize: -1, Incomplete: true},
		},
		vars: map[string]*dwarfmodel.Variable{
			"gvar":         {Name: "gvar", Type: atomic},
			"linux_banner": {Name: "linux_banner", Type: &dwarfmodel.Array{Elem: &dwarfmodel.Qualified{Const: true, Type: ch}, Dims: []int64{-1}}},
		},
	}
}

func writeFake(t *testing.T, order binary.ByteOrder) (map[string]any, *Summary, Stats) {
	t.Helper()
	var buf bytes.Buffer
	banner := []byte("Linux version 6.1.0-test (x) #1 SMP\n\x00")
	st, err := Write(&buf, newFake(order), Options{
		Symbols: []Symbol{
			{Name: "gvar", Address: 0xffffffff81000010, Global: false},
			{Name: "gvar", Address: 0xffffffff81000000, Global: true},
			{Name: "linux_banner", Address: 0xffffffff82000000},
			{Name: "_text", Address: 0xffffffff80000000, Global: true},
			{Name: "dup", Address: 3}, {Name: "dup", Address: 2},
		},
		Banner:        banner,
		TypeSources:   []Source{{Kind: "dwarf", Name: "vmlinux", SHA256: "abcdef"}},
		SymbolSources: []Source{{Kind: "symtab", Name: "vmlinux"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Check(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Check: %v\n%s", err, buf.String())
	}
	if !bytes.Equal(sum.Banner, banner) {
		t.Errorf("banner %q", sum.Banner)
	}
	var doc map[string]any
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc, sum, st
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestWriteFake(t *testing.T) {
	doc, sum, st := writeFake(t, binary.LittleEndian)
	ut := doc["user_types"].(map[string]any)
	s := ut["s"].(map[string]any)
	fields := s["fields"].(map[string]any)
	want := map[string]string{
		"a":    `{"offset":0,"type":{"kind":"base","name":"int"}}`,
		"b":    `{"offset":4,"type":{"bit_length":3,"bit_position":0,"kind":"bitfield","type":{"kind":"base","name":"unsigned int"}}}`,
		"c":    `{"offset":4,"type":{"bit_length":5,"bit_position":3,"kind":"bitfield","type":{"kind":"enum","name":"e"}}}`,
		"m":    `{"offset":16,"type":{"count":2,"kind":"array","subtype":{"count":3,"kind":"array","subtype":{"kind":"base","name":"int"}}}}`,
		"next": `{"offset":40,"type":{"kind":"pointer","subtype":{"kind":"struct","name":"s"}}}`,
		"fn":   `{"offset":48,"type":{"kind":"pointer","subtype":{"kind":"function"}}}`,
		"f":    `{"offset":56,"type":{"kind":"enum","name":"e"}}`,
		"at":   `{"offset":60,"type":{"kind":"struct","name":"atomic_t"}}`,
		"vp":   `{"offset":64,"type":{"kind":"pointer","subtype":{"kind":"base","name":"void"}}}`,
		"flex": `{"offset":72,"type":{"count":0,"kind":"array","subtype":{"kind":"base","name":"long unsigned int"}}}`,
	}
	for name, w := range want {
		if got := js(fields[name]); got != w {
			t.Errorf("field %s: %s, want %s", name, got, w)
		}
	}
	un := fields["unnamed_field_0"].(map[string]any)
	if un["anonymous"] != true || un["offset"] != json.Number("8") {
		t.Errorf("anonymous union member: %s", js(un))
	}
	uname := un["type"].(map[string]any)["name"].(string)
	if !strings.HasPrefix(uname, "unnamed_") || len(uname) != len("unnamed_")+16 {
		t.Errorf("anonymous union named %q", uname)
	}
	if got := js(ut[uname]); got != `{"fields":{"x":{"offset":0,"type":{"kind":"base","name":"int"}},"y":{"offset":0,"type":{"kind":"base","name":"char"}}},"kind":"union","size":4}` {
		t.Errorf("anonymous union: %s", got)
	}
	na := fields["named_anon"].(map[string]any)
	if _, ok := na["anonymous"]; ok {
		t.Errorf("a named member of an anonymous type is not anonymous: %s", js(na))
	}
	if got := js(ut["atomic_t"]); got != `{"fields":{"counter":{"offset":0,"type":{"kind":"base","name":"int"}}},"kind":"struct","size":4}` {
		t.Errorf("atomic_t: %s", got)
	}
	// A typedef of a named struct is a user type of its own name too, as
	// dwarf2json writes them.
	if js(ut["s_t"]) != js(ut["s"]) {
		t.Errorf("s_t: %s", js(ut["s_t"]))
	}
	if _, ok := ut["fwd"]; ok {
		t.Error("an incomplete struct was written")
	}
	en := doc["enums"].(map[string]any)
	if got := js(en["e"]); got != `{"base":"int","constants":{"A":1,"B":-1},"size":4}` {
		t.Errorf("enum e: %s", got)
	}
	// The anonymous enum inside the anonymous struct, reached only through it.
	var anonEnum string
	for k, v := range en {
		if strings.HasPrefix(k, "unnamed_") {
			anonEnum = k
			if got := js(v); got != `{"base":"unsigned int","constants":{"X":2147483648},"size":4}` {
				t.Errorf("anonymous enum: %s", got)
			}
		}
	}
	if anonEnum == "" || st.AnonymousTypes != 3 {
		t.Errorf("anonymous types: %d, enums %v", st.AnonymousTypes, en)
	}
	syms := doc["symbols"].(map[string]any)
	if got := js(syms["gvar"]); got != fmt.Sprintf(`{"address":%d,"type":{"kind":"struct","name":"atomic_t"}}`, uint64(0xffffffff81000000)) {
		t.Errorf("gvar: %s (the global one, typed)", got)
	}
	if got := js(syms["dup"]); got != `{"address":2,"type":{"kind":"base","name":"void"}}` {
		t.Errorf("dup: %s (the lowest address, void)", got)
	}
	bt := doc["base_types"].(map[string]any)
	if got := js(bt["pointer"]); got != `{"endian":"little","kind":"int","signed":false,"size":8}` {
		t.Errorf("pointer: %s", got)
	}
	if got := js(bt["void"]); got != `{"endian":"little","kind":"void","signed":false,"size":0}` {
		t.Errorf("void: %s", got)
	}
	if got := js(bt["char"]); got != `{"endian":"little","kind":"char","signed":true,"size":1}` {
		t.Errorf("char: %s", got)
	}
	if sum.Symbols != 4 || sum.TypedSymbols != 2 || len(sum.Dangling) != 0 {
		t.Errorf("summary %+v", sum)
	}
	md := doc["metadata"].(map[string]any)
	if got := js(md); got != `{"format":"6.2.0","linux":{"symbols":[{"kind":"symtab","name":"vmlinux"}],"types":[{"hash_type":"sha256","hash_value":"abcdef","kind":"dwarf","name":"vmlinux"}]},"producer":{"name":"kvmgen","version":"0.1.0"}}` {
		t.Errorf("metadata: %s", got)
	}
}

// TestBigEndianBitfield: on a big-endian target the bit position counts
// from the least significant bit of the value Volatility reads.
func TestBigEndianBitfield(t *testing.T) {
	doc, _, _ := writeFake(t, binary.BigEndian)
	f := doc["user_types"].(map[string]any)["s"].(map[string]any)["fields"].(map[string]any)
	if got := js(f["b"]); got != `{"offset":4,"type":{"bit_length":3,"bit_position":29,"kind":"bitfield","type":{"kind":"base","name":"unsigned int"}}}` {
		t.Errorf("b: %s", got)
	}
	if got := js(doc["base_types"].(map[string]any)["int"]); !strings.Contains(got, `"endian":"big"`) {
		t.Errorf("int: %s", got)
	}
}

// TestAnonymousNamesStable: the name of an anonymous type depends on its
// definition only.
func TestAnonymousNamesStable(t *testing.T) {
	a, _, _ := writeFake(t, binary.LittleEndian)
	b, _, _ := writeFake(t, binary.LittleEndian)
	if js(a["user_types"]) != js(b["user_types"]) {
		t.Error("two writes differ")
	}
}

func TestCheckRejects(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Write(&buf, newFake(binary.LittleEndian), Options{Symbols: []Symbol{{Name: "x", Address: 1}}}); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	for _, c := range []struct{ from, to, want string }{
		{`"format":"6.2.0"`, `"format":"7.0.0"`, "not 6.x.y"},
		{`"version":"0.1.0"`, `"version":"dev"`, "not x.y.z"},
		{`"pointer": {`, `"pointr": {`, `no "pointer"`},
		{`"kind":"bitfield"`, `"kind":"bitfeld"`, "kind bitfeld"},
		{`"symbols": {`, `"symbolz": {`, `no "symbols"`},
		{`"kind":"symtab"`, `"kind":"btf"`, "not dwarf, symtab or system-map"},
	} {
		bad := strings.Replace(good, c.from, c.to, 1)
		if bad == good {
			if c.from == `"kind":"symtab"` {
				bad = strings.Replace(good, `"linux":{}`, `"linux":{"types":[{"kind":"btf"}]}`, 1)
			} else {
				t.Fatalf("%q not in the output", c.from)
			}
		}
		if _, err := Check(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s -> %s: %v, want %q", c.from, c.to, err, c.want)
		}
	}
}

func TestParseSystemMap(t *testing.T) {
	syms, err := ParseSystemMap(strings.NewReader("ffffffff81000000 T _text\nffffffff82000000 d local\nffffffffc0000000 t modfn\t[virtio]\n"), "System.map")
	if err != nil || len(syms) != 2 || !syms[0].Global || syms[1].Global {
		t.Errorf("%+v %v", syms, err)
	}
	if _, err := ParseSystemMap(strings.NewReader("hello world\n"), "x"); err == nil || !strings.Contains(err.Error(), "x:1: not a System.map line") {
		t.Errorf("bad line: %v", err)
	}
	if _, err := ParseSystemMap(strings.NewReader(""), "empty"); err == nil {
		t.Error("an empty map is accepted")
	}
}

// TestWriteDWARF: the ISF of the fixture vmlinux's DWARF passes Check and
// holds every complete struct and union the DWARF names.
func TestWriteDWARF(t *testing.T) {
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	f, err := dwarfmodel.OpenWith(vml, dwarfmodel.Options{CacheDir: dwarfmodel.DefaultCacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ss, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var syms []Symbol
	for _, s := range ss {
		syms = append(syms, Symbol{Name: s.Name, Address: s.Value, Global: s.Bind != elf.STB_LOCAL})
	}
	banner, err := ELFBanner(vml, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.CreateTemp(t.TempDir(), "isf")
	if err != nil {
		t.Fatal(err)
	}
	st, err := Write(out, f, Options{Symbols: syms, Banner: banner})
	if err != nil {
		t.Fatal(err)
	}
	out.Seek(0, 0)
	sum, err := Check(out)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	complete := 0
	for _, n := range f.TypeNames() {
		if strings.HasPrefix(n, "struct ") || strings.HasPrefix(n, "union ") {
			if ty, err := f.Type(n); err == nil && !ty.(*dwarfmodel.Struct).Incomplete {
				complete++
			}
		}
	}
	if sum.UserTypes != st.UserTypes || sum.UserTypes < complete {
		t.Errorf("%d user types, %d complete structs and unions named in the DWARF (stats %+v)", sum.UserTypes, complete, st)
	}
	if !st.Banner || !strings.HasPrefix(string(sum.Banner), "Linux version 6.1.0-") {
		t.Errorf("banner %q", sum.Banner)
	}
	t.Logf("%+v; %d dangling (declared, never defined): %.200v", st, len(sum.Dangling), sum.Dangling)
}
