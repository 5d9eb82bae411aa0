package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/procs"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

func init() {
	register(command{
		name:  "ps",
		usage: "ps -kernel VMLINUX [-core DUMP] [-e] [-T] [-p PID|-u UID|-g PGRP|-s SID|-t TTY]: list processes like `ps -eo pid,ppid,user,stat,vsz,rss,comm,args`",
		run:   runPS,
	})
}

// procsFlags are the flags ps, uptime and swapinfo share.
type procsFlags struct {
	*targetArgs
	cache   *string
	noCache *bool
}

func addProcsFlags(fs *flag.FlagSet) *procsFlags {
	var p procsFlags
	p.targetArgs = targetFlags(fs)
	p.cache = fs.String("layout-cache", defaultLayoutCache(), "directory caching the structure offsets resolved from each kernel's DWARF, by build ID")
	p.noCache = fs.Bool("no-layout-cache", false, "resolve offsets from the kernel's DWARF even when a cached layout exists, and do not save it")
	return &p
}

func defaultLayoutCache() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "kvmgen", "layouts")
}

// openProcs opens the target and binds the process interface to it: the
// layout comes from the cache when this kernel was seen before, else from
// the kernel's DWARF (then cached).
func (p *procsFlags) open() (*procs.System, *kvm.KVM, error) {
	kd, err := p.targetArgs.open()
	if err != nil {
		return nil, nil, err
	}
	if procs.IsFreeBSD(kd) {
		s, err := p.openFreeBSD(kd)
		if err != nil {
			kd.Close()
			return nil, nil, err
		}
		return s, kd, nil
	}
	l, err := p.layout(kd)
	if err != nil {
		kd.Close()
		return nil, nil, err
	}
	s, err := procs.New(kd, l)
	if err != nil {
		kd.Close()
		return nil, nil, err
	}
	return s, kd, nil
}

// openFreeBSD binds the process interface to a FreeBSD kernel: the struct
// offsets it exports, and the DWARF of -kernel when it has some (a
// kernel.debug).
func (p *procsFlags) openFreeBSD(kd *kvm.KVM) (*procs.System, error) {
	var di procs.DebugInfo
	if *p.kernel != "" {
		kf, err := openKernel(*p.kernel)
		switch {
		case err == nil:
			defer kf.Close()
			di = kf
		case !errors.Is(err, dwarfmodel.ErrNoDWARF):
			return nil, err
		}
	}
	return procs.NewFreeBSD(kd, di)
}

func (p *procsFlags) layout(kd *kvm.KVM) (*procs.Layout, error) {
	id := kd.BuildID()
	useCache := !*p.noCache && *p.cache != "" && id != ""
	if useCache {
		l, err := procs.LoadLayout(*p.cache, id)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "kvmgen: ignoring the cached layout: %v\n", err)
		}
	}
	name := *p.kernel
	if name == "" && *p.btf == "" && isLive(kd) && kd.ExecFile() != "/proc/kallsyms" {
		name = kd.ExecFile() // the running kernel's image, found by the runtime
	}
	kf, err := openTypes(name, *p.btf, kd)
	if err != nil {
		return nil, err
	}
	defer kf.Close()
	l, err := procs.ResolveLayout(kf)
	if err != nil {
		return nil, err
	}
	if useCache && l.BuildID == id {
		if err := procs.SaveLayout(*p.cache, l); err != nil {
			fmt.Fprintf(stderr, "kvmgen: could not cache the layout: %v\n", err)
		}
	}
	return l, nil
}

func runPS(stdout io.Writer, args []string) error {
	fs := newFlagSet("ps", "ps [-kernel VMLINUX] [-core DUMP] [-e] [-T] [-p PID|-u UID|-U RUID|-g PGRP|-s SID|-t TTY] [-passwd FILE]")
	pf := addProcsFlags(fs)
	env := fs.Bool("e", false, "show each process's environment after its arguments")
	threads := fs.Bool("T", false, "one line per thread")
	pid := fs.String("p", "", "only the process with this PID")
	uid := fs.String("u", "", "only processes with this effective user ID")
	ruid := fs.String("U", "", "only processes with this real user ID")
	pgrp := fs.String("g", "", "only processes of this process group")
	sid := fs.String("s", "", "only processes of this session")
	tty := fs.String("t", "", "only processes with this controlling terminal (device number, as /proc's tty_nr)")
	passwd := fs.String("passwd", "", "the target's /etc/passwd, to show user names (default: numeric IDs)")
	asJSON := jsonFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("ps: unexpected arguments %q", fs.Args())
	}
	f := procs.Filter{Op: procs.All, Threads: *threads}
	n := 0
	for _, c := range []struct {
		v, flag string
		op      procs.Op
	}{{*pid, "p", procs.ByPID}, {*uid, "u", procs.ByUID}, {*ruid, "U", procs.ByRUID}, {*pgrp, "g", procs.ByPGRP}, {*sid, "s", procs.BySession}, {*tty, "t", procs.ByTTY}} {
		if c.v == "" {
			continue
		}
		v, err := strconv.ParseInt(c.v, 0, 64)
		if err != nil {
			return fmt.Errorf("ps: -%s %q: not a number", c.flag, c.v)
		}
		f.Op, f.Arg = c.op, v
		n++
	}
	if n > 1 {
		return errors.New("ps: give at most one of -p, -u, -U, -g, -s, -t")
	}
	users := map[uint32]string{}
	if *passwd != "" {
		var err error
		if users, err = readPasswd(*passwd); err != nil {
			return err
		}
	}
	s, kd, err := pf.open()
	if err != nil {
		return err
	}
	defer kd.Close()
	ps, err := s.GetProcs(f)
	var partial *procs.PartialError
	if err != nil && !errors.As(err, &partial) {
		return err
	}
	// Tasks that could not be read are reported after the list (and make
	// the exit status non-zero); the others are listed.
	if err := psList(stdout, s, kd, ps, users, *asJSON, *env, *threads); err != nil {
		return err
	}
	if partial != nil {
		for _, e := range partial.Errs {
			fmt.Fprintf(stderr, "kvmgen ps: %v\n", e)
		}
		return fmt.Errorf("ps: %d tasks or lists could not be read", len(partial.Errs))
	}
	return nil
}

