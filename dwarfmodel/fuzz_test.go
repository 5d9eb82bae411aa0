package dwarfmodel

import (
	"bytes"
	"testing"
	"time"
)

// FuzzOpen feeds arbitrary bytes to NewFile and, when they parse, decodes
// every type and variable: no panic, no hang, an error or a model. Seeds:
// hand-made DWARF here and the objects in testdata/fuzz/FuzzOpen (see
// testdata/fuzz/README.md).
func FuzzOpen(f *testing.F) {
	f.Add(mkELF([]elfSection{{".debug_info", cycleDWARF()}, {".debug_abbrev", testAbbrev}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		file, err := NewFile(bytes.NewReader(data))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		names := file.TypeNames()
		if len(names) > 200 {
			names = names[:200]
		}
		for _, n := range names {
			if ty, err := file.Type(n); err == nil {
				_ = Declare(ty, "x")
				_ = ty.Size()
				_ = reach(ty)
			}
		}
		vars := file.VariableNames()
		if len(vars) > 50 {
			vars = vars[:50]
		}
		for _, n := range vars {
			file.Variable(n)
		}
		file.Type("no such type")
		file.Symbols()
		file.BuildID()
		// Bounded time: the inputs are small; a generous limit tells a
		// hang from a slow machine.
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("took %v on %d bytes", d, len(data))
		}
	})
}
