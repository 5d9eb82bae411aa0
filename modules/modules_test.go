package modules_test

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/btfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/ksym"
	"github.com/kvmgen/kvmgen/modules"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// procModule is one line of the guest's /proc/modules.
type procModule struct {
	name, users, state string
	size, refs         int64
	addr               uint64
}

func readProcModules(t *testing.T, name string) []procModule {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []procModule
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 6 {
			t.Fatalf("/proc/modules line %q", l)
		}
		size, _ := strconv.ParseInt(f[1], 10, 64)
		refs, _ := strconv.ParseInt(f[2], 10, 64)
		addr, err := strconv.ParseUint(strings.TrimPrefix(f[5], "0x"), 16, 64)
		if err != nil || addr == 0 {
			t.Fatalf("/proc/modules line %q: no address (not root?)", l)
		}
		out = append(out, procModule{name: f[0], size: size, refs: refs, users: f[3], state: f[4], addr: addr})
	}
	return out
}

// list reads the dump's modules with struct module's layout from the
// dump's own BTF (no vmlinux).
func list(t *testing.T, core string) (*kvm.KVM, []modules.Module) {
	t.Helper()
	kd, err := kvm.OpenOptions("", core, kvm.Options{Flags: os.O_RDONLY})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kd.Close() })
	i := kd.Info()
	bf, err := btfmodel.FromMemory(kd, kd.LookupSymbol, btfmodel.Options{Arch: i.Arch, PtrSize: i.PtrSize})
	if err != nil {
		t.Fatal(err)
	}
	l, err := modules.LayoutFromTypes(bf)
	if err != nil {
		t.Fatal(err)
	}
	head, err := kd.LookupSymbol("modules")
	if err != nil {
		t.Fatal(err)
	}
	mods, err := modules.List(kd, head, l, modules.Options{Symbols: true})
	if err != nil {
		t.Fatal(err)
	}
	return kd, mods
}

// TestModulesAgainstGuest: the modules read from each dump are the
// guest's /proc/modules: same order, names, sizes, reference counts,
// users, states and addresses.
func TestModulesAgainstGuest(t *testing.T) {
	for _, set := range []struct {
		dir   string
		dumps []string
	}{
		{"linux-amd64/dumps", []string{"elf", "paging", "kdump-zlib"}},
		{"linux-amd64/dumps/panic", []string{"kdump-zlib"}},
	} {
		truth := readProcModules(t, testfix.Path(t, set.dir+"/truth/modules"))
		for _, d := range set.dumps {
			core := testfix.Path(t, set.dir+"/"+d+".vmcore")
			t.Run(strings.TrimPrefix(set.dir, "linux-amd64/")+"/"+d, func(t *testing.T) {
				_, mods := list(t, core)
				if len(mods) != len(truth) {
					t.Fatalf("%d modules, the guest lists %d", len(mods), len(truth))
				}
				for i, w := range truth {
					m := mods[i]
					users := "-"
					if len(m.UsedBy) > 0 {
						users = strings.Join(m.UsedBy, ",") + ","
					}
					if m.Name != w.name || int64(m.Size) != w.size || m.Base != w.addr || m.State != w.state || m.Refcount != w.refs || users != w.users {
						t.Errorf("module %d: %s %d %d %s %s %#x; guest: %s %d %d %s %s %#x", i,
							m.Name, m.Size, m.Refcount, users, m.State, m.Base, w.name, w.size, w.refs, w.users, w.state, w.addr)
					}
					if len(m.Symbols) < 5 || m.Err != "" {
						t.Errorf("module %s: %d symbols (%s)", m.Name, len(m.Symbols), m.Err)
					}
				}
			})
		}
	}
}

// TestModuleSymbols: the modules' symbols agree with the guest's
// /proc/kallsyms ("addr type name\t[module]" lines).
func TestModuleSymbols(t *testing.T) {
	dir := "linux-amd64/dumps"
	kall := testfix.KallsymsTruth(t, dir)
	_, mods := list(t, testfix.Path(t, dir+"/elf.vmcore"))
	want := map[string][]uint64{} // "module name" -> addrs (static functions share names)
	for _, s := range kall {
		if s.Module != "" {
			want[s.Module+" "+s.Name] = append(want[s.Module+" "+s.Name], s.Addr)
		}
	}
	tab := ksym.New(nil, 0)
	n := 0
	for _, m := range mods {
		var areas []ksym.Range
		for _, a := range m.Areas {
			areas = append(areas, ksym.Range{Start: a.Base, End: a.Base + a.Size})
		}
		tab.AddModule(m.Name, areas, m.Symbols)
		for _, s := range m.Symbols {
			as, ok := want[m.Name+" "+s.Name]
			if !ok {
				continue
			}
			n++
			if !slices.Contains(as, s.Addr) {
				t.Errorf("%s [%s]: %#x, guest %#x", s.Name, m.Name, s.Addr, as)
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d module symbols compared with the guest's kallsyms", n)
	}
	// An address inside a module function is named with its module: every
	// module function the guest lists whose next symbol is not at the
	// next byte (map order is random: check them all, not one).
	checked := 0
	for _, s := range kall {
		if s.Module == "" || (s.Type != 't' && s.Type != 'T') {
			continue
		}
		got, off, ok := tab.Lookup(s.Addr + 1)
		if !ok || got.Module != s.Module || (off == 1 && got.Addr != s.Addr) {
			t.Errorf("Lookup(%s+1 [%s]) = %+v +%d %v", s.Name, s.Module, got, off, ok)
		}
		checked++
	}
	if checked < 50 {
		t.Errorf("only %d module functions looked up", checked)
	}
}
