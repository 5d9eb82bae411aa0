package kvm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// shown is one object testdata/prog.c printed: the oracle.
type shown struct {
	name  string
	addr  uint64
	bytes []byte
}

// makeCore builds testdata/prog.c with cc -static (testfix's C pipeline),
// runs it under qemu (qemu-user writes its own core when it aborts) and
// returns the program, its core and what it printed.
func makeCore(t *testing.T, cc, qemu string) (prog, core string, objs map[string]shown) {
	t.Helper()
	tc := testfix.Toolchain{CC: cc, Qemu: qemu}
	prog = testfix.BuildC(t, testfix.CBuild{TC: tc, Sources: []string{"testdata/prog.c"}, Flags: []string{"-static"}})
	out, core := testfix.RunCore(t, tc, prog)
	objs = make(map[string]shown)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			t.Fatalf("bad line %q", sc.Text())
		}
		a, err := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		b, err := hex.DecodeString(f[3])
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(f[2])
		if n != len(b) {
			t.Fatalf("%s: %d bytes printed, size %d", f[0], len(b), n)
		}
		objs[f[0]] = shown{f[0], a, b}
	}
	if len(objs) != 6 {
		t.Fatalf("program printed %d objects, want 6:\n%s", len(objs), out)
	}
	return prog, core, objs
}

