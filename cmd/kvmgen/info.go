package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	kvm "github.com/kvmgen/kvmgen/runtime"
)

func init() {
	register(command{
		name:  "info",
		usage: "info -kernel VMLINUX -core DUMP: describe a crash dump or live target",
		run:   runInfo,
	})
}

// targetArgs are the flags that name a target and where its symbols and
// types come from: -kernel, -core, -btf, -symbols, -ignore-build-id. An
// empty -kernel (and no $KVMGEN_KERNEL) means the target describes itself:
// symbols from the dump's kallsyms (or the running kernel's
// /proc/kallsyms), types from its BTF.
type targetArgs struct {
	kernel, core, btf, symbols, swap *string
	ignore                           *bool
}

func targetFlags(fs *flag.FlagSet) *targetArgs {
	return &targetArgs{
		kernel:  kernelFlag(fs),
		core:    fs.String("core", "", "crash dump or memory image (default: live memory)"),
		btf:     btfFlag(fs),
		symbols: symbolsFlag(fs),
		swap:    fs.String("swapfile", "", "image of the target's swap area: swapped-out user pages (argv, environment, process memory) are read from it"),
		ignore:  fs.Bool("ignore-build-id", false, "open a dump whose kernel build ID differs from -kernel's"),
	}
}

// open opens the target read-only.
func (t *targetArgs) open() (*kvm.KVM, error) {
	swap := ""
	if t.swap != nil {
		swap = *t.swap
	}
	for _, f := range []struct{ name, flag string }{{*t.kernel, "-kernel"}, {*t.core, "-core"}, {*t.symbols, "-symbols"}, {swap, "-swapfile"}} {
		if f.name == "" || f.name == kvm.DevNull || isLiveName(f.name) {
			continue
		}
		if err := regularFile(f.name, f.flag); err != nil {
			return nil, err
		}
	}
	return kvm.OpenOptions(*t.kernel, *t.core, kvm.Options{Flags: os.O_RDONLY, IgnoreBuildID: *t.ignore, SymbolFile: *t.symbols, SwapFile: swap})
}

// types opens the kernel's types for the open target kd.
func (t *targetArgs) types(kd *kvm.KVM) (*typeSource, error) {
	return openTypes(*t.kernel, *t.btf, kd)
}

func runInfo(stdout io.Writer, args []string) (err error) {
	fs := newFlagSet("info", "info [-kernel VMLINUX] [-core DUMP]")
	ta := targetFlags(fs)
	noTypes := fs.Bool("no-types", false, "do not look for the kernel's types (faster)")
	asJSON := jsonFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("info: unexpected arguments %q", fs.Args())
	}
	kd, err := ta.open()
	if err != nil {
		return err
	}
	defer kd.Close()
	i := kd.Info()
	model := "ILP32"
	if i.PtrSize == 8 {
		model = "LP64"
	}
	order := "little-endian"
	if i.BigEndian {
		order = "big-endian"
	}
	// The lines in order; -json prints them as one object whose keys are
	// the labels in snake case ("KASLR displacement" -> "kaslr_displacement").
	var keys []string
	vals := map[string]string{}
	p := func(k, format string, a ...any) {
		keys = append(keys, k)
		vals[k] = fmt.Sprintf(format, a...)
	}
	defer func() {
		if *asJSON {
			obj := map[string]string{}
			for _, k := range keys {
				obj[strings.ReplaceAll(strings.ToLower(k), " ", "_")] = vals[k]
			}
			writeJSON(stdout, obj)
			return
		}
		for _, k := range keys {
			fmt.Fprintf(stdout, "%-19s %s\n", k+":", vals[k])
		}
	}()
	p("file", "%s", kd.CoreFile())
	p("format", "%s", i.Format)
	if i.Version != 0 {
		p("version", "%d", i.Version)
	}
	p("architecture", "%s", i.Arch)
	p("data model", "%s, %s", model, order)
	p("page size", "%d", i.PageSize)
	if i.OSRelease != "" {
		p("OS release", "%s", kvm.Untrusted(i.OSRelease))
	}
	if i.Translation != "" {
		p("translation", "%s", i.Translation)
	}
	if i.Truncated != "" {
		p("truncated", "%s", i.Truncated)
		defer func() {
			if err == nil {
				err = errors.New(i.Truncated)
			}
		}()
	}
	if i.KernDispKnown {
		p("KASLR displacement", "%#x", i.KernDisp)
	} else {
		p("KASLR displacement", "unknown")
	}
	if kd.ExecFile() != "" {
		p("kernel", "%s", kd.ExecFile())
	} else {
		p("kernel", "none given: the target describes itself")
	}
	p("symbols", "%s", kd.SymbolSource())
	if sf := kd.SwapFile(); sf != "" {
		p("swapfile", "%s", sf)
	}
	if !*noTypes {
		if ts, err := ta.types(kd); err != nil {
			p("types", "none: %v", err)
		} else {
			p("types", "%s", ts.describe())
			ts.Close()
		}
	}
	eb, cb := kd.ExecBuildID(), i.BuildID
	if cb != "" {
		p("dump build ID", "%s", kvm.Untrusted(cb))
	}
	if eb != "" {
		p("kernel build ID", "%s", eb)
	}
	switch {
	case kd.ExecFile() == "":
	case eb == "" || cb == "":
		p("match", "unknown (build ID missing)")
	case kvm.SameBuildID(eb, cb):
		p("match", "yes")
	default:
		p("match", "NO: the dump was not taken from this kernel")
	}
	return nil
}
