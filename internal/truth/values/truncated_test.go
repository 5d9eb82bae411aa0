package values

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/truth"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// TestValuesTruncatedCore: a core cut short gives a clear error from the
// runtime or the bindings, naming the core file; never a panic or a
// silent wrong value.
func TestValuesTruncatedCore(t *testing.T) {
	for _, v := range []truth.Variant{{Arch: "x86_64", DWARF: 5}, {Arch: "s390x", DWARF: 4}} {
		t.Run(v.Pkg(), func(t *testing.T) {
			core, err := os.ReadFile(v.File(t, "prog.core"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := readOut(v.File(t, "prog.out"))
			if err != nil {
				t.Fatal(err)
			}
			for _, keep := range []int{2, 10, 30, 50, 70, 90} { // percent of the file kept
				cut := filepath.Join(t.TempDir(), "prog.core")
				if err := os.WriteFile(cut, core[:len(core)*keep/100], 0o644); err != nil {
					t.Fatal(err)
				}
				kd, err := kvm.Open2(v.File(t, "prog"), cut, os.O_RDONLY, nil)
				if err != nil {
					t.Logf("cut to %d%%: open: %v", keep, err)
					if !strings.Contains(err.Error(), cut) {
						t.Errorf("cut to %d%%: open error does not name the file: %v", keep, err)
					}
					continue
				}
				got, werr := collect(t, walkers[v.Pkg()], kd)
				kd.Close()
				if werr == nil {
					// Whatever was read must then be right: the cut
					// spared everything the walk needed.
					if errs := compareValues(want, got); len(errs) > 0 {
						t.Errorf("cut to %d%%: no error, but %d wrong values, first: %s", keep, len(errs), errs[0])
					}
					t.Logf("cut to %d%%: all values read", keep)
					continue
				}
				if !strings.Contains(werr.Error(), cut) && !strings.Contains(werr.Error(), "0x") {
					t.Errorf("cut to %d%%: walk error names neither the file nor an address: %v", keep, werr)
				}
				t.Logf("cut to %d%%: %v", keep, werr)
			}
		})
	}
}
