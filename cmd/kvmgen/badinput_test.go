package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// TestBadInputEveryCommand runs every command that reads a kernel or a
// dump with bad input in each place a file goes: a text file, an empty
// file, a FIFO (which would block an open), a directory, a truncated dump,
// and a kernel image of another architecture than the dump. Each must fail
// with an error naming the file, within seconds, without a panic.
func TestBadInputEveryCommand(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	core := testfix.Path(t, "linux-amd64/dumps/elf.vmcore")
	arm := testfix.Path(t, "linux-arm64/vmlinux")
	dir := t.TempDir()
	text := filepath.Join(dir, "text.txt")
	empty := filepath.Join(dir, "empty")
	fifo := filepath.Join(dir, "fifo")
	sub := filepath.Join(dir, "a-directory")
	trunc := filepath.Join(dir, "truncated.vmcore")
	os.WriteFile(text, []byte("type task_struct\nthis is not a kernel\n"), 0o644)
	os.WriteFile(empty, nil, 0o644)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(sub, 0o755)
	f, err := os.Open(core)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 1<<20)
	n, _ := f.Read(head)
	f.Close()
	os.WriteFile(trunc, head[:n], 0o644)

	// Each command line with the bad file in place of X.
	lines := [][]string{
		{"info", "-core", "X"},
		{"read", "-core", "X", "init_task", "16"},
		{"ps", "-no-layout-cache", "-core", "X"},
		{"uptime", "-no-layout-cache", "-core", "X"},
		{"swapinfo", "-no-layout-cache", "-core", "X"},
		{"nlist", "-core", "X", "init_task"},
		{"nlist", "-kernel", "X", "init_task"},
		{"layout", "-core", "X", "task_struct"},
		{"layout", "-kernel", "X", "task_struct"},
		{"layout", "-btf", "X", "task_struct"},
		{"gen", "-core", "X", "-type", "list_head"},
		{"gen", "-kernel", "X", "-type", "list_head"},
		{"gen", "-btf", "X", "-type", "list_head"},
		{"ps", "-no-layout-cache", "-kernel", "X", "-core", core},
		{"ps", "-no-layout-cache", "-symbols", "X", "-core", core},
	}
	for _, name := range []string{"dmesg", "bt", "mod", "isf"} {
		if _, ok := commands[name]; ok {
			lines = append(lines, []string{name, "-core", "X"})
		}
	}
	if _, ok := commands["sym"]; ok {
		lines = append(lines, []string{"sym", "-core", "X", "init_task"})
	}
	bad := map[string]string{"text file": text, "empty file": empty, "FIFO": fifo, "directory": sub, "truncated dump": trunc}
	checked := 0
	for _, line := range lines {
		for what, file := range bad {
			args := make([]string, len(line))
			for i, a := range line {
				if a == "X" {
					a = file
				}
				args[i] = a
			}
			err := runBounded(t, args)
			if err == nil {
				t.Errorf("%s (%s): no error", strings.Join(args, " "), what)
				continue
			}
			if !strings.Contains(err.Error(), file) {
				t.Errorf("%s (%s): the error does not name the file: %v", strings.Join(args, " "), what, err)
			}
			checked++
		}
	}
	// A kernel image of another architecture than the dump.
	for _, args := range [][]string{
		{"ps", "-no-layout-cache", "-kernel", arm, "-core", core},
		{"info", "-kernel", arm, "-core", core},
		{"read", "-kernel", arm, "-core", core, "init_task", "16"},
	} {
		err := runBounded(t, args)
		if err == nil || !strings.Contains(err.Error(), "aarch64") || !strings.Contains(err.Error(), arm) {
			t.Errorf("%s: %v, want an architecture mismatch naming %s", strings.Join(args, " "), err, arm)
		}
		checked++
	}
	t.Logf("%d bad command lines refused", checked)
}

// runBounded runs a command line, failing the test if it takes longer than
// a minute (a hang) or panics.
func runBounded(t *testing.T, args []string) error {
	t.Helper()
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{panic: p}
			}
		}()
		_, err := runOut(t, args...)
		done <- result{err: err}
	}()
	select {
	case r := <-done:
		if r.panic != nil {
			t.Fatalf("%s: panic: %v", strings.Join(args, " "), r.panic)
		}
		return r.err
	case <-time.After(time.Minute):
		t.Fatalf("%s: no answer in a minute (a hang)", strings.Join(args, " "))
	}
	return nil
}
