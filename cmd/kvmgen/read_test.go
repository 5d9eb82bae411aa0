package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// hexdumpC runs `hexdump -C` (the oracle for the format) on b.
func hexdumpC(t *testing.T, b []byte) string {
	t.Helper()
	cmd := exec.Command(testfix.Tool(t, "hexdump"), "-C")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// dropAddresses removes each line's address column.
func dropAddresses(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if i := strings.IndexByte(l, ' '); i >= 0 {
			out = append(out, l[i:])
		} else if l == "*" {
			out = append(out, l)
		} else {
			out = append(out, "") // the end-address line
		}
	}
	return out
}

func TestReadKernelDumps(t *testing.T) {
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	// linux_banner in memory is what the image holds; 200 bytes, not
	// 16-aligned in length.
	link, want := testfix.ELFSymbolBytes(t, vmlinux, "linux_banner", 200)
	wantHex := dropAddresses(hexdumpC(t, want))
	for _, dump := range []string{"elf.vmcore", "paging.vmcore", "kdump-zlib.vmcore"} {
		core := testfix.Path(t, filepath.Join("linux-amd64/dumps", dump))
		var out bytes.Buffer
		if err := run(&out, []string{"read", "-kernel", vmlinux, "-core", core, "linux_banner", "200"}); err != nil {
			t.Fatalf("%s: %v", dump, err)
		}
		got := dropAddresses(out.String())
		if strings.Join(got, "\n") != strings.Join(wantHex, "\n") {
			t.Errorf("%s: read output\n%s\nwant (hexdump -C of the image's bytes)\n%s", dump, out.String(), hexdumpC(t, want))
		}
		// The first address is the run-time address: the link address
		// plus the displacement info reports.
		var info bytes.Buffer
		if err := run(&info, []string{"info", "-kernel", vmlinux, "-core", core}); err != nil {
			t.Fatal(err)
		}
		disp := field(t, info.String(), "KASLR displacement")
		d, err := strconv.ParseUint(strings.TrimPrefix(disp, "0x"), 16, 64)
		if err != nil {
			t.Fatalf("displacement %q", disp)
		}
		first := strings.Fields(out.String())[0]
		if a, _ := strconv.ParseUint(first, 16, 64); a != link+d {
			t.Errorf("%s: first address %s, want %#x", dump, first, link+d)
		}
		// SYMBOL+OFFSET and numeric addresses agree.
		var o1, o2 bytes.Buffer
		run(&o1, []string{"read", "-kernel", vmlinux, "-core", core, "linux_banner+0x10", "32"})
		run(&o2, []string{"read", "-kernel", vmlinux, "-core", core, "0x" + strconv.FormatUint(link+d+16, 16), "32"})
		if o1.String() != o2.String() || !strings.Contains(o1.String(), "|") {
			t.Errorf("%s: symbol+offset %q vs address %q", dump, o1.String(), o2.String())
		}
	}
}

func field(t *testing.T, out, key string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q in\n%s", key, out)
	return ""
}

func TestReadErrors(t *testing.T) {
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	core := testfix.Path(t, "linux-amd64/dumps/elf.vmcore")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"no_such_symbol_xyz", "8"}, "no_such_symbol_xyz"},
		{[]string{"linux_banner", "lots"}, "LENGTH"},
		{[]string{"linux_banner"}, "LENGTH"},
		{[]string{"0x10", "8"}, "0x10"},
	} {
		var out bytes.Buffer
		err := run(&out, append([]string{"read", "-kernel", vmlinux, "-core", core}, tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("read %v: %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestInfoKernelDumps(t *testing.T) {
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	release, err := os.ReadFile(testfix.Path(t, "linux-amd64/dumps/truth/uname.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The build ID as readelf prints it.
	re, err := exec.Command("readelf", "-n", vmlinux).Output()
	if err != nil {
		t.Skipf("readelf: %v", err)
	}
	var bid string
	for _, l := range strings.Split(string(re), "\n") {
		if _, v, ok := strings.Cut(l, "Build ID:"); ok {
			bid = strings.TrimSpace(v)
		}
	}
	for dump, format := range map[string]string{
		"elf.vmcore":        "ELF vmcore (physical)",
		"paging.vmcore":     "ELF vmcore (virtual)",
		"kdump-zlib.vmcore": "kdump-compressed flattened (zlib)",
	} {
		core := testfix.Path(t, filepath.Join("linux-amd64/dumps", dump))
		var out bytes.Buffer
		if err := run(&out, []string{"info", "-kernel", vmlinux, "-core", core}); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		for k, v := range map[string]string{
			"format": format, "architecture": "x86_64", "data model": "LP64, little-endian",
			"page size": "4096", "OS release": strings.TrimSpace(string(release)),
			"dump build ID": bid, "kernel build ID": bid, "match": "yes",
		} {
			if got := field(t, s, k); got != v {
				t.Errorf("%s: %s = %q, want %q", dump, k, got, v)
			}
		}
	}
	// Another kernel (any ELF with a build ID: the test binary) is refused,
	// naming both build IDs, unless -ignore-build-id.
	self, _ := os.Executable()
	core := testfix.Path(t, "linux-amd64/dumps/kdump-zlib.vmcore")
	err = run(&bytes.Buffer{}, []string{"info", "-kernel", self, "-core", core})
	if err == nil || !strings.Contains(err.Error(), bid) {
		t.Errorf("mismatched kernel: %v", err)
	}
	var out bytes.Buffer
	if err := run(&out, []string{"info", "-kernel", self, "-core", core, "-ignore-build-id"}); err != nil {
		t.Fatal(err)
	}
	if m := field(t, out.String(), "match"); !strings.HasPrefix(m, "NO") {
		t.Errorf("match = %q", m)
	}
}
