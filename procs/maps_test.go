package procs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMapsMatchGuestProc: every process's memory map, read through the
// maple tree, equals the guest's /proc/PID/maps line for line, where the
// fixture has that truth (linux-arm64 has; the linux-amd64 fixtures do not
// capture maps: there the map is checked for consistency and for naming
// the executable /proc/PID/exe names).
func TestMapsMatchGuestProc(t *testing.T) {
	run := func(t *testing.T, k fixtureKernel, dump string) {
		s, _ := openSystem(t, k, dump)
		ps, err := s.GetProcs(Filter{})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(k.dir, "dumps", "truth", "proc")
		compared, checked := 0, 0
		for i := range ps {
			p := &ps[i]
			if p.Mm == 0 {
				if _, err := s.Maps(p); err == nil {
					t.Errorf("pid %d without mm: no error", p.PID)
				}
				continue
			}
			vmas, err := s.Maps(p)
			if err != nil {
				t.Errorf("pid %d (%s): %v", p.PID, p.Comm, err)
				continue
			}
			var got []string
			for j := range vmas {
				got = append(got, vmas[j].MapsLine(s.l.PtrSize))
				if j > 0 && vmas[j].Start < vmas[j-1].End {
					t.Errorf("pid %d: VMAs out of order: %s after %s", p.PID, got[j], got[j-1])
				}
			}
			want, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(int(p.PID)), "maps"))
			if err != nil {
				// No maps truth: the executable must be mapped.
				exe, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(int(p.PID)), "exe"))
				if err == nil {
					if e := strings.TrimSpace(string(exe)); !strings.Contains(strings.Join(got, "\n"), " "+e) {
						t.Errorf("pid %d: maps do not name its executable %s:\n%s", p.PID, e, strings.Join(got, "\n"))
					}
				}
				checked++
				continue
			}
			w := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(w, "\n") {
				t.Errorf("pid %d (%s) maps differ:\ndump:\n%s\nguest:\n%s", p.PID, p.Comm, strings.Join(got, "\n"), strings.Join(w, "\n"))
			}
			compared++
		}
		if compared+checked == 0 {
			t.Error("no process's map compared or checked")
		}
		t.Logf("%d maps equal the guest's, %d checked without maps truth", compared, checked)
	}
	t.Run("amd64", func(t *testing.T) { eachDump(t, run) })
	t.Run("other", func(t *testing.T) { eachOtherArchDump(t, run) })
}
