// Package procs is the process interface of kvmgen for Linux kernels: the
// Go counterpart of libkvm's kvm_getprocs, kvm_getargv, kvm_getenvv,
// kvm_getloadavg and kvm_getswapinfo, over any kernel target (a crash dump
// or live memory opened with package runtime).
//
// procs reads the kernel through relocatable bindings that kvmgen generates
// (zkvmgen_x86_64_kernel.go, from the member list linux.members): each
// accessor takes its offset from a layout table resolved, when a target is
// opened, from that kernel's own types (its DWARF or BTF) into a Layout.
// One build of a program using procs therefore reads every kernel version
// whose structures have the members it knows (including members that moved
// or were renamed across versions, such as task_struct.__state and
// task_struct.state), on any architecture the runtime reads, and a kernel it
// has never seen as soon as that kernel's types are given. A Layout is
// cached in memory by kernel build ID and can be saved as JSON (SaveLayout,
// LoadLayout) so that later runs need no types at all. FreeBSD kernels are
// read from the offsets they export (NewFreeBSD).
//
// Typical use:
//
//	kd, _ := kvm.Open2(vmlinux, vmcore, os.O_RDONLY, nil)
//	df, _ := dwarfmodel.Open(vmlinux)
//	l, _ := procs.ResolveLayout(df)
//	s, _ := procs.New(kd, l)
//	ps, _ := s.GetProcs(procs.Filter{Op: procs.All})
//	argv, _ := s.Argv(&ps[0])
//
// See docs/process-interface.md for the design and its justification.
package procs
