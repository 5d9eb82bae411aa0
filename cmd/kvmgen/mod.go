package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func init() {
	register(command{
		name:  "mod",
		usage: "mod [-core DUMP] [-proc] [-json] [-syms]: the loaded kernel modules (name, base, size, state)",
		run:   runMod,
	})
}

const modSynopsis = `mod [-kernel VMLINUX] [-core DUMP] [-btf FILE] [-proc] [-syms] [-json]

Lists the loaded modules from the kernel's module list (struct module's
layout from the kernel's types: -kernel's DWARF, else the dump's BTF):
name, base address, size, state, reference count, users, and each memory
area. -proc prints the lines of /proc/modules instead ("name size refcount
users state address", users as "a,b," or "-"); -syms counts each module's
symbols (its own kallsyms); -json one object per module.`

func runMod(stdout io.Writer, args []string) error {
	fs := newFlagSet("mod", modSynopsis)
	ta := targetFlags(fs)
	proc := fs.Bool("proc", false, "print /proc/modules' lines")
	syms := fs.Bool("syms", false, "read each module's symbol table (a count; with -json the symbols)")
	asJSON := fs.Bool("json", false, "one JSON object per module")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("mod: unexpected arguments %q", fs.Args())
	}
	kd, err := ta.open()
	if err != nil {
		return err
	}
	defer kd.Close()
	mods, lerr := loadModules(kd, ta, *syms)
	if lerr != nil && len(mods) == 0 {
		return fmt.Errorf("mod: %w", lerr)
	}
	switch {
	case *asJSON:
		for _, m := range mods {
			type sym struct {
				Name string `json:"name"`
				Addr uint64 `json:"addr"`
				Type string `json:"type,omitempty"`
			}
			out := map[string]any{}
			b, _ := json.Marshal(m)
			_ = json.Unmarshal(b, &out)
			if *syms {
				var ss []sym
				for _, s := range m.Symbols {
					x := sym{Name: s.Name, Addr: s.Addr}
					if s.Type != 0 {
						x.Type = string(rune(s.Type))
					}
					ss = append(ss, x)
				}
				out["symbols"] = ss
			}
			b, _ = json.Marshal(out)
			fmt.Fprintf(stdout, "%s\n", b)
		}
	case *proc:
		for _, m := range mods {
			users := "-"
			if len(m.UsedBy) > 0 {
				users = strings.Join(m.UsedBy, ",") + ","
			}
			ref := "-"
			if m.Refcount >= 0 {
				ref = fmt.Sprint(m.Refcount)
			}
			fmt.Fprintf(stdout, "%s %d %s %s %s %#x\n", m.Name, m.Size, ref, users, m.State, m.Base)
		}
	default:
		tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
		hdr := "NAME\tBASE\tSIZE\tSTATE\tREFS\tUSED BY"
		if *syms {
			hdr += "\tSYMBOLS"
		}
		fmt.Fprintln(tw, hdr)
		for _, m := range mods {
			users := "-"
			if len(m.UsedBy) > 0 {
				users = strings.Join(m.UsedBy, ",")
			}
			line := fmt.Sprintf("%s\t%#x\t%d\t%s\t%d\t%s", m.Name, m.Base, m.Size, m.State, m.Refcount, users)
			if *syms {
				line += fmt.Sprintf("\t%d", len(m.Symbols))
				if m.Err != "" {
					line += " (" + m.Err + ")"
				}
			}
			fmt.Fprintln(tw, line)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if lerr != nil {
		return fmt.Errorf("mod: the list is incomplete: %w", lerr)
	}
	return nil
}
