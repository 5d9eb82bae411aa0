package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Per-CPU variables (DEFINE_PER_CPU): each CPU has its own copy, at the
// variable's address plus __per_cpu_offset[cpu]. On x86-64 SMP kernels the
// per-CPU section is linked at address 0 (its symbols are offsets, which
// KASLR does not move); elsewhere it is linked with the kernel and the
// offsets are relative to the run-time __per_cpu_start.

// CPURangeError is returned for a CPU number outside [0, nr_cpu_ids).
type CPURangeError struct {
	CPU, NumCPUs int
}

func (e *CPURangeError) Error() string {
	return fmt.Sprintf("CPU %d out of range: the kernel has %d possible CPUs (nr_cpu_ids)", e.CPU, e.NumCPUs)
}

// NumCPUs returns the kernel's nr_cpu_ids: the number of possible CPUs,
// 1 for a uniprocessor kernel without the symbol.
func NumCPUs(t Target) (int, error) {
	if t == nil {
		return 0, errNoTarget
	}
	addr, err := t.LookupSymbol("nr_cpu_ids")
	if err != nil {
		if _, e2 := t.LookupSymbol("__per_cpu_offset"); e2 != nil {
			return 1, nil // !CONFIG_SMP
		}
		return 0, fmt.Errorf("nr_cpu_ids: %w", err)
	}
	b := make([]byte, 4) // unsigned int
	if err := ReadFull(t, b, addr); err != nil {
		return 0, fmt.Errorf("nr_cpu_ids: %w", err)
	}
	n := binary.LittleEndian.Uint32(b)
	if targetBigEndian(t) {
		n = binary.BigEndian.Uint32(b)
	}
	if n == 0 || n > 1<<16 {
		return 0, fmt.Errorf("nr_cpu_ids is %d: not a CPU count", n)
	}
	return int(n), nil
}

func targetBigEndian(t Target) bool {
	if in, ok := t.(interface{ Info() DumpInfo }); ok {
		return in.Info().BigEndian
	}
	return false
}

func targetPtrSize(t Target) int {
	if in, ok := t.(interface{ Info() DumpInfo }); ok && in.Info().PtrSize != 0 {
		return in.Info().PtrSize
	}
	return 8
}

// PerCPUAddr returns the address of CPU cpu's copy of the per-CPU variable
// name.
func PerCPUAddr(t Target, name string, cpu int) (uint64, error) {
	if t == nil {
		return 0, errNoTarget
	}
	n, err := NumCPUs(t)
	if err != nil {
		return 0, err
	}
	if cpu < 0 || cpu >= n {
		return 0, &CPURangeError{CPU: cpu, NumCPUs: n}
	}
	v, err := t.LookupSymbol(name)
	if err != nil {
		return 0, err
	}
	if start, err := t.LookupSymbol("__per_cpu_start"); err == nil {
		var disp uint64
		if d, ok := t.(interface{ Kerndisp() KVAddr }); ok {
			disp = uint64(d.Kerndisp())
		}
		// Zero-based per-CPU section (x86-64 SMP): the variable's link
		// address is its offset in the section, whatever displacement the
		// target applied to the symbols.
		if v >= start && (start == 0 || start == disp) {
			v -= start
		}
	}
	return perCPU(t, v, cpu, n)
}

// PerCPU returns the address of CPU cpu's copy of the per-CPU object at
// base: a __percpu pointer's value as the kernel stores it (what
// alloc_percpu returned), plus __per_cpu_offset[cpu]. It is the address
// libkvm's kvm_read_zpcpu reads.
func PerCPU(t Target, base uint64, cpu int) (uint64, error) {
	if t == nil {
		return 0, errNoTarget
	}
	n, err := NumCPUs(t)
	if err != nil {
		return 0, err
	}
	if cpu < 0 || cpu >= n {
		return 0, &CPURangeError{CPU: cpu, NumCPUs: n}
	}
	return perCPU(t, base, cpu, n)
}

func perCPU(t Target, v uint64, cpu, n int) (uint64, error) {
	offs, err := t.LookupSymbol("__per_cpu_offset")
	if err != nil {
		if n == 1 {
			return v, nil // !CONFIG_SMP: the variable itself
		}
		return 0, err
	}
	ps := targetPtrSize(t)
	b := make([]byte, ps)
	if err := ReadFull(t, b, offs+uint64(cpu*ps)); err != nil {
		return 0, fmt.Errorf("__per_cpu_offset[%d]: %w", cpu, err)
	}
	var off uint64
	switch {
	case ps == 4 && targetBigEndian(t):
		off = uint64(binary.BigEndian.Uint32(b))
	case ps == 4:
		off = uint64(binary.LittleEndian.Uint32(b))
	case targetBigEndian(t):
		off = binary.BigEndian.Uint64(b)
	default:
		off = binary.LittleEndian.Uint64(b)
	}
	if ps == 4 {
		return uint64(uint32(v + off)), nil
	}
	return v + off, nil
}

var errNoTarget = errors.New("no target (nil)")