// checkProcessCore checks a core of testdata/prog.c; ptr is the target's
// pointer size, nextOff the offset of struct rec's next member there.
func checkProcessCore(t *testing.T, cc, qemu, arch string, bigEndian bool, ptr int, nextOff uint64, native bool) {
	prog, core, objs := makeCore(t, cc, qemu)
	kd, err := Open2(prog, core, os.O_RDONLY, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	info := kd.Info()
	if info.Format != "ELF core (process)" || info.Arch != arch || info.PtrSize != ptr || info.BigEndian != bigEndian {
		t.Errorf("Info() = %+v, want a process core of %s (BE=%v)", info, arch, bigEndian)
	}
	for _, o := range objs {
		buf := make([]byte, len(o.bytes))
		n, err := kd.Read2(o.addr, buf)
		if err != nil || n != len(buf) {
			t.Errorf("%s: Read2(%#x, %d) = %d, %v", o.name, o.addr, len(buf), n, err)
			continue
		}
		if !bytes.Equal(buf, o.bytes) {
			t.Errorf("%s at %#x: read %x, the program printed %x", o.name, o.addr, buf, o.bytes)
		}
	}
	// Symbols from the execfile agree with the addresses the program printed.
	nl := []Nlist{{Name: "first"}, {Name: "second"}, {Name: "counter"}, {Name: "big"}, {Name: "no_such_symbol"}}
	missing, err := kd.Nlist2(nl)
	if err != nil || missing != 1 {
		t.Errorf("Nlist2: missing %d, %v; want 1", missing, err)
	}
	for _, e := range nl[:4] {
		if e.Value != objs[e.Name].addr || e.Type == NTypeUndef {
			t.Errorf("Nlist2 %s = %#x (type %d), the program printed %#x", e.Name, e.Value, e.Type, objs[e.Name].addr)
		}
	}
	if nl[4].Type != NTypeUndef || nl[4].Value != 0 {
		t.Errorf("missing symbol: %+v", nl[4])
	}
	if kd.Native() != native {
		t.Errorf("Native() = %v on a %s host", kd.Native(), runtime.GOARCH)
	}
	// Follow first.next (a pointer in the target's byte order and size).
	var bo binary.ByteOrder = binary.LittleEndian
	if bigEndian {
		bo = binary.BigEndian
	}
	word := func(b []byte) uint64 {
		if ptr == 4 {
			return uint64(bo.Uint32(b))
		}
		return bo.Uint64(b)
	}
	p := make([]byte, ptr)
	if _, err := kd.Read2(objs["first"].addr+nextOff, p); err != nil {
		t.Fatal(err)
	}
	if got := word(p); got != objs["second"].addr {
		t.Errorf("first.next = %#x, want &second = %#x", got, objs["second"].addr)
	}
	// The heap pointer stored in counter leads to the heap object.
	if got := word(objs["counter"].bytes); got != objs["heap"].addr {
		t.Errorf("counter = %#x, want heap %#x", got, objs["heap"].addr)
	}
	// A resolver (here: the program's own printed addresses) replaces the
	// symbol table; its errors mark entries missing.
	kr, err := Open2(prog, core, os.O_RDONLY, func(name string) (KVAddr, error) {
		if o, ok := objs[name]; ok {
			return o.addr, nil
		}
		return 0, &SymbolError{Name: name}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	nl = []Nlist{{Name: "big"}, {Name: "main"}}
	if missing, err := kr.Nlist2(nl); err != nil || missing != 1 || nl[0].Value != objs["big"].addr || nl[1].Value != 0 {
		t.Errorf("Nlist2 through the resolver = %+v, %d missing, %v", nl, missing, err)
	}
	// Concurrent readers through one descriptor.
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			o := objs["big"]
			buf := make([]byte, 256)
			for i := 0; i < 200; i++ {
				off := (g*131 + i*977) % (len(o.bytes) - len(buf))
				if _, err := kd.Read2(o.addr+uint64(off), buf); err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(buf, o.bytes[off:off+len(buf)]) {
					t.Errorf("goroutine %d: bytes at big+%d differ", g, off)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	// Unmapped address: a clear error, recorded for Geterr.
	if _, err := kd.Read2(0x10, make([]byte, 4)); err == nil {
		t.Error("read at 0x10 succeeded")
	} else if !strings.Contains(kd.Geterr(), "0x10") {
		t.Errorf("Geterr() = %q, want the address", kd.Geterr())
	}
	// Read-only descriptor refuses writes.
	if _, err := kd.Write(objs["counter"].addr, []byte{1}); err == nil {
		t.Error("Write on a read-only descriptor succeeded")
	}
}

func TestProcessCoreX86_64(t *testing.T) {
	checkProcessCore(t, "gcc", "qemu-x86_64", "x86_64", false, 8, 32, runtime.GOARCH == "amd64")
}

func TestProcessCoreI386(t *testing.T) {
	// i386 aligns uint64 to 4: a@0 b@4 name@12 next@28.
	checkProcessCore(t, "i686-linux-gnu-gcc", "qemu-i386", "i386", false, 4, 28, runtime.GOARCH == "386")
}

func TestProcessCoreAarch64(t *testing.T) {
	checkProcessCore(t, "aarch64-linux-gnu-gcc", "qemu-aarch64", "aarch64", false, 8, 32, runtime.GOARCH == "arm64")
}

// TestForeignNeedsSymbols: a kernel (or program) of another architecture
// opened with a stripped execfile and no resolver is refused, as
// kvm_open2 requires; with a resolver it opens.
func TestForeignNeedsSymbols(t *testing.T) {
	if runtime.GOARCH == "s390x" {
		t.Skip("s390x is native here")
	}
	strip := testfix.Tool(t, "s390x-linux-gnu-strip")
	prog, core, objs := makeCore(t, "s390x-linux-gnu-gcc", "qemu-s390x")
	stripped := filepath.Join(t.TempDir(), "prog.stripped")
	if out, err := exec.Command(strip, "-o", stripped, prog).CombinedOutput(); err != nil {
		t.Fatalf("strip: %v\n%s", err, out)
	}
	if _, err := Open2(stripped, core, os.O_RDONLY, nil); err == nil || !strings.Contains(err.Error(), "resolver") {
		t.Errorf("stripped foreign execfile without a resolver: %v", err)
	}
	kd, err := Open2(stripped, core, os.O_RDONLY, func(name string) (KVAddr, error) {
		if o, ok := objs[name]; ok {
			return o.addr, nil
		}
		return 0, &SymbolError{Name: name}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	if a, err := kd.LookupSymbol("counter"); err != nil || a != objs["counter"].addr {
		t.Errorf("LookupSymbol(counter) = %#x, %v", a, err)
	}
}

func TestProcessCoreS390x(t *testing.T) {
	checkProcessCore(t, "s390x-linux-gnu-gcc", "qemu-s390x", "s390x", true, 8, 32, runtime.GOARCH == "s390x")
}

func TestProcessCoreWrite(t *testing.T) {
	prog, core, objs := makeCore(t, "gcc", "qemu-x86_64")
	kd, err := Open2(prog, core, os.O_RDWR, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	want := []byte{0xca, 0xfe, 0xf0, 0x0d}
	if n, err := kd.Write(objs["big"].addr+4094, want); err != nil || n != 4 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	got := make([]byte, 4)
	if _, err := kd.Read2(objs["big"].addr+4094, got); err != nil || !bytes.Equal(got, want) {
		t.Errorf("read back %x, %v; want %x", got, err, want)
	}
}

func TestOpenErrors(t *testing.T) {
	var buf bytes.Buffer
	old := Stderr
	Stderr = &buf
	defer func() { Stderr = old }()
	_, err := Open("", "/nonexistent/core", "", os.O_RDONLY, "mytool")
	if err == nil {
		t.Fatal("Open of a missing core succeeded")
	}
	if !strings.HasPrefix(buf.String(), "mytool: ") || !strings.Contains(buf.String(), "/nonexistent/core") {
		t.Errorf("stderr = %q", buf.String())
	}
	buf.Reset()
	Open("", "/nonexistent/core", "", os.O_RDONLY, "")
	if buf.Len() != 0 {
		t.Errorf("errstr \"\" printed %q", buf.String())
	}
	if _, err := OpenFiles("", "/nonexistent/core", "", os.O_APPEND); err == nil || !strings.Contains(err.Error(), "flags") {
		t.Errorf("bad flags: %v", err)
	}
	// Not a dump: every format declines, and the error says so.
	f := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(f, bytes.Repeat([]byte("junk"), 100), 0o644)
	if _, err := Open2("", f, os.O_RDONLY, nil); err == nil || !strings.Contains(err.Error(), "unknown corefile format") {
		t.Errorf("junk: %v", err)
	}
}
