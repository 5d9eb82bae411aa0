package kvm

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// patchedReader overlays byte patches on a file.
type patchedReader struct {
	r       io.ReaderAt
	patches map[int64][]byte
}

func (p *patchedReader) ReadAt(b []byte, off int64) (int, error) {
	n, err := p.r.ReadAt(b, off)
	for po, pb := range p.patches {
		for i, c := range pb {
			if o := po + int64(i) - off; o >= 0 && o < int64(n) {
				b[o] = c
			}
		}
	}
	return n, err
}

// hideNotes renames the named ELF notes in the first MiB of f.
func hideNotes(t *testing.T, f *os.File, names ...string) *patchedReader {
	head := make([]byte, 1<<20)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	p := &patchedReader{r: f, patches: map[int64][]byte{}}
	for _, name := range names {
		i := bytes.Index(head, []byte(name+"\x00"))
		if i < 0 {
			t.Fatalf("note %s not found", name)
		}
		p.patches[int64(i)] = []byte("XXXX")
	}
	return p
}

// physImage presents an ELF vmcore's physical memory as a raw image
// (offset = physical address), from debug/elf's program headers.
type physImage struct {
	f     *os.File
	progs []*elf.Prog
	size  int64
}

func (p *physImage) ReadAt(b []byte, off int64) (int, error) {
	clear(b)
	for _, pr := range p.progs {
		lo, hi := max(off, int64(pr.Paddr)), min(off+int64(len(b)), int64(pr.Paddr+pr.Filesz))
		if lo < hi {
			if _, err := p.f.ReadAt(b[lo-off:hi-off], int64(pr.Off)+lo-int64(pr.Paddr)); err != nil {
				return 0, err
			}
		}
	}
	if off+int64(len(b)) > p.size {
		return int(max(0, p.size-off)), io.EOF
	}
	return len(b), nil
}

func TestKernelWithoutVMCoreInfo(t *testing.T) {
	objs := kernelOracle(t)
	vmlinux := testfix.Path(t, fxVmlinux)
	img, err := loadExec(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	wantDisp := objs["linux_banner"].addr - linkAddr(t, "linux_banner")
	pid := strconv.Itoa(markerPID(t))
	open := func(t *testing.T, name string, r io.ReaderAt, size int64) coreDump {
		d, err := openDump(&openContext{Name: name, File: r, Size: size, Exec: &img.info})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	physF, err := os.Open(testfix.Path(t, fxELF))
	if err != nil {
		t.Fatal(err)
	}
	defer physF.Close()
	pagingF, err := os.Open(testfix.Path(t, fxPaging))
	if err != nil {
		t.Fatal(err)
	}
	defer pagingF.Close()
	ef, err := elf.NewFile(physF)
	if err != nil {
		t.Fatal(err)
	}
	raw := &physImage{f: physF}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			raw.progs = append(raw.progs, p)
			raw.size = max(raw.size, int64(p.Paddr+p.Filesz))
		}
	}
	sort.Slice(raw.progs, func(i, j int) bool { return raw.progs[i].Paddr < raw.progs[j].Paddr })
	for _, tc := range []struct {
		name, format string
		r            io.ReaderAt
		size         int64
		how          string // in Info().Translation
	}{
		{"ELF physical, CR3 from QEMU's CPU note", "ELF vmcore (physical)", hideNotes(t, physF, "VMCOREINFO"), -1, "CR3"},
		{"ELF physical, no notes: banner scan", "ELF vmcore (physical)", hideNotes(t, physF, "VMCOREINFO", "QEMU"), -1, "linux_banner found at physical"},
		{"ELF virtual, no VMCOREINFO", "ELF vmcore (virtual)", hideNotes(t, pagingF, "VMCOREINFO"), -1, "PT_LOAD virtual addresses"},
		{"raw physical image", "raw physical memory", raw, raw.size, "linux_banner found at physical"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := open(t, tc.name, tc.r, tc.size)
			i := d.Info()
			if i.Format != tc.format || !i.KernDispKnown || i.KernDisp != wantDisp {
				t.Errorf("Info() = %+v, want format %q and displacement %#x (drgn)", i, tc.format, wantDisp)
			}
			if !strings.Contains(i.Translation, tc.how) {
				t.Errorf("Translation = %q, want it to mention %q", i.Translation, tc.how)
			}
			for _, name := range []string{"linux_banner", "init_uts_ns", "comm1", "stack" + pid} {
				o := objs[name]
				buf := make([]byte, len(o.bytes))
				if _, err := d.ReadMemory(buf, o.addr); err != nil {
					t.Errorf("%s: %v", name, err)
				} else if !bytes.Equal(buf, o.bytes) {
					t.Errorf("%s: %d bytes differ from drgn's", name, diffCount(buf, o.bytes))
				}
			}
		})
	}
	// Without the kernel's content to search with, a raw image is not
	// recognized: a clear error, not a guess.
	if _, err := openDump(&openContext{Name: "raw", File: raw, Size: raw.size}); err == nil {
		t.Error("raw image without an execfile opened")
	}
}
