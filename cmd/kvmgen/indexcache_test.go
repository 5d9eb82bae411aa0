package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// The CLI keeps the DWARF index between runs where KVMGEN_INDEX_CACHE says,
// and a run from the cache prints what a run from the DWARF printed.
func TestIndexCacheEnv(t *testing.T) {
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	dir := t.TempDir()
	t.Setenv("KVMGEN_INDEX_CACHE", dir)
	var first, second bytes.Buffer
	if err := run(&first, []string{"layout", "-json", "-kernel", vml, "task_struct", "list_head"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "dwarfmodel-index-*.gob"))
	if len(files) != 1 {
		t.Fatalf("index cache files in %s: %v, want one", dir, files)
	}
	if err := run(&second, []string{"layout", "-json", "-kernel", vml, "task_struct", "list_head"}); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Error("layout from the cached index differs from the layout from the DWARF")
	}
	t.Setenv("KVMGEN_INDEX_CACHE", "off")
	off := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", off)
	if err := run(new(bytes.Buffer), []string{"layout", "-kernel", vml, "list_head"}); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(off, "*", "*.gob")); len(files) != 0 {
		t.Errorf("KVMGEN_INDEX_CACHE=off still wrote %v", files)
	}
}
