package kvm

import "errors"

// SymbolsInTableOrder returns the kernel's symbols with their run-time
// addresses in the order of the table they come from: the dump's kallsyms
// (sorted by address, aliases in the order the kernel's own lookups see
// them: /proc/PID/stack names an address by the first), a System.map or
// /proc/kallsyms copy (its lines' order), or the execfile's symbol table.
// Symbols sorts by address with globals first instead; a backtrace that
// must name addresses as the kernel does needs this order.
func (kd *KVM) SymbolsInTableOrder() ([]KernelSymbol, error) {
	if kd.resolver != nil {
		return nil, kd.seterr(errors.New("symbols come from a resolver, which cannot list them"))
	}
	img, disp, err := kd.symtab()
	if img == nil {
		if err == nil {
			err = errors.New("no symbol table (VMCOREINFO's SYMBOL() lines only)")
		}
		return nil, kd.seterr(err)
	}
	out := make([]KernelSymbol, len(img.list))
	for i, s := range img.list {
		s.Addr += disp
		out[i] = s
	}
	return out, nil
}
