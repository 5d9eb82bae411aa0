package procs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
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

// layoutFields lists every Field of the layout with the C struct it is a
// member of, for the oracle.
func layoutFields(l *Layout) map[string]Field {
	out := make(map[string]Field)
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			fv := v.Field(i)
			name := prefix + "." + v.Type().Field(i).Name
			if f, ok := fv.Interface().(Field); ok {
				out[name] = f
				continue
			}
			if fv.Kind() == reflect.Struct {
				walk(name, fv)
			}
		}
	}
	walk("", reflect.ValueOf(*l))
	return out
}

// cStruct maps a Layout section to the C struct its fields belong to.
var cStruct = map[string]string{
	"Task": "task_struct", "Mm": "mm_struct", "Cred": "cred", "Signal": "signal_struct",
	"Pid": "pid", "Tty": "tty_struct", "TtyDriver": "tty_driver", "Swap": "swap_info_struct",
	"File": "file", "Inode": "inode", "Dentry": "dentry", "Mount": "mount", "Time": "timekeeper", "Worker": "worker",
	"SuperBlock": "super_block", "VMA": "vm_area_struct", "MapleTree": "maple_tree", "MapleNode": "maple_node",
	"SpecialMapping": "vm_special_mapping", "AnonVMAName": "anon_vma_name",
}

// TestLayoutAgainstGDB resolves the layout of the fixture kernel and checks
// every offset and size against gdb's own evaluation of
// &((struct X *)0)->path and sizeof on the same vmlinux.
func TestLayoutAgainstGDB(t *testing.T) {
	if testing.Short() {
		t.Skip("gdb takes ~30 s and 2 GB on the vmlinux")
	}
	testfix.Tool(t, "gdb")
	for _, k := range fixtureKernels(t) {
		t.Run(k.name, func(t *testing.T) { layoutAgainstGDB(t, k) })
	}
}

func layoutAgainstGDB(t *testing.T, k fixtureKernel) {
	di, path := k.dwarf(t)
	l, err := ResolveLayout(di)
	if err != nil {
		t.Fatal(err)
	}
	fields := layoutFields(l)
	type q struct {
		key, expr string
		want      int64
	}
	var qs []q
	for key, f := range fields {
		if !f.Present() {
			continue
		}
		sect := strings.Split(key, ".")[1]
		st := cStruct[sect]
		switch key {
		case ".Pid.UpidNr":
			st = "upid"
		case ".Mount.MntRoot":
			st = "vfsmount"
		case ".Worker.WQName":
			st = "workqueue_struct"
		case ".Worker.KthreadData", ".Worker.FullName":
			st = "kthread"
		}
		if st == "" {
			t.Fatalf("no C struct for %s", key)
		}
		if sect == "Time" && f.Path == "timekeeper" {
			continue // a member of tk_core's anonymous struct, checked below
		}
		qs = append(qs, q{key + " offset", fmt.Sprintf("(long)&((struct %s *)0)->%s", st, f.Path), f.Off})
		if f.Size > 0 {
			qs = append(qs, q{key + " size", fmt.Sprintf("sizeof(((struct %s *)0)->%s)", st, f.Path), f.Size})
		}
	}
	rss := "rss_stat.count[1].counter" // 6.1: struct mm_rss_stat { atomic_long_t count[]; }
	rssArr := "rss_stat.count"
	if l.Mm.RSSKind == "percpu_counter" { // 6.2+: struct percpu_counter rss_stat[]
		rss, rssArr = "rss_stat[1].count", "rss_stat"
		qs = append(qs, q{"Mm.RSSCPUOff", "(long)&((struct mm_struct *)0)->rss_stat[1].counters - (long)&((struct mm_struct *)0)->rss_stat[1].count", l.Mm.RSSCPUOff})
	}
	qs = append(qs,
		q{"Time.Timekeeper offset", "(long)&tk_core.timekeeper - (long)&tk_core", l.Time.Timekeeper.Off},
		q{"Mm.RSS offset", fmt.Sprintf("(long)&((struct mm_struct *)0)->%s - %d", rss, l.Mm.RSSStride), l.Mm.RSSOff},
		q{"Mm.RSS size", fmt.Sprintf("sizeof(((struct mm_struct *)0)->%s)", rss), l.Mm.RSSSize},
		q{"Mm.RSSCount", fmt.Sprintf("sizeof(((struct mm_struct *)0)->%s)/sizeof(((struct mm_struct *)0)->%s[0])", rssArr, rssArr), l.Mm.RSSCount},
		q{"Pid.UpidSize", "sizeof(struct upid)", l.Pid.UpidSize},
		q{"Task.Size", "sizeof(struct task_struct)", l.Task.Size},
		q{"Swap.Count", "sizeof(swap_info)/sizeof(swap_info[0])", l.Swap.Count},
		q{"AvenrunLen", "sizeof(avenrun)/sizeof(avenrun[0])", l.AvenrunLen},
		q{"PidType.PGID", "(int)PIDTYPE_PGID", l.PidType.PGID},
		q{"PidType.SID", "(int)PIDTYPE_SID", l.PidType.SID},
	)
	args := []string{"-batch", "-nx"}
	for _, x := range qs {
		args = append(args, "-ex", "p/d "+x.expr)
	}
	args = append(args, path)
	out, err := exec.Command("gdb", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	var vals []int64
	for _, line := range strings.Split(string(out), "\n") {
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
			t.Errorf("%s: procs %d, gdb %d (%s)", x.key, x.want, vals[i], x.expr)
		}
	}
	t.Logf("%d offsets and sizes agree with gdb", len(qs))
}

