package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kvmgen/kvmgen/btfmodel"
	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/isf"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

func init() {
	register(command{
		name:  "isf",
		usage: "isf [-o FILE] -kernel VMLINUX | -btf FILE -symbols System.map | -core DUMP: write a Volatility 3 symbol table (ISF JSON)",
		run:   runISF,
	})
}

const isfSynopsis = `isf [-o FILE] (-kernel VMLINUX | -btf FILE [-symbols System.map] | -core DUMP)

Writes the kernel's types and symbols as a Volatility 3 symbol table (ISF,
JSON, schema ` + isf.FormatVersion + `), from one of:

  -kernel VMLINUX   its DWARF (else its .BTF), its .symtab, and the bytes of
                    its linux_banner;
  -btf FILE         a BTF file (raw, /sys/kernel/btf/vmlinux, or an ELF image
                    with .BTF), with -symbols System.map (or the image's own
                    .symtab); linux_banner's bytes come from the image when
                    FILE is one, else the ISF has none and Volatility cannot
                    match it to a dump by banner;
  -core DUMP        the dump alone: the BTF in its memory, its kallsyms and
                    the linux_banner in its memory.

-o FILE writes to FILE (default: standard output); a name ending in .json.xz
or .json.gz is compressed. Put the file in volatility3/symbols/linux/; see
docs/isf.md.`

func runISF(stdout io.Writer, args []string) (err error) {
	fs := newFlagSet("isf", isfSynopsis)
	kernel := fs.String("kernel", "", "kernel image with DWARF (vmlinux)")
	btfFile := btfFlag(fs)
	symbols := symbolsFlag(fs)
	core := fs.String("core", "", "a dump: types from its BTF, symbols from its kallsyms, banner from its memory")
	out := fs.String("o", "", "output file (default standard output); .json.xz or .json.gz compresses")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("isf: unexpected arguments %q", fs.Args())
	}
	n := 0
	for _, s := range []string{*kernel, *btfFile, *core} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("isf: give exactly one of -kernel VMLINUX, -btf FILE or -core DUMP")
	}
	if *symbols != "" && *btfFile == "" {
		return errors.New("isf: -symbols goes with -btf (-kernel and -core have their own symbols)")
	}

	var in *isfInput
	switch {
	case *kernel != "":
		in, err = isfFromKernel(*kernel)
	case *btfFile != "":
		in, err = isfFromBTF(*btfFile, *symbols)
	default:
		in, err = isfFromCore(*core)
	}
	if err != nil {
		return fmt.Errorf("isf: %w", err)
	}
	defer in.close()
	if in.opts.Banner == nil {
		fmt.Fprintf(stderr, "kvmgen: isf: %s; the ISF has no linux_banner bytes and Volatility will not match it to a dump by banner\n", in.noBanner)
	}

	w := stdout
	var wc io.WriteCloser
	if *out != "" {
		if wc, err = isf.Create(*out); err != nil {
			return fmt.Errorf("isf: %w", err)
		}
		w = wc
		defer func() {
			if cerr := wc.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("isf: %s: %w", *out, cerr)
			}
			if err != nil {
				os.Remove(*out)
			}
		}()
	}
	st, err := isf.Write(w, in.types, in.opts)
	if err != nil {
		return fmt.Errorf("isf: %w", err)
	}
	if st.Symbols == 0 {
		return errors.New("isf: no symbols written")
	}
	fmt.Fprintf(stderr, "kvmgen: isf: %d user types (%d anonymous), %d enums, %d base types, %d symbols (%d typed) from %s\n",
		st.UserTypes, st.AnonymousTypes, st.Enums, st.BaseTypes, st.Symbols, st.TypedSymbols, in.describe)
	return nil
}

// isfInput is what an ISF is written from.
type isfInput struct {
	types    isf.Types
	opts     isf.Options
	describe string
	noBanner string // why there is no banner
	closers  []func() error
}

func (in *isfInput) close() {
	for _, c := range in.closers {
		c()
	}
}

