package truth

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// variant is one build of testdata/c/truth.c (see scripts/build-cross.sh).
type variant struct {
	Arch  string // x86_64, i386, aarch64, s390x
	DWARF int    // 4 or 5
}

// Dir is the variant's fixture directory, relative to the cache.
func (v variant) Dir() string { return fmt.Sprintf("cross/%s-dwarf%d", v.Arch, v.DWARF) }

// Pkg is the Go package (directory) holding its generated bindings.
func (v variant) Pkg() string { return fmt.Sprintf("%s_dwarf%d", v.Arch, v.DWARF) }

// File returns the fixture path of one of its files, skipping (or failing
// under KVMGEN_REQUIRE_FIXTURES=1) when absent.
func (v variant) File(t testing.TB, name string) string {
	t.Helper()
	return testfix.Path(t, filepath.Join(v.Dir(), name))
}

var variants = func() []variant {
	var vs []variant
	for _, a := range []string{"x86_64", "i386", "aarch64", "s390x"} {
		for _, d := range []int{4, 5} {
			vs = append(vs, variant{a, d})
		}
	}
	return vs
}()

// The aggregates and enums of truth.c whose layout is checked.
var (
	aggregates = []string{
		"struct ints", "struct flags", "struct packed_bits", "struct point",
		"union value", "struct shape", "struct arrays", "struct flex", "struct node",
	}
	enums = []string{"enum color", "enum delta", "enum wide", "enum tiny"}
	// globals of truth.c
	globals = []string{"g_head", "g_count", "g_delta", "g_banner", "g_ints", "g_flex"}
)

func tags(names []string) []string {
	var out []string
	for _, n := range names {
		_, tag, _ := strings.Cut(n, " ")
		out = append(out, tag)
	}
	return out
}

func testfixRequired() bool { return testfix.Required() }
