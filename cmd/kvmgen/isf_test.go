package main

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/isf"
	"github.com/ulikunitz/xz"
)

// isfDocs caches the ISFs the tests write, by command line.
var isfDocs sync.Map

type isfDoc struct {
	raw  map[string]any
	sum  *isf.Summary
	user map[string]any
	enum map[string]any
	base map[string]any
	syms map[string]any
}

// writeISF runs `kvmgen isf ARGS -o FILE`, checks FILE against the ISF
// rules (isf.Check) and returns it decoded.
func writeISF(t *testing.T, args ...string) *isfDoc {
	t.Helper()
	key := strings.Join(args, "\x00")
	if d, ok := isfDocs.Load(key); ok {
		return d.(*isfDoc)
	}
	dir, err := os.MkdirTemp("", "kvmgen-isf-test")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out.json")
	if _, err := runOut(t, append(append([]string{"isf"}, args...), "-o", out)...); err != nil {
		t.Fatalf("isf %q: %v", args, err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, err := isf.Check(f)
	if err != nil {
		t.Fatalf("isf %q: the output breaks the ISF rules: %v", args, err)
	}
	f.Seek(0, 0)
	d := &isfDoc{sum: sum}
	dec := json.NewDecoder(f)
	dec.UseNumber()
	if err := dec.Decode(&d.raw); err != nil {
		t.Fatal(err)
	}
	d.user = d.raw["user_types"].(map[string]any)
	d.enum = d.raw["enums"].(map[string]any)
	d.base = d.raw["base_types"].(map[string]any)
	d.syms = d.raw["symbols"].(map[string]any)
	isfDocs.Store(key, d)
	return d
}

func num(v any) int64 {
	n, _ := v.(json.Number).Int64()
	return n
}

// size is the byte size of a type descriptor: -1 when unknown (a
// function, an undefined struct).
func (d *isfDoc) size(desc map[string]any) int64 {
	switch desc["kind"] {
	case "base":
		return num(d.base[desc["name"].(string)].(map[string]any)["size"])
	case "pointer":
		return num(d.base["pointer"].(map[string]any)["size"])
	case "array":
		n := d.size(desc["subtype"].(map[string]any))
		if n < 0 {
			return -1
		}
		return num(desc["count"]) * n
	case "struct", "union", "class":
		if u, ok := d.user[desc["name"].(string)]; ok {
			return num(u.(map[string]any)["size"])
		}
	case "enum":
		if e, ok := d.enum[desc["name"].(string)]; ok {
			return num(e.(map[string]any)["size"])
		}
	}
	return -1
}

var simpleTagged = regexp.MustCompile(`^(const |volatile )*(struct|union|enum) ([A-Za-z_][A-Za-z0-9_]*)$`)

// compareLayout holds one ISF user type to the layout of the same type.
func (d *isfDoc) compareLayout(where string, ut map[string]any, kind string, size int64, members []layoutMember) []string {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, where+": "+fmt.Sprintf(f, a...)) }
	if ut["kind"] != kind || num(ut["size"]) != size {
		bad("kind %v size %v; layout: %s %d", ut["kind"], ut["size"], kind, size)
	}
	fields := ut["fields"].(map[string]any)
	if len(fields) != len(members) {
		bad("%d fields, layout %d members", len(fields), len(members))
	}
	unnamed := 0
	for _, m := range members {
		name := m.Name
		if name == "" {
			name = fmt.Sprintf("unnamed_field_%x", unnamed)
			unnamed++
		}
		fv, ok := fields[name]
		if !ok {
			bad("no field %s", name)
			continue
		}
		f := fv.(map[string]any)
		typ := f["type"].(map[string]any)
		off := num(f["offset"])
		if m.BitSize != nil {
			if typ["kind"] != "bitfield" {
				bad("%s: %v, layout has a bitfield", name, typ)
				continue
			}
			if bit := off*8 + num(typ["bit_position"]); bit != *m.DataBitOffset || num(typ["bit_length"]) != *m.BitSize {
				bad("%s: bit %d length %v; layout: bit %d length %d", name, bit, typ["bit_length"], *m.DataBitOffset, *m.BitSize)
			}
			typ = typ["type"].(map[string]any)
		} else if off != m.Offset {
			bad("%s: offset %d; layout %d", name, off, m.Offset)
		}
		sz := d.size(typ)
		switch {
		case m.Size == -1 && (sz == 0 || sz == -1): // flexible array (count 0), incomplete type
		case sz != m.Size:
			bad("%s: size %d (%v); layout %d (%s)", name, sz, typ, m.Size, m.Type)
		}
		if g := simpleTagged.FindStringSubmatch(m.Type); g != nil && m.BitSize == nil {
			k := g[2]
			if typ["kind"] != k || (!strings.HasPrefix(typ["name"].(string), "unnamed_") && typ["name"] != g[3]) {
				bad("%s: type %v; layout %s", name, typ, m.Type)
			}
		}
		anon, _ := f["anonymous"].(bool)
		if (m.Members != nil && m.Name == "") != anon {
			bad("%s: anonymous %v; layout members %v", name, anon, m.Members != nil)
		}
		if anon {
			sub, ok := d.user[typ["name"].(string)].(map[string]any)
			if !ok {
				bad("%s: type %v not in user_types", name, typ)
				continue
			}
			k := typ["kind"].(string)
			errs = append(errs, d.compareLayout(where+"."+name, sub, k, m.Size, *m.Members)...)
		}
	}
	return errs
}

