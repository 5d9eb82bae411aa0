package procs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/gen"
	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/internal/testfix/gentest"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

var (
	dwarfMu    sync.Mutex
	dwarfFiles = map[string]*dwarfmodel.File{}
)

// fixtureKernel is one kernel's fixture directory: linux-amd64/ (the
// kernel the project's fixtures are built for), linux-amd64-prev/ (an older
// Debian kernel the pipeline also boots and dumps: the same code must give
// the same answers), and any listed in $KVMGEN_EXTRA_CACHES (colon-separated;
// each a fixture directory like linux-amd64/, or a cache holding one, made
// e.g. by `KVMGEN_CACHE=DIR KVMGEN_KVER=... scripts/fixtures.sh kernel`).
type fixtureKernel struct {
	name    string // release, from VERSION
	dir     string
	primary bool
	extra   bool // from $KVMGEN_EXTRA_CACHES: may hold only a kernel
}

func fixtureKernels(t testing.TB) []fixtureKernel {
	t.Helper()
	testfix.Path(t, "linux-amd64/vmlinux") // skips (or fails in CI) without the primary fixtures
	out := []fixtureKernel{{dir: filepath.Join(testfix.Dir(), "linux-amd64"), primary: true}}
	prev := filepath.Join(testfix.Dir(), "linux-amd64-prev")
	if _, err := os.Stat(filepath.Join(prev, "vmlinux")); err == nil {
		out = append(out, fixtureKernel{dir: prev})
	} else if why, err := os.ReadFile(filepath.Join(prev, "UNAVAILABLE")); err == nil {
		t.Logf("no older kernel: %s", bytes.TrimSpace(why))
	} else if testfix.Required() {
		t.Fatalf("fixture %s is missing (run `make fixtures`)", prev)
	}
	if e := os.Getenv("KVMGEN_EXTRA_CACHES"); e != "" {
		for _, d := range filepath.SplitList(e) {
			if _, err := os.Stat(filepath.Join(d, "linux-amd64", "vmlinux")); err == nil {
				d = filepath.Join(d, "linux-amd64")
			}
			out = append(out, fixtureKernel{dir: d, extra: true})
		}
	}
	for i := range out {
		k := &out[i]
		k.name = filepath.Base(k.dir)
		if b, err := os.ReadFile(filepath.Join(k.dir, "VERSION")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "release="); ok {
					k.name = v
				}
			}
		}
	}
	return out
}

// path is a fixture of this kernel (rel to its directory); a missing one
// skips (fails under KVMGEN_REQUIRE_FIXTURES=1). A kernel directory may
// hold only the kernel (no dumps): its layout is still checked.
func (k fixtureKernel) path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(k.dir, rel)
	if _, err := os.Stat(p); err != nil {
		if testfix.Required() && !k.extra {
			t.Fatalf("fixture %s is missing: %v", p, err)
		}
		t.Skipf("fixture %s is missing (run `make fixtures`)", p)
	}
	return p
}

// dwarf opens the kernel's DWARF once per test binary.
func (k fixtureKernel) dwarf(t testing.TB) (*dwarfmodel.File, string) {
	t.Helper()
	p := k.path(t, "vmlinux")
	dwarfMu.Lock()
	defer dwarfMu.Unlock()
	if f, ok := dwarfFiles[p]; ok {
		return f, p
	}
	f, err := dwarfmodel.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	dwarfFiles[p] = f
	return f, p
}

// kernelDWARF opens the primary fixture kernel's DWARF.
func kernelDWARF(t testing.TB) (*dwarfmodel.File, string) {
	return fixtureKernel{dir: filepath.Join(testfix.Dir(), "linux-amd64"), primary: true}.dwarf(t)
}