func lister(ts *typeSource) (isf.Types, error) {
	t, ok := ts.Source.(isf.Types)
	if !ok {
		return nil, fmt.Errorf("%s cannot list its types", ts.describe())
	}
	return t, nil
}

// isfFromKernel: DWARF (else .BTF), .symtab and linux_banner of an image.
func isfFromKernel(name string) (*isfInput, error) {
	if err := regularFile(name, "-kernel"); err != nil {
		return nil, err
	}
	if err := isELF(name, "-kernel", "a kernel image (vmlinux) with DWARF"); err != nil {
		return nil, err
	}
	ts, err := openTypes(name, "", nil)
	if err != nil {
		return nil, err
	}
	in := &isfInput{describe: ts.describe(), closers: []func() error{ts.Close}}
	if in.types, err = lister(ts); err != nil {
		in.close()
		return nil, err
	}
	sum, err := isf.SHA256File(name)
	if err != nil {
		in.close()
		return nil, err
	}
	src := isf.Source{Kind: "dwarf", Name: filepath.Base(name), SHA256: sum}
	if df, ok := ts.Source.(*dwarfmodel.File); ok {
		in.opts.TypeSources = []isf.Source{src}
		syms, err := df.Symbols()
		if err != nil {
			in.close()
			return nil, err
		}
		for _, s := range syms {
			in.opts.Symbols = append(in.opts.Symbols, isf.Symbol{Name: s.Name, Address: s.Value, Global: s.Bind == elf.STB_GLOBAL || s.Bind == elf.STB_WEAK})
		}
	} else {
		in.opts.TypesFrom = "BTF in " + filepath.Base(name) + " sha256 " + sum
		if in.opts.Symbols, err = elfSymtab(name); err != nil {
			in.close()
			return nil, err
		}
	}
	in.opts.SymbolSources = []isf.Source{{Kind: "symtab", Name: src.Name, SHA256: sum}}
	if len(in.opts.Symbols) == 0 {
		in.close()
		return nil, fmt.Errorf("%s: no symbol table (.symtab): give a vmlinux that is not stripped", name)
	}
	in.opts.Banner, err = isf.ELFBanner(name, nil)
	if err != nil {
		in.noBanner = err.Error()
	}
	return in, nil
}

// isfFromBTF: a BTF file with a System.map (or the image's .symtab).
func isfFromBTF(name, sysmap string) (*isfInput, error) {
	if err := regularFile(name, "-btf"); err != nil && name != sysBTF {
		return nil, err
	}
	elfImage := isELF(name, "-btf", "") == nil
	if sysmap == "" && !elfImage {
		return nil, fmt.Errorf("-btf %s is raw BTF, which has no symbols: give -symbols System.map (the kernel's, from the same build)", name)
	}
	ts, err := openTypes("", name, nil)
	if err != nil {
		return nil, err
	}
	in := &isfInput{describe: ts.describe(), closers: []func() error{ts.Close}}
	if in.types, err = lister(ts); err != nil {
		in.close()
		return nil, err
	}
	sum, _ := isf.SHA256File(name)
	in.opts.TypesFrom = "BTF in " + filepath.Base(name)
	if sum != "" {
		in.opts.TypesFrom += " sha256 " + sum
	}
	if sysmap != "" {
		if err := regularFile(sysmap, "-symbols"); err != nil {
			in.close()
			return nil, err
		}
		f, err := os.Open(sysmap)
		if err != nil {
			in.close()
			return nil, err
		}
		in.opts.Symbols, err = isf.ParseSystemMap(f, sysmap)
		f.Close()
		if err != nil {
			in.close()
			return nil, fmt.Errorf("-symbols: %w", err)
		}
		msum, _ := isf.SHA256File(sysmap)
		in.opts.SymbolSources = []isf.Source{{Kind: "system-map", Name: filepath.Base(sysmap), SHA256: msum}}
	} else {
		if in.opts.Symbols, err = elfSymtab(name); err != nil {
			in.close()
			return nil, err
		}
		in.opts.SymbolSources = []isf.Source{{Kind: "symtab", Name: filepath.Base(name), SHA256: sum}}
	}
	if elfImage {
		in.opts.Banner, err = isf.ELFBanner(name, nil)
		if err != nil {
			in.noBanner = err.Error()
		}
	} else {
		in.noBanner = fmt.Sprintf("-btf %s is raw BTF, not a kernel image: it holds no linux_banner", name)
	}
	return in, nil
}

