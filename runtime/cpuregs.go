package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Regs is one CPU's registers as a dump recorded them: an NT_PRSTATUS note
// (QEMU's dump-guest-memory and the kdump kernel write one per CPU) and,
// from QEMU, its "QEMU" CPU-state note (which adds the segment bases and
// control registers).
type Regs struct {
	CPU int // index among the dump's notes, in the order written (QEMU: the vCPU index)
	// PID is the NT_PRSTATUS pr_pid: the task for a kdump kernel's notes;
	// QEMU writes the vCPU index + 1.
	PID  int32
	Arch string
	// Names and Values list the registers in the architecture's order:
	// x86_64: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi
	// orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs (struct
	// user_regs_struct), then from the QEMU note cr0 cr2 cr3 cr4,
	// qemu_gs_base (the GS segment's base at the stop) and, when the note
	// has it, kernel_gs_base (the MSR swapgs exchanges: the kernel's per-CPU
	// base while user code runs); aarch64: x0..x30 sp pc pstate.
	Names  []string
	Values []uint64
	// PC, SP and FP are the program counter, stack pointer and frame
	// pointer (rip, rsp, rbp; pc, sp, x29).
	PC, SP, FP uint64
}

// Get returns a register by name.
func (r *Regs) Get(name string) (uint64, bool) {
	for i, n := range r.Names {
		if n == name {
			return r.Values[i], true
		}
	}
	return 0, false
}

var x86_64RegNames = []string{"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
	"rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss",
	"fs_base", "gs_base", "ds", "es", "fs", "gs"}

// ErrNoCPURegisters says the dump records no CPU registers.
var ErrNoCPURegisters = errors.New("the dump records no CPU registers (no NT_PRSTATUS notes)")

// prstatusRegOff is offsetof(struct elf_prstatus, pr_reg) on 64-bit Linux.
const prstatusRegOff = 112

// CPURegisters returns the registers of every CPU the dump recorded, from
// its ELF notes (ELF vmcores, QEMU dumps) or the kdump-compressed file's
// note section.
func (kd *KVM) CPURegisters() ([]Regs, error) {
	var notes []elfNote
	var bo binary.ByteOrder = binary.LittleEndian
	if kd.Info().BigEndian {
		bo = binary.BigEndian
	}
	switch d := kd.dump.(type) {
	case *elfCore:
		notes = d.notes
	case *kdumpDump:
		var err error
		notes, err = d.readNotes()
		if err != nil {
			return nil, kd.seterr(err)
		}
	default:
		return nil, kd.seterr(ErrNoCPURegisters)
	}
	arch := kd.Info().Arch
	var out []Regs
	qemu := 0
	for _, n := range notes {
		switch {
		case n.Name == "CORE" && n.Type == 1: // NT_PRSTATUS
			r := Regs{CPU: len(out), Arch: arch}
			if len(n.Desc) >= 36 {
				r.PID = int32(bo.Uint32(n.Desc[32:]))
			}
			var names []string
			switch arch {
			case "x86_64":
				names = x86_64RegNames
			case "aarch64":
				for i := 0; i < 31; i++ {
					names = append(names, fmt.Sprintf("x%d", i))
				}
				names = append(names, "sp", "pc", "pstate")
			default:
				return nil, kd.seterr(fmt.Errorf("CPU registers of %s dumps are not supported", arch))
			}
			if len(n.Desc) < prstatusRegOff+8*len(names) {
				return nil, kd.seterr(fmt.Errorf("NT_PRSTATUS note of %d bytes is too short", len(n.Desc)))
			}
			for i, name := range names {
				r.Names = append(r.Names, name)
				r.Values = append(r.Values, bo.Uint64(n.Desc[prstatusRegOff+8*i:]))
			}
			switch arch {
			case "x86_64":
				r.PC, _ = r.Get("rip")
				r.SP, _ = r.Get("rsp")
				r.FP, _ = r.Get("rbp")
			case "aarch64":
				r.PC, _ = r.Get("pc")
				r.SP, _ = r.Get("sp")
				r.FP, _ = r.Get("x29")
			}
			out = append(out, r)
		case n.Name == "QEMU" && arch == "x86_64" && len(n.Desc) >= 8+18*8+10*24+5*8:
			// QEMUCPUState: version, size, rax rbx rcx rdx rsi rdi rsp rbp
			// r8..r15 rip rflags, then cs ds es fs gs ss ldt tr gdt idt (24
			// bytes each: selector, limit, flags, pad, base), cr[5],
			// kernel_gs_base (version 1, when size allows).
			if qemu < len(out) {
				r := &out[qemu]
				crs := 8 + 18*8 + 10*24
				for i, name := range []string{"cr0", "cr2", "cr3", "cr4"} {
					off := crs + 8*i
					if i > 0 {
						off = crs + 8*(i+1)
					}
					r.Names = append(r.Names, name)
					r.Values = append(r.Values, bo.Uint64(n.Desc[off:]))
				}
				gsBase := bo.Uint64(n.Desc[8+18*8+4*24+16:])
				r.Names = append(r.Names, "qemu_gs_base")
				r.Values = append(r.Values, gsBase)
				// kernel_gs_base follows cr[5] when the note's own size
				// field says it is there (QEMU 6.0 and later): the MSR
				// that holds the kernel's GS base (its per-CPU area)
				// while the CPU runs user code.
				if end := crs + 5*8 + 8; len(n.Desc) >= end && int(bo.Uint32(n.Desc[4:])) >= end {
					r.Names = append(r.Names, "kernel_gs_base")
					r.Values = append(r.Values, bo.Uint64(n.Desc[end-8:]))
				}
			}
			qemu++
		}
	}
	if len(out) == 0 {
		return nil, kd.seterr(ErrNoCPURegisters)
	}
	return out, nil
}

// readNotes reads a kdump-compressed file's ELF notes (the sub-header's
// offset_note, size_note; header version 4 and later).
func (d *kdumpDump) readNotes() ([]elfNote, error) {
	var v [4]byte
	if _, err := d.r.ReadAt(v[:], 8); err != nil {
		return nil, err
	}
	version := d.bo.Uint32(v[:])
	if version < 4 {
		return nil, ErrNoCPURegisters
	}
	sub := make([]byte, 64)
	if _, err := d.r.ReadAt(sub, int64(d.blockSize)); err != nil && err != io.EOF {
		return nil, err
	}
	var off, size int64
	if d.info.PtrSize == 8 {
		off, size = int64(d.bo.Uint64(sub[48:])), int64(d.bo.Uint64(sub[56:]))
	} else {
		off, size = int64(d.bo.Uint64(sub[32:])), int64(d.bo.Uint32(sub[40:]))
	}
	if size <= 0 || size > maxNoteSize || off <= 0 || (d.size >= 0 && off+size > d.size) {
		return nil, ErrNoCPURegisters
	}
	b := make([]byte, size)
	if _, err := d.r.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, err
	}
	return parseNotes(b, d.bo), nil
}
