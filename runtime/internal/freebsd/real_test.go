package freebsd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
	"github.com/kvmgen/kvmgen/internal/testfix"
)

// realCase is one of the LLVM project's FreeBSD test dumps, with what
// lldb's own test (TestFreeBSDKernelVMCore.py) and PROVENANCE.md say of it.
type realCase struct {
	dump, arch string
	format     string
	version    int
	goArch     string
	ptrSize    int
	hz         uint32
}

var realCases = []realCase{
	{"vmcore-amd64-minidump", "amd64", "FreeBSD amd64 minidump", 3, "x86_64", 8, 100},
	{"vmcore-amd64-full", "amd64", "FreeBSD amd64 full dump (ELF)", 0, "x86_64", 8, 100},
	{"vmcore-i386-minidump", "i386", "FreeBSD i386 minidump (PAE)", 2, "i386", 4, 100},
	{"vmcore-arm64-minidump", "arm64", "FreeBSD arm64 minidump", 2, "aarch64", 8, 1000},
}

// kernelSyms reads the kernel's symbol table with debug/elf.
func kernelSyms(t testing.TB, arch string) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	for _, s := range testfix.ELFSymbols(t, fbsdtest.Kernel(t, arch)) {
		m[s.Name] = s.Value
	}
	return m
}

func lookupIn(m map[string]uint64) Symbols {
	return func(n string) (uint64, bool) { v, ok := m[n]; return v, ok }
}

func openReal(t testing.TB, c realCase) (Dump, map[string]uint64) {
	t.Helper()
	syms := kernelSyms(t, c.arch)
	path := fbsdtest.Dump(t, c.dump)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	d, err := Open(path, f, st.Size(), lookupIn(syms))
	if err != nil {
		t.Fatalf("%s: %v", c.dump, err)
	}
	return d, syms
}

func TestRealDumps(t *testing.T) {
	for _, c := range realCases {
		t.Run(c.dump, func(t *testing.T) {
			d, syms := openReal(t, c)
			in := d.Info()
			if in.Format != c.format || in.Version != c.version || in.Arch != c.goArch || in.PtrSize != c.ptrSize || in.PageSize != 4096 {
				t.Errorf("Info = %+v, want format %q version %d arch %s ptr %d page 4096", in, c.format, c.version, c.goArch, c.ptrSize)
			}
			var b [4]byte
			if _, err := d.ReadMemory(b[:], syms["hz"]); err != nil {
				t.Fatalf("reading hz: %v", err)
			}
			if hz := binary.LittleEndian.Uint32(b[:]); hz != c.hz {
				t.Errorf("hz = %d, want %d", hz, c.hz)
			}
			// Every exported struct offset is a small positive number
			// (they locate fields inside struct proc and struct thread).
			// p_list is struct proc's first member (sys/sys/proc.h).
			for _, n := range []string{"proc_off_p_list", "proc_off_p_pid", "proc_off_p_comm", "proc_off_p_threads", "thread_off_td_tid", "thread_off_td_name", "thread_off_td_plist"} {
				if _, err := d.ReadMemory(b[:], syms[n]); err != nil {
					t.Fatalf("reading %s: %v", n, err)
				}
				v := binary.LittleEndian.Uint32(b[:])
				if n == "proc_off_p_list" && v != 0 || n != "proc_off_p_list" && (v == 0 || v > 8192) {
					t.Errorf("%s = %d, not that field's offset", n, v)
				}
			}
		})
	}
}

// TestDirectMapAgrees reads hz through the kernel map and again through the
// direct map at its physical address: two independent translations.
func TestDirectMapAgrees(t *testing.T) {
	for _, c := range []realCase{realCases[0], realCases[3]} {
		d, syms := openReal(t, c)
		m := d.(*Minidump)
		pa, err := m.Translate(syms["hz"])
		if err != nil {
			t.Fatal(err)
		}
		h := m.Header()
		dva := h.DMapBase + pa - h.DMapPhys
		var a, b [64]byte
		if _, err := d.ReadMemory(a[:], syms["hz"]); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ReadMemory(b[:], dva); err != nil {
			t.Fatalf("%s: reading hz by the direct map at %#x: %v", c.dump, dva, err)
		}
		if a != b {
			t.Errorf("%s: kernel map and direct map disagree for hz", c.dump)
		}
	}
}

