package testfix

import (
	"bufio"
	"compress/gzip"
	"os"
	"strconv"
	"strings"
	"testing"
)

// KallsymsLine is one line of a guest's /proc/kallsyms.
type KallsymsLine struct {
	Addr   uint64
	Type   byte
	Name   string
	Module string // "" for the kernel image
}

// KallsymsTruth reads the guest's /proc/kallsyms (truth/kallsyms.gz) of
// the dumps in dir (relative to the fixture directory, e.g.
// "linux-amd64/dumps").
func KallsymsTruth(t testing.TB, dir string) []KallsymsLine {
	t.Helper()
	f, err := os.Open(Path(t, dir+"/truth/kallsyms.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []KallsymsLine
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		l := sc.Text()
		mod := ""
		if i := strings.IndexByte(l, '\t'); i >= 0 {
			mod = strings.Trim(l[i+1:], "[] ")
			l = l[:i]
		}
		fl := strings.Fields(l)
		if len(fl) != 3 || len(fl[1]) != 1 {
			continue
		}
		a, err := strconv.ParseUint(fl[0], 16, 64)
		if err != nil {
			continue
		}
		out = append(out, KallsymsLine{Addr: a, Type: fl[1][0], Name: fl[2], Module: mod})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
