package dwarfmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPruneIndexCache: the least recently used index files go first, and
// other files in the directory are left alone.
func TestPruneIndexCache(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	for i, name := range []string{"dwarfmodel-index-a.gob", "dwarfmodel-index-b.gob", "dwarfmodel-index-c.gob", "other.json"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(i) * time.Minute)
		if name == "dwarfmodel-index-a.gob" {
			at = base.Add(time.Hour) // used last
		}
		os.Chtimes(p, at, at)
	}
	pruneIndexCache(dir, 200)
	var left []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	want := "[dwarfmodel-index-a.gob dwarfmodel-index-c.gob other.json]"
	if got := fmt.Sprint(left); got != want {
		t.Errorf("left %s, want %s", got, want)
	}
}
