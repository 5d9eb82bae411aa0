package testfix

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The one C build pipeline. Every test that needs a C program builds it
// here, and every test that needs a program of "every construct" builds
// the one truth program, testdata/c/truth.c (with its second unit,
// testdata/c/decl.c): see its header. scripts/build-cross.sh builds the
// truth fixtures of the fixture cache (cross/<arch>-dwarf<N>/) with this
// same code (internal/testfix/truthfixtures).

// Toolchain is a C compiler for one target.
type Toolchain struct {
	Arch    string   // the target: x86_64, i386, aarch64, s390x (dwarfmodel.ArchName)
	CC      string   // the compiler, a ToolPackages name
	Flags   []string // the compiler's target flags (clang: --target=...)
	Objcopy string   // the target's objcopy
	Qemu    string   // the qemu-user that runs the target's programs on another host
}

// Arches are the targets of the C builds, in the tests' order.
var Arches = []string{"x86_64", "i386", "aarch64", "s390x"}

// GCC is the GNU compiler of each of Arches (gcc for x86_64, the Debian
// cross compilers for the others).
var GCC = map[string]Toolchain{
	"x86_64":  {Arch: "x86_64", CC: "gcc", Objcopy: "objcopy", Qemu: "qemu-x86_64"},
	"i386":    {Arch: "i386", CC: "i686-linux-gnu-gcc", Objcopy: "i686-linux-gnu-objcopy", Qemu: "qemu-i386"},
	"aarch64": {Arch: "aarch64", CC: "aarch64-linux-gnu-gcc", Objcopy: "aarch64-linux-gnu-objcopy", Qemu: "qemu-aarch64"},
	"s390x":   {Arch: "s390x", CC: "s390x-linux-gnu-gcc", Objcopy: "s390x-linux-gnu-objcopy", Qemu: "qemu-s390x"},
}

// Clang is clang-14 for the same targets: it writes the DWARF 5 forms GCC
// does not (strx1, addrx, str_offsets_base). It links only for the host.
var Clang = map[string]Toolchain{
	"x86_64":  {Arch: "x86_64", CC: "clang-14", Objcopy: "objcopy", Qemu: "qemu-x86_64"},
	"i386":    {Arch: "i386", CC: "clang-14", Flags: []string{"--target=i686-linux-gnu"}, Objcopy: "i686-linux-gnu-objcopy", Qemu: "qemu-i386"},
	"aarch64": {Arch: "aarch64", CC: "clang-14", Flags: []string{"--target=aarch64-linux-gnu"}, Objcopy: "aarch64-linux-gnu-objcopy", Qemu: "qemu-aarch64"},
	"s390x":   {Arch: "s390x", CC: "clang-14", Flags: []string{"--target=s390x-linux-gnu"}, Objcopy: "s390x-linux-gnu-objcopy", Qemu: "qemu-s390x"},
}

// HostArch is the architecture of the machine running the tests, named as
// Toolchain.Arch names it.
func HostArch() string {
	switch a := goruntime.GOARCH; a {
	case "amd64":
		return "x86_64"
	case "386":
		return "i386"
	case "arm64":
		return "aarch64"
	default:
		return a
	}
}

// Native reports whether this machine runs tc's programs itself.
func (tc Toolchain) Native() bool { return tc.Arch == HostArch() }

// CBuild is one compilation.
type CBuild struct {
	TC Toolchain
	// Flags come after the pipeline's own (PipelineFlags) and the
	// toolchain's: -c for an object, -static for a program, -gdwarf-N...
	Flags []string
	// Sources are the C files. Nil means the truth program: truth.c and
	// decl.c, or truth.c alone for an object (-c).
	Sources []string
	// Out is the output's file name: "" for "prog", or "prog.o" with -c.
	Out string
}

// PipelineFlags are the flags of every compilation, before the toolchain's
// and the build's. Each source is compiled from a directory holding a copy
// of it, whose path the prefix map turns into "." (PREFIX stands for it):
// the DWARF, and so the build ID, do not depend on where anything is.
var PipelineFlags = []string{"-O0", "-g", "-fno-omit-frame-pointer", "-ffile-prefix-map=PREFIX=."}

// pipelineVersion changes what every cache key is when the pipeline itself
// changes in a way its inputs do not show.
const pipelineVersion = "1"

// TruthBuild is the build of the truth program for tc: an object of
// truth.c (object), or a static program of truth.c and decl.c; flags add
// to the pipeline's.
func TruthBuild(tc Toolchain, object bool, flags ...string) CBuild {
	f := []string{"-static"}
	if object {
		f = []string{"-c"}
	}
	return CBuild{TC: tc, Flags: append(f, flags...)}
}

