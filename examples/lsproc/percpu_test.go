package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

// TestCurrentTaskSMP is issue #9's per-CPU evidence: on the two-CPU dump
// (dumps/smp/: a spinner pinned to each CPU, truth/percpu.txt "CPU PID"),
// the generated accessor CurrentTask(cpu) reads, for each CPU, the task
// the guest pinned there. Two more checks tie it to the CPU's own state as
// the dump's register notes recorded it, independent of __per_cpu_offset:
//   - the CPU's page-table root (CR3, QEMU's CPU-state note) holds the same
//     page as that task's mm->pgd read through the kernel's mapping;
//   - the CPU's kernel GS base (its per-CPU area) is CurrentTaskAddr(cpu)
//     less one and the same offset for every CPU.
//
// With the vmlinux's DWARF and with the dump's own BTF.
func TestCurrentTaskSMP(t *testing.T) {
	dir := "linux-amd64/dumps/smp"
	core := testfix.Path(t, dir+"/elf.vmcore")
	want := readPerCPU(t, filepath.Join(testfix.Path(t, dir+"/truth"), "percpu.txt"))
	for _, kernel := range []string{testfix.Path(t, "linux-amd64/vmlinux"), ""} {
		name := "dwarf"
		if kernel == "" {
			name = "btf"
		}
		t.Run(name, func(t *testing.T) {
			kd, err := kvm.Open2(kernel, core, os.O_RDONLY, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer kd.Close()
			src, err := kernelTypes(kernel, kd)
			if err != nil {
				t.Fatal(err)
			}
			k, err := Bind(kd, bind.Types(src))
			if err != nil {
				t.Fatal(err)
			}
			n, err := k.NumCPUs()
			if err != nil || n != len(want) {
				t.Fatalf("NumCPUs = %d, %v; the guest pinned spinners to %d CPUs", n, err, len(want))
			}
			regs, err := kd.CPURegisters()
			if err != nil || len(regs) != n {
				t.Fatalf("CPURegisters: %d notes, %v; want %d", len(regs), err, n)
			}
			pgdOff := memberOffset(t, src, "mm_struct", "pgd")
			var pcpuOff []uint64
			for cpu := 0; cpu < n; cpu++ {
				cur, err := k.CurrentTask(cpu)
				if err != nil {
					t.Fatal(err)
				}
				task, err := cur.Read()
				if err != nil {
					t.Fatalf("CPU %d: current_task %#x: %v", cpu, cur.Addr, err)
				}
				if int(task.Pid()) != want[cpu] || task.CommString() != "kvmgen-spin" {
					t.Errorf("CPU %d: current_task is PID %d (%s); the guest pinned kvmgen-spin %d there", cpu, task.Pid(), task.CommString(), want[cpu])
				}

				// CR3 against the task's mm->pgd.
				r := regs[cpu]
				cr3, ok := r.Get("cr3")
				if !ok {
					t.Fatalf("CPU %d: the dump's notes have no CR3", cpu)
				}
				pgd := readU64(t, kd, task.Mm().Addr+uint64(pgdOff))
				viaMM := make([]byte, 4096)
				if _, err := kd.ReadMemory(viaMM, pgd); err != nil {
					t.Fatalf("CPU %d: mm->pgd %#x: %v", cpu, pgd, err)
				}
				viaCR3 := make([]byte, 4096)
				// Bits 51:12 hold the root; bit 12 is PTI's user copy (the kernel's is the page before).
				root := cr3 & 0x000ffffffffff000 &^ 0x1000
				if _, err := kd.ReadPhys(viaCR3, root); err != nil {
					t.Fatalf("CPU %d: CR3 %#x: %v", cpu, cr3, err)
				}
				if !bytes.Equal(viaMM, viaCR3) {
					t.Errorf("CPU %d: the page at CR3 %#x is not PID %d's mm->pgd %#x", cpu, cr3, task.Pid(), pgd)
				}

				// The per-CPU base: whichever GS base is a kernel address (in
				// user mode the kernel's sits in the swapped-out MSR).
				var gs uint64
				for _, name := range []string{"gs_base", "qemu_gs_base", "kernel_gs_base"} {
					if v, ok := r.Get(name); ok && v >= 0xffff800000000000 {
						gs = v
					}
				}
				addr, err := k.CurrentTaskAddr(cpu)
				if err != nil || gs == 0 || addr < gs {
					t.Fatalf("CPU %d: CurrentTaskAddr %#x (%v), kernel GS base %#x", cpu, addr, err, gs)
				}
				pcpuOff = append(pcpuOff, addr-gs)
				t.Logf("CPU %d: PID %d, CR3 %#x, GS base %#x, current_task at GS+%#x", cpu, task.Pid(), cr3, gs, addr-gs)
			}
			for cpu, off := range pcpuOff {
				if off != pcpuOff[0] || off >= 1<<20 {
					t.Errorf("CPU %d: current_task at GS base + %#x; CPU 0: + %#x (one per-CPU offset, within the area)", cpu, off, pcpuOff[0])
				}
			}
		})
	}
}

func readPerCPU(t *testing.T, path string) map[int]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]int{}
	for i, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue // "CPU PID"
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("%s:%d: %q", path, i+1, l)
		}
		cpu, err1 := strconv.Atoi(f[0])
		pid, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s:%d: %q", path, i+1, l)
		}
		m[cpu] = pid
	}
	if len(m) < 2 {
		t.Fatalf("%s: %d CPUs; the two-CPU guest pins a spinner to each", path, len(m))
	}
	return m
}

func memberOffset(t *testing.T, src dwarfmodel.Source, typ, member string) int64 {
	t.Helper()
	ty, err := src.Type(typ)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := dwarfmodel.Underlying(ty).(*dwarfmodel.Struct)
	if !ok {
		t.Fatalf("%s is a %T", typ, ty)
	}
	off, _, ok := dwarfmodel.MemberPath(st, member)
	if !ok {
		t.Fatalf("%s has no %s", typ, member)
	}
	return off
}

func readU64(t *testing.T, kd *kvm.KVM, addr uint64) uint64 {
	t.Helper()
	b := make([]byte, 8)
	if _, err := kd.ReadMemory(b, addr); err != nil {
		t.Fatalf("read %#x: %v", addr, err)
	}
	return binary.LittleEndian.Uint64(b)
}
