package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

func init() {
	register(command{
		name:  "uptime",
		usage: "uptime -kernel VMLINUX [-core DUMP] [-proc]: the target's time, uptime and load average",
		run:   runUptime,
	})
}

func runUptime(stdout io.Writer, args []string) error {
	fs := newFlagSet("uptime", "uptime [-kernel VMLINUX] [-core DUMP] [-proc]")
	pf := addProcsFlags(fs)
	proc := fs.Bool("proc", false, "print /proc/uptime's first field and /proc/loadavg's first three instead")
	asJSON := jsonFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("uptime: unexpected arguments %q", fs.Args())
	}
	s, kd, err := pf.open()
	if err != nil {
		return err
	}
	defer kd.Close()
	tm, err := s.GetTime()
	if err != nil {
		return err
	}
	la, err := s.GetLoadAvg()
	if err != nil {
		return err
	}
	if *asJSON {
		f := la.Float()
		return writeJSON(stdout, map[string]any{"time": tm.Wall.UTC().Format(time.RFC3339), "uptime_seconds": tm.Uptime.Seconds(), "load_average": f[:]})
	}
	if *proc {
		cs := tm.Uptime / (10 * time.Millisecond)
		_, err := fmt.Fprintf(stdout, "%d.%02d\n%s\n", cs/100, cs%100, la)
		return err
	}
	_, err = fmt.Fprintf(stdout, " %s up %s,  load average: %s\n",
		tm.Wall.Format("15:04:05"), upString(tm.Uptime), strings.ReplaceAll(la.String(), " ", ", "))
	return err
}

// upString formats an uptime as procps uptime does: "3 days,  2:05",
// " 2:05" or "5 min".
func upString(d time.Duration) string {
	mins := int64(d / time.Minute)
	days, hours, m := mins/(24*60), mins/60%24, mins%60
	var b strings.Builder
	if days > 0 {
		s := ""
		if days != 1 {
			s = "s"
		}
		fmt.Fprintf(&b, "%d day%s, ", days, s)
	}
	if hours > 0 {
		fmt.Fprintf(&b, "%2d:%02d", hours, m)
	} else {
		fmt.Fprintf(&b, "%d min", m)
	}
	return b.String()
}
