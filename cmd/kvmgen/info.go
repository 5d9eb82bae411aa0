package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	kvm "github.com/kvmgen/kvmgen/runtime"
)

func init() {
	register(command{
		name:  "info",
		usage: "info -kernel VMLINUX -core DUMP: describe a crash dump or live target",
		run:   runInfo,
	})
}

// targetFlags adds the -kernel, -core and -ignore-build-id flags that info
// and read share. An empty -kernel (and no $KVMGEN_KERNEL) means the
// running kernel.
func targetFlags(fs *flag.FlagSet) (kernel, core *string, ignore *bool) {
	kernel = kernelFlag(fs)
	core = fs.String("core", "", "crash dump or memory image (default: live memory)")
	ignore = fs.Bool("ignore-build-id", false, "open a dump whose kernel build ID differs from -kernel's")
	return
}

func runInfo(stdout io.Writer, args []string) error {
	fs := newFlagSet("info", "info [-kernel VMLINUX] [-core DUMP]")
	kernel, core, ignore := targetFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("info: unexpected arguments %q", fs.Args())
	}
	kd, err := kvm.OpenOptions(*kernel, *core, kvm.Options{Flags: os.O_RDONLY, IgnoreBuildID: *ignore})
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
	p := func(k, format string, a ...any) {
		fmt.Fprintf(stdout, "%-19s "+format+"\n", append([]any{k + ":"}, a...)...)
	}
	p("file", "%s", kd.CoreFile())
	p("format", "%s", i.Format)
	if i.Version != 0 {
		p("version", "%d", i.Version)
	}
	p("architecture", "%s", i.Arch)
	p("data model", "%s, %s", model, order)
	p("page size", "%d", i.PageSize)
	if i.OSRelease != "" {
		p("OS release", "%s", i.OSRelease)
	}
	if i.Translation != "" {
		p("translation", "%s", i.Translation)
	}
	if i.KernDispKnown {
		p("KASLR displacement", "%#x", i.KernDisp)
	} else {
		p("KASLR displacement", "unknown")
	}
	p("kernel", "%s", kd.ExecFile())
	eb, cb := kd.ExecBuildID(), i.BuildID
	if cb != "" {
		p("dump build ID", "%s", cb)
	}
	if eb != "" {
		p("kernel build ID", "%s", eb)
	}
	switch {
	case eb == "" || cb == "":
		p("match", "unknown (build ID missing)")
	case kvm.SameBuildID(eb, cb):
		p("match", "yes")
	default:
		p("match", "NO: the dump was not taken from this kernel")
	}
	return nil
}
