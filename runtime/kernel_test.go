package kvm

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// The Linux amd64 fixtures: a Debian cloud kernel and three dumps QEMU
// took of it (ELF physical, ELF with -p paging, kdump-compressed zlib).
const (
	fxVmlinux = "linux-amd64/vmlinux"
	fxELF     = "linux-amd64/dumps/elf.vmcore"
	fxPaging  = "linux-amd64/dumps/paging.vmcore"
	fxKdump   = "linux-amd64/dumps/kdump-zlib.vmcore"
	fxTruth   = "linux-amd64/dumps/truth"
)

var drgnOracle struct {
	sync.Mutex
	objs map[string]shown
}

// kernelOracle asks drgn (testfix.Drgn's kernel_objects.py) for the address and
// bytes of a few kernel objects in the paging dump: static data, slab
// objects in the direct map, vmalloc'd stacks.
func kernelOracle(t *testing.T) map[string]shown {
	t.Helper()
	drgnOracle.Lock()
	defer drgnOracle.Unlock()
	if drgnOracle.objs != nil {
		return drgnOracle.objs
	}
	vmlinux, core := testfix.Path(t, fxVmlinux), testfix.Path(t, fxPaging)
	pid := markerPID(t)
	out := testfix.Drgn(t, "kernel_objects", vmlinux, core, strconv.Itoa(pid))
	objs := make(map[string]shown)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		a, err1 := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
		b, err2 := hex.DecodeString(f[3])
		if len(f) != 4 || err1 != nil || err2 != nil {
			t.Fatalf("bad oracle line %q", sc.Text())
		}
		objs[f[0]] = shown{f[0], a, b}
	}
	drgnOracle.objs = objs
	return objs
}

// markerPID is the pid of the guest's sleeping kvmgen-marker-1 process.
func markerPID(t *testing.T) int {
	return testfix.Marker(t, testfix.Path(t, fxTruth), "kvmgen-marker-1")
}

func openFixture(t testing.TB, core string, o Options) *KVM {
	t.Helper()
	kd, err := OpenOptions(testfix.Path(t, fxVmlinux), testfix.Path(t, core), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kd.Close() })
	return kd
}

// linkAddr reads a symbol's link-time value from the vmlinux with debug/elf.
func linkAddr(t *testing.T, name string) uint64 {
	for _, s := range testfix.ELFSymbols(t, testfix.Path(t, fxVmlinux)) {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("%s not in vmlinux", name)
	return 0
}

func TestKernelDumps(t *testing.T) {
	objs := kernelOracle(t)
	release, err := os.ReadFile(filepath.Join(testfix.Path(t, fxTruth), "uname.txt"))
	if err != nil {
		t.Fatal(err)
	}
	pid := markerPID(t)
	// Objects that do not change between the three dumps (taken one after
	// another of a quiet guest): compared byte for byte in every dump.
	static := []string{"linux_banner", "init_uts_ns", "init_top_pgt", "comm1", "comm" + strconv.Itoa(pid), "stack" + strconv.Itoa(pid)}
	bannerDisp := objs["linux_banner"].addr - linkAddr(t, "linux_banner")
	for _, tc := range []struct{ core, format string }{
		{fxELF, "ELF vmcore (physical)"},
		{fxPaging, "ELF vmcore (virtual)"},
		{fxKdump, "kdump-compressed flattened (zlib)"},
	} {
		t.Run(filepath.Base(tc.core), func(t *testing.T) {
			for _, nocache := range []bool{false, true} {
				kd := openFixture(t, tc.core, Options{NoCache: nocache})
				i := kd.Info()
				if i.Format != tc.format || i.Arch != "x86_64" || i.PtrSize != 8 || i.BigEndian || i.PageSize != 4096 {
					t.Errorf("Info() = %+v", i)
				}
				if i.OSRelease != strings.TrimSpace(string(release)) {
					t.Errorf("OSRelease = %q, the guest's uname -r said %q", i.OSRelease, release)
				}
				if kd.Kerndisp() != bannerDisp {
					t.Errorf("Kerndisp() = %#x; drgn's linux_banner minus its link address = %#x", kd.Kerndisp(), bannerDisp)
				}
				if kd.BuildID() != kd.ExecBuildID() || len(kd.BuildID()) != 40 {
					t.Errorf("BuildID() = %q, execfile's %q", kd.BuildID(), kd.ExecBuildID())
				}
				if a, err := kd.LookupSymbol("linux_banner"); err != nil || a != objs["linux_banner"].addr {
					t.Errorf("LookupSymbol(linux_banner) = %#x, %v; drgn says %#x", a, err, objs["linux_banner"].addr)
				}
				for _, name := range static {
					o := objs[name]
					buf := make([]byte, len(o.bytes))
					if _, err := kd.Read2(o.addr, buf); err != nil {
						t.Errorf("%s: %v", name, err)
					} else if !bytes.Equal(buf, o.bytes) {
						t.Errorf("%s at %#x: %d of %d bytes differ from drgn's", name, o.addr, diffCount(buf, o.bytes), len(buf))
					}
				}
				// task_structs (direct map) hold counters that move
				// between dumps: compare all but a few bytes, and the
				// pid field exactly through the comm check above.
				for _, name := range []string{"task1", "task" + strconv.Itoa(pid)} {
					o := objs[name]
					buf := make([]byte, len(o.bytes))
					if _, err := kd.Read2(o.addr, buf); err != nil {
						t.Errorf("%s: %v", name, err)
					} else if d := diffCount(buf, o.bytes); d > 64 || (tc.core == fxPaging && d != 0) {
						t.Errorf("%s at %#x: %d of %d bytes differ from drgn's", name, o.addr, d, len(buf))
					}
				}
				// A user-space and a non-canonical address fail with the address.
				if _, err := kd.Read2(0x8000000000000000, make([]byte, 8)); err == nil || !strings.Contains(err.Error(), "0x8000000000000000") {
					t.Errorf("non-canonical read: %v", err)
				}
			}
		})
	}
}

func diffCount(a, b []byte) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func TestKernelConcurrentReads(t *testing.T) {
	objs := kernelOracle(t)
	for _, core := range []string{fxELF, fxKdump} {
		kd := openFixture(t, core, Options{})
		var wg sync.WaitGroup
		names := []string{"linux_banner", "init_uts_ns", "init_top_pgt", "comm1"}
		for g := 0; g < 32; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					o := objs[names[(g+i)%len(names)]]
					buf := make([]byte, len(o.bytes))
					if _, err := kd.Read2(o.addr, buf); err != nil {
						t.Error(err)
						return
					}
					if !bytes.Equal(buf, o.bytes) {
						t.Errorf("%s: concurrent read differs", o.name)
						return
					}
				}
			}(g)
		}
		wg.Wait()
	}
}

