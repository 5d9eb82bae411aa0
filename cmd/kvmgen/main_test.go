package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain keeps the tests out of the user's caches: the DWARF index cache
// (KVMGEN_INDEX_CACHE) and the layout cache (under os.UserCacheDir, from
// XDG_CACHE_HOME) go to a directory removed afterwards. Fixtures are found
// through KVMGEN_CACHE or $HOME, which this leaves alone.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kvmgen-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if os.Getenv("KVMGEN_INDEX_CACHE") != "off" {
		os.Setenv("KVMGEN_INDEX_CACHE", dir+"/index")
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
