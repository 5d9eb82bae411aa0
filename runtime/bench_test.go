package kvm

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// benchAddrs returns n random 8-byte-aligned direct-map addresses of the
// dump's first 500 MiB of RAM (page_offset_base + pa), drawn from pages
// distinct pages.
func benchAddrs(b *testing.B, kd *KVM, n, pages int) []uint64 {
	pob, err := kd.LookupSymbol("page_offset_base")
	if err != nil {
		b.Fatal(err)
	}
	var v [8]byte
	if _, err := kd.Read2(pob, v[:]); err != nil {
		b.Fatal(err)
	}
	base := binary.LittleEndian.Uint64(v[:])
	rng := rand.New(rand.NewSource(1))
	set := make([]uint64, pages)
	for i := range set {
		set[i] = base + (1<<20+uint64(rng.Int63n(499<<20)))&^0xfff
	}
	addrs := make([]uint64, n)
	for i := range addrs {
		addrs[i] = set[rng.Intn(pages)] + uint64(rng.Intn(512))*8
	}
	return addrs
}

func benchRead(b *testing.B, core string, nocache bool, pages int) {
	kd := openFixture(b, core, Options{NoCache: nocache})
	if kd == nil {
		b.Skip("fixture missing")
	}
	addrs := benchAddrs(b, kd, 1<<16, pages)
	var buf [8]byte
	// Warm the cache (and the page cache) once.
	for _, a := range addrs {
		kd.Read2(a, buf[:])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := kd.Read2(addrs[i&(len(addrs)-1)], buf[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

// Random 8-byte kernel reads through page-table translation, with the
// translation cache (a working set of 4096 pages) and without it (reads
// spread over 500 MiB, every read walks the page tables).
func BenchmarkReadELFCached(b *testing.B)     { benchRead(b, fxELF, false, 4096) }
func BenchmarkReadELFUncached(b *testing.B)   { benchRead(b, fxELF, true, 1<<16) }
func BenchmarkReadKdumpCached(b *testing.B)   { benchRead(b, fxKdump, false, 4096) }
func BenchmarkReadKdumpUncached(b *testing.B) { benchRead(b, fxKdump, true, 1<<16) }

// Opening a descriptor: the vmlinux's symbol table (590 MB file) and the
// dump's headers, notes, bitmaps.
func benchOpen(b *testing.B, core string) {
	vmlinux, c := testfix.Path(b, fxVmlinux), testfix.Path(b, core)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		kd, err := Open2(vmlinux, c, 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		kd.Close()
	}
}

func BenchmarkOpenELF(b *testing.B)   { benchOpen(b, fxELF) }
func BenchmarkOpenKdump(b *testing.B) { benchOpen(b, fxKdump) }
