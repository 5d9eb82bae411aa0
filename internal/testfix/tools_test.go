package testfix

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// installDeps returns the packages scripts/install-deps.sh installs (its
// pkgs=( ... ) list, comments stripped).
func installDeps(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../../scripts/install-deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "pkgs=(")
	j := strings.Index(s[i:], "\n)")
	if i < 0 || j < 0 {
		t.Fatal("scripts/install-deps.sh has no pkgs=( ... ) list")
	}
	pkgs := map[string]bool{}
	for _, line := range strings.Split(s[i+len("pkgs=("):i+j], "\n") {
		if k := strings.IndexByte(line, '#'); k >= 0 {
			line = line[:k]
		}
		for _, f := range strings.Fields(line) {
			pkgs[f] = true
		}
	}
	return pkgs
}

// TestInstallDeps: every package behind a tool the tests use is installed
// by scripts/install-deps.sh.
func TestInstallDeps(t *testing.T) {
	pkgs := installDeps(t)
	if len(pkgs) < 10 {
		t.Fatalf("parsed only %d packages from install-deps.sh", len(pkgs))
	}
	for _, p := range Packages() {
		if !pkgs[p] {
			t.Errorf("package %s (for a tool in testfix.ToolPackages) is not in scripts/install-deps.sh", p)
		}
	}
}

// eachTestFile calls fn with each _test.go file of the module (outside
// .git and _-prefixed scratch directories) and its text.
func eachTestFile(t *testing.T, fn func(path, src string)) {
	t.Helper()
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || strings.HasPrefix(d.Name(), "_")) {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fn(path, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestToolsDeclared: every tool a test asks testfix.Tool for is in
// ToolPackages (a string literal argument; found by reading the tests).
func TestToolsDeclared(t *testing.T) {
	re := regexp.MustCompile(`testfix\.Tool\(t, "([^"]+)"\)`)
	n := 0
	eachTestFile(t, func(path, src string) {
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			n++
			if _, ok := ToolPackages[m[1]]; !ok {
				t.Errorf("%s: testfix.Tool(%q) is not in ToolPackages", path, m[1])
			}
		}
	})
	if n < 5 {
		t.Errorf("found only %d testfix.Tool calls", n)
	}
}
