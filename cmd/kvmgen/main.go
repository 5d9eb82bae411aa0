// Command kvmgen reads a kernel image's DWARF and writes Go bindings for its
// types (kvmgen gen), prints type layouts (kvmgen layout) and symbols
// (kvmgen nlist), and inspects crash dumps and live targets through the
// kvmgen runtime (kvmgen info, kvmgen read, ...).
//
// Usage:
//
//	kvmgen COMMAND [flags] [args]
//
// Run `kvmgen -h` for the list of commands and `kvmgen COMMAND -h` for a
// command's flags. The kernel image defaults to $KVMGEN_KERNEL.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// command is one subcommand. Each file registers its own from init().
type command struct {
	name  string
	usage string // one line: "name FLAGS ARGS: what it does"
	run   func(stdout io.Writer, args []string) error
}

var commands = map[string]command{}

// register adds a subcommand; it panics on a duplicate name, which is a
// programming error caught by any test run.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("kvmgen: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// stderr is where diagnostics, usage and progress go; tests replace it.
var stderr io.Writer = os.Stderr

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: kvmgen COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %s\n", commands[n].usage)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The kernel image (-kernel) defaults to $KVMGEN_KERNEL. Run `kvmgen COMMAND -h` for a command's flags.")
}

// run runs the command line args (without the program name).
func run(stdout io.Writer, args []string) error {
	if len(args) == 0 {
		usage(stderr)
		return errors.New("no command given")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q (kvmgen -h lists the commands)", args[0])
	}
	fullUsage.Store(helpRequested(args[1:]))
	err := c.run(stdout, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// helpRequested says whether args ask for a command's help.
func helpRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "kvmgen: %v\n", err)
		os.Exit(1)
	}
}

// newFlagSet makes a subcommand's flag set: errors returned, output to stderr.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The whole text on -h; after a usage error, the error (flag prints
	// it) and the synopsis's first line only.
	fs.Usage = func() {
		if !fullUsage.Load() {
			first, _, _ := strings.Cut(synopsis, "\n")
			fmt.Fprintf(fs.Output(), "usage: kvmgen %s\n(kvmgen %s -h for the flags)\n", first, name)
			return
		}
		fmt.Fprintf(fs.Output(), "usage: kvmgen %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// fullUsage says the command being run was asked for -h: its flag set
// prints the whole usage then, and only the synopsis after a usage error.
var fullUsage atomic.Bool

// kernelFlag adds -kernel, defaulting to $KVMGEN_KERNEL.
func kernelFlag(fs *flag.FlagSet) *string {
	return fs.String("kernel", os.Getenv("KVMGEN_KERNEL"), "kernel image with DWARF (vmlinux, kernel.debug, any ELF); default $KVMGEN_KERNEL")
}

// openKernel opens a kernel image's DWARF model, showing progress on
// stderr when stderr is a terminal and indexing takes more than a second.
func openKernel(name string) (*dwarfmodel.File, error) {
	if name == "" {
		return nil, errors.New("no kernel image: give -kernel FILE or set $KVMGEN_KERNEL")
	}
	if err := regularFile(name, "-kernel"); err != nil {
		return nil, err
	}
	var opts dwarfmodel.Options
	// The index of a kernel's DWARF is kept between runs, keyed by its build
	// ID and sizes (dwarfmodel.Options.CacheDir): a second run skips the
	// indexing pass. KVMGEN_INDEX_CACHE=off turns that off; any other value
	// names the directory.
	switch d := os.Getenv("KVMGEN_INDEX_CACHE"); d {
	case "off":
	case "":
		opts.CacheDir = dwarfmodel.DefaultCacheDir()
	default:
		opts.CacheDir = d
	}
	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		start := time.Now()
		var mu sync.Mutex
		opts.Progress = func(done, total int64) {
			mu.Lock()
			defer mu.Unlock()
			if bar == nil {
				if time.Since(start) < time.Second || total <= 0 {
					return
				}
				bar = progressbar.NewOptions64(total,
					progressbar.OptionSetWriter(f),
					progressbar.OptionSetDescription("indexing "+name),
					progressbar.OptionShowBytes(true),
					progressbar.OptionClearOnFinish(),
					progressbar.OptionThrottle(100*time.Millisecond))
			}
			_ = bar.Set64(done)
		}
	}
	kf, err := dwarfmodel.OpenWith(name, opts)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return nil, err
	}
	return kf, nil
}

// splitList splits repeated or comma-separated flag values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}
