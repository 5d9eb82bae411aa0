package procs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

// otherArchKernels are the fixture kernels of other architectures than
// x86-64, each with the dumps it has.
func otherArchKernels(t *testing.T) []fixtureKernel {
	var out []fixtureKernel
	for _, a := range []string{"linux-arm64", "linux-i386"} {
		d := filepath.Join(testfix.Dir(), a)
		if _, err := os.Stat(filepath.Join(d, "vmlinux")); err == nil {
			out = append(out, fixtureKernel{name: a, dir: d, extra: true})
		}
	}
	if len(out) == 0 {
		t.Skip("no arm64 or i386 fixture kernel")
	}
	return out
}

func eachOtherArchDump(t *testing.T, fn func(t *testing.T, k fixtureKernel, dump string)) {
	for _, k := range otherArchKernels(t) {
		for _, d := range dumpFormats {
			if _, err := os.Stat(filepath.Join(k.dir, "dumps", d)); err != nil {
				continue
			}
			t.Run(k.name+"/"+d, func(t *testing.T) { fn(t, k, d) })
		}
	}
}

// TestArgvEnvOtherArch: argv and environment read through the kernel's own
// walker re-rooted at each process's tables on AArch64 and i386 kernels:
// equal to the guest's /proc where the fixture has that truth, else at
// least every user process's argv readable and starting with its name's
// program.
func TestArgvEnvOtherArch(t *testing.T) {
	eachOtherArchDump(t, func(t *testing.T, k fixtureKernel, dump string) {
		s, _ := openSystem(t, k, dump)
		ps, err := s.GetProcs(Filter{})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(k.dir, "dumps", "truth", "proc")
		compared, read := 0, 0
		for i := range ps {
			p := &ps[i]
			if p.Mm == 0 {
				continue
			}
			got, err := s.Cmdline(p)
			if err != nil {
				var se *kvm.SwappedOutError
				var re *kvm.ReadError
				if errors.As(err, &se) || errors.As(err, &re) {
					t.Logf("pid %d (%s): %v", p.PID, p.Comm, err)
					continue
				}
				t.Errorf("pid %d (%s): %v", p.PID, p.Comm, err)
				continue
			}
			read++
			want, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(int(p.PID)), "cmdline"))
			if err != nil {
				if !strings.Contains(string(got), p.Comm) {
					t.Errorf("pid %d: argv %q does not name %s", p.PID, got, p.Comm)
				}
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("pid %d cmdline: dump %q, guest %q", p.PID, trunc(got), trunc(want))
			}
			wantEnv, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(int(p.PID)), "environ"))
			if env, err2 := s.Environ(p); err == nil && (err2 != nil || !bytes.Equal(env, wantEnv)) {
				t.Errorf("pid %d environ: dump %q (%v), guest %q", p.PID, trunc(env), err2, trunc(wantEnv))
			}
			compared++
		}
		if read == 0 {
			t.Error("no process's argv could be read")
		}
		t.Logf("%d processes' argv read, %d compared with the guest's /proc", read, compared)
	})
}

// TestBindingsAcrossArchitectures: procs' bindings, generated from the
// x86-64 kernel, are architecture-neutral (every size comes from the
// layout table): bound to an AArch64 or i386 dump with that kernel's own
// types they read it in its data model (init_task is "swapper"; every
// pointer is the target's size); without its types the dump is refused
// with a *bind.DataModelMismatchError, and so is a table of another data
// model than the target's.
func TestBindingsAcrossArchitectures(t *testing.T) {
	if !kvmSpecLinux.Neutral || kvmSpecLinux.Arch != "x86_64" {
		t.Fatalf("bindings Neutral %v, Arch %s: want architecture-neutral x86_64 bindings", kvmSpecLinux.Neutral, kvmSpecLinux.Arch)
	}
	var tables []*bind.Table
	for _, k := range otherArchKernels(t) {
		t.Run(k.name, func(t *testing.T) {
			di, vml := k.dwarf(t)
			kd, err := kvm.Open2(vml, k.path(t, "dumps/elf.vmcore"), os.O_RDONLY, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer kd.Close()
			var dm *bind.DataModelMismatchError
			if _, err := linuxBind(kd); !errors.As(err, &dm) {
				t.Fatalf("Bind without types: %v; want a *bind.DataModelMismatchError", err)
			}
			lk, err := linuxBind(kd, bind.Types(di))
			if err != nil {
				t.Fatal(err)
			}
			b := lk.Binding()
			if !b.Relocated() || b.PtrSize() != kd.Info().PtrSize {
				t.Errorf("relocated %v, pointer size %d; want true, %d", b.Relocated(), b.PtrSize(), kd.Info().PtrSize)
			}
			addr, err := kd.LookupSymbol("init_task")
			if err != nil {
				t.Fatal(err)
			}
			task, err := lk.ReadTaskStruct(addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := task.CommString(); got != "swapper" && !strings.HasPrefix(got, "swapper/") {
				t.Errorf("init_task.comm = %q", got)
			}
			if next := task.Tasks().Addr(); next == 0 {
				t.Error("init_task.tasks has no address")
			}
			tab := b.Table()
			if tab.Arch != kd.Info().Arch || tab.PtrSize != kd.Info().PtrSize {
				t.Errorf("table of %s, %d-byte pointers; the dump is %s, %d", tab.Arch, tab.PtrSize, kd.Info().Arch, kd.Info().PtrSize)
			}
			tables = append(tables, tab)
		})
	}
	// A table of one architecture does not bind another's dump.
	if len(tables) == 2 && tables[0].Arch != tables[1].Arch {
		kd, err := kvm.Open2("", filepath.Join(otherArchKernels(t)[1].dir, "dumps", "elf.vmcore"), os.O_RDONLY, nil)
		if err != nil {
			t.Skip(err)
		}
		defer kd.Close()
		var dm *bind.DataModelMismatchError
		if _, err := bind.FromTable(kd, &kvmSpecLinux, tables[0], bind.IgnoreBuildID()); !errors.As(err, &dm) {
			t.Errorf("FromTable with another architecture's table: %v; want a *bind.DataModelMismatchError", err)
		}
	}
}
