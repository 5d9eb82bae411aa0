package kvm

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRunningSwapArea(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ swaps, want string }{
		{"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/vda                                partition\t131068\t\t56400\t\t-2\n", "/dev/vda"},
		{"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swap\\040file\\134x file\t1024\t0\t-2\n", "/swap file\\x"},
		{"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", ""},
		{"Filename Type Size Used Priority\n/dev/vda partition 1 0 -2\n/dev/vdb partition 1 0 -3\n", ""}, // which is area 0?
		{"garbage\n/dev/vda partition\n", ""},
	} {
		p := filepath.Join(dir, "swaps")
		if err := os.WriteFile(p, []byte(c.swaps), 0o644); err != nil {
			t.Fatal(err)
		}
		old := procSwaps
		procSwaps = p
		got := runningSwapArea()
		procSwaps = old
		if got != c.want {
			t.Errorf("runningSwapArea(%q) = %q, want %q", c.swaps, got, c.want)
		}
	}
}
