package procs

import (
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
)

// BenchmarkResolveLayout: open the fixture vmlinux's DWARF (index) and
// resolve every offset procs needs, without the build-ID cache.
func BenchmarkResolveLayout(b *testing.B) {
	p := testfix.Path(b, "linux-amd64/vmlinux")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f, err := dwarfmodel.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := resolveLayout(f); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkResolveLayoutOpened: resolving alone, on an opened file.
func BenchmarkResolveLayoutOpened(b *testing.B) {
	p := testfix.Path(b, "linux-amd64/vmlinux")
	f, err := dwarfmodel.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := resolveLayout(f); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDump(b *testing.B, dump string, fn func(*System) error) {
	p := testfix.Path(b, "linux-amd64/vmlinux")
	f, err := dwarfmodel.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	l, err := ResolveLayout(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	s, kd := openBench(b, p, dump, l)
	defer kd.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := fn(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetProcs: every task (threads included) with all its fields.
func BenchmarkGetProcs(b *testing.B) {
	for _, d := range dumpFormats {
		b.Run(d, func(b *testing.B) {
			benchDump(b, d, func(s *System) error {
				_, err := s.GetProcs(Filter{Threads: true})
				return err
			})
		})
	}
}

// BenchmarkArgvEnv: the task list plus argv and environment of every
// user process (through its own page tables).
func BenchmarkArgvEnv(b *testing.B) {
	benchDump(b, "kdump-zlib.vmcore", func(s *System) error {
		ps, err := s.GetProcs(Filter{})
		if err != nil {
			return err
		}
		for i := range ps {
			if ps[i].Mm == 0 {
				continue
			}
			if _, err := s.Argv(&ps[i]); err != nil {
				return err
			}
			if _, err := s.Envv(&ps[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
