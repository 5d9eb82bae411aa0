// Package values holds the value-truth tests of internal/truth: they import
// the generated bindings of every variant, which TestGolden in the parent
// package (re)generates; keeping them apart lets -update run even when the
// committed bindings no longer compile against a changed generator.
package values

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/truth"
	"github.com/kvmgen/kvmgen/internal/truth/aarch64_dwarf4"
	"github.com/kvmgen/kvmgen/internal/truth/aarch64_dwarf5"
	"github.com/kvmgen/kvmgen/internal/truth/i386_dwarf4"
	"github.com/kvmgen/kvmgen/internal/truth/i386_dwarf5"
	"github.com/kvmgen/kvmgen/internal/truth/s390x_dwarf4"
	"github.com/kvmgen/kvmgen/internal/truth/s390x_dwarf5"
	"github.com/kvmgen/kvmgen/internal/truth/x86_64_dwarf4"
	"github.com/kvmgen/kvmgen/internal/truth/x86_64_dwarf5"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

type walkFunc func(t kvm.Target, emit func(key, value string)) error

// walkers are the generated readers of each variant.
var walkers = map[string]walkFunc{
	"x86_64_dwarf4":  x86_64_dwarf4.Walk,
	"x86_64_dwarf5":  x86_64_dwarf5.Walk,
	"i386_dwarf4":    i386_dwarf4.Walk,
	"i386_dwarf5":    i386_dwarf5.Walk,
	"aarch64_dwarf4": aarch64_dwarf4.Walk,
	"aarch64_dwarf5": aarch64_dwarf5.Walk,
	"s390x_dwarf4":   s390x_dwarf4.Walk,
	"s390x_dwarf5":   s390x_dwarf5.Walk,
}

// kv is one line of the program's output.
type kv struct{ Key, Value string }

// readOut parses prog.out: "key=value" lines.
func readOut(path string) ([]kv, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []kv
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s:%d: not key=value: %q", path, ln, sc.Text())
		}
		out = append(out, kv{k, v})
	}
	return out, sc.Err()
}

// sameValue compares a value the program printed with one the bindings
// read: textually, or as numbers when both parse as floats (C's %a and Go's
// 'x' format spell the same float differently).
func sameValue(want, got string) bool {
	if want == got {
		return true
	}
	if !strings.Contains(want, "p") { // only hexadecimal floats get numeric comparison
		return false
	}
	w, err1 := strconv.ParseFloat(want, 64)
	g, err2 := strconv.ParseFloat(got, 64)
	return err1 == nil && err2 == nil && w == g && (w != 0 || strings.HasPrefix(want, "-") == strings.HasPrefix(got, "-"))
}

// collect runs a walker and gathers what it emits; a key emitted twice must
// carry the same value both times.
func collect(t *testing.T, walk walkFunc, target kvm.Target) (map[string]string, error) {
	t.Helper()
	got := map[string]string{}
	err := walk(target, func(k, v string) {
		if old, dup := got[k]; dup && old != v {
			t.Errorf("%s read twice with different values: %s, then %s", k, old, v)
		}
		got[k] = v
	})
	return got, err
}

// compareValues reports every printed value the bindings did not read back
// exactly, and every value they read that the program did not print.
func compareValues(want []kv, got map[string]string) []string {
	var errs []string
	seen := map[string]bool{}
	for _, w := range want {
		seen[w.Key] = true
		g, ok := got[w.Key]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("%s: printed %s, not read back", w.Key, w.Value))
		case !sameValue(w.Value, g):
			errs = append(errs, fmt.Sprintf("%s: printed %s, read %s", w.Key, w.Value, g))
		}
	}
	for k, v := range got {
		if !seen[k] {
			errs = append(errs, fmt.Sprintf("%s: read %s, not printed by the program", k, v))
		}
	}
	return errs
}

// TestValues: the generated bindings of each variant, over the runtime
// opened on (prog, prog.core), read back every value the program printed.
func TestValues(t *testing.T) {
	for _, v := range truth.Variants {
		t.Run(v.Pkg(), func(t *testing.T) {
			want, err := readOut(v.File(t, "prog.out"))
			if err != nil {
				t.Fatal(err)
			}
			if len(want) < 300 {
				t.Fatalf("prog.out has %d values, want more than 300", len(want))
			}
			kd, err := kvm.Open2(v.File(t, "prog"), v.File(t, "prog.core"), os.O_RDONLY, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer kd.Close()
			got, err := collect(t, walkers[v.Pkg()], kd)
			if err != nil {
				t.Fatalf("walk: %v", err)
			}
			errs := compareValues(want, got)
			for i, e := range errs {
				if i == 40 {
					t.Errorf("... and %d more", len(errs)-i)
					break
				}
				t.Error(e)
			}
			t.Logf("%d values printed, %d read back", len(want), len(got))
		})
	}
}

// TestValuesWrongKernel: bindings generated for one build refuse a core of
// another (the DWARF 4 and DWARF 5 builds differ in build ID).
func TestValuesWrongKernel(t *testing.T) {
	v4, v5 := truth.Variant{Arch: "x86_64", DWARF: 4}, truth.Variant{Arch: "x86_64", DWARF: 5}
	kd, err := kvm.Open2(v5.File(t, "prog"), v5.File(t, "prog.core"), os.O_RDONLY, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	_, err = collect(t, walkers[v4.Pkg()], kd)
	var mm *kvm.BuildIDError
	if !errors.As(err, &mm) {
		t.Fatalf("x86_64_dwarf4 bindings on the x86_64_dwarf5 core: err = %v, want a *BuildIDError", err)
	}
}

// TestCompareValues: the comparison catches a wrong, a missing and an
// invented value, and accepts the same float spelled two ways.
func TestCompareValues(t *testing.T) {
	want := []kv{{"a", "1"}, {"b", "-0x1.8p+0"}, {"c", "x"}, {"z", "-0x0p+0"}}
	got := map[string]string{"a": "2", "b": "-0x1.8p+00", "d": "y", "z": "0x0p+00"}
	errs := compareValues(want, got)
	if len(errs) != 4 {
		t.Fatalf("errors = %q, want 4 (a wrong, c missing, d invented, z sign)", errs)
	}
}

// BenchmarkWalk measures reading back every value of the truth program
// (3 nodes and the globals: 380 values, 9 struct reads and the strings)
// through the generated bindings over the runtime on its core.
func BenchmarkWalk(b *testing.B) {
	for _, v := range []truth.Variant{{Arch: "x86_64", DWARF: 5}, {Arch: "i386", DWARF: 5}, {Arch: "s390x", DWARF: 5}} {
		b.Run(v.Pkg(), func(b *testing.B) {
			kd, err := kvm.Open2(v.File(b, "prog"), v.File(b, "prog.core"), os.O_RDONLY, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer kd.Close()
			walk := walkers[v.Pkg()]
			n := 0
			emit := func(k, v string) { n++ }
			b.ReportAllocs()
			for b.Loop() {
				if err := walk(kd, emit); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "values/op")
		})
	}
}