// TestISFMatchesLayout: every named struct, union and enum of the ISF
// written from a vmlinux's DWARF (all of them: one layout run takes a few
// seconds) has the fields, offsets, sizes and bitfields that `kvmgen
// layout -json` (held to pahole in internal/truth/layoutjson_test.go) prints; the
// anonymous types of anonymous members are compared through their
// layout's nested members, and the type of each member spelled "struct
// X", "union X" or "enum X" is that type. (Anonymous types only variables
// reach are not compared: layout cannot name them.)
func TestISFMatchesLayout(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	d := writeISF(t, "-kernel", vml)
	f, err := dwarfmodel.OpenWith(vml, dwarfmodel.Options{CacheDir: dwarfmodel.DefaultCacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, n := range f.TypeNames() {
		names[n] = true
	}
	f.Close()

	var all []string
	for n := range d.user {
		all = append(all, n)
	}
	for n := range d.enum {
		all = append(all, "enum "+n)
	}
	sort.Strings(all)

	// The layout command's name for each picked type.
	var args []string
	var keys []string
	for _, n := range all {
		if strings.Contains(n, "unnamed_") {
			continue // anonymous types are compared inside their parents
		}
		arg := n
		if !strings.HasPrefix(n, "enum ") {
			kind := d.user[n].(map[string]any)["kind"].(string)
			if names[kind+" "+n] {
				arg = kind + " " + n
			} else if !names[n] {
				t.Errorf("user type %s: neither %s %s nor a typedef in the DWARF", n, kind, n)
				continue
			}
		}
		args = append(args, arg)
		keys = append(keys, n)
	}
	out, err := runOut(t, append([]string{"layout", "-json", "-kernel", vml}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var lts []layoutType
	if err := json.Unmarshal([]byte(out), &lts); err != nil {
		t.Fatal(err)
	}
	if len(lts) != len(keys) {
		t.Fatalf("layout gave %d types for %d", len(lts), len(keys))
	}
	var errs []string
	nu, ne := 0, 0
	for i, lt := range lts {
		k := keys[i]
		if name, ok := strings.CutPrefix(k, "enum "); ok {
			ne++
			e := d.enum[name].(map[string]any)
			if num(e["size"]) != lt.Size {
				errs = append(errs, fmt.Sprintf("enum %s: size %v; layout %d", name, e["size"], lt.Size))
			}
			cs := e["constants"].(map[string]any)
			if len(cs) != len(lt.Values) {
				errs = append(errs, fmt.Sprintf("enum %s: %d constants; layout %d", name, len(cs), len(lt.Values)))
			}
			for _, v := range lt.Values {
				c, ok := cs[v.Name].(json.Number)
				// An unsigned enum's values are written unsigned.
				if !ok || (num(c) != v.Value && c.String() != fmt.Sprint(uint64(v.Value))) {
					errs = append(errs, fmt.Sprintf("enum %s: %s = %v; layout %d", name, v.Name, cs[v.Name], v.Value))
				}
			}
			continue
		}
		nu++
		kind := lt.Kind
		if kind == "typedef" {
			kind = d.user[k].(map[string]any)["kind"].(string)
		}
		errs = append(errs, d.compareLayout(k, d.user[k].(map[string]any), kind, lt.Size, *lt.Members)...)
	}
	for i, e := range errs {
		if i == 30 {
			t.Errorf("... and %d more", len(errs)-30)
			break
		}
		t.Error(e)
	}
	t.Logf("compared %d structs and unions and %d enums with layout -json; %d user types and %d enums in the ISF",
		nu, ne, len(d.user), len(d.enum))
}

// TestISFSymbolsMatchELF: the ISF's symbols are the vmlinux's .symtab as
// debug/elf reads it: every named symbol but section and file symbols,
// one per name (a global one, else the lowest address), at its link-time
// address; linux_banner carries the image's bytes; init_task and modules
// have their DWARF types.
func TestISFSymbolsMatchELF(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	d := writeISF(t, "-kernel", vml)
	ef, err := elf.Open(vml)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	syms, err := ef.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	type best struct {
		addr   uint64
		global bool
	}
	want := map[string]best{}
	var banner []byte
	for _, s := range syms {
		typ, bind := elf.ST_TYPE(s.Info), elf.ST_BIND(s.Info)
		if s.Name == "" || typ == elf.STT_SECTION || typ == elf.STT_FILE {
			continue
		}
		g := bind == elf.STB_GLOBAL || bind == elf.STB_WEAK
		b, ok := want[s.Name]
		if !ok || (g && !b.global) || (g == b.global && s.Value < b.addr) {
			want[s.Name] = best{s.Value, g}
		}
		if s.Name == "linux_banner" {
			sec := ef.Sections[s.Section]
			banner = make([]byte, s.Size)
			if _, err := sec.ReadAt(banner, int64(s.Value-sec.Addr)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(d.syms) != len(want) {
		t.Errorf("%d symbols, .symtab has %d names", len(d.syms), len(want))
	}
	bad := 0
	for name, w := range want {
		s, ok := d.syms[name].(map[string]any)
		if !ok || s["address"].(json.Number).String() != fmt.Sprint(w.addr) {
			if bad++; bad < 10 {
				t.Errorf("symbol %s: %v, want address %#x", name, d.syms[name], w.addr)
			}
		}
	}
	if !bytes.Equal(d.sum.Banner, banner) || len(banner) < 20 || banner[len(banner)-1] != 0 {
		t.Errorf("linux_banner %q, the image's %q", d.sum.Banner, banner)
	}
	for name, typ := range map[string]string{
		"init_task":  `{"kind":"struct","name":"task_struct"}`,
		"modules":    `{"kind":"struct","name":"list_head"}`,
		"init_files": `{"kind":"struct","name":"files_struct"}`,
	} {
		if got := jsonString(d.syms[name].(map[string]any)["type"]); got != typ {
			t.Errorf("%s: type %s, want %s", name, got, typ)
		}
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestISFFromDumpMatchesDWARF: the ISF written from a dump alone (its BTF
// and kallsyms) equals the one from the vmlinux's DWARF for every type
// both express the same way. The differences allowed, each checked to be
// of its kind:
//   - multi-dimensional arrays: BTF has one dimension of the product
//     (pahole flattens T[a][b] to T[a*b]), and so anonymous types holding
//     one are named differently;
//   - two definitions of one name (a struct or enum each of two files
//     defines, e.g. getdents_callback in fs/readdir.c and its compat
//     twin): the DWARF and the BTF may each keep another one;
//   - types defined inside a function body are in the BTF only (the DWARF
//     index holds unit-level names), and the BTF of loaded modules adds
//     their types;
//   - enum values GCC writes as DW_FORM_data1/data2 in a signed enum
//     (cpuhp_state's 155..236): dwarfmodel sign-extends them (a dwarfmodel
//     bug, reported), BTF has the true values;
//   - symbols: kallsyms holds fewer names than .symtab (no __crc_,
//     __ksymtab and other non-kallsyms symbols); at the same link-time
//     address each; BTF types only the globals of btfmodel's table, where
//     "[]" arrays have count 0, and types jiffies, which DWARF does not
//     (an alias of jiffies_64 the linker script makes).
func TestISFFromDumpMatchesDWARF(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	for _, k := range selfKernels {
		t.Run(k, func(t *testing.T) {
			vml := testfix.Path(t, k+"/vmlinux")
			core := testfix.Path(t, k+"/dumps/paging.vmcore")
			dw := writeISF(t, "-kernel", vml)
			bt := writeISF(t, "-core", core)
			compareISF(t, dw, bt)
		})
	}
}

// flattenArrays rewrites nested arrays as one dimension, as BTF has them.
func flattenArrays(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, x := range m {
		out[k] = flattenArrays(x)
	}
	if out["kind"] == "array" {
		if sub := out["subtype"].(map[string]any); sub["kind"] == "array" {
			out["count"] = json.Number(fmt.Sprint(num(out["count"]) * num(sub["count"])))
			out["subtype"] = sub["subtype"]
		}
	}
	return out
}

func hasNestedArray(v any) bool {
	return jsonString(flattenArrays(v)) != jsonString(v)
}

func compareISF(t *testing.T, dw, bt *isfDoc) {
	if jsonString(dw.base) != jsonString(bt.base) {
		t.Errorf("base_types differ:\n%s\n%s", jsonString(dw.base), jsonString(bt.base))
	}
	same, flat, renamed, twins := 0, 0, 0, 0
	var onlyDWARF, onlyBTF, twinNames []string
	for name, dv := range dw.user {
		bv, ok := bt.user[name]
		if !ok {
			onlyDWARF = append(onlyDWARF, name)
			continue
		}
		switch a, b := jsonString(dv), jsonString(bv); {
		case a == b:
			same++
		case jsonString(flattenArrays(dv)) == b:
			flat++
		case anonRenamed(dw, bt, dv, bv):
			renamed++
		default:
			if dv.(map[string]any)["size"] != bv.(map[string]any)["size"] || fieldNames(dv) != fieldNames(bv) ||
				namesRE.ReplaceAllString(a, "@") == namesRE.ReplaceAllString(b, "@") {
				twins++ // another definition of the name
				twinNames = append(twinNames, name)
				t.Logf("two definitions of %s: DWARF %s\nBTF %s", name, truncISF(a), truncISF(b))
				continue
			}
			t.Errorf("user type %s differs:\nDWARF %s\nBTF   %s", name, a, b)
		}
	}
	for name := range bt.user {
		if _, ok := dw.user[name]; !ok {
			onlyBTF = append(onlyBTF, name)
		}
	}
	// A type only in the DWARF is anonymous and either named differently
	// in the BTF because it holds a multi-dimensional array, or the type
	// of a variable only (BTF has no types for most variables).
	varTypes := map[string]bool{}
	var reach func(v any)
	reach = func(v any) {
		for _, n := range anonRE.FindAllString(jsonString(v), -1) {
			if !varTypes[n] {
				varTypes[n] = true
				if u, ok := dw.user[n]; ok {
					reach(u)
				}
			}
		}
	}
	for _, sv := range dw.syms {
		reach(sv.(map[string]any)["type"])
	}
	for _, n := range twinNames {
		reach(dw.user[n])
	}
	fromVars := 0
	for _, name := range onlyDWARF {
		if varTypes[name] {
			fromVars++
			continue
		}
		if !strings.HasPrefix(name, "unnamed_") || !hasNestedArray(dw.user[name]) {
			t.Errorf("user type %s is in the DWARF ISF only: %s", name, truncISF(jsonString(dw.user[name])))
		}
	}
	sort.Strings(onlyBTF)
	t.Logf("user types: %d equal, %d equal but for flattened arrays, %d equal but for anonymous types so named, %d names with two definitions; %d anonymous in the DWARF only (%d types of variables or of a name's other definition); in the BTF only: %v",
		same, flat, renamed, twins, len(onlyDWARF), fromVars, onlyBTF)

	esame, esign := 0, 0
	for name, dv := range dw.enum {
		bv, ok := bt.enum[name]
		if !ok {
			if !varTypes[name] {
				t.Errorf("enum %s is in the DWARF ISF only", name)
			}
			continue
		}
		if jsonString(dv) == jsonString(bv) {
			esame++
			continue
		}
		d, b := dv.(map[string]any), bv.(map[string]any)
		dc, bc := d["constants"].(map[string]any), b["constants"].(map[string]any)
		if len(dc) != len(bc) || fieldNames(dc) != fieldNames(bc) {
			t.Logf("two definitions of enum %s", name)
			continue
		}
		for c, x := range dc {
			dx, bx := num(x), num(bc[c])
			if dx != bx && dx != bx-256 && dx != bx-65536 {
				t.Errorf("enum %s: %s = %d in the DWARF, %d in the BTF", name, c, dx, bx)
			}
		}
		esign++
	}
	t.Logf("enums: %d equal, %d with DWARF data1/data2 values sign-extended (dwarfmodel)", esame, esign)

	typed, untypedBTF := 0, 0
	for name, bv := range bt.syms {
		dv, ok := dw.syms[name]
		if !ok {
			t.Errorf("symbol %s: in kallsyms, not in .symtab", name)
			continue
		}
		d, b := dv.(map[string]any), bv.(map[string]any)
		if d["address"] != b["address"] {
			t.Errorf("symbol %s: address %v from kallsyms, %v from .symtab", name, b["address"], d["address"])
		}
		if name == "linux_banner" && d["constant_data"] != b["constant_data"] {
			t.Errorf("linux_banner: %v from the dump, %v from the image", b["constant_data"], d["constant_data"])
		}
		bty, dty := jsonString(b["type"]), jsonString(d["type"])
		switch {
		case bty == `{"kind":"base","name":"void"}`:
			untypedBTF++
		case bty == dty:
			typed++
		case strings.Contains(bty, `"count":0`) && strings.HasPrefix(dty, `{"count":`):
			typed++ // a "[]" global of the BTF table
		case name == "jiffies" && dty == `{"kind":"base","name":"void"}`:
		default:
			t.Errorf("symbol %s: type %s from BTF, %s from DWARF", name, bty, dty)
		}
	}
	if bt.sum.Banner == nil {
		t.Error("no banner from the dump")
	}
	for _, g := range []string{"init_task", "modules", "linux_banner", "init_files", "init_top_pgt", "_text"} {
		if _, ok := bt.syms[g]; !ok {
			t.Errorf("the dump's ISF lacks %s", g)
		}
	}
	t.Logf("symbols: %d from kallsyms (%d in .symtab), %d typed alike, %d void in the BTF ISF", len(bt.syms), len(dw.syms), typed, untypedBTF)
}

// anonRenamed: a and b are equal but for the names of anonymous types
// that are themselves equal but for flattened arrays.
var (
	anonRE  = regexp.MustCompile(`unnamed_[0-9a-f]{16}`)
	namesRE = regexp.MustCompile(`"name":"[^"]*"`)
)

func anonRenamed(dw, bt *isfDoc, a, b any) bool {
	re := anonRE
	as, bs := jsonString(flattenArrays(a)), jsonString(b)
	an, bn := re.FindAllString(as, -1), re.FindAllString(bs, -1)
	if len(an) != len(bn) || re.ReplaceAllString(as, "@") != re.ReplaceAllString(bs, "@") {
		return false
	}
	for i := range an {
		if an[i] != bn[i] && !(anonRenamed(dw, bt, dw.user[an[i]], bt.user[bn[i]]) || jsonString(flattenArrays(dw.user[an[i]])) == jsonString(bt.user[bn[i]])) {
			return false
		}
	}
	return true
}

func fieldNames(v any) string {
	m := v.(map[string]any)
	if f, ok := m["fields"].(map[string]any); ok {
		m = f
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func truncISF(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// TestISFFromBTFFile: -btf with the image (its .BTF) and -symbols
// System.map; the banner comes from the image. The types are the dump's
// BTF's but for the modules' split BTF the dump adds.
func TestISFFromBTFFile(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	smap := testfix.Path(t, "linux-amd64/System.map")
	d := writeISF(t, "-btf", vml, "-symbols", smap)
	if d.sum.Banner == nil {
		t.Error("no banner from the image")
	}
	md := jsonString(d.raw["metadata"])
	if !strings.Contains(md, `"kind":"system-map","name":"System.map"`) || !strings.Contains(md, `"types_from":"BTF in vmlinux sha256 `) {
		t.Errorf("metadata %s", md)
	}
	if jsonString(d.syms["init_task"]) != jsonString(writeISF(t, "-kernel", vml).syms["init_task"]) {
		t.Errorf("init_task %v", d.syms["init_task"])
	}
	if d.sum.UserTypes < 8000 {
		t.Errorf("%d user types", d.sum.UserTypes)
	}
}

// TestISFBadInput: what is not a kernel image, BTF or dump is refused
// with the file's name and what was expected.
func TestISFBadInput(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello, not a kernel\n"), 0o644)
	out := filepath.Join(dir, "out.json")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-kernel", text}, "-kernel " + text + ": not an ELF file; want a kernel image (vmlinux) with DWARF"},
		{[]string{"-kernel", dir}, "-kernel " + dir + ": not a regular file"},
		{[]string{"-core", dir}, "-core " + dir + ": not a regular file"},
		{[]string{"-core", text}, text},
		{[]string{"-btf", text}, "-btf " + text + " is raw BTF, which has no symbols: give -symbols System.map"},
		{[]string{"-btf", text, "-symbols", text}, text},
		{[]string{}, "give exactly one of -kernel VMLINUX, -btf FILE or -core DUMP"},
		{[]string{"-kernel", text, "-core", text}, "give exactly one of"},
		{[]string{"-kernel", text, "-symbols", text}, "-symbols goes with -btf"},
	}
	for _, c := range cases {
		_, err := runOut(t, append(append([]string{"isf"}, c.args...), "-o", out)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("isf %q: %v; want an error with %q", c.args, err, c.want)
		} else {
			t.Logf("isf %q: %v", c.args, err)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("isf %q left %s behind", c.args, out)
			os.Remove(out)
		}
	}
	t.Run("truncated dump", func(t *testing.T) {
		core := testfix.Path(t, "linux-amd64/dumps/paging.vmcore")
		trunc := filepath.Join(dir, "truncated.vmcore")
		src, err := os.Open(core)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		n, _ := io.ReadFull(src, buf)
		src.Close()
		os.WriteFile(trunc, buf[:n], 0o644)
		_, err = runOut(t, "isf", "-core", trunc, "-o", out)
		if err == nil || !strings.Contains(err.Error(), trunc) {
			t.Errorf("isf -core (1 MiB of a dump): %v; want an error naming it", err)
		}
		t.Logf("isf -core (1 MiB of a dump): %v", err)
	})
}

// TestISFXZ: a .json.xz output is xz and decompresses to the same ISF.
func TestISFXZ(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	core := testfix.Path(t, "linux-amd64/dumps/paging.vmcore")
	out := filepath.Join(t.TempDir(), "k.json.xz")
	if _, err := runOut(t, "isf", "-core", core, "-o", out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\xfd7zXZ\x00")) {
		t.Fatalf("%s is not xz: % x", out, b[:8])
	}
	xzr, err := xz.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := isf.Check(xzr)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Symbols != len(writeISF(t, "-core", core).syms) {
		t.Errorf("%d symbols in the xz ISF", sum.Symbols)
	}
}
