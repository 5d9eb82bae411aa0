package testfix

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Markers reads a fixture guest's truth/markers.txt in dir: one "NAME PID"
// line per marker process the guest started (scripts/guest/init), as a
// map from name to PID. A malformed line fails the test.
func Markers(t testing.TB, dir string) map[string]int {
	t.Helper()
	path := filepath.Join(dir, "markers.txt")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("%s: malformed line %q (want \"NAME PID\")", path, l)
		}
		pid, err := strconv.Atoi(f[1])
		if err != nil || pid <= 0 {
			t.Fatalf("%s: malformed line %q (want \"NAME PID\")", path, l)
		}
		m[f[0]] = pid
	}
	return m
}

// PIDArgs are the PIDs of markers m (Markers), as command-line arguments,
// in the order of the markers' names.
func PIDArgs(m map[string]int) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		out = append(out, strconv.Itoa(m[n]))
	}
	return out
}

// Marker is the PID of one marker in dir's markers.txt; a missing name
// fails the test.
func Marker(t testing.TB, dir, name string) int {
	t.Helper()
	pid, ok := Markers(t, dir)[name]
	if !ok {
		t.Fatalf("no %s in %s", name, filepath.Join(dir, "markers.txt"))
	}
	return pid
}
