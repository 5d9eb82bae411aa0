// Command truthfixtures builds the truth program's fixtures in the fixture
// cache, through the tests' own C build pipeline (testfix.TruthBuild,
// testfix.Compile, testfix.RunCoreIn): scripts/build-cross.sh runs it.
//
//	go run ./internal/testfix/truthfixtures [OUTDIR]
//
// For each of testfix.Arches (testfix.GCC's compiler), with -gdwarf-4 and
// -gdwarf-5, OUTDIR/cross/<arch>-dwarf<N>/ receives
//
//	prog       the static program (truth.c and decl.c)
//	prog.o     the object (truth.c)
//	prog.out   what prog printed (its section 1 report)
//	prog.core  the core written when it aborted
//	BUILD      the key, sources, compiler, commands and run of the outputs
//
// and a layout-only build of each arch with -gdwarf-2 -gstrict-dwarf
// (member offsets as location expressions, DW_AT_bit_offset bitfields):
// prog, prog.o and BUILD, not run. OUTDIR is $KVMGEN_CACHE, else
// ~/.cache/kvmgen (testfix.Dir).
//
// x86_64 runs natively where the host is x86_64 and the kernel writes
// plain core files (/proc/sys/kernel/core_pattern neither a pipe nor a
// path), else under qemu-x86_64 like the others under qemu-i386,
// qemu-aarch64 and qemu-s390x; KVMGEN_CROSS_NATIVE=0 always uses qemu. A
// variant whose BUILD key matches the current sources, compiler and flags
// is kept. A missing cross compiler or qemu is an error unless
// KVMGEN_CROSS_OPTIONAL=1 (then the variant is skipped).
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

func main() {
	out := testfix.Dir()
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	if err := build(out); err != nil {
		fmt.Fprintln(os.Stderr, "build-cross:", err)
		os.Exit(1)
	}
}

func build(out string) error {
	out, err := filepath.Abs(filepath.Join(out, "cross"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	optional := os.Getenv("KVMGEN_CROSS_OPTIONAL") == "1"
	for _, arch := range testfix.Arches {
		for _, dw := range []int{4, 5, 2} {
			name := fmt.Sprintf("%s-dwarf%d", arch, dw)
			err := variant(out, name, testfix.GCC[arch], dw)
			if err == errMissing && optional {
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	fmt.Println("build-cross: done in", out)
	return nil
}

var errMissing = errors.New("a tool is missing (run scripts/install-deps.sh)")

func have(tool string) bool {
	if _, err := exec.LookPath(tool); err != nil {
		fmt.Fprintf(os.Stderr, "build-cross: %s not found\n", tool)
		return false
	}
	return true
}

// nativeCores reports whether x86_64 programs run natively here leave a
// core file in their working directory.
func nativeCores() bool {
	if testfix.HostArch() != "x86_64" || os.Getenv("KVMGEN_CROSS_NATIVE") == "0" {
		return false
	}
	pat, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	return err == nil && !strings.ContainsAny(strings.TrimSpace(string(pat)), "|/")
}

func variant(out, name string, tc testfix.Toolchain, dw int) error {
	flags := []string{fmt.Sprintf("-gdwarf-%d", dw)}
	if dw == 2 {
		flags = append(flags, "-gstrict-dwarf")
	}
	run := dw != 2
	if !have(tc.CC) || run && !have(tc.Qemu) && !(tc.Arch == "x86_64" && nativeCores()) {
		return errMissing
	}
	prog, obj := testfix.TruthBuild(tc, false, flags...), testfix.TruthBuild(tc, true, flags...)
	pk, err := prog.Key()
	if err != nil {
		return err
	}
	ok, err := obj.Key()
	if err != nil {
		return err
	}
	key := "key: " + pk + " " + ok
	dir := filepath.Join(out, name)
	if b, err := os.ReadFile(filepath.Join(dir, "BUILD")); err == nil && strings.HasPrefix(string(b), key+"\n") && complete(dir, run) {
		fmt.Printf("build-cross: %s up to date\n", name)
		return nil
	}
	fmt.Printf("build-cross: building %s\n", name)
	tmp, err := os.MkdirTemp(out, ".tmp-"+name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := testfix.Compile(tmp, prog); err != nil {
		return err
	}
	if _, err := testfix.Compile(tmp, obj); err != nil {
		return err
	}
	srcs, err := testfix.TruthSources()
	if err != nil {
		return err
	}
	for _, s := range srcs {
		os.Remove(filepath.Join(tmp, filepath.Base(s)))
	}
	how := "none (layout-only variant)"
	if run {
		if how, err = runProg(tmp, tc); err != nil {
			return err
		}
	}
	if err := writeBuild(tmp, key, tc, prog, obj, srcs, how); err != nil {
		return err
	}
	for _, f := range []string{"prog.o", "BUILD", "prog.out", "prog.core"} {
		os.Chmod(filepath.Join(tmp, f), 0o644)
	}
	os.Chmod(filepath.Join(tmp, "prog"), 0o755)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

func complete(dir string, run bool) bool {
	files := []string{"prog", "prog.o", "BUILD"}
	if run {
		files = append(files, "prog.out", "prog.core")
	}
	for _, f := range files {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			return false
		}
	}
	return true
}

// runProg runs dir/prog with no argument (natively for x86_64 where
// nativeCores, else under qemu-user), keeping prog.out and prog.core, and
// says how it ran.
func runProg(dir string, tc testfix.Toolchain) (string, error) {
	prog := filepath.Join(dir, "prog")
	emu := tc
	if tc.Arch == "x86_64" && nativeCores() {
		emu.Qemu = ""
		out, _, err := testfix.RunCoreIn(dir, emu, prog)
		if err == nil {
			return "ulimit -c unlimited; ./prog > prog.out (native core)", os.WriteFile(filepath.Join(dir, "prog.out"), out, 0o644)
		}
		fmt.Fprintf(os.Stderr, "build-cross: no native core (%v); running under %s instead\n", err, tc.Qemu)
		emu.Qemu = tc.Qemu
		if !have(tc.Qemu) {
			return "", err
		}
	}
	out, _, err := testfix.RunCoreIn(dir, emu, prog)
	if err != nil {
		return "", err
	}
	v, _ := exec.Command(tc.Qemu, "--version").Output()
	first, _, _ := strings.Cut(string(v), "\n")
	return fmt.Sprintf("ulimit -c unlimited; %s ./prog > prog.out (%s)", tc.Qemu, first), os.WriteFile(filepath.Join(dir, "prog.out"), out, 0o644)
}

func writeBuild(dir, key string, tc testfix.Toolchain, prog, obj testfix.CBuild, srcs []string, how string) error {
	var b strings.Builder
	fmt.Fprintln(&b, key)
	for _, s := range srcs {
		data, err := os.ReadFile(s)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "source: testdata/c/%s (sha256 %s)\n", filepath.Base(s), hex.EncodeToString(sum[:]))
	}
	v, err := exec.Command(tc.CC, "--version").Output()
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(string(v), "\n")
	fmt.Fprintf(&b, "compiler: %s: %s\n", tc.CC, first)
	for _, c := range []struct {
		what string
		b    testfix.CBuild
	}{{"exec", prog}, {"object", obj}} {
		cmd, err := c.b.Command("$PWD")
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s: cd (a copy of testdata/c) && %s\n", c.what, strings.Join(cmd, " "))
	}
	fmt.Fprintf(&b, "run: %s\n", how)
	return os.WriteFile(filepath.Join(dir, "BUILD"), []byte(b.String()), 0o644)
}
