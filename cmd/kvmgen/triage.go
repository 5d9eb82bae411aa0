package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kvmgen/kvmgen/ksym"
	"github.com/kvmgen/kvmgen/modules"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// Helpers shared by the crash-triage commands (dmesg, sym, mod, bt).

// kernelSymtab makes a ksym.Table of the kernel's own symbols (run-time
// addresses), bounded by the run-time _end.
func kernelSymtab(kd *kvm.KVM) (*ksym.Table, error) {
	all, err := kd.SymbolsInTableOrder()
	if err != nil {
		return nil, err
	}
	syms := make([]ksym.Sym, len(all))
	for i, s := range all {
		syms[i] = ksym.Sym{Name: s.Name, Addr: s.Addr, Type: s.Type}
	}
	end, _ := kd.LookupSymbol("_end")
	return ksym.New(syms, end), nil
}

// kernelSymtabLazy is kernelSymtab unsorted (ksym.NewLazy), for naming a
// few addresses (Prefetch them first).
func kernelSymtabLazy(kd *kvm.KVM) (*ksym.Table, error) {
	all, err := kd.SymbolsInTableOrder()
	if err != nil {
		return nil, err
	}
	syms := make([]ksym.Sym, len(all))
	for i, s := range all {
		syms[i] = ksym.Sym{Name: s.Name, Addr: s.Addr, Type: s.Type}
	}
	end, _ := kd.LookupSymbol("_end")
	return ksym.NewLazy(syms, end), nil
}

// loadModules lists the loaded modules with the target's types (struct
// module's layout); withSyms reads each module's symbol table too.
func loadModules(kd *kvm.KVM, ta *targetArgs, withSyms bool) ([]modules.Module, error) {
	head, err := kd.LookupSymbol("modules")
	if err != nil {
		return nil, symbolHint(fmt.Errorf("the kernel's module list: %w", err), ta)
	}
	ts, err := ta.types(kd)
	if err != nil {
		return nil, fmt.Errorf("struct module's layout: %w", err)
	}
	defer ts.Close()
	l, err := modules.LayoutFromTypes(ts)
	if err != nil {
		return nil, err
	}
	return modules.List(kd, head, l, modules.Options{Symbols: withSyms})
}

// addModules adds the modules' areas and symbols to t.
func addModules(t *ksym.Table, mods []modules.Module) {
	for _, m := range mods {
		areas := make([]ksym.Range, 0, len(m.Areas))
		for _, a := range m.Areas {
			areas = append(areas, ksym.Range{Start: a.Base, End: a.Base + a.Size})
		}
		t.AddModule(m.Name, areas, m.Symbols)
	}
}

// fullSymtab is the kernel's symbols plus the loaded modules' (a failure
// to list the modules is reported on stderr, and the kernel's symbols
// are still used).
func fullSymtab(kd *kvm.KVM, ta *targetArgs) (*ksym.Table, error) {
	t, err := kernelSymtab(kd)
	if err != nil {
		return nil, err
	}
	mods, err := loadModules(kd, ta, true)
	if err != nil {
		fmt.Fprintf(stderr, "kvmgen: no module symbols: %v\n", err)
	}
	addModules(t, mods)
	return t, nil
}

// symbolHint adds to a missing-symbol error, when neither -kernel nor
// -symbols was given, that the dump's kallsyms holds text symbols only on
// a kernel without CONFIG_KALLSYMS_ALL (Debian's arm64 kernels): data
// symbols (init_task, modules, runqueues...) need the vmlinux or its
// System.map.
func symbolHint(err error, ta *targetArgs) error {
	var se *kvm.SymbolError
	if err == nil || ta == nil || *ta.kernel != "" || *ta.symbols != "" ||
		!(errors.As(err, &se) || strings.Contains(err.Error(), " not found")) {
		return err
	}
	return fmt.Errorf("%w (without CONFIG_KALLSYMS_ALL, as in Debian's arm64 kernels, the dump's kallsyms has text symbols only: give -kernel VMLINUX or -symbols System.map)", err)
}
