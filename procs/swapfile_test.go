package procs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	kvm "github.com/kvmgen/kvmgen/runtime"
)

// TestSwapFile: the fixture guest's kvmgen-hog filled 468 MiB of anonymous
// memory in a 512 MiB guest, so most of it went to the swap device; the
// device's image at the dump is dumps/swap.img. Without it, ReadUser of a
// swapped page is a *kvm.SwappedOutError carrying the swap entry; with it
// (Solaris' swapfile, kvm.Options.SwapFile) the page reads back as the hog
// wrote it (scripts/guest/hog.c): each 4 KiB block of a 1 MiB malloc chunk
// filled with one byte, (chunk + block) % 251 + 1, the blocks starting 16
// bytes into their pages (the malloc header of an mmap'd chunk).
func TestSwapFile(t *testing.T) {
	k := fixtureKernels(t)[0]
	swap := k.path(t, "dumps/swap.img")
	_, vml := k.dwarf(t)
	core := k.path(t, "dumps/elf.vmcore")
	s, kdNo := openSystem(t, k, "elf.vmcore")
	ps, err := s.GetProcs(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var hog *Proc
	for i := range ps {
		if ps[i].Name == "kvmgen-hog" {
			hog = &ps[i]
		}
	}
	if hog == nil {
		t.Fatal("no kvmgen-hog process in the dump")
	}
	vmas, err := s.Maps(hog)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := kvm.OpenOptions(vml, core, kvm.Options{SwapFile: swap})
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	page := make([]byte, 4096)
	swapped, fromSwap, patterned := 0, 0, 0
	var firstSwapped uint64
	for _, v := range vmas {
		if v.File != 0 || v.End-v.Start < 1<<20 {
			continue // the hog's chunks are anonymous mappings of 1 MiB and more
		}
		for a := v.Start; a < v.End; a += 4096 {
			_, err := kdNo.ReadUser(hog.Pgd, a, page)
			var se *kvm.SwappedOutError
			if err == nil {
				continue // resident: the dump has it
			}
			if !errors.As(err, &se) {
				continue // not present at all (never touched)
			}
			swapped++
			if firstSwapped == 0 {
				firstSwapped = a
			}
			if !se.Decoded || se.Type != 0 || se.Offset == 0 {
				t.Fatalf("%#x: swap entry %+v", a, se)
			}
			if _, err := kd.ReadUser(hog.Pgd, a, page); err != nil {
				t.Fatalf("%#x with the swapfile: %v", a, err)
			}
			fromSwap++
			if uniform(page[16:]) && page[16] >= 1 && page[16] <= 251 {
				patterned++
			}
		}
	}
	// A write is never served from the swap image: it stops at a swapped
	// page with the SwappedOutError and leaves the caller's bytes alone.
	if firstSwapped != 0 {
		rw := filepath.Join(t.TempDir(), "rw.vmcore")
		copyFile(t, core, rw)
		kw, err := kvm.OpenOptions(vml, rw, kvm.Options{Flags: os.O_RDWR, SwapFile: swap})
		if err != nil {
			t.Fatal(err)
		}
		defer kw.Close()
		buf := []byte("kvmgen-write-probe")
		n, err := kw.WriteUser(hog.Pgd, firstSwapped, buf)
		var se *kvm.SwappedOutError
		if n != 0 || !errors.As(err, &se) || string(buf) != "kvmgen-write-probe" {
			t.Errorf("WriteUser at swapped %#x: %d, %v, buf %q; want 0 and a *kvm.SwappedOutError", firstSwapped, n, err, buf)
		}
	}
	t.Logf("kvmgen-hog: %d swapped-out pages, %d read from %s, %d hold one fill byte after their first 16 bytes", swapped, fromSwap, swap, patterned)
	if swapped < 1000 {
		t.Errorf("only %d of the hog's pages are swapped out", swapped)
	}
	// Only the last page of each chunk (its 16-byte tail, then zeros)
	// breaks the pattern: at most 1 page in 257.
	if patterned < fromSwap*250/257 {
		t.Errorf("%d of %d pages read from the swapfile hold the hog's fill pattern", patterned, fromSwap)
	}
}

func uniform(b []byte) bool {
	for _, c := range b {
		if c != b[0] {
			return false
		}
	}
	return true
}

// TestSwapFileBad: what is not a swap area image of this kernel is refused
// at open, naming the file and the offset.
func TestSwapFileBad(t *testing.T) {
	k := fixtureKernels(t)[0]
	swap := k.path(t, "dumps/swap.img")
	_, vml := k.dwarf(t)
	core := k.path(t, "dumps/elf.vmcore")
	head := make([]byte, 8192)
	f, err := os.Open(swap)
	if err != nil {
		t.Fatal(err)
	}
	f.ReadAt(head, 0)
	f.Close()
	dir := t.TempDir()
	flipped := append([]byte(nil), head...)
	flipped[4090] ^= 0x20 // "SWAPSPACE2" -> "SWAPsPACE2"
	cases := map[string][]byte{"flipped signature": flipped, "truncated": head, "empty": nil}
	for name, b := range cases {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		_, err := kvm.OpenOptions(vml, core, kvm.Options{SwapFile: p})
		var se *kvm.SwapFileError
		if !errors.As(err, &se) || se.File != p {
			t.Errorf("%s: %v, want a *kvm.SwapFileError naming %s", name, err, p)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
