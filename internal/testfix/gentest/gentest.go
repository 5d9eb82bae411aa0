// Package gentest holds the test helpers that need the generator: it is
// apart from internal/testfix, which the generator's own dependencies
// (dwarfmodel) test with.
package gentest

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/gen"
)

// generatePrefix starts the go:generate lines of the committed bindings.
const generatePrefix = "//go:generate go run github.com/kvmgen/kvmgen/cmd/kvmgen gen "

// GenerateLine reads the go:generate line of file and returns the
// gen.Config that `kvmgen gen` builds from it for package pkg, so that a
// test regenerates exactly what go generate would. It knows -type, -var,
// -prefix, -depth and -fixed; any other flag fails the test, so that a new
// one is added here rather than silently ignored.
func GenerateLine(t testing.TB, file, pkg string) gen.Config {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(src), "\n") {
		a, ok := strings.CutPrefix(l, generatePrefix)
		if !ok {
			continue
		}
		args := strings.Fields(a)
		cfg := gen.Config{Package: pkg, Command: "kvmgen gen " + strings.Join(args, " ")}
		for i := 0; i < len(args); i++ {
			flag := args[i]
			if flag == "-fixed" {
				cfg.Fixed = true
				continue
			}
			if i+1 >= len(args) {
				t.Fatalf("%s: go:generate flag %s has no value", file, flag)
			}
			i++
			v := args[i]
			switch flag {
			case "-type":
				cfg.Types = append(cfg.Types, strings.Split(v, ",")...)
			case "-var":
				cfg.Vars = append(cfg.Vars, strings.Split(v, ",")...)
			case "-prefix":
				cfg.Prefix = v
			case "-depth":
				if cfg.Depth, err = strconv.Atoi(v); err != nil {
					t.Fatalf("%s: -depth: %v", file, err)
				}
			default:
				t.Fatalf("%s: go:generate line has flag %s the test does not know", file, flag)
			}
		}
		return cfg
	}
	t.Fatalf("no go:generate line in %s", file)
	return gen.Config{}
}
