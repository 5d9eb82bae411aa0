package freebsd

import (
	"os"
	"testing"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
)

func BenchmarkOpenMinidump(b *testing.B) {
	path := fbsdtest.Dump(b, "vmcore-amd64-minidump")
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := OpenMinidump(path, f, st.Size()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSparseLookup finds the file offset of held physical pages spread
// over the whole bitmap (the popcount-bin index).
func BenchmarkSparseLookup(b *testing.B) {
	d, _ := openReal(b, realCases[0])
	s := d.(*Minidump).sparse
	var pas []uint64
	for bit := uint64(0); bit < s.nbits; bit++ {
		if s.isSet(bit) {
			pa, _ := s.paOf(bit)
			pas = append(pas, pa)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok, tr := s.lookup(pas[i%len(pas)]); !ok && !tr {
			b.Fatal("held page not found")
		}
		i += 7919
	}
}

func benchRead(b *testing.B, c realCase, sym string, size int) {
	d, syms := openReal(b, c)
	buf := make([]byte, size)
	a := syms[sym]
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.ReadMemory(buf, a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadHzMinidumpAMD64(b *testing.B) { benchRead(b, realCases[0], "hz", 4) }
func BenchmarkReadHzFullAMD64(b *testing.B)     { benchRead(b, realCases[1], "hz", 4) }
func BenchmarkReadHzMinidumpI386(b *testing.B)  { benchRead(b, realCases[2], "hz", 4) }
func BenchmarkReadHzMinidumpARM64(b *testing.B) { benchRead(b, realCases[3], "hz", 4) }

func BenchmarkWalkPagesMinidumpAMD64(b *testing.B) {
	d, _ := openReal(b, realCases[0])
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		d.WalkPages(func(Page) error { n++; return nil })
	}
}
