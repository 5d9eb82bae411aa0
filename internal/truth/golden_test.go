package truth

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/gen"
)

var update = flag.Bool("update", false, "rewrite the committed bindings (zkvmgen.go) and walkers (walk.go) of every variant")

// What the bindings of each variant are generated for.
var genTypes = []string{"struct node", "struct flex", "struct ints"}

const genDepth = 1

// genConfig is the configuration the committed bindings were generated
// with; Command spells it as the equivalent kvmgen command line.
func genConfig(v variant) gen.Config {
	return gen.Config{
		Package: v.Pkg(),
		Types:   genTypes,
		Vars:    globals,
		Depth:   genDepth,
		Command: fmt.Sprintf("kvmgen gen -kernel $KVMGEN_CACHE/%s/prog -pkg %s -type %s -var %s -depth %d",
			v.Dir(), v.Pkg(), strings.Join(tags(genTypes), ","), strings.Join(globals, ","), genDepth),
	}
}

// checkGolden compares (or, under -update, writes) a committed file.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/truth -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		if d := testfix.DiffLines(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); len(d) > 0 {
			t.Errorf("%s differs from a fresh generation at line %d:\n committed: %s\n     fresh: %s\n(compiler or generator drift? if intended: go test ./internal/truth -run Golden -update)",
				path, d[0].Line, d[0].Want, d[0].Got)
		}
	}
}

// TestGolden: regenerating each variant's bindings from its freshly built
// program gives the committed bytes.
func TestGolden(t *testing.T) {
	for _, v := range variants {
		t.Run(v.Pkg(), func(t *testing.T) {
			f, err := dwarfmodel.Open(v.File(t, "prog"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			src, err := gen.Generate(f, genConfig(v))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(v.Pkg(), "zkvmgen.go"), src)
		})
	}
}

// TestWalkCopies: each variant's walk.go is walk.go.tmpl with its package
// name (no fixture needed).
func TestWalkCopies(t *testing.T) {
	tmpl, err := os.ReadFile("walk.go.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range variants {
		got := bytes.Replace(tmpl, []byte("\npackage PKG\n"), []byte("\npackage "+v.Pkg()+"\n"), 1)
		if bytes.Equal(got, tmpl) {
			t.Fatal("walk.go.tmpl has no `package PKG` line")
		}
		checkGolden(t, filepath.Join(v.Pkg(), "walk.go"), got)
	}
}

// TestGeneratedHeader: each committed file starts with the one-line
// generated-code marker naming the command and the build ID that readelf
// reads from the program's GNU build-id note.
func TestGeneratedHeader(t *testing.T) {
	testfix.Tool(t, "readelf")
	re := regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)
	for _, v := range variants {
		t.Run(v.Pkg(), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(v.Pkg(), "zkvmgen.go"))
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(src), "\n")
			if !re.MatchString(first) {
				t.Errorf("first line %q does not match %v", first, re)
			}
			if !strings.Contains(first, "kvmgen gen") {
				t.Errorf("first line %q does not name the command", first)
			}
			out, err := exec.Command("readelf", "-n", v.File(t, "prog")).Output()
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`Build ID: ([0-9a-f]+)`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("readelf -n %s: no build ID", v.File(t, "prog"))
			}
			if !strings.Contains(first, string(m[1])) {
				t.Errorf("first line %q does not name build ID %s", first, m[1])
			}
			if !strings.Contains(string(src), `BuildID = "`+string(m[1])+`"`) {
				t.Errorf("BuildID constant is not %s", m[1])
			}
		})
	}
}
