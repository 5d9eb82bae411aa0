package ksym_test

import (
	"bufio"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/ksym"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

type mapSym struct {
	addr uint64
	typ  byte
	name string
}

func systemMap(t *testing.T) []mapSym {
	f, err := os.Open(testfix.Path(t, "linux-amd64/System.map"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []mapSym
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) != 3 {
			continue
		}
		a, err := strconv.ParseUint(fl[0], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mapSym{a, fl[1][0], fl[2]})
	}
	if len(out) < 10000 {
		t.Fatalf("System.map has %d symbols: the placeholder, not the real one?", len(out))
	}
	return out
}

// TestAgainstSystemMap: with symbols from the dump's own kallsyms, every
// text symbol of the real System.map, displaced by the guest's KASLR
// offset (its /proc/kallsyms' init_task minus System.map's), is found by
// name at that address, and names the addresses inside it.
func TestAgainstSystemMap(t *testing.T) {
	sm := systemMap(t)
	kall := testfix.KallsymsTruth(t, "linux-amd64/dumps")
	kd, err := kvm.OpenOptions("", testfix.Path(t, "linux-amd64/dumps/elf.vmcore"), kvm.Options{Flags: os.O_RDONLY})
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	var disp uint64
	for _, s := range kall {
		if s.Name == "init_task" {
			for _, m := range sm {
				if m.name == "init_task" {
					disp = s.Addr - m.addr
				}
			}
		}
	}
	if disp == 0 {
		t.Fatal("no init_task in the guest's kallsyms or System.map")
	}
	if got := uint64(kd.Kerndisp()); got != disp {
		t.Errorf("Kerndisp %#x, the guest's displacement %#x", got, disp)
	}
	all, err := kd.SymbolsInTableOrder()
	if err != nil {
		t.Fatal(err)
	}
	syms := make([]ksym.Sym, len(all))
	for i, s := range all {
		syms[i] = ksym.Sym{Name: s.Name, Addr: s.Addr, Type: s.Type}
	}
	end, _ := kd.LookupSymbol("_end")
	tab := ksym.New(syms, end)

	count := map[string]int{}
	atAddr := map[uint64][]string{}
	for _, m := range sm {
		count[m.name]++
		atAddr[m.addr] = append(atAddr[m.addr], m.name)
	}
	checked, missing := 0, 0
	for i, m := range sm {
		if m.typ != 'T' && m.typ != 't' || count[m.name] != 1 {
			continue
		}
		got := tab.Find(m.name)
		if len(got) == 0 {
			missing++
			continue
		}
		checked++
		if len(got) != 1 || got[0].Addr != m.addr+disp {
			t.Errorf("%s: %+v, System.map %#x + %#x", m.name, got, m.addr, disp)
			continue
		}
		// The next System.map address bounds the symbol.
		var next uint64
		for j := i + 1; j < len(sm); j++ {
			if sm[j].addr > m.addr {
				next = sm[j].addr
				break
			}
		}
		if next == 0 || next-m.addr < 2 {
			continue
		}
		s, off, ok := tab.Lookup(m.addr + disp + 1)
		if !ok || off != 1 || !contains(atAddr[m.addr], s.Name) {
			t.Errorf("Lookup(%s+1) = %+v +%#x %v", m.name, s, off, ok)
		}
		if s.Size != next-m.addr {
			t.Errorf("%s: size %#x, System.map says %#x", m.name, s.Size, next-m.addr)
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("%d text symbols checked, %d not in kallsyms", checked, missing)
	if checked < 20000 || missing > checked/100 {
		t.Errorf("%d text symbols checked, %d not in the dump's kallsyms", checked, missing)
	}
	if _, _, ok := tab.Lookup(end + 0x1000); ok {
		t.Error("an address past _end was named by a kernel symbol")
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestLazyPrefetch: a lazy table's Prefetch names addresses exactly as the
// sorted table does (aliases, weak and linker-script symbols, gaps, the
// highest symbol, _end), and unprefetched addresses still resolve.
func TestLazyPrefetch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var syms []ksym.Sym
	names := []string{"f", "_g", "__h", "__start_x", "__x_end", "w", "$x", ".Lfoo", "abs"}
	for i := 0; i < 3000; i++ {
		n := names[rng.IntN(len(names))]
		s := ksym.Sym{Name: n + strconv.Itoa(i), Addr: 0xffffffff81000000 + uint64(rng.IntN(20000))*16, Type: 'T'}
		switch n {
		case "w":
			s.Type = 'W'
		case "abs":
			s.Type = 'A'
		case "$x", ".Lfoo":
			s.Name = n
		}
		syms = append(syms, s)
	}
	end := uint64(0xffffffff81000000 + 19000*16)
	eager := ksym.New(slices.Clone(syms), end)
	lazy := ksym.NewLazy(slices.Clone(syms), end)
	var addrs []uint64
	for i := 0; i < 500; i++ {
		addrs = append(addrs, 0xffffffff80fff000+uint64(rng.IntN(21000*16)))
	}
	lazy.Prefetch(addrs)
	for _, a := range append(addrs, 0xffffffff81000123) {
		s1, o1, ok1 := eager.Lookup(a)
		s2, o2, ok2 := lazy.Lookup(a)
		if s1 != s2 || o1 != o2 || ok1 != ok2 {
			t.Fatalf("%#x: sorted %+v+%#x %v, prefetched %+v+%#x %v", a, s1, o1, ok1, s2, o2, ok2)
		}
	}
}
