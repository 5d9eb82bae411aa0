package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
)

// TestInfoReadFreeBSD runs kvmgen info and kvmgen read on the real FreeBSD
// dumps (see runtime/internal/freebsd): info names format, version,
// architecture and data model; read of hz shows 100 (amd64, i386) or 1000
// (arm64), the values lldb's test of the same dumps reads.
func TestInfoReadFreeBSD(t *testing.T) {
	cases := []struct {
		dump, arch string
		info       []string
		hz         string // hz's 4 bytes as the hex dump shows them
	}{
		{"vmcore-amd64-minidump", "amd64", []string{"FreeBSD amd64 minidump", "version:            3", "x86_64", "LP64, little-endian", "page size:          4096"}, "64 00 00 00"},
		{"vmcore-amd64-full", "amd64", []string{"FreeBSD amd64 full dump (ELF)", "x86_64", "LP64"}, "64 00 00 00"},
		{"vmcore-i386-minidump", "i386", []string{"FreeBSD i386 minidump (PAE)", "version:            2", "i386", "ILP32"}, "64 00 00 00"},
		{"vmcore-arm64-minidump", "arm64", []string{"FreeBSD arm64 minidump", "version:            2", "aarch64", "LP64"}, "e8 03 00 00"},
	}
	for _, c := range cases {
		kernel, core := fbsdtest.Kernel(t, c.arch), fbsdtest.Dump(t, c.dump)
		var out bytes.Buffer
		if err := run(&out, []string{"info", "-kernel", kernel, "-core", core}); err != nil {
			t.Fatalf("%s: info: %v", c.dump, err)
		}
		for _, w := range c.info {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: info lacks %q:\n%s", c.dump, w, out.String())
			}
		}
		out.Reset()
		if err := run(&out, []string{"read", "-kernel", kernel, "-core", core, "hz", "4"}); err != nil {
			t.Fatalf("%s: read: %v", c.dump, err)
		}
		if !strings.Contains(out.String(), c.hz) {
			t.Errorf("%s: read hz = %q, want bytes %s", c.dump, out.String(), c.hz)
		}
	}
}
