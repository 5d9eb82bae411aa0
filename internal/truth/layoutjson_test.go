package truth

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// jsonType and jsonMember are the output of `kvmgen layout -json` (see
// `kvmgen layout -h`).
type jsonType struct {
	Name    string       `json:"name"`
	Kind    string       `json:"kind"`
	Size    int64        `json:"size"`
	Members []jsonMember `json:"members"`
	Values  []struct {
		Name  string `json:"name"`
		Value int64  `json:"value"`
	} `json:"values"`
}

type jsonMember struct {
	Name          string       `json:"name"`
	Offset        int64        `json:"offset"`
	Size          int64        `json:"size"`
	Type          string       `json:"type"`
	BitSize       int64        `json:"bit_size"`
	DataBitOffset *int64       `json:"data_bit_offset"`
	Members       []jsonMember `json:"members"`
}

var (
	kvmgenOnce sync.Once
	kvmgenBin  string
	kvmgenErr  error
)

// kvmgenCLI builds cmd/kvmgen once per test binary.
func kvmgenCLI(t *testing.T) string {
	t.Helper()
	kvmgenOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kvmgen-truth-")
		if err != nil {
			kvmgenErr = err
			return
		}
		kvmgenBin = filepath.Join(dir, "kvmgen")
		out, err := exec.Command("go", "build", "-o", kvmgenBin, "github.com/kvmgen/kvmgen/cmd/kvmgen").CombinedOutput()
		if err != nil {
			kvmgenErr = err
			t.Logf("%s", out)
		}
	})
	if kvmgenErr != nil {
		t.Fatalf("building cmd/kvmgen: %v", kvmgenErr)
	}
	return kvmgenBin
}

var jsonFnArray = regexp.MustCompile(`^[^(]*\(\s*\*+\s*((?:\[\d*\])+)\s*\)`)

// flattenJSON lays out a `kvmgen layout -json` aggregate as the oracles
// print it (only anonymous members carry their own members in that JSON).
func flattenJSON(ms []jsonMember) map[string]field {
	out := map[string]field{}
	var walk func(ms []jsonMember, prefix string, base int64, depth int)
	walk = func(ms []jsonMember, prefix string, base int64, depth int) {
		if depth > 16 {
			return
		}
		anon := 0
		for _, m := range ms {
			name := m.Name
			if name == "" {
				name = fmt.Sprintf("{%d}", anon)
				anon++
			}
			f := field{Path: prefix + name, Offset: base + m.Offset, Size: m.Size}
			dims := declDims.FindStringSubmatch(m.Type)
			if dims == nil { // an array of function pointers: "void (*[2])(int)"
				dims = jsonFnArray.FindStringSubmatch(m.Type)
			}
			if dims != nil {
				f.Dims = dims[1]
				if f.Size < 0 {
					f.Size = 0
				}
			}
			if m.BitSize != 0 {
				f.BitSize = m.BitSize
				if m.DataBitOffset != nil {
					f.BitOffset = base*8 + *m.DataBitOffset
				}
				f.Offset = -1
			}
			if len(m.Members) > 0 {
				f.Expanded = true
				walk(m.Members, f.Path+".", base+m.Offset, depth+1)
			}
			out[f.Path] = f
		}
	}
	walk(ms, "", 0, 0)
	return out
}

// TestLayoutJSON: `kvmgen layout -json` agrees with pahole and gdb for every
// aggregate and enum of truth.c on all 8 variants.
func TestLayoutJSON(t *testing.T) {
	testfix.Tool(t, "pahole")
	bin := kvmgenCLI(t)
	for _, v := range layoutVariants {
		t.Run(v.Pkg(), func(t *testing.T) {
			prog := v.File(t, "prog")
			args := append([]string{"layout", "-json", "-kernel", prog}, aggregates...)
			args = append(args, enums...)
			out, err := exec.Command(bin, args...).Output()
			if err != nil {
				t.Fatalf("kvmgen %v: %v", args, err)
			}
			var types []jsonType
			if err := json.Unmarshal(out, &types); err != nil {
				t.Fatalf("kvmgen layout -json: %v", err)
			}
			if len(types) != len(aggregates)+len(enums) {
				t.Fatalf("kvmgen layout -json printed %d types, want %d", len(types), len(aggregates)+len(enums))
			}
			pa, err := runPahole(t, prog, tags(aggregates))
			if err != nil {
				t.Fatal(err)
			}
			gd, genums, err := runGDB(t, prog, aggregates, enums)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for i, name := range aggregates {
				jt := types[i]
				if jt.Kind+" "+jt.Name != name {
					t.Errorf("element %d is %s %s, want %s", i, jt.Kind, jt.Name, name)
					continue
				}
				if jt.Size != gd[name].Size {
					t.Errorf("%s: size %d, gdb %d", name, jt.Size, gd[name].Size)
				}
				got := flattenJSON(jt.Members)
				total += compareLayout(t, "pahole", name, pa[name], got)
				total += compareLayout(t, "gdb", name, gd[name], got)
			}
			t.Logf("%d member comparisons with pahole and gdb", total)
			if total < 150 {
				t.Errorf("only %d member comparisons", total)
			}
			for i, name := range enums {
				jt := types[len(aggregates)+i]
				got := map[string]int64{}
				for _, v := range jt.Values {
					got[v.Name] = v.Value
				}
				if want := genums[name]; len(want) == 0 || !sameMap(got, want) {
					t.Errorf("%s: kvmgen %v, gdb %v", name, got, want)
				}
			}
		})
	}
}

func sameMap(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