// tableBinding binds l's table to no target, to look members up.
func tableBinding(t testing.TB, l *Layout) *bind.Binding {
	t.Helper()
	b, err := l.binding(noTarget{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gdbType spells a TypeSpec's type for gdb: "struct task_struct", or a
// typedef name; "" for an anonymous aggregate (found through its parent).
func gdbType(ts *bind.TypeSpec) string {
	if ts.Name == "" || ts.Opaque {
		return ""
	}
	return ts.Name
}

// TestLayoutAgainstGDB resolves the bindings' layout table for the fixture
// kernels and checks the offset and size of every member the kernel has,
// and the size of every aggregate, against gdb's own evaluation of
// &((T *)0)->path and sizeof on the same vmlinux.
func TestLayoutAgainstGDB(t *testing.T) {
	if testing.Short() {
		t.Skip("gdb takes ~30 s and 2 GB on the vmlinux")
	}
	ks := fixtureKernels(t)
	if p := filepath.Join(testfix.Dir(), "linux-amd64-6.12"); !hasKernel(ks, p) {
		if _, err := os.Stat(filepath.Join(p, "vmlinux")); err == nil {
			ks = append(ks, fixtureKernel{name: "linux-amd64-6.12", dir: p, extra: true})
		}
	}
	for _, k := range ks {
		t.Run(k.name, func(t *testing.T) { layoutAgainstGDB(t, k) })
	}
}

func hasKernel(ks []fixtureKernel, dir string) bool {
	for _, k := range ks {
		if k.dir == dir {
			return true
		}
	}
	return false
}

func layoutAgainstGDB(t *testing.T, k fixtureKernel) {
	di, path := k.dwarf(t)
	tab, err := bind.ResolveTable(&kvmSpecLinux, relocated{di})
	if err != nil {
		t.Fatal(err)
	}
	l := layoutOf(tab)
	b := tableBinding(t, l)
	type q struct {
		key, expr string
		want      int64
	}
	var qs []q
	spec := &kvmSpecLinux
	idx := 0
	for ti := range spec.Types {
		ts := &spec.Types[ti]
		first := idx
		idx += len(ts.Fields)
		typ := gdbType(ts)
		if typ == "" {
			continue
		}
		if size := b.Sizeof(ti); size >= 0 {
			qs = append(qs, q{"sizeof " + typ, fmt.Sprintf("sizeof(%s)", typ), size})
		}
		for j := range ts.Fields {
			f, ok := b.Field(first + j)
			if !ok {
				continue
			}
			p := b.MemberPath(first + j)
			key := typ + "." + p
			if f.Bits != 0 {
				continue
			}
			qs = append(qs, q{key + " offset", fmt.Sprintf("(long)&((%s *)0)->%s", typ, p), int64(f.Off)})
			size := int64(f.Size)
			if f.Array {
				if f.Count <= 0 {
					continue // flexible
				}
				size *= int64(f.Count)
			}
			qs = append(qs, q{key + " size", fmt.Sprintf("sizeof(((%s *)0)->%s)", typ, p), size})
		}
	}
	// tk_core's anonymous type, found through the variable.
	tc := linuxTkCoreType{}.KVMType()
	if tk, err := bind.Offsetof[linuxTkCoreType](b, "timekeeper"); err == nil {
		qs = append(qs, q{"tk_core.timekeeper offset", "(long)&tk_core.timekeeper - (long)&tk_core", tk},
			q{"sizeof tk_core", "sizeof(tk_core)", b.Sizeof(tc)})
	} else {
		t.Errorf("tk_core.timekeeper: %v", err)
	}
	qs = append(qs,
		q{"PIDTYPE_PGID", "(int)PIDTYPE_PGID", int64(linuxPidtypePgid)},
		q{"PIDTYPE_SID", "(int)PIDTYPE_SID", int64(linuxPidtypeSid)},
	)
	var cmds []string
	for _, x := range qs {
		cmds = append(cmds, "p/d "+x.expr)
	}
	out := testfix.GDB(t, path, cmds...)
	var vals []int64
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "$") {
			continue
		}
		_, v, ok := strings.Cut(line, " = ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			t.Fatalf("gdb line %q: %v", line, err)
		}
		vals = append(vals, n)
	}
	if len(vals) != len(qs) {
		t.Fatalf("gdb answered %d of %d queries:\n%s", len(vals), len(qs), out)
	}
	for i, x := range qs {
		if vals[i] != x.want {
			t.Errorf("%s: bindings %d, gdb %d (%s)", x.key, x.want, vals[i], x.expr)
		}
	}
	t.Logf("%d offsets and sizes agree with gdb", len(qs))
}

// relocated hides a source's build ID, so that ResolveTable resolves every
// member from its types even for the kernel the bindings were generated
// from (whose table is otherwise the generation-time one).
type relocated struct{ DebugInfo }

func (relocated) BuildID() string { return "" }

// TestLayoutKernelMembers pins which of the alternative member paths each
// fixture kernel has, as its source says: the bindings read each at the
// path the kernel has it at.
func TestLayoutKernelMembers(t *testing.T) {
	type want struct{ state, cpu, start, pgrp string }
	v61 := want{"__state", "thread_info.cpu", "start_boottime", "ctrl.pgrp"}
	for _, c := range []struct {
		dir         string
		w           want
		threadGroup bool // 6.1 has both thread_node (backported) and thread_group
		percpuRSS   bool // 6.2+
	}{
		{"linux-amd64", v61, true, false},
		{"linux-arm64", v61, true, false},
		{"linux-i386", v61, true, false},
		{"linux-amd64-6.12", v61, false, true},
	} {
		t.Run(c.dir, func(t *testing.T) {
			k := fixtureKernel{name: c.dir, dir: filepath.Join(testfix.Dir(), c.dir), primary: c.dir == "linux-amd64", extra: c.dir != "linux-amd64"}
			di, _ := k.dwarf(t)
			tab, err := bind.ResolveTable(&kvmSpecLinux, relocated{di})
			if err != nil {
				t.Fatal(err)
			}
			l := layoutOf(tab)
			if err := l.check(); err != nil {
				t.Fatal(err)
			}
			b := tableBinding(t, l)
			path := func(typ int, m string) string {
				i, ok := b.FieldIndex(typ, m)
				if !ok {
					t.Fatalf("no member %s in the bindings", m)
				}
				return b.MemberPath(i)
			}
			task, tty := linuxTaskStruct{}.KVMType(), linuxTTYStruct{}.KVMType()
			got := want{path(task, "state"), path(task, "cpu"), path(task, "start_boottime"), path(tty, "pgrp")}
			if got != c.w {
				t.Errorf("member paths %+v, want %+v", got, c.w)
			}
			tv := bind.AsView[linuxTaskStruct](bind.MakeView(b, 0, nil))
			mm := bind.AsView[linuxMmStruct](bind.MakeView(b, 0, nil))
			if !tv.HasThreadNode() || tv.HasThreadGroup() != c.threadGroup {
				t.Errorf("thread_node %v, thread_group %v; want true, %v", tv.HasThreadNode(), tv.HasThreadGroup(), c.threadGroup)
			}
			if mm.HasRssCount() == c.percpuRSS || mm.HasRssCounters() != c.percpuRSS {
				t.Errorf("rss_stat.count[] %v, rss_stat[] of percpu_counter %v; want percpu %v", mm.HasRssCount(), mm.HasRssCounters(), c.percpuRSS)
			}
			if want := map[bool]int{true: 4, false: 8}[c.dir == "linux-i386"]; l.PtrSize != want {
				t.Errorf("pointer size %d, want %d", l.PtrSize, want)
			}
		})
	}
}

// fakeDI is a DebugInfo built by hand, for the resolver's error paths.
type fakeDI struct {
	types   map[string]dwarfmodel.Type
	buildID string
}

func (f *fakeDI) Type(name string) (dwarfmodel.Type, error) {
	if t, ok := f.types[name]; ok {
		return t, nil
	}
	return nil, &dwarfmodel.NotFoundError{Kind: "type", Name: name}
}
func (f *fakeDI) Variable(name string) (*dwarfmodel.Variable, error) {
	return nil, &dwarfmodel.NotFoundError{Kind: "variable", Name: name}
}
func (f *fakeDI) BuildID() string { return f.buildID }
func (f *fakeDI) DataModel() dwarfmodel.DataModel {
	return dwarfmodel.DataModel{Arch: "x86_64", PtrSize: 8, ByteOrder: binary.LittleEndian}
}

// TestResolveMissingMember: a kernel lacking a member procs cannot do
// without, under all its names, fails ResolveLayout with the runtime's
// *bind.MissingMemberError naming them.
func TestResolveMissingMember(t *testing.T) {
	u32 := &dwarfmodel.Base{Name: "unsigned int", ByteSize: 4, Encoding: dwarfmodel.EncUnsigned}
	di := &fakeDI{types: map[string]dwarfmodel.Type{
		"struct task_struct": &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "task_struct", ByteSize: 64,
			Members: []dwarfmodel.Member{{Name: "flags", Type: u32, ByteOffset: 4}}},
	}}
	_, err := ResolveLayout(di)
	var me *bind.MissingMemberError
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want *bind.MissingMemberError", err)
	}
	if me.Type != "struct task_struct" || me.Member != "__state" || me.Reason != "no member __state or state" {
		t.Errorf("got %+v", me)
	}
	if !strings.Contains(err.Error(), "struct task_struct member __state") {
		t.Errorf("message %q", err)
	}
}

