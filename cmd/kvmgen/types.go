package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kvmgen/kvmgen/btfmodel"
	"github.com/kvmgen/kvmgen/dwarfmodel"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// sysBTF is the running kernel's own BTF.
const sysBTF = "/sys/kernel/btf/vmlinux"

// typeSource is an open source of a kernel's types and how to release it.
type typeSource struct {
	dwarfmodel.Source
	close func() error
}

func (t *typeSource) Close() error {
	if t.close != nil {
		return t.close()
	}
	return nil
}

// describe says where the types come from.
func (t *typeSource) describe() string {
	if d, ok := t.Source.(dwarfmodel.Describer); ok {
		return d.Describe()
	}
	return "?"
}

// btfFlag adds -btf.
func btfFlag(fs *flag.FlagSet) *string {
	return fs.String("btf", "", "the kernel's types from BTF: a raw file ("+sysBTF+") or an ELF image with .BTF (default: the target's own BTF when there is no -kernel)")
}

// symbolsFlag adds -symbols.
func symbolsFlag(fs *flag.FlagSet) *string {
	return fs.String("symbols", "", "the kernel's symbols from a System.map or /proc/kallsyms copy (default: the execfile's, else the dump's kallsyms)")
}

// openTypes finds the kernel's types for a command, in this order:
//   - btfFile: its BTF (checked against the target's own when there is one);
//   - kernel: its DWARF, else its .BTF section;
//   - kd, a dump: the BTF in the dump's memory, located through its symbols;
//   - kd live, or no target at all: the running kernel's /sys/kernel/btf/vmlinux.
//
// kd may be nil (gen and layout without -core).
func openTypes(kernel, btfFile string, kd *kvm.KVM) (*typeSource, error) {
	opts := btfmodel.Options{}
	if kd != nil {
		i := kd.Info()
		opts.Arch = i.Arch
		opts.PtrSize = i.PtrSize
		opts.BuildID = kd.BuildID()
		disp := kd.Kerndisp()
		opts.Symbol = func(name string) (uint64, bool) {
			a, err := kd.LookupSymbol(name)
			if err != nil {
				return 0, false
			}
			return a - disp, true // link-time, as dwarfmodel.Variable.Address
		}
	}
	switch {
	case btfFile != "":
		if err := regularFile(btfFile, "-btf"); err != nil && btfFile != sysBTF {
			return nil, err
		}
		if kd == nil && btfFile == sysBTF {
			opts.Arch = hostArch()
		}
		f, err := btfmodel.OpenWith(btfFile, opts)
		if err != nil {
			return nil, err
		}
		if kd != nil && !isLive(kd) {
			if _, err := f.SameKernel(kd, kd.LookupSymbol); err != nil {
				return nil, err
			}
		}
		return &typeSource{Source: f, close: f.Close}, nil
	case kernel != "":
		kf, err := openKernel(kernel)
		if err == nil {
			return &typeSource{Source: kf, close: kf.Close}, nil
		}
		if !errors.Is(err, dwarfmodel.ErrNoDWARF) {
			return nil, err
		}
		bf, berr := btfmodel.OpenWith(kernel, opts)
		if berr != nil {
			return nil, fmt.Errorf("%w; and %v", err, berr)
		}
		return &typeSource{Source: bf, close: bf.Close}, nil
	case kd != nil && !isLive(kd):
		f, err := dumpBTF(kd, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kd.CoreFile(), err)
		}
		// The loaded modules' split BTF, for their types, read when a type
		// is not the kernel's: best effort (a kernel without
		// CONFIG_DEBUG_INFO_BTF_MODULES has none).
		f.LoadModulesWith(func() []btfmodel.ModuleBTF {
			mods, err := f.ModulesInMemory(kd, kd.LookupSymbol)
			if err != nil && len(mods) > 0 {
				fmt.Fprintf(stderr, "kvmgen: %s: %v\n", kd.CoreFile(), err)
			}
			return mods
		})
		return &typeSource{Source: f, close: f.Close}, nil
	}
	// The running kernel.
	if _, err := os.Stat(sysBTF); err != nil {
		return nil, fmt.Errorf("no kernel types: give -kernel VMLINUX (with DWARF), -btf FILE or -core DUMP; the running kernel has no %s (CONFIG_DEBUG_INFO_BTF)", sysBTF)
	}
	if opts.Arch == "" {
		opts.Arch = hostArch()
	}
	f, err := btfmodel.OpenWith(sysBTF, opts)
	if err != nil {
		return nil, err
	}
	f.LoadModulesWith(func() []btfmodel.ModuleBTF {
		mods, _ := btfmodel.ModulesInSysfs(filepath.Dir(sysBTF))
		return mods
	})
	return &typeSource{Source: f, close: f.Close}, nil
}

// isLive says whether kd reads the running kernel's memory.
func isLive(kd *kvm.KVM) bool { return isLiveName(kd.CoreFile()) }

// isLiveName says whether a -core name is the running kernel's memory.
func isLiveName(core string) bool {
	switch core {
	case "", "/proc/kcore", "/dev/mem", kvm.DevNull:
		return true
	}
	return false
}

// regularFile refuses what is not a regular file (a FIFO would block, a
// directory cannot be read), naming the flag.
func regularFile(name, flagName string) error {
	st, err := os.Stat(name)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s %s: not a regular file (%s)", flagName, name, st.Mode().Type())
	}
	return nil
}

// hostArch names the host's architecture as every package does.
func hostArch() string { return kvm.HostArch() }

// typesFor opens the kernel's types for gen and layout, which need no
// target unless the types come from a dump (-core).
func typesFor(kernel, btfFile, core string) (*typeSource, error) {
	if core == "" || kernel != "" {
		return openTypes(kernel, btfFile, nil)
	}
	if err := regularFile(core, "-core"); err != nil {
		return nil, err
	}
	kd, err := kvm.OpenOptions("", core, kvm.Options{Flags: os.O_RDONLY})
	if err != nil {
		return nil, err
	}
	ts, err := openTypes("", btfFile, kd)
	if err != nil {
		kd.Close()
		return nil, err
	}
	// The BTF is read whole; symbols for -var stay with the descriptor.
	inner := ts.close
	ts.close = func() error {
		if inner != nil {
			inner()
		}
		return kd.Close()
	}
	return ts, nil
}

// dumpBTF reads the BTF in a dump's memory. Decoding the dump's kallsyms
// (to find __start_BTF) and decoding the BTF each take tens of
// milliseconds: when VMCOREINFO names the kallsyms tables, which lie below
// .BTF in the kernel's read-only data, the BTF is found by scanning up
// from them while the symbols are decoded on the other core, and the
// address is confirmed with __start_BTF once they are. Otherwise (or when
// the two disagree) it is located through the symbols.
func dumpBTF(kd *kvm.KVM, opts btfmodel.Options) (*btfmodel.File, error) {
	from, ok := kd.VMCoreInfo().Symbol("kallsyms_names")
	if !ok {
		return btfmodel.FromMemory(kd, kd.LookupSymbol, opts)
	}
	type located struct {
		addr uint64
		err  error
	}
	sym := make(chan located, 1)
	go func() {
		a, err := kd.LookupSymbol("__start_BTF")
		sym <- located{a, err}
	}()
	f, at, err := btfmodel.ScanFrom(kd, from, opts)
	s := <-sym
	if err == nil && s.err == nil && s.addr == at {
		return f, nil // confirmed by __start_BTF
	}
	// Not confirmed: locate it through the symbols (or, when they do not
	// name it, by FromMemory's scan after _etext).
	return btfmodel.FromMemory(kd, kd.LookupSymbol, opts)
}
