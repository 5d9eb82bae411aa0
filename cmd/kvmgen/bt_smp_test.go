package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// TestBTUserModeCPUs: on the two-CPU dump each CPU was running its pinned
// spinner in user code. `bt -a` names that task on each CPU (the guest's
// truth/percpu.txt) and marks its one frame as user mode, instead of
// failing to find kernel unwind data for a user address.
func TestBTUserModeCPUs(t *testing.T) {
	core := testfix.Path(t, "linux-amd64/dumps/smp/elf.vmcore")
	truth, err := os.ReadFile(filepath.Join(testfix.Path(t, "linux-amd64/dumps/smp/truth"), "percpu.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(&out, []string{"bt", "-a", "-core", core}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	lines := strings.Split(strings.TrimSpace(string(truth)), "\n")[1:]
	for _, l := range lines {
		var cpu, pid int
		if _, err := fmt.Sscan(l, &cpu, &pid); err != nil {
			t.Fatalf("percpu.txt: %q", l)
		}
		head := fmt.Sprintf("PID: %-6d", pid)
		i := strings.Index(got, head)
		if i < 0 || !strings.Contains(got[i:], fmt.Sprintf("CPU: %d  COMMAND: \"kvmgen-spin\"", cpu)) {
			t.Errorf("bt -a does not show PID %d on CPU %d:\n%s", pid, cpu, got)
			continue
		}
		block, _, _ := strings.Cut(got[i:], "\n\n")
		if !strings.Contains(block, "(user mode)") || strings.Contains(block, "unwind stopped") {
			t.Errorf("CPU %d (PID %d): want one frame marked user mode:\n%s", cpu, pid, block)
		}
	}
	if len(lines) < 2 {
		t.Fatalf("percpu.txt lists %d CPUs", len(lines))
	}
}
