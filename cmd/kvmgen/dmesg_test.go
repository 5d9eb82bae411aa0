package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// truthLines reads a truth file as lines.
func truthLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestDmesgAgainstGuest: `kvmgen dmesg -core D` (no vmlinux) prints every
// line the guest's own dmesg printed before the dump, in order, with the
// same timestamps (and with -r the same levels).
func TestDmesgAgainstGuest(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	for _, c := range []struct{ dir, dump string }{
		{"linux-amd64/dumps", "kdump-zlib.vmcore"},
		{"linux-amd64/dumps", "elf.vmcore"},
		{"linux-amd64/dumps/panic", "elf.vmcore"},
	} {
		core := testfix.Path(t, c.dir+"/"+c.dump)
		truth := testfix.Path(t, c.dir+"/truth")
		for _, raw := range []bool{false, true} {
			args := []string{"dmesg", "-core", core}
			want := truthLines(t, truth+"/dmesg.txt")
			if raw {
				args = append(args, "-r")
				want = truthLines(t, truth+"/dmesg-raw.txt")
			}
			out, err := runOut(t, args...)
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			start := -1
			for i, l := range got {
				if l == want[0] {
					start = i
					break
				}
			}
			if start < 0 {
				t.Fatalf("%v: first guest line %q missing", args, want[0])
			}
			for i, w := range want {
				if start+i >= len(got) || got[start+i] != w {
					t.Fatalf("%v: guest line %d %q, kvmgen prints %q", args, i, w, got[min(start+i, len(got)-1)])
				}
			}
		}
	}
}

func TestDmesgJSON(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	core := testfix.Path(t, "linux-amd64/dumps/panic/kdump-zlib.vmcore")
	out, err := runOut(t, "dmesg", "-core", core, "-json")
	if err != nil {
		t.Fatal(err)
	}
	n, panicSeen := 0, false
	var last uint64
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Seq    uint64 `json:"seq"`
			Text   string `json:"text"`
			Level  int    `json:"level"`
			Caller uint32 `json:"caller_id"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if n > 0 && r.Seq != last+1 {
			t.Errorf("seq %d after %d", r.Seq, last)
		}
		last = r.Seq
		if strings.HasPrefix(r.Text, "Kernel panic - not syncing: sysrq triggered crash") {
			panicSeen = true
		}
		n++
	}
	if n < 100 || !panicSeen {
		t.Errorf("%d records, panic message seen: %v", n, panicSeen)
	}
}
