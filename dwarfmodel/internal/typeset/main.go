// Command typeset opens an ELF file with dwarfmodel and decodes the named
// types and everything they reach: the workload whose time and peak RSS
// docs/BENCHMARKS.md reports (run it under /usr/bin/time -v).
//
//	go build -o /tmp/typeset ./dwarfmodel/internal/typeset
//	/usr/bin/time -v /tmp/typeset [-cache DIR] VMLINUX task_struct mm_struct ...
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

func main() {
	cache := flag.String("cache", "", "index cache directory (Options.CacheDir)")
	flag.Parse()
	args := flag.Args()
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: typeset [-cache DIR] FILE [TYPE...]")
		os.Exit(2)
	}
	t0 := time.Now()
	f, err := dwarfmodel.OpenWith(args[0], dwarfmodel.Options{CacheDir: *cache})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	t1 := time.Now()
	var roots []dwarfmodel.Type
	for _, name := range args[1:] {
		t, err := f.Type(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		roots = append(roots, t)
	}
	t2 := time.Now()
	fmt.Printf("open+index %v, decode %v, total %v, %d types reached\n",
		t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t2.Sub(t0).Round(time.Millisecond), count(roots))
}

// count walks the decoded graph (which may be cyclic) with a visited set.
func count(roots []dwarfmodel.Type) int {
	seen := map[dwarfmodel.Type]bool{}
	stack := roots
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t == nil || seen[t] {
			continue
		}
		seen[t] = true
		switch x := t.(type) {
		case *dwarfmodel.Struct:
			for _, m := range x.Members {
				stack = append(stack, m.Type)
			}
		case *dwarfmodel.Typedef:
			stack = append(stack, x.Type)
		case *dwarfmodel.Pointer:
			stack = append(stack, x.Elem)
		case *dwarfmodel.Array:
			stack = append(stack, x.Elem)
		case *dwarfmodel.Qualified:
			stack = append(stack, x.Type)
		case *dwarfmodel.Func:
			stack = append(stack, x.Return)
			stack = append(stack, x.Params...)
		}
	}
	return len(seen)
}
