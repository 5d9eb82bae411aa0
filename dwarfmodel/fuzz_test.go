package dwarfmodel

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzOpen feeds arbitrary bytes to NewFile and, when they parse, decodes
// every type and variable: no panic, no hang, an error or a model. Seeds:
// hand-made DWARF and the cross-built test objects.
func FuzzOpen(f *testing.F) {
	f.Add(mkELF([]elfSection{{".debug_info", cycleDWARF()}, {".debug_abbrev", testAbbrev}}))
	for _, o := range objects(f) {
		if o.linked || !(o.comp == "" || o.comp == "zlib") {
			continue
		}
		if !strings.Contains(o.name, "dwarf5") && !strings.Contains(o.name, "dwarf2") && !strings.Contains(o.name, "s390x") {
			continue
		}
		if b, err := os.ReadFile(o.path); err == nil {
			f.Add(b)
		}
	}
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
