package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/gen"
	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

// row is one line of lsproc's table or of the guest's truth/tasks.txt
// (which scripts/fixtures.sh derives from the guest's /proc/PID/stat).
type row struct {
	pid, ppid int
	state     byte
	comm      string
}

func parseTable(t *testing.T, name string, data []byte) map[int]row {
	t.Helper()
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 0 || lines[0] != "PID PPID STATE COMM" {
		t.Fatalf("%s: header %q, want %q", name, lines[0], "PID PPID STATE COMM")
	}
	rows := map[int]row{}
	for i, l := range lines[1:] {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 || len(f[2]) != 1 {
			t.Fatalf("%s:%d: malformed row %q", name, i+2, l)
		}
		pid, err1 := strconv.Atoi(f[0])
		ppid, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s:%d: malformed row %q", name, i+2, l)
		}
		if _, dup := rows[pid]; dup {
			t.Fatalf("%s:%d: PID %d listed twice", name, i+2, pid)
		}
		rows[pid] = row{pid, ppid, f[2][0], f[3]}
	}
	return rows
}

// sameComm reports whether task_struct.comm (as lsproc prints it) is the
// name /proc/PID/stat shows. /proc differs for kernel threads only: it
// shows the full name of a kthread whose name was longer than comm's 15
// characters (kthread->full_name), and a workqueue worker's current
// workqueue after a '-' (wq_worker_comm).
func sameComm(kernel, proc string, kthread bool) bool {
	if kernel == proc {
		return true
	}
	if !kthread || !strings.HasPrefix(proc, kernel) {
		return false
	}
	return len(kernel) == 15 || strings.HasPrefix(kernel, "kworker/") && proc[len(kernel)] == '-'
}

func readMarkers(t *testing.T, path string) map[string]int {
	return testfix.Markers(t, filepath.Dir(path))
}

// compareWithTruth checks lsproc's table against the guest's own view:
// the same PIDs, and for each the same parent, name and state. A task
// runnable (R) in one view may have changed state in the moment between
// the guest's snapshot and the dump; every other state must agree.
func compareWithTruth(t *testing.T, got, want map[int]row) {
	t.Helper()
	for pid, w := range want {
		g, ok := got[pid]
		if !ok {
			t.Errorf("PID %d (%s) is in the guest's /proc but not in lsproc's output", pid, w.comm)
			continue
		}
		kthread := w.ppid == 2 || pid == 2
		if g.ppid != w.ppid || !sameComm(g.comm, w.comm, kthread) {
			t.Errorf("PID %d: lsproc says PPID %d COMM %q, the guest says PPID %d COMM %q", pid, g.ppid, g.comm, w.ppid, w.comm)
		}
		if g.state != w.state && g.state != 'R' && w.state != 'R' {
			t.Errorf("PID %d (%s): lsproc says state %c, the guest says %c", pid, w.comm, g.state, w.state)
		}
	}
	for pid, g := range got {
		if _, ok := want[pid]; !ok {
			t.Errorf("PID %d (%s) is in lsproc's output but not in the guest's /proc", pid, g.comm)
		}
	}
}

// checkMarkers checks the processes the guest's /init set up, against the
// PIDs it printed and the states it put them in.
func checkMarkers(t *testing.T, got map[int]row, markers map[string]int) {
	t.Helper()
	want := []struct {
		name  string
		state byte
	}{
		{"kvmgen-marker-1", 'S'}, // three threads sleeping in pause()
		{"kvmgen-marker-2", 'S'},
		{"kvmgen-marker-3", 'T'}, // SIGSTOP
	}
	for _, w := range want {
		pid, ok := markers[w.name]
		if !ok {
			t.Fatalf("markers.txt has no %s", w.name)
		}
		g, ok := got[pid]
		if !ok || g.comm != w.name || g.state != w.state {
			t.Errorf("%s (PID %d): lsproc row %+v, want comm %s state %c", w.name, pid, g, w.name, w.state)
		}
	}
	// kvmgen-marker-3's parent is the subshell that started it, not init.
	if g := got[markers["kvmgen-marker-3"]]; g.ppid != markers["kvmgen-marker-3-parent"] {
		t.Errorf("kvmgen-marker-3: PPID %d, want its subshell %d", g.ppid, markers["kvmgen-marker-3-parent"])
	}
	// kvmgen-marker-2 forked a child that exited and was never reaped.
	zombies := 0
	for _, g := range got {
		if g.ppid == markers["kvmgen-marker-2"] && g.state == 'Z' && g.comm == "kvmgen-marker-2" {
			zombies++
		}
	}
	if zombies != 1 {
		t.Errorf("%d zombie children of kvmgen-marker-2, want 1", zombies)
	}
}

