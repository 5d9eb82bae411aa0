package testfix

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// The outside oracles the tests compare with: pahole, gdb and drgn, each
// run one way. A missing tool skips the test, or fails it under Required.

// oracleOut memoizes oracle runs: several tests ask the same question of
// the same file. The key holds the tool, its arguments, and the size and
// modification time of each argument that names a file, so a file rewritten
// in place is asked again.
var oracleOut sync.Map // string -> []byte

func oracleKey(tool string, args []string) string {
	var b strings.Builder
	b.WriteString(tool)
	for _, a := range args {
		b.WriteString("\x00")
		b.WriteString(a)
		if fi, err := os.Stat(a); err == nil && fi.Mode().IsRegular() {
			fmt.Fprintf(&b, "\x01%d\x01%d", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// runOracle runs tool with args once per key and returns its standard
// output (with combined, its standard error too). A failure fails the test,
// showing what the tool printed.
func runOracle(t testing.TB, tool string, combined bool, args ...string) []byte {
	t.Helper()
	key := oracleKey(tool, args)
	if out, ok := oracleOut.Load(key); ok {
		return out.([]byte)
	}
	cmd := exec.Command(tool, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if combined {
		cmd.Stderr = &stdout
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", tool, strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	out := stdout.Bytes()
	oracleOut.Store(key, out)
	return out
}

// Pahole runs `pahole ARGS...` and returns its standard output, e.g.
// Pahole(t, "-F", "dwarf", "-C", "node,flex", file). Outputs are memoized.
func Pahole(t testing.TB, args ...string) string {
	t.Helper()
	return string(runOracle(t, Tool(t, "pahole"), false, args...))
}

// GDB runs gdb in batch mode on file, one -ex per command (after `set
// width 0` and `set height 0`, so that nothing is wrapped or paged), and
// returns what it printed (standard output and error). It is gdb-multiarch
// where installed (it reads every target's DWARF), else gdb. Outputs are
// memoized.
func GDB(t testing.TB, file string, cmds ...string) string {
	t.Helper()
	gdb, err := exec.LookPath("gdb-multiarch")
	if err != nil {
		gdb = Tool(t, "gdb")
	}
	args := []string{"-batch", "-nx", "-ex", "set width 0", "-ex", "set height 0"}
	for _, c := range cmds {
		args = append(args, "-ex", c)
	}
	return string(runOracle(t, gdb, true, append(args, file)...))
}

// drgnScripts are the drgn oracle's scripts, one directory of them.
//
//go:embed drgn/*.py
var drgnScripts embed.FS

// Drgn runs the drgn script drgn/NAME.py (in this package's directory)
// with Debian's python3-drgn (DrgnPython) and returns its standard output.
// The script runs after drgn/prelude.py, which gives it `prog`, a
// drgn.Program with vmlinux's debug information and, when core is not "",
// the dump core, and `args`, the remaining arguments. A script that fails
// fails the test.
func Drgn(t testing.TB, name, vmlinux, core string, args ...string) []byte {
	t.Helper()
	py := DrgnPython(t)
	prelude, err := drgnScripts.ReadFile("drgn/prelude.py")
	if err != nil {
		t.Fatal(err)
	}
	script, err := drgnScripts.ReadFile("drgn/" + name + ".py")
	if err != nil {
		t.Fatalf("no drgn script %s.py in internal/testfix/drgn: %v", name, err)
	}
	src := string(prelude) + "\n# ---- " + name + ".py ----\n" + string(script)
	cmd := exec.Command(py, append([]string{"-c", src, vmlinux, core}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("drgn %s.py on %s %s: %v\n%s", name, vmlinux, core, err, stderr.Bytes())
	}
	return out
}
