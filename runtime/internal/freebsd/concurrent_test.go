package freebsd

import (
	"encoding/binary"
	"sync"
	"testing"
)

// TestConcurrentReads reads the same kernel words from many goroutines,
// with and without the translation cache (run it with -race).
func TestConcurrentReads(t *testing.T) {
	for _, c := range realCases {
		d, syms := openReal(t, c)
		for _, cache := range []bool{true, false} {
			d.(interface{ SetCache(bool) }).SetCache(cache)
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var b [4]byte
					for i := 0; i < 200; i++ {
						if _, err := d.ReadMemory(b[:], syms["hz"]); err != nil {
							t.Error(err)
							return
						}
						if binary.LittleEndian.Uint32(b[:]) != c.hz {
							t.Errorf("%s: hz = %d", c.dump, binary.LittleEndian.Uint32(b[:]))
							return
						}
						d.ReadMemory(b[:], syms["dumptid"])
					}
				}()
			}
			wg.Wait()
		}
	}
}