func runLsproc(t *testing.T, args ...string) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := run(&out, args); err != nil {
		t.Fatalf("lsproc %s: %v", strings.Join(args, " "), err)
	}
	return out.Bytes()
}

// TestDumps runs lsproc on each dump of the fixture guest and compares its
// table with what the guest itself saw just before it was dumped.
func TestDumps(t *testing.T) {
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	truthDir := testfix.Path(t, "linux-amd64/dumps/truth")
	tasks, err := os.ReadFile(filepath.Join(truthDir, "tasks.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := parseTable(t, "truth/tasks.txt", tasks)
	markers := readMarkers(t, filepath.Join(truthDir, "markers.txt"))
	for _, dump := range []string{"elf.vmcore", "paging.vmcore", "kdump-zlib.vmcore"} {
		t.Run(dump, func(t *testing.T) {
			core := testfix.Path(t, "linux-amd64/dumps/"+dump)
			got := parseTable(t, "lsproc", runLsproc(t, "-kernel", vmlinux, "-core", core))
			compareWithTruth(t, got, want)
			checkMarkers(t, got, markers)
		})
	}
}

// buildIDOf returns the GNU build ID readelf prints for file.
func buildIDOf(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command("readelf", "-n", file).Output()
	if err != nil {
		t.Skipf("readelf -n %s: %v", file, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "Build" && f[1] == "ID:" {
			return f[2]
		}
	}
	t.Fatalf("readelf -n %s: no build ID", file)
	return ""
}

// TestOtherKernelRefused pairs the dumps with ELF files that are not their
// kernel: a module of the same kernel package and a small program built
// here with an init_task symbol. lsproc must refuse, naming both build IDs.
func TestOtherKernelRefused(t *testing.T) {
	core := testfix.Path(t, "linux-amd64/dumps/elf.vmcore")
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	others := []string{testfix.Path(t, "linux-amd64/qemu_fw_cfg.ko")}
	if _, err := exec.LookPath("gcc"); err == nil {
		src := filepath.Join(t.TempDir(), "fake.c")
		if err := os.WriteFile(src, []byte("char init_task[16384];\nint main(void) { return init_task[0]; }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		others = append(others, testfix.BuildC(t, testfix.CBuild{
			TC: testfix.GCC["x86_64"], Sources: []string{src}, Flags: []string{"-Wl,--build-id=sha1"}, Out: "vmlinux-fake",
		}))
	} else if testfix.Required() {
		t.Fatal("gcc is needed to build the fake kernel")
	}
	dumpID := buildIDOf(t, vmlinux) // the dump's kernel
	for _, other := range others {
		var out bytes.Buffer
		err := run(&out, []string{"-kernel", other, "-core", core})
		if err == nil {
			t.Errorf("lsproc -kernel %s -core %s: no error, printed %d bytes", other, core, out.Len())
			continue
		}
		var be *kvm.BuildIDError
		if !errors.As(err, &be) {
			t.Errorf("lsproc -kernel %s: error %v (%T), want a *kvm.BuildIDError", other, err, err)
			continue
		}
		otherID := buildIDOf(t, other)
		msg := err.Error()
		if be.Want != otherID || be.Got != dumpID || !strings.Contains(msg, otherID) || !strings.Contains(msg, dumpID) {
			t.Errorf("lsproc -kernel %s: %v; want build IDs %s (kernel) and %s (dump)", other, err, otherID, dumpID)
		}
	}
}

// TestOtherDebianKernel is "one binary, many kernels": the bindings,
// generated for 6.1.0-56, read the dumps of another build of the series
// (linux-amd64-prev, 6.1.0-50-cloud-amd64) with that kernel's own layout,
// taken from its vmlinux's DWARF or, with no vmlinux, from the BTF the
// dump carries; each table equals that guest's /proc. Bind without the
// target's types refuses it, and the runtime refuses a vmlinux of another
// build than the dump.
func TestOtherDebianKernel(t *testing.T) {
	if b, err := os.ReadFile(filepath.Join(testfix.Dir(), "linux-amd64-prev", "UNAVAILABLE")); err == nil {
		t.Skipf("the older kernel is no longer in the archive: %s", b)
	}
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	prevVmlinux := testfix.Path(t, "linux-amd64-prev/vmlinux")
	truthDir := testfix.Path(t, "linux-amd64-prev/dumps/truth")
	ours, prev := buildIDOf(t, vmlinux), buildIDOf(t, prevVmlinux)
	if ours != BuildID || prev == ours {
		t.Fatalf("build IDs: bindings %s, fixture vmlinux %s, older vmlinux %s", BuildID, ours, prev)
	}
	tasks, err := os.ReadFile(filepath.Join(truthDir, "tasks.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := parseTable(t, "prev truth/tasks.txt", tasks)
	markers := readMarkers(t, filepath.Join(truthDir, "markers.txt"))
	for _, dump := range []string{"elf.vmcore", "paging.vmcore", "kdump-zlib.vmcore"} {
		core := testfix.Path(t, "linux-amd64-prev/dumps/"+dump)
		t.Run(dump+"/dwarf", func(t *testing.T) {
			got := parseTable(t, "lsproc", runLsproc(t, "-kernel", prevVmlinux, "-core", core))
			compareWithTruth(t, got, want)
			checkMarkers(t, got, markers)
		})
		t.Run(dump+"/btf", func(t *testing.T) {
			t.Setenv("KVMGEN_KERNEL", "")
			got := parseTable(t, "lsproc", runLsproc(t, "-core", core))
			compareWithTruth(t, got, want)
			checkMarkers(t, got, markers)
		})
	}
	prevCore := testfix.Path(t, "linux-amd64-prev/dumps/elf.vmcore")
	kd, err := kvm.Open2(prevVmlinux, prevCore, os.O_RDONLY, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	var me *kvm.BuildIDError
	if _, err := Bind(kd); !errors.As(err, &me) || me.Want != ours || me.Got != prev {
		t.Errorf("Bind without types on the older kernel's dump: %v; want a *kvm.BuildIDError (%s vs %s)", err, ours, prev)
	}
	var out bytes.Buffer
	err = run(&out, []string{"-kernel", vmlinux, "-core", prevCore})
	var be *kvm.BuildIDError
	if !errors.As(err, &be) || be.Want != ours || be.Got != prev {
		t.Errorf("lsproc -kernel (6.1.0-56) -core (6.1.0-50 dump): %v; want a *kvm.BuildIDError", err)
	}
	if out.Len() != 0 {
		t.Errorf("lsproc printed %q before refusing", out.String())
	}
}

// TestOtherArchRefused pairs the dump with the i386 FreeBSD kernel of the
// shared fixtures (an ELF of another architecture, with no build ID).
func TestOtherArchRefused(t *testing.T) {
	core := testfix.Path(t, "linux-amd64/dumps/elf.vmcore")
	shared := testfix.Shared()
	yaml := filepath.Join(shared, "fixtures", "freebsd-lldb", "kernel-i386.yaml")
	if _, err := os.Stat(yaml); shared == "" || err != nil {
		if testfix.Required() {
			t.Fatalf("%s is missing", yaml)
		}
		t.Skipf("%s is missing", yaml)
	}
	kernel := filepath.Join(t.TempDir(), "kernel-i386")
	if out, err := exec.Command("yaml2obj", "--max-size=0", yaml, "-o", kernel).CombinedOutput(); err != nil {
		if testfix.Required() {
			t.Fatalf("yaml2obj: %v\n%s", err, out)
		}
		t.Skipf("yaml2obj: %v\n%s", err, out)
	}
	var out bytes.Buffer
	err := run(&out, []string{"-kernel", kernel, "-core", core})
	if err == nil || !strings.Contains(err.Error(), "is i386") || !strings.Contains(err.Error(), "x86_64 kernel") {
		t.Fatalf("lsproc -kernel kernel-i386 -core elf.vmcore: %v; want an error naming i386 and x86_64", err)
	}
}

// fakeTasks lays out, in memory built by hand, task_structs at the given
// addresses, each one's tasks.next pointing to the address next[i] (a
// task_struct address, or a raw list_head address when raw[i]).
func fakeTasks(addrs []uint64, next []uint64) *testfix.SparseMem {
	f := testfix.NewSparseMem()
	f.Syms["init_task"] = addrs[0]
	for i, a := range addrs {
		b := make([]byte, SizeofTaskStruct)
		binary.LittleEndian.PutUint32(b[OffsetofTaskStructPid:], uint32(i))
		binary.LittleEndian.PutUint32(b[OffsetofTaskStructTgid:], uint32(i))
		binary.LittleEndian.PutUint64(b[OffsetofTaskStructRealParent:], addrs[0])
		binary.LittleEndian.PutUint64(b[OffsetofTaskStructTasks+OffsetofListHeadNext:], next[i])
		copy(b[OffsetofTaskStructComm:], fmt.Sprintf("task%d", i))
		f.Write(a, b)
	}
	return f
}

func TestWalkErrors(t *testing.T) {
	const base = 0xffff888000100000
	a := []uint64{base, base + 0x10000, base + 0x20000}
	lh := func(task uint64) uint64 { return task + OffsetofTaskStructTasks }
	cases := []struct {
		name string
		next []uint64
		want string // "" for success
	}{
		{"ring", []uint64{lh(a[1]), lh(a[2]), lh(a[0])}, ""},
		{"cycle", []uint64{lh(a[1]), lh(a[2]), lh(a[1])}, "cycle"},
		{"null", []uint64{lh(a[1]), 0, lh(a[0])}, "NULL link"},
		{"unmapped", []uint64{lh(a[1]), lh(base + 0x900000), lh(a[0])}, "not in the fake dump"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := Bind(fakeTasks(a, c.next))
			if err != nil {
				t.Fatal(err)
			}
			tasks, err := listTasks(k)
			if c.want == "" {
				if err != nil || len(tasks) != 2 || tasks[0].Comm != "task1" || tasks[1].Comm != "task2" || tasks[1].PPID != 0 {
					t.Fatalf("listTasks = %+v, %v", tasks, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("listTasks = %+v, %v; want an error about %q", tasks, err, c.want)
			}
			// The error names the node whose link is bad.
			node := lh(a[1])
			if c.name == "cycle" {
				node = lh(a[2]) // its link leads back to task 1
			}
			var le *bind.ListError
			if !errors.As(err, &le) || le.Node != node || !strings.Contains(err.Error(), fmt.Sprintf("%#x", node)) {
				t.Fatalf("listTasks: %v; want a *runtime.ListError naming node %#x", err, node)
			}
		})
	}
	// Bindings for this kernel refuse a target running another one.
	other := fakeTasks(a, []uint64{lh(a[1]), lh(a[2]), lh(a[0])})
	other.ID = "0123456789abcdef0123456789abcdef01234567"
	var me *kvm.BuildIDError
	if _, err := Bind(other); !errors.As(err, &me) || me.Got != other.ID || me.Want != BuildID {
		t.Fatalf("Bind on another kernel: %v, want a *kvm.BuildIDError", err)
	}
}

// TestStateLetter checks the letters against fs/proc/array.c's
// task_state_array and include/linux/sched.h (Linux 6.1).
func TestStateLetter(t *testing.T) {
	cases := []struct {
		state, exit uint32
		want        byte
	}{
		{0x0, 0, 'R'},     // TASK_RUNNING
		{0x1, 0, 'S'},     // TASK_INTERRUPTIBLE
		{0x2, 0, 'D'},     // TASK_UNINTERRUPTIBLE
		{0x102, 0, 'D'},   // TASK_KILLABLE
		{0x4, 0, 'T'},     // __TASK_STOPPED
		{0x104, 0, 'T'},   // TASK_STOPPED (| TASK_WAKEKILL)
		{0x8, 0, 't'},     // __TASK_TRACED
		{0x80, 0x10, 'X'}, // TASK_DEAD, EXIT_DEAD
		{0x80, 0x20, 'Z'}, // TASK_DEAD, EXIT_ZOMBIE
		{0x0, 0x20, 'Z'},  // exit_state alone
		{0x40, 0, 'P'},    // TASK_PARKED
		{0x402, 0, 'I'},   // TASK_IDLE
		{0x1000, 0, 'D'},  // TASK_RTLOCK_WAIT
	}
	for _, c := range cases {
		if got := stateLetter(c.state, c.exit); got != c.want {
			t.Errorf("stateLetter(%#x, %#x) = %c, want %c", c.state, c.exit, got, c.want)
		}
	}
}

// TestBindingsUpToDate regenerates the committed bindings from the
// fixture kernel, as go generate would, and compares the bytes.
func TestBindingsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the 590 MB vmlinux")
	}
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	f, err := dwarfmodel.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := gen.Generate(f, gen.Config{
		Package: "main",
		Types:   []string{"task_struct", "list_head"},
		Vars:    []string{"init_task", "current_task"},
		Command: "kvmgen gen -type task_struct,list_head -var init_task,current_task",
	})
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("zkvmgen_x86_64_kernel.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, committed) {
		t.Fatal("zkvmgen_x86_64_kernel.go differs from a fresh generation: run KVMGEN_KERNEL=" + vmlinux + " go generate ./examples/lsproc")
	}
}

// TestLive boots the fixture kernel under QEMU with a static lsproc in its
// initramfs (scripts/fixtures.sh live) that reads the running kernel
// through /proc/kcore and /proc/kallsyms, and compares its table with the
// guest's own /proc taken right after.
func TestLive(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a QEMU guest")
	}
	testfix.Path(t, "linux-amd64/vmlinuz")
	testfix.Path(t, "linux-amd64/guest/initrd.gz")
	for _, tool := range []string{"qemu-system-x86_64", "socat"} {
		testfix.Tool(t, tool)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "lsproc")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command("bash", "../../scripts/fixtures.sh", "live", out, bin)
	cmd.Env = append(os.Environ(), "KVMGEN_CACHE="+testfix.Dir())
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/fixtures.sh live: %v\n%s", err, log)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if rc := strings.TrimSpace(string(read("lsproc.rc"))); rc != "0" {
		t.Fatalf("lsproc in the guest exited %s: %s", rc, read("lsproc.err"))
	}
	got := parseTable(t, "guest lsproc", read("lsproc.txt"))
	want := parseTable(t, "live tasks.txt", read("tasks.txt"))
	// lsproc lists itself; the snapshot taken after it ended does not.
	self := 0
	for pid, g := range got {
		if _, ok := want[pid]; !ok && g.comm == "lsproc" && g.ppid == 1 {
			self = pid
		}
	}
	if self == 0 {
		t.Errorf("lsproc's own process is not in its output")
	}
	delete(got, self)
	compareWithTruth(t, got, want)
	checkMarkers(t, got, readMarkers(t, filepath.Join(out, "markers.txt")))
}

// typesSource is a synthetic kernel's types: struct task_struct with the
// members lsproc reads at the offsets off gives (a member absent from off
// is absent from the kernel), and struct list_head.
type typesSource struct {
	off     map[string]int64
	size    int64
	buildID string
}

func (s *typesSource) DataModel() dwarfmodel.DataModel {
	return dwarfmodel.DataModel{Arch: "x86_64", PtrSize: 8, ByteOrder: binary.LittleEndian}
}
func (s *typesSource) BuildID() string { return s.buildID }
func (s *typesSource) Variable(name string) (*dwarfmodel.Variable, error) {
	return nil, errors.New("no variables")
}
func (s *typesSource) Type(name string) (dwarfmodel.Type, error) {
	u32 := &dwarfmodel.Base{Name: "unsigned int", ByteSize: 4, Encoding: dwarfmodel.EncUnsigned}
	i32 := &dwarfmodel.Base{Name: "int", ByteSize: 4, Encoding: dwarfmodel.EncSigned}
	char := &dwarfmodel.Base{Name: "char", ByteSize: 1, Encoding: dwarfmodel.EncSignedChar}
	lh := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "list_head", ByteSize: 16}
	lh.Members = []dwarfmodel.Member{{Name: "next", Type: &dwarfmodel.Pointer{Elem: lh, ByteSize: 8}}, {Name: "prev", Type: &dwarfmodel.Pointer{Elem: lh, ByteSize: 8}, ByteOffset: 8}}
	switch name {
	case "struct list_head":
		return lh, nil
	case "struct task_struct":
		ts := &dwarfmodel.Struct{Kind: dwarfmodel.KindStruct, Name: "task_struct", ByteSize: s.size}
		types := map[string]dwarfmodel.Type{
			"__state": u32, "exit_state": i32, "pid": i32, "tgid": i32, "tasks": lh,
			"real_parent": &dwarfmodel.Pointer{Elem: ts, ByteSize: 8},
			"comm":        &dwarfmodel.Array{Elem: char, Dims: []int64{16}},
		}
		for m, o := range s.off {
			ts.Members = append(ts.Members, dwarfmodel.Member{Name: m, Type: types[m], ByteOffset: o, DataBitOffset: o * 8})
		}
		return ts, nil
	}
	return nil, fmt.Errorf("no type %s", name)
}

// TestRelocated binds the bindings to a synthetic kernel (another build
// ID) whose task_struct has the members lsproc reads at other offsets, in
// another size: read through its types, the task list is the same. A
// kernel lacking a member lsproc reads gives a *bind.MissingMemberError
// naming it.
func TestRelocated(t *testing.T) {
	const base = 0xffff888000100000
	a := []uint64{base, base + 0x10000, base + 0x20000}
	off := map[string]int64{"__state": 8, "exit_state": 12, "pid": 100, "tgid": 104, "tasks": 200, "real_parent": 64, "comm": 300}
	src := &typesSource{off: off, size: 512, buildID: "0123456789abcdef0123456789abcdef01234567"}
	f := testfix.NewSparseMem()
	f.Syms["init_task"], f.ID = a[0], src.buildID
	for i, addr := range a {
		b := make([]byte, src.size)
		binary.LittleEndian.PutUint32(b[off["pid"]:], uint32(i))
		binary.LittleEndian.PutUint32(b[off["tgid"]:], uint32(i))
		binary.LittleEndian.PutUint32(b[off["__state"]:], 1)
		binary.LittleEndian.PutUint64(b[off["real_parent"]:], a[0])
		binary.LittleEndian.PutUint64(b[off["tasks"]:], a[(i+1)%3]+uint64(off["tasks"]))
		copy(b[off["comm"]:], fmt.Sprintf("task%d", i))
		f.Write(addr, b)
	}
	if _, err := Bind(f); err == nil {
		t.Fatal("Bind without types on another kernel: no error")
	}
	k, err := Bind(f, bind.Types(src))
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := listTasks(k)
	if err != nil || len(tasks) != 2 || tasks[0].Comm != "task1" || tasks[1].Comm != "task2" || tasks[1].PID != 2 || tasks[1].State != 'S' {
		t.Fatalf("listTasks = %+v, %v", tasks, err)
	}
	it, _ := k.InitTask()
	if !it.HasPid() || it.HasOnCPU() {
		t.Errorf("HasPid %v, HasOnCPU %v; want true, false", it.HasPid(), it.HasOnCPU())
	}

	delete(off, "tgid")
	k, err = Bind(f, bind.Types(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = listTasks(k)
	var me *bind.MissingMemberError
	if !errors.As(err, &me) || me.Type != "struct task_struct" || me.Member != "tgid" {
		t.Fatalf("listTasks on a kernel without task_struct.tgid: %v; want a *runtime.MissingMemberError naming it", err)
	}
	t.Log(err)
}

// TestCurrentTask reads the per-CPU variable current_task of CPU 0
// (__per_cpu_offset[0] + &current_task) in the dumps of both kernels: it
// is a task of the task list (or init_task, the idle task). The fixture
// guests run one CPU: CPU 1 is out of range.
func TestCurrentTask(t *testing.T) {
	for _, c := range []struct{ dir, kernel string }{{"linux-amd64", "linux-amd64/vmlinux"}, {"linux-amd64-prev", ""}} {
		for _, dump := range []string{"elf.vmcore", "kdump-zlib.vmcore"} {
			t.Run(c.dir+"/"+dump, func(t *testing.T) {
				core := testfix.Path(t, c.dir+"/dumps/"+dump)
				vmlinux := ""
				if c.kernel != "" {
					vmlinux = testfix.Path(t, c.kernel)
				}
				kd, err := kvm.Open2(vmlinux, core, os.O_RDONLY, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer kd.Close()
				k, err := Bind(kd, bind.TypesFrom(func() (dwarfmodel.Source, error) { return kernelTypes(vmlinux, kd) }))
				if err != nil {
					t.Fatal(err)
				}
				n, err := k.NumCPUs()
				if err != nil || n != 1 {
					t.Fatalf("NumCPUs = %d, %v; want 1", n, err)
				}
				cur, err := k.CurrentTask(0)
				if err != nil {
					t.Fatal(err)
				}
				tasks, err := listTasks(k)
				if err != nil {
					t.Fatal(err)
				}
				init, _ := k.InitTaskAddr()
				found := cur.Addr == init
				for _, task := range tasks {
					found = found || task.Addr == cur.Addr
				}
				ct, err := cur.Read()
				if !found || err != nil {
					t.Fatalf("current_task of CPU 0 is %#x (%v): not a task of the list", cur.Addr, err)
				}
				t.Logf("CPU 0 runs PID %d (%s)", ct.Pid(), ct.CommString())
				var re *kvm.CPURangeError
				if _, err := k.CurrentTask(1); !errors.As(err, &re) {
					t.Errorf("CurrentTask(1): %v; want a *runtime.CPURangeError", err)
				}
			})
		}
	}
}
