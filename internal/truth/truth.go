package truth

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// Variant is one build of testdata/c/truth.c (see scripts/build-cross.sh).
type Variant struct {
	Arch  string // x86_64, i386, aarch64, s390x
	DWARF int    // 4 or 5
}

// Dir is the variant's fixture directory, relative to the fixture cache.
func (v Variant) Dir() string { return fmt.Sprintf("cross/%s-dwarf%d", v.Arch, v.DWARF) }

// Pkg is the name of the Go package (and directory under internal/truth)
// holding its generated bindings.
func (v Variant) Pkg() string { return fmt.Sprintf("%s_dwarf%d", v.Arch, v.DWARF) }

// File returns the fixture path of one of its files (prog, prog.o,
// prog.out, prog.core), skipping the test (or failing it under
// KVMGEN_REQUIRE_FIXTURES=1) when absent.
func (v Variant) File(t testing.TB, name string) string {
	t.Helper()
	return testfix.Path(t, filepath.Join(v.Dir(), name))
}

// Variants are the 8 builds: 4 architectures, DWARF 4 and 5.
var Variants = func() []Variant {
	var vs []Variant
	for _, a := range []string{"x86_64", "i386", "aarch64", "s390x"} {
		for _, d := range []int{4, 5} {
			vs = append(vs, Variant{a, d})
		}
	}
	return vs
}()

// LayoutOnly are the -gdwarf-2 -gstrict-dwarf builds (member offsets as
// location expressions, DWARF 2 DW_AT_bit_offset bitfields): they have a
// prog and a prog.o but are not run and have no bindings.
var LayoutOnly = []Variant{{"x86_64", 2}, {"i386", 2}, {"aarch64", 2}, {"s390x", 2}}