// TestFullDumpBootstrap checks the page-table walk of the full dump against
// FreeBSD's amd64 layout, where the kernel's image is loaded at the physical
// address kernbase subtracts to: the walk must land there.
func TestFullDumpBootstrap(t *testing.T) {
	d, syms := openReal(t, realCases[1])
	fd := d.(*FullDump)
	for _, n := range []string{"hz", "allproc", "dumptid", "KPML4phys"} {
		pa, _, err := fd.Translate(syms[n])
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if want := syms[n] - syms["kernbase"]; pa != want {
			t.Errorf("%s at %#x: page tables say physical %#x, kernel layout says %#x", n, syms[n], pa, want)
		}
	}
	if !fd.Truncated() {
		t.Errorf("the LLVM copy of the full dump is cut short of its PT_LOADs; Truncated() = false")
	}
}

// TestSparseRankRealBitmaps checks the cached-popcount page index of each
// real minidump against a plain sequential count of the bitmap.
func TestSparseRankRealBitmaps(t *testing.T) {
	for _, c := range realCases {
		if c.version == 0 {
			continue
		}
		d, _ := openReal(t, c)
		s := d.(*Minidump).sparse
		var count uint64
		for bit := uint64(0); bit < s.nbits; bit++ {
			if !s.isSet(bit) {
				continue
			}
			if r := s.rank(bit); r != count {
				t.Fatalf("%s: rank(%d) = %d, sequential count %d", c.dump, bit, r, count)
			}
			pa, ok := s.paOf(bit)
			if !ok {
				t.Fatalf("%s: bit %d has no physical address", c.dump, bit)
			}
			if b, ok := s.bitOf(pa); !ok || b != bit {
				t.Fatalf("%s: bitOf(paOf(%d)) = %d, %v", c.dump, bit, b, ok)
			}
			count++
		}
		if count != s.npages || count == 0 {
			t.Errorf("%s: %d bits set, index says %d", c.dump, count, s.npages)
		}
	}
}

// TestWalkPagesReal checks that the walk reports each held page (and only
// held pages) and that each page's Offset holds what ReadPhys reads.
func TestWalkPagesReal(t *testing.T) {
	for _, c := range realCases {
		t.Run(c.dump, func(t *testing.T) {
			d, syms := openReal(t, c)
			phys := map[uint64]bool{}
			n := 0
			var hzSeen bool
			buf := make([]byte, 4096)
			raw := make([]byte, 4096)
			f, _ := os.Open(fbsdtest.Dump(t, c.dump))
			defer f.Close()
			st, _ := f.Stat()
			err := d.WalkPages(func(p Page) error {
				n++
				phys[p.Phys] = true
				if p.VirtKnown && p.Virt <= syms["hz"] && syms["hz"] < p.Virt+p.Size {
					hzSeen = true
					// FreeBSD/amd64 maps the kernel's .bss read-write
					// and no-execute (W^X kernel mappings since 12).
					if c.goArch == "x86_64" && p.Prot != ProtRead|ProtWrite {
						t.Errorf("hz's page %#x has protection %03b, want rw-", p.Virt, p.Prot)
					}
				}
				if a := syms["proc_off_p_pid"]; c.goArch == "x86_64" && p.VirtKnown && p.Virt <= a && a < p.Virt+p.Size && p.Prot != ProtRead {
					// ... and its .rodata read-only, no-execute.
					t.Errorf(".rodata page %#x has protection %03b, want r--", p.Virt, p.Prot)
				}
				if n%97 == 0 && p.Offset >= 0 && p.Offset+int64(p.Size) <= st.Size() { // sample
					if _, err := d.ReadPhys(buf, p.Phys); err != nil {
						return err
					}
					if _, err := f.ReadAt(raw, p.Offset); err != nil {
						return err
					}
					if !bytes.Equal(buf, raw) {
						t.Errorf("page %#x: Offset %#x disagrees with ReadPhys", p.Phys, p.Offset)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !hzSeen {
				t.Errorf("no walked page maps hz at %#x", syms["hz"])
			}
			if m, ok := d.(*Minidump); ok && uint64(len(phys)) != m.PagesStored() {
				t.Errorf("walk reported %d distinct physical pages, file holds %d", len(phys), m.PagesStored())
			}
			stop := errors.New("stop")
			if err := d.WalkPages(func(Page) error { return stop }); err != stop {
				t.Errorf("WalkPages did not return the callback's error: %v", err)
			}
		})
	}
}
