package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/kvmgen/kvmgen/procs"
)

func init() {
	register(command{
		name:  "maps",
		usage: "maps -kernel VMLINUX [-core DUMP] -p PID: a process's memory mappings, as /proc/PID/maps",
		run:   runMaps,
	})
}

func runMaps(stdout io.Writer, args []string) error {
	fs := newFlagSet("maps", "maps [-kernel VMLINUX] [-core DUMP] -p PID")
	pf := addProcsFlags(fs)
	pid := fs.String("p", "", "the process (thread group ID)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("maps: unexpected arguments %q", fs.Args())
	}
	if *pid == "" {
		return errors.New("maps: -p PID is required")
	}
	n, err := strconv.ParseInt(*pid, 10, 32)
	if err != nil {
		return fmt.Errorf("maps: -p %q: not a number", *pid)
	}
	s, kd, err := pf.open()
	if err != nil {
		return err
	}
	defer kd.Close()
	ps, err := s.GetProcs(procs.Filter{Op: procs.ByPID, Arg: n})
	var partial *procs.PartialError
	if err != nil && !errors.As(err, &partial) {
		return err
	}
	if len(ps) == 0 {
		if partial != nil {
			return fmt.Errorf("maps: no process %d found (%v)", n, err)
		}
		return fmt.Errorf("maps: no process %d", n)
	}
	p := &ps[0]
	if p.Mm == 0 {
		return nil // kernel threads and zombies: /proc shows an empty map
	}
	vmas, err := s.Maps(p)
	w := bufio.NewWriter(stdout)
	for i := range vmas {
		fmt.Fprintln(w, vmas[i].MapsLine(s.Layout().PtrSize))
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}