func TestKernelBuildIDMismatch(t *testing.T) {
	core := testfix.Path(t, fxKdump)
	// Any other ELF with a build ID stands for another kernel: the test
	// program's own binary.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(self)
	if err != nil {
		t.Skip("test binary is not ELF")
	}
	bid := elfBuildID(f)
	f.Close()
	if bid == "" {
		t.Skip("test binary has no GNU build ID")
	}
	_, err = Open2(self, core, os.O_RDONLY, nil)
	var be *BuildIDError
	if err == nil || !strings.Contains(err.Error(), bid) {
		t.Fatalf("Open2 with another kernel: %v, want a build ID mismatch naming %s", err, bid)
	}
	if !errorsAs(err, &be) {
		t.Errorf("error %T is not a *BuildIDError", err)
	}
	kd, err := OpenOptions(self, core, Options{IgnoreBuildID: true})
	if err != nil {
		t.Fatalf("IgnoreBuildID: %v", err)
	}
	kd.Close()
}

// TestKernelResolver opens a dump with kvm_open2's resolver fed by
// readelf's symbol table (link-time values): the descriptor adds the
// displacement, landing on drgn's addresses.
func TestKernelResolver(t *testing.T) {
	objs := kernelOracle(t)
	vmlinux := testfix.Path(t, fxVmlinux)
	out, err := exec.Command("readelf", "-sW", vmlinux).Output()
	if err != nil {
		t.Skipf("readelf: %v", err)
	}
	syms := map[string]uint64{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 8 && (f[7] == "linux_banner" || f[7] == "init_uts_ns") {
			v, _ := strconv.ParseUint(f[1], 16, 64)
			syms[f[7]] = v
		}
	}
	calls := 0
	kd, err := Open2(vmlinux, testfix.Path(t, fxKdump), os.O_RDONLY, func(name string) (KVAddr, error) {
		calls++
		if v, ok := syms[name]; ok {
			return v, nil
		}
		return 0, &SymbolError{Name: name}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	nl := []Nlist{{Name: "linux_banner"}, {Name: "init_uts_ns"}, {Name: "init_task"}}
	missing, err := kd.Nlist2(nl)
	if err != nil || missing != 1 || calls != 3 {
		t.Errorf("Nlist2: %d missing, %v, %d resolver calls", missing, err, calls)
	}
	if nl[0].Value != objs["linux_banner"].addr || nl[1].Value != objs["init_uts_ns"].addr {
		t.Errorf("resolved %#x %#x, drgn says %#x %#x", nl[0].Value, nl[1].Value, objs["linux_banner"].addr, objs["init_uts_ns"].addr)
	}
	if !strings.Contains(kd.Geterr(), "init_task") {
		t.Errorf("Geterr() = %q", kd.Geterr())
	}
}

// TestKernelTruncatedELF opens the physical ELF dump cut short: it opens
// (headers and notes are at the start), reads that the file still holds
// work, and reads past the cut fail with a FormatError naming the offset.
func TestKernelTruncatedELF(t *testing.T) {
	objs := kernelOracle(t)
	f, err := os.Open(testfix.Path(t, fxELF))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := loadExec(testfix.Path(t, fxVmlinux))
	if err != nil {
		t.Fatal(err)
	}
	const cut = 64 << 20 // the kernel image (physical 16 MiB+) partly held
	d, err := openDump(&openContext{Name: "cut", File: io.NewSectionReader(f, 0, cut), Size: cut, Exec: &img.info})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	// Physical memory below the cut reads; beyond it fails with the offset.
	p := d.(physReader)
	if _, err := p.ReadPhys(make([]byte, 16), 0x100000); err != nil {
		t.Errorf("below the cut: %v", err)
	}
	_, err = p.ReadPhys(make([]byte, 16), 0x10000000)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset < cut {
		t.Errorf("past the cut: %v, want a FormatError at or after %#x", err, cut)
	}
	// Kernel reads either work or fail with an error; never garbage.
	for _, name := range []string{"linux_banner", "init_uts_ns"} {
		o := objs[name]
		buf := make([]byte, len(o.bytes))
		if _, err := d.ReadMemory(buf, o.addr); err == nil && !bytes.Equal(buf, o.bytes) {
			t.Errorf("%s: read succeeded with wrong bytes", name)
		}
	}
	// Cut inside the program headers: a FormatError, not a panic.
	_, err = openDump(&openContext{Name: "cut", File: io.NewSectionReader(f, 0, 200), Size: 200})
	if !errors.As(err, &fe) {
		t.Errorf("cut in the headers: %v", err)
	}
}
