package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// gdbMember is one top-level member line of gdb's `ptype /o`.
type gdbMember struct {
	offset, bit, size int64
	bitfield          bool
}

var (
	gdbLine = regexp.MustCompile(`^/\*\s+(\d+)(?::\s*(\d+))?\s+\|\s+(\d+) \*/    (\S.*)$`)
	gdbName = regexp.MustCompile(`(?:\(\*(\w+)\)\(.*\)|(\w+)(?:\[\d+\])*(?: : \d+)?);$`)
)

// gdbLayout runs gdb's `ptype /o struct NAME` on file and returns its
// top-level named members (nested aggregates are skipped: their lines end
// in "{").
func gdbLayout(t *testing.T, file, name string) map[string]gdbMember {
	t.Helper()
	out := testfix.GDB(t, file, "ptype /o struct "+name)
	ms := map[string]gdbMember{}
	for _, l := range strings.Split(out, "\n") {
		m := gdbLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n := gdbName.FindStringSubmatch(m[4])
		if n == nil {
			continue
		}
		name := n[1] + n[2]
		var g gdbMember
		g.offset, _ = strconv.ParseInt(m[1], 10, 64)
		g.size, _ = strconv.ParseInt(m[3], 10, 64)
		if m[2] != "" {
			g.bitfield = true
			g.bit, _ = strconv.ParseInt(m[2], 10, 64)
		}
		ms[name] = g
	}
	if len(ms) < 20 {
		t.Fatalf("parsed only %d members from gdb:\n%s", len(ms), out)
	}
	return ms
}

// TestLayoutJSON compares `kvmgen layout -json` with gdb's `ptype /o` for
// every top-level member of struct kinds, on a little-endian object and a
// big-endian program.
func TestLayoutJSON(t *testing.T) {
	for _, tc := range []struct{ name, file func(*testing.T) string }{
		{func(*testing.T) string { return "x86_64" }, kindsObject},
		{func(*testing.T) string { return "s390x" }, func(t *testing.T) string {
			return testfix.Truth(t, testfix.GCC["s390x"])
		}},
	} {
		t.Run(tc.name(t), func(t *testing.T) {
			file := tc.file(t)
			want := gdbLayout(t, file, "kinds")
			var out bytes.Buffer
			if err := run(&out, []string{"layout", "-json", "-kernel", file, "kinds", "struct klist", "enum ksign", "katomic_t"}); err != nil {
				t.Fatal(err)
			}
			var got []layoutType
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("%v\n%s", err, out.Bytes())
			}
			if len(got) != 4 {
				t.Fatalf("got %d elements, want 4", len(got))
			}
			k := got[0]
			if k.Name != "kinds" || k.Kind != "struct" || k.Members == nil {
				t.Fatalf("first element: %+v", k)
			}
			seen := 0
			for _, m := range *k.Members {
				g, ok := want[m.Name]
				if m.Name == "" || !ok {
					continue
				}
				seen++
				if g.bitfield {
					if m.BitSize == nil || m.DataBitOffset == nil {
						t.Errorf("%s: gdb says bitfield, layout says %+v", m.Name, m)
						continue
					}
					// gdb prints the bit position as byte:bit.
					if wantBit := g.offset*8 + g.bit; *m.DataBitOffset != wantBit {
						t.Errorf("%s: data_bit_offset %d, gdb %d", m.Name, *m.DataBitOffset, wantBit)
					}
				} else if m.Offset != g.offset {
					t.Errorf("%s: offset %d, gdb %d", m.Name, m.Offset, g.offset)
				}
				if m.Size != g.size {
					t.Errorf("%s: size %d, gdb %d", m.Name, m.Size, g.size)
				}
			}
			if seen != len(want) {
				t.Errorf("compared %d members, gdb lists %d", seen, len(want))
			}
			anon := 0
			for _, m := range *k.Members {
				if m.Name == "" {
					anon++
					if m.Members == nil || len(*m.Members) != 2 {
						t.Errorf("anonymous member at %d: members %v", m.Offset, m.Members)
					}
				}
			}
			if anon != 2 {
				t.Errorf("%d anonymous members, want 2", anon)
			}
			if got[1].Kind != "struct" || got[1].Name != "klist" || got[2].Kind != "enum" || len(got[2].Values) != 3 || got[2].Values[0].Value != -5 {
				t.Errorf("klist/ksign: %+v %+v", got[1], got[2])
			}
			if got[3].Kind != "typedef" || got[3].Type != "struct {...}" || got[3].Members == nil || len(*got[3].Members) != 1 {
				t.Errorf("katomic_t: %+v", got[3])
			}
		})
	}
}

func TestLayoutText(t *testing.T) {
	obj := kindsObject(t)
	var out bytes.Buffer
	if err := run(&out, []string{"layout", "-kernel", obj, "kinds"}); err != nil {
		t.Fatal(err)
	}
	gdb := testfix.GDB(t, obj, "print sizeof(struct kinds)")
	size := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(gdb), "$1 = "))
	for _, want := range []string{"struct kinds {", "int bf_b:5;", "/* size: " + size + ",", "int (*fn)(int);"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text layout lacks %q:\n%s", want, out.String())
		}
	}
}
