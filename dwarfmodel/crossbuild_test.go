package dwarfmodel

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// toolchain is a C compiler for one target (testfix's) and what its
// objects must say.
type toolchain struct {
	testfix.Toolchain
	ptrSize  int
	order    binary.ByteOrder
	versions []int
	canLink  bool // links a static program
	// clang: an extra compiler, skipped when absent even in CI (it writes
	// the DWARF 5 forms GCC does not: strx1, addrx, str_offsets_base).
	optional bool
	prefix   string // in object names
}

var toolchains = []toolchain{
	{testfix.GCC["x86_64"], 8, binary.LittleEndian, []int{2, 3, 4, 5}, true, false, ""},
	{testfix.GCC["i386"], 4, binary.LittleEndian, []int{4, 5}, true, false, ""},
	{testfix.GCC["aarch64"], 8, binary.LittleEndian, []int{4, 5}, true, false, ""},
	{testfix.GCC["s390x"], 8, binary.BigEndian, []int{4, 5}, true, false, ""},
	{testfix.Clang["x86_64"], 8, binary.LittleEndian, []int{4, 5}, true, true, "clang-"},
	{testfix.Clang["i386"], 4, binary.LittleEndian, []int{5}, false, true, "clang-"},
	{testfix.Clang["s390x"], 8, binary.BigEndian, []int{5}, false, true, "clang-"},
}

// object is one built test input.
type object struct {
	name    string // e.g. "s390x-dwarf4-zlib.o"
	path    string
	tc      toolchain
	version int
	comp    string // "", "zlib", "zlib-gnu", "zstd"
	linked  bool
	// oracle is the file to give the oracles (pahole): the object itself,
	// or for zstd, the same object before compression (pahole's libelf
	// cannot decompress zstd).
	oracle string
}

var (
	buildOnce sync.Once
	built     []object
	buildErrs []string
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// job is one build of the truth program (testfix's pipeline), and what
// becomes of it.
type job struct {
	name string
	b    testfix.CBuild
	path string
	err  error
}

// buildAll runs the builds, two at a time.
func buildAll(jobs []*job) {
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func(j *job) {
			defer wg.Done()
			sem <- struct{}{}
			j.path, j.err = testfix.Build(j.b)
			<-sem
		}(j)
	}
	wg.Wait()
}

// objects builds the truth program (testdata/c/truth.c, through
// internal/testfix) with every toolchain found, each DWARF version, as
// relocatable objects with and without compressed debug sections (gcc
// -gz=zlib gives SHF_COMPRESSED zlib, -gz=zlib-gnu legacy .zdebug_,
// objcopy --compress-debug-sections=zstd SHF_COMPRESSED zstd), plus a
// linked program per toolchain that links (truth.c and decl.c), and with
// DWARF 4 and 5 type units. A missing toolchain is skipped unless
// KVMGEN_REQUIRE_FIXTURES=1.
func objects(t testing.TB) []object {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dwarfmodel-test")
		if err != nil {
			buildErrs = append(buildErrs, err.Error())
			return
		}
		buildDir = dir
		type plan struct {
			obj    object
			j      *job
			oracle *job // the file for the oracles when not the object itself
		}
		var plans []plan
		var jobs []*job
		add := func(o object, b testfix.CBuild, oracle *job) *job {
			j := &job{name: o.name, b: b}
			jobs = append(jobs, j)
			plans = append(plans, plan{o, j, oracle})
			return j
		}
		for _, tc := range toolchains {
			if _, err := exec.LookPath(tc.CC); err != nil {
				if !tc.optional {
					buildErrs = append(buildErrs, fmt.Sprintf("%s not found", tc.CC))
				}
				continue
			}
			plain := map[int]*job{}
			for _, v := range tc.versions {
				for _, comp := range []string{"", "zlib", "zlib-gnu", "zstd"} {
					if comp != "" && v != 4 && v != 5 {
						continue
					}
					if tc.optional && (comp == "zlib-gnu" || comp == "zstd") {
						continue
					}
					name := fmt.Sprintf("%s%s-dwarf%d", tc.prefix, tc.Arch, v)
					if comp != "" {
						name += "-" + comp
					}
					o := object{name: name + ".o", tc: tc, version: v, comp: comp}
					if comp == "zstd" {
						// The plain object, compressed by objcopy below.
						plans = append(plans, plan{o, plain[v], nil})
						continue
					}
					flags := []string{fmt.Sprintf("-gdwarf-%d", v)}
					if comp != "" {
						flags = append(flags, "-gz="+comp)
					}
					j := add(o, testfix.TruthBuild(tc.Toolchain, true, flags...), nil)
					if comp == "" {
						plain[v] = j
					}
				}
			}
			if !tc.canLink {
				continue
			}
			v := tc.versions[len(tc.versions)-1]
			linked := add(object{name: fmt.Sprintf("%s%s-dwarf%d-linked", tc.prefix, tc.Arch, v), tc: tc, version: v, linked: true},
				testfix.TruthBuild(tc.Toolchain, false, fmt.Sprintf("-gdwarf-%d", v), "-Wl,--build-id"), nil)
			// Type units: DWARF 5 (DW_UT_type in .debug_info) and DWARF 4
			// (.debug_types), referenced by DW_FORM_ref_sig8, relocatable
			// (one section per type unit, in section groups) and linked.
			// pahole and Go's debug/dwarf do not read type units: they read
			// the same program built without them.
			for _, tv := range []int{4, 5} {
				if plain[tv] == nil {
					continue
				}
				add(object{name: fmt.Sprintf("%s%s-dwarf%d-typeunits.o", tc.prefix, tc.Arch, tv), tc: tc, version: tv},
					testfix.TruthBuild(tc.Toolchain, true, fmt.Sprintf("-gdwarf-%d", tv), "-fdebug-types-section"), plain[tv])
				oracle := plain[tv]
				if tv == v {
					oracle = linked
				}
				add(object{name: fmt.Sprintf("%s%s-dwarf%d-typeunits-linked", tc.prefix, tc.Arch, tv), tc: tc, version: tv, linked: true},
					testfix.TruthBuild(tc.Toolchain, false, fmt.Sprintf("-gdwarf-%d", tv), "-fdebug-types-section"), oracle)
			}
		}
		buildAll(jobs)
		for _, p := range plans {
			if p.j.err != nil {
				buildErrs = append(buildErrs, p.j.err.Error())
				continue
			}
			o := p.obj
			o.path, o.oracle = p.j.path, p.j.path
			if p.oracle != nil {
				if p.oracle.err != nil {
					continue
				}
				o.oracle = p.oracle.path
			}
			if o.comp == "zstd" {
				o.path = filepath.Join(dir, strings.TrimSuffix(o.name, ".o")+"-compressed.o")
				if out, err := exec.Command(o.tc.Objcopy, "--compress-debug-sections=zstd", o.oracle, o.path).CombinedOutput(); err != nil {
					buildErrs = append(buildErrs, fmt.Sprintf("%s --compress-debug-sections=zstd: %v\n%s", o.tc.Objcopy, err, out))
					continue
				}
			}
			built = append(built, o)
		}
	})
	if len(buildErrs) > 0 {
		msg := strings.Join(buildErrs, "\n")
		if testfix.Required() {
			t.Fatalf("building test objects:\n%s", msg)
		}
		t.Logf("some test objects were not built:\n%s", msg)
	}
	if len(built) == 0 {
		t.Skip("no C compiler found")
	}
	return built
}
