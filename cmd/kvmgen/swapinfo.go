package main

import (
	"bufio"
	"fmt"
	"io"

	"github.com/kvmgen/kvmgen/procs"
)

func init() {
	register(command{
		name:  "swapinfo",
		usage: "swapinfo -kernel VMLINUX [-core DUMP] [-total]: the target's swap areas, as /proc/swaps",
		run:   runSwapinfo,
	})
}

func runSwapinfo(stdout io.Writer, args []string) error {
	fs := newFlagSet("swapinfo", "swapinfo [-kernel VMLINUX] [-core DUMP] [-total]")
	pf := addProcsFlags(fs)
	total := fs.Bool("total", false, "add a line with the total size and use")
	asJSON := jsonFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("swapinfo: unexpected arguments %q", fs.Args())
	}
	s, kd, err := pf.open()
	if err != nil {
		return err
	}
	defer kd.Close()
	sw, err := s.GetSwapInfo()
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	if *asJSON {
		for _, a := range sw {
			typ := "file"
			if a.Partition {
				typ = "partition"
			}
			if err := writeJSON(w, map[string]any{"name": a.Name, "type": typ, "size_bytes": a.Size, "used_bytes": a.Used, "priority": a.Priority}); err != nil {
				return err
			}
		}
		return w.Flush()
	}
	fmt.Fprintln(w, procs.ProcSwapsHeader)
	var size, used uint64
	for _, a := range sw {
		fmt.Fprintln(w, a.ProcSwapsLine())
		size += a.Size
		used += a.Used
	}
	if *total {
		fmt.Fprintf(w, "Total\t\t\t\t\t\t%d\t\t%d\n", size>>10, used>>10)
	}
	return w.Flush()
}
