package values

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// garbageTarget is a target whose memory is arbitrary bytes: reading at
// addr gives data[(addr+i) % len(data)], except that addresses with bit 20
// set are unreadable. Symbols resolve to addresses taken from the data.
type garbageTarget struct{ data []byte }

func (g garbageTarget) ReadMemory(buf []byte, addr uint64) (int, error) {
	if len(g.data) == 0 {
		return 0, errors.New("no memory")
	}
	for i := range buf {
		a := addr + uint64(i)
		if a&(1<<20) != 0 {
			return i, errors.New("unmapped")
		}
		buf[i] = g.data[a%uint64(len(g.data))]
	}
	return len(buf), nil
}

func (g garbageTarget) LookupSymbol(name string) (uint64, error) {
	var h uint64 = 14695981039346656037
	for _, c := range []byte(name) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	if len(g.data) >= 8 {
		h ^= binary.LittleEndian.Uint64(g.data)
	}
	return h, nil
}

func (g garbageTarget) BuildID() string { return "" }

// TestWalkGarbage: the generated bindings of every variant, reading memory
// full of garbage (random pointers, lengths, strings without NULs, cycles),
// return or finish without panicking or hanging.
func TestWalkGarbage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	errs, total := 0, 0
	for name, walk := range walkers {
		for i := 0; i < 200; i++ {
			data := make([]byte, 1+r.IntN(4096))
			for j := range data {
				data[j] = byte(r.UintN(256))
			}
			if i%4 == 0 { // mostly zeros: NULL pointers, empty strings
				for j := range data {
					if r.IntN(8) != 0 {
						data[j] = 0
					}
				}
			}
			values := 0
			done := make(chan error, 1)
			go func() {
				done <- walk(garbageTarget{data}, func(k, v string) { values++ })
			}()
			select {
			case err := <-done:
				if err != nil {
					errs++
				}
				// A walk is bounded by the list and length checks: it ends,
				// with at most what a real structure holds.
				if values > maxGarbageValues {
					t.Errorf("%s: memory %d: %d values from %d bytes of garbage", name, i, values, len(data))
				}
				total += values
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: memory %d (%d bytes): the walk did not end in 10 s", name, i, len(data))
			}
		}
		// Random bytes are almost never a valid structure graph.
		if errs < 100 {
			t.Errorf("%s: only %d of 200 garbage memories gave an error", name, errs)
		}
		t.Logf("%s: 200 garbage memories walked, %d errors, %d values", name, errs, total)
		errs, total = 0, 0
	}
}

// maxGarbageValues bounds what a walk may print from garbage: far above a
// real walk of the truth program (about 400 values).
const maxGarbageValues = 100000

// FuzzWalk runs every variant's walker over fuzzed memory
// (go test ./internal/truth/values -fuzz FuzzWalk).
func FuzzWalk(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00kvmgen-truth\x00"))
	f.Add(make([]byte, 512))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, walk := range walkers {
			_ = walk(garbageTarget{data}, func(k, v string) {})
		}
	})
}
