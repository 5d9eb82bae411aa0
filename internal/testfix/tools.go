package testfix

import (
	"os/exec"
	"sort"
	"testing"
)

// ToolPackages names the Debian package that provides each outside tool
// the tests run. Tool refuses a tool missing from it, and TestInstallDeps
// checks that scripts/install-deps.sh installs every package here: a tool
// a test starts to use, or a package dropped from install-deps, fails the
// suite on any machine, whether or not the tool happens to be installed.
var ToolPackages = map[string]string{
	"pahole":                    "dwarves",
	"gdb":                       "gdb",
	"gdb-multiarch":             "gdb-multiarch",
	"gcc":                       "gcc",
	"clang":                     "clang-14",
	"clang-14":                  "clang-14",
	"readelf":                   "binutils",
	"nm":                        "binutils",
	"objcopy":                   "binutils",
	"yaml2obj":                  "llvm",
	"llvm-dwarfdump":            "llvm",
	"hexdump":                   "bsdextrautils",
	"cpio":                      "cpio",
	"socat":                     "socat",
	"busybox":                   "busybox-static",
	"qemu-system-x86_64":        "qemu-system-x86",
	"qemu-system-aarch64":       "qemu-system-arm",
	"qemu-i386":                 "qemu-user",
	"qemu-x86_64":               "qemu-user",
	"qemu-aarch64":              "qemu-user",
	"qemu-s390x":                "qemu-user",
	"i686-linux-gnu-gcc":        "gcc-i686-linux-gnu",
	"aarch64-linux-gnu-gcc":     "gcc-aarch64-linux-gnu",
	"s390x-linux-gnu-gcc":       "gcc-s390x-linux-gnu",
	"s390x-linux-gnu-strip":     "binutils-s390x-linux-gnu",
	"i686-linux-gnu-strip":      "binutils-i686-linux-gnu",
	"aarch64-linux-gnu-strip":   "binutils-aarch64-linux-gnu",
	"i686-linux-gnu-objcopy":    "binutils-i686-linux-gnu",
	"aarch64-linux-gnu-objcopy": "binutils-aarch64-linux-gnu",
	"s390x-linux-gnu-objcopy":   "binutils-s390x-linux-gnu",
	"drgn":                      "python3-drgn",
	"crash":                     "crash",
	"xz":                        "xz-utils",
	"zstd":                      "zstd",
	"make":                      "make",
}

// Tool returns the path of an outside tool a test needs. When it is not
// installed the test is skipped, or fails under Required (CI). A tool that
// ToolPackages does not list fails the test: add it there and to
// scripts/install-deps.sh.
func Tool(t testing.TB, name string) string {
	t.Helper()
	pkg, ok := ToolPackages[name]
	if !ok {
		t.Fatalf("testfix.Tool(%q): not in testfix.ToolPackages; add it there and its package to scripts/install-deps.sh", name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if Required() {
			t.Fatalf("%s is needed (Debian package %s; make deps): %v", name, pkg, err)
		}
		t.Skipf("%s is not installed (Debian package %s; make deps)", name, pkg)
	}
	return p
}

// Packages returns the Debian packages of ToolPackages, sorted, once each.
func Packages() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ToolPackages {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// DrgnPython returns the Python that has drgn (Debian's python3-drgn
// installs it for /usr/bin/python3, which need not be the first python3 on
// PATH): the drgn oracle's interpreter. Without it the test is skipped, or
// fails under Required.
func DrgnPython(t testing.TB) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import drgn").Run(); err != nil {
		if Required() {
			t.Fatalf("%s cannot import drgn (Debian package python3-drgn; make deps): %v", py, err)
		}
		t.Skipf("%s cannot import drgn (Debian package python3-drgn; make deps)", py)
	}
	return py
}
