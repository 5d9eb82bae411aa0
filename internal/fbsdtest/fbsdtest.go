// Package fbsdtest finds the real FreeBSD crash dumps kvmgen's tests use:
// the LLVM project's test dumps (see ../shared/fixtures/freebsd-lldb/
// PROVENANCE.md, or scripts/freebsd-fixtures.sh to fetch them), decompressed
// and with their kernels built by yaml2obj into the fixture cache
// ($KVMGEN_CACHE/freebsd/). Tests call Dump and Kernel; both skip the test
// when the files cannot be had, or fail it under KVMGEN_REQUIRE_FIXTURES=1.
package fbsdtest

import (
	"compress/bzip2"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// Dumps names the four real dumps (files under the cache's freebsd/).
var Dumps = []string{"vmcore-amd64-minidump", "vmcore-amd64-full", "vmcore-i386-minidump", "vmcore-arm64-minidump"}

// Dir is the cache folder holding the decompressed dumps and built kernels.
func Dir() string { return filepath.Join(testfix.Dir(), "freebsd") }

func source(name string) string {
	if s := testfix.Shared(); s != "" {
		p := filepath.Join(s, "fixtures", "freebsd-lldb", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func missing(t testing.TB, what string) {
	t.Helper()
	if testfix.Required() {
		t.Fatalf("FreeBSD fixture %s is missing (run scripts/freebsd-fixtures.sh)", what)
	}
	t.Skipf("FreeBSD fixture %s is missing (run scripts/freebsd-fixtures.sh)", what)
}

// Dump returns the path of the decompressed dump name (one of Dumps).
func Dump(t testing.TB, name string) string {
	t.Helper()
	dst := filepath.Join(Dir(), name)
	if _, err := os.Stat(dst); err == nil {
		return dst
	}
	src := source(name + ".bz2")
	if src == "" {
		missing(t, dst)
	}
	if err := build(dst, func(w io.Writer) error {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, bzip2.NewReader(f))
		return err
	}); err != nil {
		t.Fatalf("decompressing %s: %v", src, err)
	}
	return dst
}

// Kernel returns the path of the kernel ELF (symbols only) for arch
// ("amd64", "i386" or "arm64"), built from its YAML by yaml2obj.
func Kernel(t testing.TB, arch string) string {
	t.Helper()
	dst := filepath.Join(Dir(), "kernel-"+arch+".elf")
	if _, err := os.Stat(dst); err == nil {
		return dst
	}
	src := source("kernel-" + arch + ".yaml")
	if src == "" {
		missing(t, dst)
	}
	y2o, err := exec.LookPath("yaml2obj")
	if err != nil {
		missing(t, "yaml2obj (Debian package llvm)")
	}
	if err := build(dst, func(w io.Writer) error {
		tf, err := os.CreateTemp(filepath.Dir(dst), "y2o*")
		if err != nil {
			return err
		}
		tf.Close()
		tmp := tf.Name()
		defer os.Remove(tmp)
		out, err := exec.Command(y2o, "--max-size=40000000", src, "-o", tmp).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		f, err := os.Open(tmp)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	}); err != nil {
		t.Fatalf("building %s: %v", dst, err)
	}
	return dst
}

// build writes dst through a temporary file renamed into place, so that
// tests of several packages running at once never see half a file.
func build(dst string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}
