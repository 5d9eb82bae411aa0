package gen_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/gen"
	"github.com/kvmgen/kvmgen/internal/testfix"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// toolchains are the targets the tests build the truth program (its
// section 2, struct kinds: testdata/c/truth.c) for.
var toolchains = []testfix.Toolchain{testfix.GCC["x86_64"], testfix.GCC["s390x"], testfix.GCC["i386"], testfix.GCC["aarch64"]}

var kindsVars = []string{"g_kinds", "g_count", "g_banner", "g_sign", "g_ptr", "g_vec"}

func kindsConfig(pkg string) gen.Config {
	return gen.Config{
		Package: pkg,
		Types:   []string{"kinds", "klist"},
		Vars:    kindsVars,
		Depth:   1,
		Command: "kvmgen gen -type kinds,klist -var " + strings.Join(kindsVars, ",") + " -depth 1",
	}
}

// need returns the path of a tool the test needs (testfix.Tool); the Go
// toolchain running the test is always there.
func need(t *testing.T, tool string) string {
	t.Helper()
	if tool == "go" {
		p, err := exec.LookPath("go")
		if err != nil {
			t.Fatalf("go is not on PATH: %v", err)
		}
		return p
	}
	return testfix.Tool(t, tool)
}

// buildKinds builds the truth program for tc through testfix's pipeline:
// its object, or its static program.
func buildKinds(t *testing.T, tc testfix.Toolchain, static bool) string {
	t.Helper()
	if static {
		return testfix.Truth(t, tc)
	}
	return testfix.TruthObject(t, tc)
}