// Truth is the truth program (a static executable) built for tc with
// flags, e.g. Truth(t, testfix.GCC["s390x"], "-gdwarf-4").
func Truth(t testing.TB, tc Toolchain, flags ...string) string {
	t.Helper()
	return BuildC(t, TruthBuild(tc, false, flags...))
}

// TruthObject is the truth program's object file (truth.c) built for tc.
func TruthObject(t testing.TB, tc Toolchain, flags ...string) string {
	t.Helper()
	return BuildC(t, TruthBuild(tc, true, flags...))
}

// BuildC builds b (Build) and returns the output's path. A missing
// compiler skips the test, or fails it under Required; a failed build
// fails it. The output is shared: write nothing beside it.
func BuildC(t testing.TB, b CBuild) string {
	t.Helper()
	Tool(t, b.TC.CC)
	p, err := Build(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ModuleRoot is the directory of the module's go.mod, found upwards from
// the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}

// TruthSources are the truth program's files: testdata/c/truth.c and
// testdata/c/decl.c.
func TruthSources() ([]string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	return []string{filepath.Join(root, "testdata", "c", "truth.c"), filepath.Join(root, "testdata", "c", "decl.c")}, nil
}

func (b CBuild) object() bool { return slices.Contains(b.Flags, "-c") }

func (b CBuild) sources() ([]string, error) {
	if b.Sources != nil {
		var out []string
		for _, s := range b.Sources {
			a, err := filepath.Abs(s)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		return out, nil
	}
	srcs, err := TruthSources()
	if err != nil {
		return nil, err
	}
	if b.object() {
		srcs = srcs[:1]
	}
	return srcs, nil
}

func (b CBuild) out() string {
	switch {
	case b.Out != "":
		return b.Out
	case b.object():
		return "prog.o"
	}
	return "prog"
}

// lookTool is Tool without a test: the path of a tool ToolPackages lists.
func lookTool(name string) (string, error) {
	pkg, ok := ToolPackages[name]
	if !ok {
		return "", fmt.Errorf("%s is not in testfix.ToolPackages; add it there and its package to scripts/install-deps.sh", name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is not installed (Debian package %s; make deps): %w", name, pkg, err)
	}
	return p, nil
}

var ccVersions sync.Map // compiler path -> string

// ccVersion is the first line of `cc --version`.
func ccVersion(cc string) (string, error) {
	if v, ok := ccVersions.Load(cc); ok {
		return v.(string), nil
	}
	out, err := exec.Command(cc, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v", cc, err)
	}
	v, _, _ := strings.Cut(string(out), "\n")
	ccVersions.Store(cc, v)
	return v, nil
}

// Command is the compiler command line b runs (from the directory that
// holds copies of its sources; PREFIX in PipelineFlags being that
// directory), with the compiler as named in the toolchain.
func (b CBuild) Command(dir string) ([]string, error) {
	srcs, err := b.sources()
	if err != nil {
		return nil, err
	}
	args := []string{b.TC.CC}
	for _, f := range PipelineFlags {
		args = append(args, strings.ReplaceAll(f, "PREFIX", dir))
	}
	args = append(args, b.TC.Flags...)
	args = append(args, b.Flags...)
	args = append(args, "-o", b.out())
	for _, s := range srcs {
		args = append(args, filepath.Base(s))
	}
	return args, nil
}

// Key identifies what b builds: the pipeline, the compiler (path and
// version), the flags, the output name and each source's name and bytes.
// The C library a static program links is not in it: after upgrading a
// libc6-dev package alone, remove CacheDir().
func (b CBuild) Key() (string, error) {
	cc, err := lookTool(b.TC.CC)
	if err != nil {
		return "", err
	}
	v, err := ccVersion(cc)
	if err != nil {
		return "", err
	}
	srcs, err := b.sources()
	if err != nil {
		return "", err
	}
	cmd, err := b.Command("PREFIX")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "testfix C pipeline %s\x00%s\x00%s\x00%q\x00", pipelineVersion, cc, v, cmd)
	for _, s := range srcs {
		data, err := os.ReadFile(s)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(s), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// Compile builds b in dir: it copies the sources there and runs the
// compiler from there (Command). It returns the output's path.
func Compile(dir string, b CBuild) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	cc, err := lookTool(b.TC.CC)
	if err != nil {
		return "", err
	}
	srcs, err := b.sources()
	if err != nil {
		return "", err
	}
	seen := map[string]bool{}
	for _, s := range srcs {
		base := filepath.Base(s)
		if seen[base] {
			return "", fmt.Errorf("two sources named %s", base)
		}
		seen[base] = true
		if err := copyFile(s, filepath.Join(dir, base)); err != nil {
			return "", err
		}
	}
	args, err := b.Command(dir)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(cc, args[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return filepath.Join(dir, b.out()), nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}

// CacheDir is where Build keeps its outputs, one directory per key: in the
// system's temporary directory, never the user's cache. Directories unused
// for a week are removed.
func CacheDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("kvmgen-testfix-cc-%d", os.Getuid()))
}

const cacheMaxAge = 7 * 24 * time.Hour

var pruneOnce sync.Once

// pruneCache removes the cache's directories unused for cacheMaxAge (their
// modification time is refreshed on each use), leftovers of interrupted
// builds included.
func pruneCache(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err == nil && e.IsDir() && time.Since(fi.ModTime()) > cacheMaxAge {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// Build compiles b into CacheDir(), keyed by content (Key): a build made
// before, by this process or another, is reused. It returns the output's
// path.
func Build(b CBuild) (string, error) {
	key, err := b.Key()
	if err != nil {
		return "", err
	}
	root := CacheDir()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	pruneOnce.Do(func() { pruneCache(root) })
	dir := filepath.Join(root, key)
	out := filepath.Join(dir, b.out())
	if _, err := os.Stat(out); err == nil {
		now := time.Now()
		os.Chtimes(dir, now, now)
		return out, nil
	}
	tmp, err := os.MkdirTemp(root, ".tmp-")
	if err != nil {
		return "", err
	}
	if _, err := Compile(tmp, b); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(out); serr != nil {
			return "", err
		}
		// Another process built the same key meanwhile.
	}
	return out, nil
}

// Run runs prog, built for tc, with args (natively where tc.Native, else
// under tc.Qemu) and returns its standard output. A failure fails the
// test.
func Run(t testing.TB, tc Toolchain, prog string, args ...string) []byte {
	t.Helper()
	argv := []string{prog}
	if !tc.Native() {
		argv = []string{Tool(t, tc.Qemu), prog}
	}
	cmd := exec.Command(argv[0], append(argv[1:], args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running %s: %v\n%s", strings.Join(append(argv, args...), " "), err, stderr.Bytes())
	}
	return out
}

// RunCore runs prog, built for tc, with args and cores enabled, in a
// temporary directory; prog must abort. It returns what prog printed and
// the core written: by tc.Qemu, which writes its own core wherever the
// kernel's core_pattern sends cores, or with an empty tc.Qemu natively,
// by the kernel (core_pattern a plain file name). A failure fails the
// test.
func RunCore(t testing.TB, tc Toolchain, prog string, args ...string) (out []byte, core string) {
	t.Helper()
	if tc.Qemu != "" {
		tc.Qemu = Tool(t, tc.Qemu)
	}
	out, core, err := RunCoreIn(t.TempDir(), tc, prog, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out, core
}

// RunCoreIn is RunCore in dir, which receives the core (and nothing else
// of the run), without a test.
func RunCoreIn(dir string, tc Toolchain, prog string, args ...string) (out []byte, core string, err error) {
	prog, err = filepath.Abs(prog)
	if err != nil {
		return nil, "", err
	}
	run, err := os.MkdirTemp(dir, ".run-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(run)
	argv := []string{prog}
	if tc.Qemu != "" {
		q, err := exec.LookPath(tc.Qemu)
		if err != nil {
			return nil, "", err
		}
		argv = []string{q, prog}
	}
	argv = append(argv, args...)
	cmd := exec.Command("/bin/sh", append([]string{"-c", `ulimit -c unlimited && exec "$@"`, "sh"}, argv...)...)
	cmd.Dir = run
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	ws, ok := syscall.WaitStatus(0), false
	if errors.As(err, &ee) {
		ws, ok = ee.Sys().(syscall.WaitStatus)
	}
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		return nil, "", fmt.Errorf("%s: %v; want it to abort with cores enabled (ulimit -c unlimited)\n%s",
			strings.Join(argv, " "), err, stderr.Bytes())
	}
	pattern := "qemu_*.core" // qemu-user's name; the kernel's own "core" is qemu's
	if tc.Qemu == "" {
		pattern = "core*"
	}
	cores, _ := filepath.Glob(filepath.Join(run, pattern))
	if len(cores) != 1 {
		cp, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
		return nil, "", fmt.Errorf("%s wrote %d core files (core_pattern %q)", strings.Join(argv, " "), len(cores), bytes.TrimSpace(cp))
	}
	core = filepath.Join(dir, "prog.core")
	if err := os.Rename(cores[0], core); err != nil {
		return nil, "", err
	}
	return stdout.Bytes(), core, nil
}
