package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// TestNlist compares kvmgen nlist with readelf -sW on the truth program.
func TestNlist(t *testing.T) {
	prog := testfix.Truth(t, testfix.GCC["x86_64"])
	re, err := exec.Command(testfix.Tool(t, "readelf"), "-sW", prog).Output()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"g_kinds", "g_count", "g_banner", "main"}
	want := map[string][3]string{} // value, size, type
	for _, l := range strings.Split(string(re), "\n") {
		f := strings.Fields(l)
		if len(f) == 8 {
			for _, n := range names {
				if f[7] == n {
					want[n] = [3]string{f[1], f[2], strings.ToLower(f[3])}
				}
			}
		}
	}
	if len(want) != len(names) {
		t.Fatalf("readelf found %v", want)
	}
	var out bytes.Buffer
	if err := run(&out, append([]string{"nlist", "-kernel", prog}, names...)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(names) {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	for i, l := range lines {
		f := strings.Fields(l)
		w := want[names[i]]
		if len(f) != 5 || f[0] != names[i] {
			t.Errorf("line %q", l)
			continue
		}
		gv, _ := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
		wv, _ := strconv.ParseUint(w[0], 16, 64)
		if gv != wv || f[2] != w[1] || f[3] != w[2] {
			t.Errorf("%s: got %q, readelf %q", names[i], f[1:4], w)
		}
	}
	out.Reset()
	err = run(&out, []string{"nlist", "-kernel", prog, "g_count", "no_such_symbol"})
	var nf *SymbolNotFoundError
	if !errors.As(err, &nf) || len(nf.Names) != 1 || nf.Names[0] != "no_such_symbol" {
		t.Errorf("missing symbol: got %v", err)
	}
	if !strings.HasPrefix(out.String(), "g_count ") {
		t.Errorf("found symbols not printed before the error: %q", out.String())
	}
}
