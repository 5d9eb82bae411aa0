package kvm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
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

// TestLiveSwapArea: a live descriptor opened without a swapfile reads
// swapped-out pages from the running kernel's swap area. The running
// kernel here is the test machine's; its /proc/swaps is replaced by one
// naming the fixture guest's swap image, so that the area is a real one.
func TestLiveSwapArea(t *testing.T) {
	img := testfix.Path(t, "linux-amd64/dumps/swap.img")
	if f, err := os.Open("/proc/kcore"); err != nil {
		t.Skipf("live memory is not readable here: %v", err)
	} else {
		f.Close()
	}
	p := filepath.Join(t.TempDir(), "swaps")
	if err := os.WriteFile(p, []byte("Filename\tType\tSize\tUsed\tPriority\n"+img+"\tfile\t131068\t0\t-2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := procSwaps
	procSwaps = p
	defer func() { procSwaps = old }()
	kd, err := OpenOptions("", "", Options{Flags: os.O_RDONLY})
	if err != nil {
		t.Fatalf("opening live memory (as root, /proc/kcore readable): %v", err)
	}
	defer kd.Close()
	if got := kd.SwapFile(); got != img {
		t.Errorf("live SwapFile() = %q, want the running kernel's area %q", got, img)
	}
	// A dump is not the running system: no swap area unless given.
	core := testfix.Path(t, "linux-amd64/dumps/kdump-zlib.vmcore")
	kd2, err := OpenOptions("", core, Options{Flags: os.O_RDONLY})
	if err != nil {
		t.Fatal(err)
	}
	defer kd2.Close()
	if got := kd2.SwapFile(); got != "" {
		t.Errorf("dump SwapFile() = %q, want none", got)
	}
}