// isfFromCore: the dump alone (BTF and kallsyms in its memory).
func isfFromCore(core string) (*isfInput, error) {
	if err := regularFile(core, "-core"); err != nil {
		return nil, err
	}
	kd, err := kvm.OpenOptions("", core, kvm.Options{Flags: os.O_RDONLY})
	if err != nil {
		return nil, fmt.Errorf("-core %s: %w", core, err)
	}
	ts, err := openTypes("", "", kd)
	if err != nil {
		kd.Close()
		return nil, err
	}
	in := &isfInput{describe: ts.describe(), closers: []func() error{ts.Close, kd.Close}}
	if in.types, err = lister(ts); err != nil {
		in.close()
		return nil, err
	}
	ks, err := kd.Symbols()
	if err != nil {
		in.close()
		return nil, fmt.Errorf("-core %s: no symbol table in the dump (kallsyms): %w", core, err)
	}
	disp := uint64(kd.Kerndisp())
	for _, s := range ks {
		a := s.Addr
		if s.Type != 'A' && s.Type != 'a' {
			a -= disp // absolute symbols (x86-64 per-cpu offsets) are not displaced
		}
		in.opts.Symbols = append(in.opts.Symbols, isf.Symbol{Name: s.Name, Address: a, Global: s.Type >= 'A' && s.Type <= 'Z'})
	}
	base := filepath.Base(core)
	in.opts.TypesFrom = "BTF and kallsyms in the memory of the dump " + base
	in.opts.SymbolSources = []isf.Source{{Kind: "symtab", Name: base + " (kallsyms)"}}
	if b, ok := ts.Source.(*btfmodel.File); ok {
		in.opts.TypesFrom += fmt.Sprintf(" (%d BTF types)", b.NumTypes())
	}
	if id := kd.BuildID(); id != "" {
		in.opts.TypesFrom += ", build ID " + id
	}
	in.opts.Banner, err = dumpBanner(kd)
	if err != nil {
		in.noBanner = fmt.Sprintf("-core %s: %v", core, err)
	}
	return in, nil
}

// dumpBanner reads linux_banner from a dump: up to and including its NUL.
func dumpBanner(kd *kvm.KVM) ([]byte, error) {
	a, err := kd.LookupSymbol("linux_banner")
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 1024)
	n, err := kd.Read2(kvm.KVAddr(a), buf)
	if n == 0 && err != nil {
		return nil, fmt.Errorf("reading linux_banner at %#x: %w", a, err)
	}
	i := bytes.IndexByte(buf[:n], 0)
	if i < 0 || !bytes.HasPrefix(buf, []byte("Linux version ")) {
		return nil, fmt.Errorf("linux_banner at %#x is not a NUL-terminated \"Linux version ...\" string", a)
	}
	return buf[:i+1], nil
}

// isELF refuses a file that is not ELF; want (if not "") says what was
// expected.
func isELF(name, flagName, want string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != elf.ELFMAG {
		if want == "" {
			return fmt.Errorf("%s %s: not an ELF file", flagName, name)
		}
		return fmt.Errorf("%s %s: not an ELF file; want %s", flagName, name, want)
	}
	return nil
}

func elfSymtab(name string) ([]isf.Symbol, error) {
	ef, err := elf.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer ef.Close()
	syms, err := ef.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: no symbol table: %w", name, err)
	}
	return isf.ELFSymbols(syms), nil
}
