package kvm

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// fuzzSeeds are the starts of real files of each format.
func fuzzSeeds(f *testing.F) {
	add := func(name string, n int) {
		b, err := os.ReadFile(name)
		if err != nil {
			return
		}
		f.Add(b[:min(n, len(b))])
	}
	// Synthetic: a kdump header with a one-block bitmap.
	k := make([]byte, 4096*4)
	copy(k, kdumpSignature)
	binary.LittleEndian.PutUint32(k[8:], 6)
	copy(k[utsMachine:], "x86_64")
	binary.LittleEndian.PutUint32(k[428:], 4096) // block_size
	binary.LittleEndian.PutUint32(k[432:], 1)    // sub_hdr_size
	binary.LittleEndian.PutUint32(k[436:], 2)    // bitmap_blocks
	binary.LittleEndian.PutUint32(k[440:], 64)   // max_mapnr
	f.Add(k)
	fl := make([]byte, flatHeaderSize+16)
	copy(fl, flatSignature)
	f.Add(append(fl, k[:64]...))
	if d := os.Getenv("KVMGEN_CACHE"); d != "" {
		add(d+"/linux-amd64/dumps/elf.vmcore", 1<<14)
		add(d+"/linux-amd64/dumps/kdump-zlib.vmcore", 1<<16)
	}
}

// FuzzOpenDump feeds arbitrary bytes to every opener: errors are fine,
// panics, hangs and huge allocations are not.
func FuzzOpenDump(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := openDump(&openContext{Name: "fuzz", File: bytes.NewReader(data), Size: int64(len(data))})
		if err != nil {
			return
		}
		defer d.Close()
		d.Info()
		buf := make([]byte, 64)
		for _, a := range []uint64{0, 0x1000, 0xffffffff81000000, 0xffff888000000000, ^uint64(0) - 8} {
			d.ReadMemory(buf, a)
			if p, ok := d.(physReader); ok {
				p.ReadPhys(buf, a)
			}
		}
		if w, ok := d.(pageWalker); ok {
			n := 0
			w.WalkPages(func(Page) error {
				if n++; n > 1<<16 {
					return errStop
				}
				return nil
			})
		}
	})
}

var errStop = bytes.ErrTooLarge
