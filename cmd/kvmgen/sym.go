package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kvmgen/kvmgen/ksym"
)

func init() {
	register(command{
		name:  "sym",
		usage: "sym [-core DUMP] [-json] ADDR|NAME...: name addresses (symbol+0xoff/0xsize [module]) or find symbols' addresses",
		run:   runSym,
	})
}

const symSynopsis = `sym [-kernel VMLINUX] [-core DUMP] [-symbols FILE] [-no-modules] [-json] ADDR|NAME...

An argument that parses as a number (0x... hex, or decimal) is an address:
it is named as the kernel's backtraces do, "function+0xoff/0xsize", with
" [module]" when it lies in a loaded module (the modules' own symbol
tables are read unless -no-modules). Any other argument is a symbol name:
its run-time address(es) are printed (a name that several static
functions share has several). Addresses are run-time ones (KASLR applied).`

type symResult struct {
	Query  string `json:"query"`
	Addr   uint64 `json:"addr"`
	Name   string `json:"name,omitempty"`
	Offset uint64 `json:"offset"`
	Size   uint64 `json:"size"`
	Module string `json:"module,omitempty"`
	Type   string `json:"type,omitempty"`
	Error  string `json:"error,omitempty"`
}

func runSym(stdout io.Writer, args []string) error {
	fs := newFlagSet("sym", symSynopsis)
	ta := targetFlags(fs)
	noMods := fs.Bool("no-modules", false, "only the kernel image's symbols (no module list, no types needed)")
	asJSON := fs.Bool("json", false, "one JSON object per result")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("sym: give at least one ADDR or NAME")
	}
	kd, err := ta.open()
	if err != nil {
		return err
	}
	defer kd.Close()
	var t *ksym.Table
	if *noMods {
		t, err = kernelSymtab(kd)
	} else {
		t, err = fullSymtab(kd, ta)
	}
	if err != nil {
		return fmt.Errorf("sym: %w", err)
	}
	var failed []string
	for _, q := range fs.Args() {
		var res []symResult
		if a, ok := parseAddr(q); ok {
			r := symResult{Query: q, Addr: a}
			if s, off, ok := t.Lookup(a); ok {
				r.Name, r.Offset, r.Size, r.Module = s.Name, off, s.Size, s.Module
				if s.Type != 0 {
					r.Type = string(rune(s.Type))
				}
			} else {
				r.Error = "no symbol"
			}
			res = append(res, r)
		} else {
			for _, s := range t.Find(q) {
				r := symResult{Query: q, Addr: s.Addr, Name: s.Name, Size: s.Size, Module: s.Module}
				if s.Type != 0 {
					r.Type = string(rune(s.Type))
				}
				res = append(res, r)
			}
			if len(res) == 0 {
				// A symbol only VMCOREINFO (or the resolver) knows.
				if a, err := kd.LookupSymbol(q); err == nil {
					res = append(res, symResult{Query: q, Addr: a, Name: q})
				} else {
					res = append(res, symResult{Query: q, Error: "not found"})
				}
			}
		}
		for _, r := range res {
			if r.Error != "" {
				failed = append(failed, q)
			}
			if *asJSON {
				b, _ := json.Marshal(r)
				fmt.Fprintf(stdout, "%s\n", b)
				continue
			}
			switch {
			case r.Error != "":
				fmt.Fprintf(stderr, "kvmgen sym: %s: %s\n", q, r.Error)
			case r.Query == r.Name:
				mod := ""
				if r.Module != "" {
					mod = " [" + r.Module + "]"
				}
				fmt.Fprintf(stdout, "%#016x %s%s\n", r.Addr, r.Name, mod)
			default:
				fmt.Fprintf(stdout, "%#016x %s\n", r.Addr, ksym.Format(ksym.Sym{Name: r.Name, Size: r.Size, Module: r.Module}, r.Offset))
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("sym: not found: %s", strings.Join(failed, ", "))
	}
	return nil
}

// parseAddr reads 0x-prefixed hex, a bare string of 9+ hex digits
// (ffffffff81000000), or decimal.
func parseAddr(s string) (uint64, bool) {
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		v, err := strconv.ParseUint(h, 16, 64)
		return v, err == nil
	}
	if len(s) >= 9 {
		if v, err := strconv.ParseUint(s, 16, 64); err == nil {
			return v, true
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}
