package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
)

// TestPSFreeBSD runs kvmgen ps on the real FreeBSD dumps: one line per
// process of allproc (in list order, with lldb's PIDs and names for the
// same dumps), and with -T one per thread (lldb's thread counts). The
// kernels carry no DWARF: PPID and USER are unknown ("-").
func TestPSFreeBSD(t *testing.T) {
	cases := []struct {
		dump, arch string
		procs      []string // "PID COMM"
		threads    int
	}{
		{"vmcore-amd64-minidump", "amd64", []string{"800 sysctl", "28 pagedaemon", "11 idle"}, 16},
		{"vmcore-amd64-full", "amd64", []string{"806 sysctl", "11 idle"}, 13},
		{"vmcore-i386-minidump", "i386", []string{"806 sysctl", "11 idle"}, 13},
		{"vmcore-arm64-minidump", "arm64", []string{"939 sysctl", "21 syncer", "11 idle"}, 10},
	}
	for _, c := range cases {
		kernel, core := fbsdtest.Kernel(t, c.arch), fbsdtest.Dump(t, c.dump)
		var out bytes.Buffer
		if err := run(&out, []string{"ps", "-kernel", kernel, "-core", core}); err != nil {
			t.Fatalf("%s: ps: %v", c.dump, err)
		}
		lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
		var got []string
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) < 7 || f[1] != "-" || f[2] != "-" {
				t.Errorf("%s: line %q", c.dump, l)
				continue
			}
			got = append(got, f[0]+" "+f[6])
		}
		if fmt.Sprint(got) != fmt.Sprint(c.procs) {
			t.Errorf("%s: ps lists %v, want %v:\n%s", c.dump, got, c.procs, out.String())
		}
		out.Reset()
		if err := run(&out, []string{"ps", "-T", "-kernel", kernel, "-core", core}); err != nil {
			t.Fatalf("%s: ps -T: %v", c.dump, err)
		}
		if n := strings.Count(out.String(), "\n") - 1; n != c.threads {
			t.Errorf("%s: ps -T lists %d threads, lldb %d:\n%s", c.dump, n, c.threads, out.String())
		}
		out.Reset()
		if err := run(&out, []string{"ps", "-u", "0", "-kernel", kernel, "-core", core}); err == nil || !strings.Contains(err.Error(), "DWARF") {
			t.Errorf("%s: ps -u 0 without DWARF: %v", c.dump, err)
		}
	}
}
