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
		usage: "maps -kernel VMLINUX [-core DUMP] -p PID|-a: a process's memory mappings, as /proc/PID/maps (-a: every process's)",
		run:   runMaps,
	})
}

func runMaps(stdout io.Writer, args []string) error {
	fs := newFlagSet("maps", "maps [-kernel VMLINUX] [-core DUMP] -p PID|-a")
	pf := addProcsFlags(fs)
	pid := fs.String("p", "", "the process (thread group ID)")
	all := fs.Bool("a", false, "every process with a memory map, in task-list order, each after a line \"PID: <pid> COMMAND: <comm>\" (kernel threads and zombies, which have none, are left out)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("maps: unexpected arguments %q", fs.Args())
	}
	if *all && *pid != "" {
		return errors.New("maps: give -p PID or -a, not both")
	}
	if *all {
		s, kd, err := pf.open()
		if err != nil {
			return err
		}
		defer kd.Close()
		return mapsAll(stdout, s)
	}
	if *pid == "" {
		return errors.New("maps: -p PID (or -a) is required")
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

// mapsAll is `maps -a`: the map of every process (thread-group leader)
// that has one, each as `maps -p PID` prints it, after a header line. A
// task or map that cannot be read does not stop the others: what was read
// is printed, the errors go to stderr, and the exit status is non-zero.
func mapsAll(stdout io.Writer, s *procs.System) error {
	ps, err := s.GetProcs(procs.Filter{Op: procs.All})
	var partial *procs.PartialError
	if err != nil && !errors.As(err, &partial) {
		return err
	}
	var errs []error
	if partial != nil {
		errs = append(errs, partial.Errs...)
	}
	ptrSize := s.Layout().PtrSize
	w := bufio.NewWriter(stdout)
	for i := range ps {
		p := &ps[i]
		if p.Mm == 0 {
			continue // kernel threads and zombies: /proc shows an empty map
		}
		fmt.Fprintf(w, "PID: %d COMMAND: %s\n", p.PID, p.Name)
		vmas, err := s.Maps(p)
		for j := range vmas {
			w.WriteString(vmas[j].MapsLine(ptrSize))
			w.WriteByte('\n')
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, e := range errs {
		fmt.Fprintf(stderr, "kvmgen maps: %v\n", e)
	}
	if len(errs) > 0 {
		return fmt.Errorf("maps: %d tasks, lists or maps could not be read", len(errs))
	}
	return nil
}
