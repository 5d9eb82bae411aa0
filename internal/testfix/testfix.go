// Package testfix locates the large test fixtures that `make fixtures`
// builds or downloads (real kernels, dumps, cross-built programs and their
// cores) in a cache outside the repository.
//
// A test that needs a fixture calls Path; when the file is absent the test
// is skipped, unless KVMGEN_REQUIRE_FIXTURES=1 (as CI sets it), where a
// missing fixture fails the test instead: CI cannot pass by skipping.
package testfix

import (
	"debug/elf"
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

// ELFSymbols is the symbol table (.symtab) of the ELF file name, read with
// debug/elf: an oracle independent of the project's own readers. A file
// that cannot be read fails the test.
func ELFSymbols(t testing.TB, name string) []elf.Symbol {
	t.Helper()
	f, err := elf.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return syms
}

// ELFSymbolBytes returns the link-time address of symbol sym in the ELF
// file name and its first n initialised bytes, read with debug/elf: an
// oracle independent of the project's own readers. The test fails when the
// symbol is missing or not backed by file bytes.
func ELFSymbolBytes(t testing.TB, name, sym string, n int) (uint64, []byte) {
	t.Helper()
	f, err := elf.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range ELFSymbols(t, name) {
		if s.Name != sym {
			continue
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && s.Value >= p.Vaddr && s.Value+uint64(n) <= p.Vaddr+p.Filesz {
				b := make([]byte, n)
				if _, err := p.ReadAt(b, int64(s.Value-p.Vaddr)); err != nil {
					t.Fatal(err)
				}
				return s.Value, b
			}
		}
	}
	t.Fatalf("%s: no initialised symbol %s", name, sym)
	return 0, nil
}
