package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func init() {
	register(command{
		name:  "nlist",
		usage: "nlist -kernel VMLINUX SYMBOL...: print symbols' link-time values, sizes and types",
		run:   runNlist,
	})
}

const nlistSynopsis = `nlist -kernel VMLINUX SYMBOL...

Prints each SYMBOL's link-time value (hex), size, type and binding from the
kernel image's ELF symbol table (.symtab, else .dynsym), one per line. The
value has no KASLR displacement: read a target's run-time addresses with
kvmgen info / the runtime's Nlist2. Missing symbols are listed on standard
error and the command fails.`

// SymbolNotFoundError lists the symbols nlist could not find.
type SymbolNotFoundError struct {
	File  string
	Names []string
}

func (e *SymbolNotFoundError) Error() string {
	return fmt.Sprintf("%s: %d symbol(s) not found: %s", e.File, len(e.Names), strings.Join(e.Names, ", "))
}

func runNlist(stdout io.Writer, args []string) error {
	fs := newFlagSet("nlist", nlistSynopsis)
	kernel := kernelFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("nlist: give at least one SYMBOL")
	}
	if *kernel == "" {
		return errors.New("nlist: no kernel image: give -kernel FILE or set $KVMGEN_KERNEL")
	}
	ef, err := elf.Open(*kernel)
	if err != nil {
		return fmt.Errorf("nlist: %w", err)
	}
	defer ef.Close()
	syms, err := ef.Symbols()
	if errors.Is(err, elf.ErrNoSymbols) {
		syms, err = ef.DynamicSymbols()
	}
	if err != nil {
		if errors.Is(err, elf.ErrNoSymbols) {
			return fmt.Errorf("nlist: %s: no symbol table (.symtab or .dynsym)", *kernel)
		}
		return fmt.Errorf("nlist: %s: %w", *kernel, err)
	}
	want := map[string]bool{}
	for _, n := range fs.Args() {
		want[n] = true
	}
	found := map[string]elf.Symbol{}
	for _, s := range syms {
		if !want[s.Name] {
			continue
		}
		// Prefer a defined symbol, then a global one, over what came first.
		if old, ok := found[s.Name]; ok && !(old.Section == elf.SHN_UNDEF && s.Section != elf.SHN_UNDEF) {
			continue
		}
		found[s.Name] = s
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 1, ' ', 0)
	var missing []string
	for _, n := range fs.Args() {
		s, ok := found[n]
		if !ok || s.Section == elf.SHN_UNDEF {
			missing = append(missing, n)
			continue
		}
		fmt.Fprintf(tw, "%s\t%#016x\t%d\t%s\t%s\n", n, s.Value, s.Size, symType(elf.ST_TYPE(s.Info)), symBind(elf.ST_BIND(s.Info)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(missing) > 0 {
		for _, n := range missing {
			fmt.Fprintf(stderr, "kvmgen nlist: %s: not found\n", n)
		}
		return &SymbolNotFoundError{File: *kernel, Names: missing}
	}
	return nil
}

func symType(t elf.SymType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "STT_"))
}

func symBind(b elf.SymBind) string {
	return strings.ToLower(strings.TrimPrefix(b.String(), "STB_"))
}