func TestSaveLoadLayout(t *testing.T) {
	tab, err := bind.ResolveTable(&kvmSpecLinux, &fakeDI{buildID: "abc:1"})
	if err != nil {
		t.Fatal(err)
	}
	l := layoutOf(tab)
	dir := t.TempDir()
	if err := SaveLayout(dir, l); err != nil {
		t.Fatal(err)
	}
	layoutCache.Delete("abc:1")
	got, err := LoadLayout(dir, "abc:1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, l) {
		t.Errorf("round trip: got %+v", got)
	}
	if _, err := LoadLayout(dir, "other"); err == nil {
		t.Error("loaded a layout for an unknown build ID")
	}
	// A layout of other bindings (another generation) is refused.
	l2 := *l
	t2 := *l.Table
	t2.Spec = "0123"
	l2.Table = &t2
	if err := SaveLayout(dir, &l2); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLayout(dir, "abc:1"); err == nil || !strings.Contains(err.Error(), "other bindings") {
		t.Errorf("layout of other bindings: %v", err)
	}
}

// TestBindingsUpToDate regenerates the committed bindings from the
// fixture kernel with the go:generate line of layout.go, as go generate
// would, and compares the bytes.
func TestBindingsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the 590 MB vmlinux")
	}
	cfg := gentest.GenerateLine(t, "layout.go", "procs")
	di, vmlinux := kernelDWARF(t)
	out, err := gen.Generate(di, cfg)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("zkvmgen_x86_64_kernel.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, committed) {
		t.Fatal("zkvmgen_x86_64_kernel.go differs from a fresh generation: run KVMGEN_KERNEL=" + vmlinux + " go generate ./procs")
	}
}