func generateFile(t *testing.T, path string, cfg gen.Config) []byte {
	t.Helper()
	f, err := dwarfmodel.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := gen.Generate(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// tempPackage makes a directory inside this module (so that the generated
// code's import of the runtime resolves) that ./... patterns ignore.
func tempPackage(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir, err := os.MkdirTemp(".", "_gentest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "./" + filepath.ToSlash(dir)
}

// vet runs go vet (which also type-checks) on packages made by tempPackage.
func vet(t *testing.T, dirs ...string) {
	t.Helper()
	goTool := need(t, "go")
	cmd := exec.Command(goTool, append([]string{"vet"}, dirs...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet %s: %v\n%s", strings.Join(dirs, " "), err, b)
	}
}

var headerRE = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

func checkHeader(t *testing.T, src []byte) {
	t.Helper()
	first, _, _ := bytes.Cut(src, []byte("\n"))
	if !headerRE.Match(first) {
		t.Errorf("first line %q does not match %s", first, headerRE)
	}
}

// TestGolden generates bindings for struct kinds from the truth program
// built for little- and big-endian targets, compares them with the committed golden files
// (refresh with `go test ./gen -update`), checks the generator is
// deterministic, and compiles and vets the output.
func TestGolden(t *testing.T) {
	var dirs []string
	parent := t
	for _, tc := range toolchains {
		for _, fixed := range []bool{false, true} {
			name, suffix := tc.Arch, ""
			if fixed {
				name, suffix = tc.Arch+"_fixed", "_fixed"
			}
			t.Run(name, func(t *testing.T) {
				obj := buildKinds(t, tc, false)
				cfg := kindsConfig("kinds")
				cfg.Fixed = fixed
				src := generateFile(t, obj, cfg)
				checkHeader(t, src)
				if again := generateFile(t, obj, cfg); !bytes.Equal(src, again) {
					t.Error("two generations from the same file differ")
				}
				golden := filepath.Join("testdata", "kinds_"+tc.Arch+suffix+".golden")
				if *update {
					if err := os.WriteFile(golden, src, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./gen -update)", err)
				}
				if !bytes.Equal(src, want) {
					t.Errorf("generated code differs from %s (if the change is intended, run go test ./gen -update)\n%s", golden, firstDiff(want, src))
				}
				be := tc.Arch == "s390x"
				if !bytes.Contains(src, []byte(fmt.Sprintf("BigEndian = %v", be))) || !bytes.Contains(src, []byte(fmt.Sprintf("Relocatable = %v", !fixed))) {
					t.Errorf("%s bindings do not declare BigEndian = %v, Relocatable = %v", tc.Arch, be, !fixed)
				}
				if fixed && !bytes.Contains(src, []byte(", BigEndian))")) {
					t.Errorf("fixed %s bindings do not decode with bind.FixedUint(..., BigEndian)", tc.Arch)
				}
				dirs = append(dirs, tempPackage(parent, map[string][]byte{"zkvmgen.go": src}))
			})
		}
	}
	if len(dirs) > 0 {
		vet(t, dirs...)
	}
}

func firstDiff(a, b []byte) string {
	d := testfix.DiffLines(strings.Split(string(a), "\n"), strings.Split(string(b), "\n"))
	if len(d) == 0 {
		return "no difference"
	}
	return "line " + strconv.Itoa(d[0].Line) + ":\n-" + d[0].Want + "\n+" + d[0].Got
}

// TestValues is the value oracle: the truth program's kinds report (`prog
// kinds`), run on its target, prints its globals' bytes and every value it
// stored; a driver built with
// the bindings generated from that program's DWARF reads the same values
// back from those bytes, which must print identically.
func TestValues(t *testing.T) {
	driver, err := os.ReadFile("testdata/kinds_driver.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range toolchains {
		for _, fixed := range []bool{false, true} {
			name := tc.Arch
			if fixed {
				name += "_fixed"
			}
			t.Run(name, func(t *testing.T) {
				prog := buildKinds(t, tc, true)
				out := testfix.Run(t, tc, prog, "kinds")
				cfg := kindsConfig("main")
				cfg.Fixed = fixed
				src := generateFile(t, prog, cfg)
				dir := tempPackage(t, map[string][]byte{"zkvmgen.go": src, "main.go": driver})
				cmd := exec.Command(need(t, "go"), "run", dir)
				cmd.Stdin = bytes.NewReader(out)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				got, err := cmd.Output()
				if err != nil {
					t.Fatalf("driver: %v\n%s", err, stderr.Bytes())
				}
				want := valueLines(out)
				have := valueLines(got)
				if len(want) < 80 {
					t.Fatalf("the program printed only %d values", len(want))
				}
				for _, d := range testfix.DiffLines(want, have) {
					t.Errorf("line %d: C printed %q, the bindings read %q", d.Line, d.Want, d.Got)
				}
			})
		}
	}
}

func valueLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "sym ") || strings.HasPrefix(l, "mem ") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// model builds small hand-made models for the tests below.
var le64 = dwarfmodel.DataModel{Arch: "x86_64", PtrSize: 8, ByteOrder: binary.LittleEndian}

func TestRootErrors(t *testing.T) {
	i32 := &dwarfmodel.Base{Name: "int", ByteSize: 4, Encoding: dwarfmodel.EncSigned}
	decl := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "opaque", ByteSize: -1, Incomplete: true}
	for _, tc := range []struct {
		name string
		in   gen.Input
		want string
	}{
		{"base", gen.Input{DataModel: le64, Types: []dwarfmodel.Type{i32}}, "not a struct, union or enum"},
		{"declaration", gen.Input{DataModel: le64, Types: []dwarfmodel.Type{decl}}, "only declared"},
		{"package", gen.Input{Package: "no-go", DataModel: le64}, "not a valid Go package name"},
		{"ptrsize", gen.Input{DataModel: dwarfmodel.DataModel{PtrSize: 3, ByteOrder: binary.LittleEndian}}, "pointer size"},
		{"depth", gen.Input{DataModel: le64, Depth: -1}, "depth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gen.GenerateModel(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestNotFound checks that an unknown type name reaches the caller as the
// model's *NotFoundError, with suggestions.
func TestNotFound(t *testing.T) {
	obj := buildKinds(t, toolchains[0], false)
	f, err := dwarfmodel.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = gen.Generate(f, gen.Config{Types: []string{"kindz"}})
	var nf *dwarfmodel.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("got %v, want a *dwarfmodel.NotFoundError", err)
	}
	found := false
	for _, s := range nf.Suggestions {
		found = found || strings.Contains(s, "kinds")
	}
	if !found {
		t.Errorf("suggestions %q do not include kinds", nf.Suggestions)
	}
}

// TestModelEdgeCases generates from hand-built models that real compilers
// rarely emit: members out of their struct's bounds, duplicate enum values,
// name collisions, pointer depth, a self-referencing typedef. The output
// must compile and vet, and leave out the impossible accessors.
func TestModelEdgeCases(t *testing.T) {
	u8 := &dwarfmodel.Base{Name: "unsigned char", ByteSize: 1, Encoding: dwarfmodel.EncUnsignedChar}
	i32 := &dwarfmodel.Base{Name: "int", ByteSize: 4, Encoding: dwarfmodel.EncSigned}
	ld := &dwarfmodel.Base{Name: "long double", ByteSize: 16, Encoding: dwarfmodel.EncFloat}
	i128 := &dwarfmodel.Base{Name: "__int128", ByteSize: 16, Encoding: dwarfmodel.EncSigned}
	cplx := &dwarfmodel.Base{Name: "complex double", ByteSize: 16, Encoding: dwarfmodel.EncComplexFloat}
	en := &dwarfmodel.Enum{Name: "dup", ByteSize: 4, Values: []dwarfmodel.Enumerator{{Name: "A", Value: 1}, {Name: "B", Value: 1}, {Name: "dup", Value: 2}}}
	far := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "far", ByteSize: 4, Members: []dwarfmodel.Member{{Name: "x", Type: i32}}}
	loop := &dwarfmodel.Typedef{Name: "loop_t"}
	loop.Type = loop
	s := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "edge", ByteSize: 64}
	s.Members = []dwarfmodel.Member{
		{Name: "ok", Type: i32, ByteOffset: 0},
		{Name: "outside", Type: i32, ByteOffset: 62},                                     // ends past the struct: no accessor
		{Name: "bits_outside", Type: u8, ByteOffset: 63, BitSize: 4, DataBitOffset: 510}, // idem
		{Name: "e", Type: en, ByteOffset: 4},
		{Name: "ld", Type: ld, ByteOffset: 16},
		{Name: "big", Type: i128, ByteOffset: 32},
		{Name: "z", Type: cplx, ByteOffset: 48},
		{Name: "far", Type: &dwarfmodel.Pointer{Elem: far, ByteSize: 8}, ByteOffset: 8}, // beyond depth 0: an opaque typed pointer
		{Name: "loop", Type: loop, ByteOffset: 12},
	}
	dup := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "Edge", ByteSize: 4, Members: []dwarfmodel.Member{{Name: "ok", Type: i32}}}
	src, err := gen.GenerateModel(gen.Input{Package: "edge", DataModel: le64, BuildID: "abc", Types: []dwarfmodel.Type{s, dup}})
	if err != nil {
		t.Fatal(err)
	}
	checkHeader(t, src)
	text := string(src)
	for _, absent := range []string{") Outside(", ") BitsOutside(", ") Loop(", "func (s Far) X()", "SizeofFar"} {
		if strings.Contains(text, absent) {
			t.Errorf("output has %q", absent)
		}
	}
	for _, present := range []string{") Far() FarPtr", "FarPtr = bind.Ptr[Far]", ") Ld() []byte", ") Big() []byte", ") Z() complex128", "type Edge struct", "type Edge_2 struct", `return "A"`, "Dup_2 Dup = 2"} {
		if !strings.Contains(text, present) {
			t.Errorf("output lacks %q", present)
		}
	}
	if strings.Contains(text, `return "B"`) {
		t.Error("String has a case for B, a duplicate of A's value")
	}
	vet(t, tempPackage(t, map[string][]byte{"z.go": src}))
}

// TestMalformedModel feeds models no compiler emits but corrupt DWARF may
// decode to: anonymous members containing each other, members without a
// type, arrays whose size overflows. Generation must end without a panic
// and the output must compile.
func TestMalformedModel(t *testing.T) {
	i32 := &dwarfmodel.Base{Name: "int", ByteSize: 4, Encoding: dwarfmodel.EncSigned}
	a := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, ByteSize: 8}
	b := &dwarfmodel.Struct{Kind: dwarfmodel.KindUnion, ByteSize: 8}
	a.Members = []dwarfmodel.Member{{Type: b}, {Name: "x", Type: i32}}
	b.Members = []dwarfmodel.Member{{Type: a}, {Name: "y", Type: i32, ByteOffset: 4}}
	huge := &dwarfmodel.Array{Elem: i32, Dims: []int64{1 << 62, 1 << 62}}
	s := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "bad", ByteSize: 16, Members: []dwarfmodel.Member{
		{Type: a},
		{Name: "notype"},
		{Name: "huge", Type: huge},
		{Name: "empty", Type: &dwarfmodel.Array{Elem: i32}},
		{Name: "ok", Type: i32, ByteOffset: 8},
	}}
	v := &dwarfmodel.Variable{Name: "g_huge", Type: huge}
	src, err := gen.GenerateModel(gen.Input{Package: "bad", DataModel: le64, Types: []dwarfmodel.Type{s}, Vars: []*dwarfmodel.Variable{v}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte(") Ok() int32")) || bytes.Contains(src, []byte(") Huge(")) {
		t.Error("want an Ok accessor and no Huge accessor")
	}
	vet(t, tempPackage(t, map[string][]byte{"z.go": src}))
}

// TestKernelCompiles generates the kernel type set, one pointer hop
// deep, from the Debian vmlinux, and compiles and vets it: a real kernel
// has constructs no small test file has.
func TestKernelCompiles(t *testing.T) {
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	if testing.Short() {
		t.Skip("-short")
	}
	cfg := kernelConfig()
	cfg.Depth = 1
	cfg.Vars = append(cfg.Vars, "jiffies_64", "linux_banner", "__per_cpu_offset", "nr_threads")
	src := generateFile(t, vmlinux, cfg)
	checkHeader(t, src)
	for _, want := range []string{
		"func (k *Kernel) InitTask() (v TaskStruct, err error)",
		"func (s TaskStruct) CommString() string",
		"func (s TaskStruct) Mm() MmStructPtr",
		"func (k *Kernel) LinuxBannerString(limit int) (string, error)",
	} {
		if !bytes.Contains(src, []byte(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
	vet(t, tempPackage(t, map[string][]byte{"zkvmgen.go": src}))
}
