package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kvmgen/kvmgen/btfmodel"
	"github.com/kvmgen/kvmgen/gen"
	"golang.org/x/tools/go/packages"
)

func init() {
	register(command{
		name:  "gen",
		usage: "gen [-kernel VMLINUX|-btf FILE|-core DUMP] -type T[,T] [-var V[,V]] [-pkg P] [-o FILE] [-depth N] [-check]: write Go bindings",
		run:   runGen,
	})
}

const genSynopsis = `gen [flags]

Writes Go bindings for the kernel's types (-type) and globals (-var): a view
type per struct or union with one accessor per member decoding the target's
byte order, typed pointers, enums with String methods, and Kernel methods
reading named globals through a kvmgen runtime target.

Under go generate the package name defaults to $GOPACKAGE and the output to
zkvmgen_<arch>_kernel.go beside $GOFILE, and the result is type-checked.
Without -o (and outside go generate) the code goes to standard output.`

func runGen(stdout io.Writer, args []string) error {
	fs := newFlagSet("gen", genSynopsis)
	kernel := kernelFlag(fs)
	btfFile := btfFlag(fs)
	core := fs.String("core", "", "take the types from this dump's own BTF (with no -kernel or -btf)")
	var types, vars listFlag
	fs.Var(&types, "type", "types to generate, comma-separated or repeated: task_struct, \"struct pid\", atomic_t")
	fs.Var(&vars, "var", "global variables to generate accessors for, comma-separated or repeated; NAME:TYPE gives the type of a global BTF does not describe (\"-var 'tk_core:struct { seq, timekeeper }'\")")
	pkg := fs.String("pkg", os.Getenv("GOPACKAGE"), "Go package name (default $GOPACKAGE, else \"kernel\")")
	out := fs.String("o", "", "output file (default: zkvmgen_<arch>_kernel.go under go generate, else standard output)")
	depth := fs.Int("depth", 0, "pointer hops to follow from the named types to generate the types they point to")
	fixed := fs.Bool("fixed", false, "compile the generation-time offsets into the accessors (bindings locked to this kernel's build ID) instead of relocating them at Bind from the target's own types")
	prefix := fs.String("prefix", "", "prefix for the Go names of generated types (two kernels' bindings in one package)")
	check := fs.Bool("check", false, "type-check the output's package after writing it (always on under go generate)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("gen: unexpected arguments %q (types go in -type, globals in -var)", fs.Args())
	}
	if len(types) == 0 && len(vars) == 0 {
		return errors.New("gen: give at least one -type or -var")
	}
	f, err := typesFor(*kernel, *btfFile, *core)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	defer f.Close()
	var names []string
	for _, v := range vars {
		name, typ, ok := strings.Cut(v, ":")
		names = append(names, name)
		if !ok {
			continue
		}
		bf, isBTF := f.Source.(*btfmodel.File)
		if !isBTF {
			continue // DWARF knows every global's type: TYPE is for BTF
		}
		if err := bf.AddGlobal(name, typ); err != nil {
			return fmt.Errorf("gen: -var %s: %w", v, err)
		}
	}
	src, err := gen.Generate(f, gen.Config{
		Package: *pkg,
		Types:   types,
		Vars:    names,
		Depth:   *depth,
		Fixed:   *fixed,
		Prefix:  *prefix,
		Command: commandLine("kvmgen gen", args),
	})
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	goGenerate := os.Getenv("GOFILE") != "" && os.Getenv("GOPACKAGE") != ""
	path := *out
	if path == "" && goGenerate {
		path = "zkvmgen_" + archFileName(f.DataModel().Arch) + "_kernel.go"
	}
	if path == "" {
		_, err := stdout.Write(src)
		return err
	}
	if err := writeIfChanged(path, src); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if *check || goGenerate {
		return typeCheck(path)
	}
	return nil
}

// archFileName makes an architecture name safe in a file name.
func archFileName(arch string) string {
	s := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, arch)
	if s == "" {
		return "unknown"
	}
	return s
}

// writeIfChanged writes src to path unless it already holds those bytes,
// so that regenerating leaves an unchanged file's time alone.
func writeIfChanged(path string, src []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, src) {
		return nil
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("cannot write %s: directory %s does not exist", path, dir)
	}
	tmp, err := os.CreateTemp(dir, ".kvmgen-*.go.tmp")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if _, err := tmp.Write(src); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// typeCheck loads the package holding path and reports its errors.
func typeCheck(path string) error {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return err
	}
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:  dir,
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		return fmt.Errorf("gen: type-checking %s: %w", path, err)
	}
	var msgs []string
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			msgs = append(msgs, e.Error())
		}
	})
	if len(msgs) > 0 {
		return fmt.Errorf("gen: the package of %s does not compile:\n\t%s", path, strings.Join(msgs, "\n\t"))
	}
	return nil
}

// commandLine spells a command line for the generated header, quoting
// arguments that need it.
func commandLine(prefix string, args []string) string {
	parts := []string{prefix}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'\\$`") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