// TestLayoutKernelMembers pins which of the alternative member names the
// fixture kernel (6.1) has, as its source says.
func TestLayoutKernelMembers(t *testing.T) {
	di, _ := kernelDWARF(t)
	l, err := ResolveLayout(di)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want string }{
		{l.Task.State.Path, "__state"},
		{l.Task.CPU.Path, "thread_info.cpu"},
		{l.Task.StartTime.Path, "start_boottime"},
		{l.Task.ThreadNode.Path, "thread_node"},
		{l.Cred.UID.Path, "uid.val"},
		{l.Tty.Pgrp.Path, "ctrl.pgrp"},
		{l.Mm.RSSKind, "atomic"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// fakeDI is a DebugInfo built by hand, for the resolver's error paths.
type fakeDI struct {
	types map[string]dwarfmodel.Type
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
func (f *fakeDI) BuildID() string { return "" }
func (f *fakeDI) DataModel() dwarfmodel.DataModel {
	return dwarfmodel.DataModel{Arch: "x86_64", PtrSize: 8}
}

func TestResolveMissingMember(t *testing.T) {
	u32 := &dwarfmodel.Base{Name: "unsigned int", ByteSize: 4, Encoding: dwarfmodel.EncUnsigned}
	di := &fakeDI{types: map[string]dwarfmodel.Type{
		"struct task_struct": &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "task_struct", ByteSize: 64,
			Members: []dwarfmodel.Member{{Name: "flags", Type: u32, ByteOffset: 4}}},
	}}
	_, err := ResolveLayout(di)
	var me *MissingError
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want *MissingError", err)
	}
	if me.Type != "struct task_struct" || !reflect.DeepEqual(me.Tried, []string{"__state", "state"}) {
		t.Errorf("got %+v", me)
	}
	if !strings.Contains(err.Error(), "struct task_struct has no member __state or state") {
		t.Errorf("message %q", err)
	}
}

func TestMemberPathAnonymous(t *testing.T) {
	u64 := &dwarfmodel.Base{Name: "long unsigned int", ByteSize: 8, Encoding: dwarfmodel.EncUnsigned}
	inner := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, ByteSize: 16, Members: []dwarfmodel.Member{
		{Name: "a", Type: u64, ByteOffset: 0}, {Name: "arg_start", Type: u64, ByteOffset: 8}}}
	un := &dwarfmodel.Struct{Kind: dwarfmodel.KindUnion, ByteSize: 16, Members: []dwarfmodel.Member{{Name: "", Type: inner}}}
	mm := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "mm_struct", ByteSize: 64, Members: []dwarfmodel.Member{
		{Name: "x", Type: u64, ByteOffset: 0}, {Name: "", Type: un, ByteOffset: 32}}}
	off, typ, ok := memberPath(mm, "arg_start")
	if !ok || off != 40 || typ != u64 {
		t.Fatalf("memberPath = %d, %v, %v; want 40", off, typ, ok)
	}
	if _, _, ok := memberPath(mm, "arg_start.x"); ok {
		t.Error("path through a non-struct member resolved")
	}
	// A self-referencing anonymous member must not hang.
	cyc := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, ByteSize: 8}
	cyc.Members = []dwarfmodel.Member{{Name: "", Type: cyc}}
	if _, _, ok := memberPath(cyc, "nothing"); ok {
		t.Error("found a member in an empty cycle")
	}
}

func TestSaveLoadLayout(t *testing.T) {
	l := &Layout{Version: LayoutVersion, BuildID: "abc:1", PtrSize: 8, Arch: "x86_64"}
	l.Task.Pid = Field{Path: "pid", Off: 2416, Size: 4, Signed: true}
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
	_ = bytes.MinRead
}
