package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	kvm "github.com/kvmgen/kvmgen/runtime"
)

func init() {
	register(command{
		name:  "nlist",
		usage: "nlist [-kernel VMLINUX | -core DUMP | -symbols FILE] SYMBOL...: print symbols' values, sizes and types",
		run:   runNlist,
	})
}

const nlistSynopsis = `nlist [-kernel VMLINUX | -core DUMP | -symbols FILE] SYMBOL...

With -kernel, prints each SYMBOL's link-time value (hex), size, type and
binding from the kernel image's ELF symbol table (.symtab, else .dynsym),
one per line. The value has no KASLR displacement.

Without -kernel, the target's own symbols are used: the kallsyms table in
the dump (-core), a System.map (-symbols), or the running kernel's
/proc/kallsyms; values are run-time addresses (KASLR applied), the size is
"-" (kallsyms records none) and the type is nm's letter (T, t, D, B, ...).

Missing symbols are listed on standard error and the command fails.`

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
	core := fs.String("core", "", "the dump whose kallsyms to read (without -kernel)")
	symbols := symbolsFlag(fs)
	asJSON := jsonFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("nlist: give at least one SYMBOL")
	}
	if *kernel == "" {
		return nlistTarget(stdout, *core, *symbols, fs.Args(), *asJSON)
	}
	if err := regularFile(*kernel, "-kernel"); err != nil {
		return fmt.Errorf("nlist: %w", err)
	}
	ef, err := elf.Open(*kernel)
	if err != nil {
		return fmt.Errorf("nlist: %s: not an ELF kernel image: %w", *kernel, err)
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
		if *asJSON {
			if err := writeJSON(stdout, nlistRow{Name: n, Value: hexAddr(s.Value), Size: &s.Size, Type: symType(elf.ST_TYPE(s.Info)), Bind: symBind(elf.ST_BIND(s.Info))}); err != nil {
				return err
			}
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

// nlistTarget prints run-time symbol values from the target's own symbols.
func nlistTarget(stdout io.Writer, core, symbols string, names []string, asJSON bool) error {
	if core == "" && symbols != "" {
		core = kvm.DevNull // symbols only
	}
	ta := &targetArgs{kernel: new(string), core: &core, btf: new(string), symbols: &symbols, ignore: new(bool)}
	kd, err := ta.open()
	if err != nil {
		return fmt.Errorf("nlist: %w", err)
	}
	defer kd.Close()
	types := map[string]byte{}
	if all, err := kd.Symbols(); err == nil {
		want := map[string]bool{}
		for _, n := range names {
			want[n] = true
		}
		for _, s := range all {
			if want[s.Name] {
				if _, ok := types[s.Name]; !ok {
					types[s.Name] = s.Type
				}
			}
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 1, ' ', 0)
	var missing []string
	for _, n := range names {
		a, err := kd.LookupSymbol(n)
		if err != nil {
			missing = append(missing, n)
			continue
		}
		typ := "?"
		if c, ok := types[n]; ok && c != 0 {
			typ = string(rune(c))
		}
		if asJSON {
			if err := writeJSON(stdout, nlistRow{Name: n, Value: hexAddr(a), Type: typ, RunTime: true}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(tw, "%s\t%#016x\t-\t%s\n", n, a, typ)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(missing) > 0 {
		for _, n := range missing {
			fmt.Fprintf(stderr, "kvmgen nlist: %s: not found\n", n)
		}
		return &SymbolNotFoundError{File: kd.SymbolSource(), Names: missing}
	}
	return nil
}

// nlistRow is one line of `kvmgen nlist -json`.
type nlistRow struct {
	Name    string  `json:"name"`
	Value   hexAddr `json:"value"`
	Size    *uint64 `json:"size,omitempty"` // unknown for kallsyms
	Type    string  `json:"type"`           // ELF type (func, object), or kallsyms' letter
	Bind    string  `json:"bind,omitempty"`
	RunTime bool    `json:"run_time,omitempty"` // value has the KASLR displacement (kallsyms)
}
