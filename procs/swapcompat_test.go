package procs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSwapInfoCompat checks kvm_getswapinfo's contract (SwapInfo) against
// the guest's /proc/swaps: maxswap-1 area entries then the grand total,
// sizes in pages, names without "/dev/" unless SWIFDevPrefix, the areas'
// flags in use and writable.
func TestSwapInfoCompat(t *testing.T) {
	eachDump(t, func(t *testing.T, k fixtureKernel, dump string) {
		raw, err := os.ReadFile(filepath.Join(truthDir(t, k), "swaps"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")[1:]
		s, _ := openSystem(t, k, dump)
		kib := s.pageSize >> 10
		var sizePages uint64
		var names []string
		for _, l := range lines {
			f := strings.Fields(l)
			sizePages += uint64(mustAtoi(t, f[2])) / kib
			names = append(names, f[0])
		}
		if len(names) == 0 {
			t.Fatal("the fixture guest has no swap area")
		}
		areas, err := s.GetSwapInfo()
		if err != nil {
			t.Fatal(err)
		}
		for _, maxswap := range []int{1, 2, len(names) + 3} {
			for _, flags := range []int{0, SWIFDevPrefix} {
				e, n, err := s.SwapInfo(maxswap, flags)
				if err != nil {
					t.Fatal(err)
				}
				wantN := min(maxswap-1, len(names))
				if n != wantN || len(e) != n+1 {
					t.Fatalf("SwapInfo(%d, %#x): n %d, %d entries; want %d and %d", maxswap, flags, n, len(e), wantN, wantN+1)
				}
				var used uint64
				for _, a := range areas {
					used += a.Used / s.pageSize
				}
				if tot := e[n]; tot.DevName != "Total" || tot.Total != sizePages || tot.Used != used || tot.Flags != 0 {
					t.Errorf("SwapInfo(%d, %#x) total %+v; want %d pages (the guest's /proc/swaps), %d used", maxswap, flags, tot, sizePages, used)
				}
				for i, a := range e[:n] {
					want := names[i]
					if flags&SWIFDevPrefix == 0 {
						want = strings.TrimPrefix(want, "/dev/")
					}
					if a.DevName != want || a.Flags&(swpUsed|swpWriteOK) != swpUsed|swpWriteOK {
						t.Errorf("SwapInfo(%d, %#x)[%d] = %+v; want name %q, flags used and writable", maxswap, flags, i, a, want)
					}
				}
			}
		}
		if _, _, err := s.SwapInfo(0, 0); !errors.Is(err, ErrBadMaxSwap) {
			t.Errorf("SwapInfo(0, 0): %v", err)
		}
		if _, _, err := s.SwapInfo(2, SWIFDumpTree); err == nil {
			t.Error("SwapInfo with SWIF_DUMP_TREE: no error")
		}
	})
}
