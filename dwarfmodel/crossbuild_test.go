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

// toolchain is a C compiler for one target and what its objects must say.
type toolchain struct {
	cc, objcopy string
	arch        string
	ptrSize     int
	order       binary.ByteOrder
	versions    []int
	canLink     bool // links a free-standing executable
	// clang: an extra compiler, skipped when absent even in CI (it writes
	// the DWARF 5 forms GCC does not: strx1, addrx, str_offsets_base).
	flags    []string
	optional bool
	prefix   string // in object names
}

var toolchains = []toolchain{
	{"gcc", "objcopy", "x86_64", 8, binary.LittleEndian, []int{2, 3, 4, 5}, true, nil, false, ""},
	{"i686-linux-gnu-gcc", "i686-linux-gnu-objcopy", "i386", 4, binary.LittleEndian, []int{4, 5}, true, nil, false, ""},
	{"aarch64-linux-gnu-gcc", "aarch64-linux-gnu-objcopy", "aarch64", 8, binary.LittleEndian, []int{4, 5}, true, nil, false, ""},
	{"s390x-linux-gnu-gcc", "s390x-linux-gnu-objcopy", "s390x", 8, binary.BigEndian, []int{4, 5}, true, nil, false, ""},
	{"clang-14", "objcopy", "x86_64", 8, binary.LittleEndian, []int{4, 5}, true, nil, true, "clang-"},
	{"clang-14", "i686-linux-gnu-objcopy", "i386", 4, binary.LittleEndian, []int{5}, false, []string{"--target=i686-linux-gnu"}, true, "clang-"},
	{"clang-14", "s390x-linux-gnu-objcopy", "s390x", 8, binary.BigEndian, []int{5}, false, []string{"--target=s390x-linux-gnu"}, true, "clang-"},
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

// objects builds testdata/types.c with every toolchain found, each DWARF
// version, with and without compressed debug sections (gcc -gz=zlib gives
// SHF_COMPRESSED zlib, -gz=zlib-gnu legacy .zdebug_, objcopy
// --compress-debug-sections=zstd SHF_COMPRESSED zstd), plus a linked
// executable per toolchain (and one with DWARF 5 type units). A missing toolchain is skipped unless
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
		src, _ := filepath.Abs("testdata/types.c")
		decl, _ := filepath.Abs("testdata/decl.c")
		run := func(name string, args ...string) error {
			out, err := exec.Command(name, args...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
			}
			return nil
		}
		for _, tc := range toolchains {
			if _, err := exec.LookPath(tc.cc); err != nil {
				if !tc.optional {
					buildErrs = append(buildErrs, fmt.Sprintf("%s not found", tc.cc))
				}
				continue
			}
			for _, v := range tc.versions {
				for _, comp := range []string{"", "zlib", "zlib-gnu", "zstd"} {
					if comp != "" && v != 4 && v != 5 {
						continue
					}
					if tc.optional && (comp == "zlib-gnu" || comp == "zstd") {
						continue
					}
					name := fmt.Sprintf("%s%s-dwarf%d", tc.prefix, tc.arch, v)
					if comp != "" {
						name += "-" + comp
					}
					out := filepath.Join(dir, name+".o")
					args := append(append([]string{}, tc.flags...), "-c", "-O0", "-g", fmt.Sprintf("-gdwarf-%d", v), "-o", out, src)
					if comp == "zlib" || comp == "zlib-gnu" {
						args = append([]string{"-gz=" + comp}, args...)
					}
					if err := run(tc.cc, args...); err != nil {
						buildErrs = append(buildErrs, err.Error())
						continue
					}
					oracle := out
					if comp == "zstd" {
						plain := out
						out = filepath.Join(dir, name+"-compressed.o")
						if err := run(tc.objcopy, "--compress-debug-sections=zstd", plain, out); err != nil {
							buildErrs = append(buildErrs, err.Error())
							continue
						}
					}
					built = append(built, object{name + ".o", out, tc, v, comp, false, oracle})
				}
			}
			if tc.canLink {
				v := tc.versions[len(tc.versions)-1]
				name := fmt.Sprintf("%s%s-dwarf%d-linked", tc.prefix, tc.arch, v)
				out := filepath.Join(dir, name)
				linked := out
				if err := run(tc.cc, "-O0", "-g", fmt.Sprintf("-gdwarf-%d", v), "-nostdlib", "-static", "-Wl,-e,0", "-Wl,--build-id", "-o", out, src, decl); err != nil {
					buildErrs = append(buildErrs, err.Error())
				} else {
					built = append(built, object{name, out, tc, v, "", true, out})
				}
				// Type units: DWARF 5 (DW_UT_type in .debug_info) and
				// DWARF 4 (.debug_types), referenced by DW_FORM_ref_sig8,
				// relocatable (one section per type unit, in section
				// groups) and linked. pahole and Go's debug/dwarf do not
				// read type units: they read the same program built
				// without them.
				for _, tv := range []int{4, 5} {
					plain := filepath.Join(dir, fmt.Sprintf("%s%s-dwarf%d.o", tc.prefix, tc.arch, tv))
					if _, err := os.Stat(plain); err != nil {
						continue
					}
					name := fmt.Sprintf("%s%s-dwarf%d-typeunits.o", tc.prefix, tc.arch, tv)
					out := filepath.Join(dir, name)
					if err := run(tc.cc, append(append([]string{}, tc.flags...), "-c", "-O0", "-g", fmt.Sprintf("-gdwarf-%d", tv), "-fdebug-types-section", "-o", out, src)...); err != nil {
						buildErrs = append(buildErrs, err.Error())
					} else {
						built = append(built, object{name, out, tc, tv, "", false, plain})
					}
					oracle := plain
					if tv == v {
						oracle = linked
					}
					name = fmt.Sprintf("%s%s-dwarf%d-typeunits-linked", tc.prefix, tc.arch, tv)
					out = filepath.Join(dir, name)
					if err := run(tc.cc, append(append([]string{}, tc.flags...), "-O0", "-g", fmt.Sprintf("-gdwarf-%d", tv), "-fdebug-types-section", "-nostdlib", "-static", "-Wl,-e,0", "-o", out, src, decl)...); err != nil {
						buildErrs = append(buildErrs, err.Error())
					} else {
						built = append(built, object{name, out, tc, tv, "", true, oracle})
					}
				}
			}
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
