// Package testfix locates the large test fixtures that `make fixtures`
// builds or downloads (real kernels, dumps, cross-built programs and their
// cores) in a cache outside the repository.
//
// A test that needs a fixture calls Path; when the file is absent the test
// is skipped, unless KVMGEN_REQUIRE_FIXTURES=1 (as CI sets it), where a
// missing fixture fails the test instead: CI cannot pass by skipping.
package testfix

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir is the fixture cache: $KVMGEN_CACHE, or $HOME/.cache/kvmgen.
func Dir() string {
	if d := os.Getenv("KVMGEN_CACHE"); d != "" {
		return d
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "kvmgen")
	}
	return filepath.Join(os.TempDir(), "kvmgen-cache")
}

// Required reports whether missing fixtures must fail tests.
func Required() bool { return os.Getenv("KVMGEN_REQUIRE_FIXTURES") == "1" }

// Path returns Dir()/rel, skipping (or failing, under Required) the test
// when it does not exist.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Dir(), rel)
	if _, err := os.Stat(p); err != nil {
		if Required() {
			t.Fatalf("fixture %s is missing (run `make fixtures`): %v", p, err)
		}
		t.Skipf("fixture %s is missing (run `make fixtures`)", p)
	}
	return p
}

// Shared is the project's ../shared folder (fixtures provided beside the
// checkout), found from the module root; "" when absent.
func Shared() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for i := 0; i < 10; i++ {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(s); err == nil {
				return s
			}
			return ""
		}
		dir = filepath.Dir(dir)
	}
	return ""
}