func psList(stdout io.Writer, s *procs.System, kd *kvm.KVM, ps []procs.Proc, users map[uint32]string, asJSON, env, threads bool) error {
	w := bufio.NewWriter(stdout)
	if asJSON {
		for i := range ps {
			p := &ps[i]
			row := psRow{PID: p.PID, PPID: p.PPID, UID: p.EUID, Stat: p.PSStat(), VSZ: p.VSize / 1024,
				RSS: p.RSSSum * pageKiB(kd), Comm: p.Name, Kernel: p.Flags&pfKthread != 0}
			row.User = users[p.EUID]
			if p.Mm != 0 {
				// A vector cut short by an unreadable page comes with
				// its error: keep both.
				argv, err := s.Argv(p)
				row.Argv = argv
				if err != nil {
					row.Errors = append(row.Errors, err.Error())
				}
				if env {
					e, err := s.Envv(p)
					row.Env = e
					if err != nil {
						row.Errors = append(row.Errors, err.Error())
					}
				}
			}
			if err := writeJSON(w, row); err != nil {
				return err
			}
		}
		return w.Flush()
	}
	idHeader := "    PID"
	if threads {
		idHeader = "    TID"
	}
	fmt.Fprintf(w, "%s    PPID USER     STAT    VSZ   RSS COMMAND         COMMAND\n", idHeader)
	for i := range ps {
		p := &ps[i]
		user, ok := users[p.EUID]
		if !ok || len(user) > 8 {
			user = strconv.FormatUint(uint64(p.EUID), 10)
		}
		ppid := strconv.Itoa(int(p.PPID))
		if p.PPID < 0 { // unknown: a FreeBSD kernel without its DWARF
			ppid, user = "-", "-"
		}
		comm, cmd := p.Name, psArgs(s, p, env)
		if p.State == 'Z' {
			comm += " <defunct>"
		}
		fmt.Fprintf(w, "%7d %7s %-8s %-4s %6d %5d %-15s %s\n", p.PID, ppid, user, p.PSStat(),
			p.VSize/1024, p.RSSSum*pageKiB(kd), comm, cmd)
	}
	return w.Flush()
}

func pageKiB(kd *kvm.KVM) uint64 {
	if ps := kd.Info().PageSize; ps > 0 {
		return uint64(ps) / 1024
	}
	return 4
}

// psArgs is the args column: the arguments read from the process's memory,
// or "[name]" when it has none (kernel threads, zombies) or they cannot be
// read (the reason goes to stderr).
func psArgs(s *procs.System, p *procs.Proc, env bool) string {
	bracket := "[" + p.Name + "]"
	if p.State == 'Z' {
		bracket += " <defunct>"
	}
	if p.Mm == 0 {
		return bracket
	}
	// What could be read is shown, the reason it stops goes to stderr.
	argv, err := s.Argv(p)
	if err != nil {
		fmt.Fprintf(stderr, "kvmgen ps: %v\n", err)
	}
	if len(argv) == 0 {
		return bracket
	}
	out := strings.Join(argv, " ")
	if env {
		e, err := s.Envv(p)
		if err != nil {
			fmt.Fprintf(stderr, "kvmgen ps: %v\n", err)
		}
		if len(e) > 0 {
			out += " " + strings.Join(e, " ")
		}
	}
	return out
}

// readPasswd maps user IDs to names from a passwd(5) file.
func readPasswd(name string) (map[uint32]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	m := make(map[uint32]string)
	for i, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 3 {
			return nil, fmt.Errorf("%s:%d: not a passwd line", name, i+1)
		}
		id, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: user ID %q: %v", name, i+1, f[2], err)
		}
		if _, dup := m[uint32(id)]; !dup {
			m[uint32(id)] = f[0]
		}
	}
	return m, nil
}

// pfKthread is PF_KTHREAD (include/linux/sched.h, unchanged since 2.6.27).
const pfKthread = 0x00200000

// psRow is one line of `kvmgen ps -json`.
type psRow struct {
	PID    int32    `json:"pid"` // the TID with -T
	PPID   int32    `json:"ppid"`
	UID    uint32   `json:"uid"`
	User   string   `json:"user,omitempty"`
	Stat   string   `json:"stat"`
	VSZ    uint64   `json:"vsz_kib"`
	RSS    uint64   `json:"rss_kib"`
	Comm   string   `json:"comm"`
	Kernel bool     `json:"kernel_thread,omitempty"`
	Argv   []string `json:"argv,omitempty"`
	Env    []string `json:"env,omitempty"`
	Errors []string `json:"errors,omitempty"` // what could not be read
}
