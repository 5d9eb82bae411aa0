package unwind

import (
	"encoding/binary"
	"fmt"
)

// Frame is one frame of a backtrace.
type Frame struct {
	PC uint64 // the instruction address: exact for the first frame and after an interrupt, else a return address
	SP uint64 // the stack pointer in this frame (x86-64; arm64: the first frame's only)
	// FP is, on arm64, the frame pointer in this frame: the address of
	// its frame record.
	FP uint64
	// Exact is true when PC is the interrupted instruction itself (the
	// first frame from a CPU's registers, or after an interrupt or
	// exception frame); a return address is named by PC-1 otherwise.
	Exact bool
	// Regs is set on the frame that an interrupt or exception frame
	// (struct pt_regs) resumes.
	Regs bool
}

// Trace is an unwind's result.
type Trace struct {
	Frames []Frame
	// Stop says why the unwind stopped when it did not reach the end of
	// the stack ("" when it did: a user-mode frame or the stack's end).
	Stop string
	// End says how a complete unwind ended ("user mode", "end of stack").
	End string
}

// x86-64 struct pt_regs offsets.
const (
	ptR15 = 0
	ptR13 = 16
	ptBP  = 32
	ptR10 = 56
	ptDX  = 96
	ptDI  = 112
	ptIP  = 128
	ptCS  = 136
	ptSP  = 152
	ptSz  = 168
)

// StartX86 is where an x86-64 unwind starts.
type StartX86 struct {
	IP, SP, BP uint64
	Exact      bool // IP is not a return address (CPU registers)
	// Regs holds the full register set when known (the CPU's), by pt_regs
	// offset: DX, DI, R10, R13 for entries that use them.
	Regs map[int]uint64
}

// FromInactiveFrame returns the start of a blocked task's unwind: sp is
// task->thread.sp, which points at struct inactive_task_frame (x86-64:
// r15 r14 r13 r12 bx bp ret_addr; bpOff and retOff are bp's and ret_addr's
// offsets, size its size).
func FromInactiveFrame(mem Memory, sp uint64, bpOff, retOff, size int) (StartX86, error) {
	b := make([]byte, size)
	if err := readFull(mem, b, sp); err != nil {
		return StartX86{}, fmt.Errorf("reading the inactive task frame at %#x: %w", sp, err)
	}
	return StartX86{
		IP: binary.LittleEndian.Uint64(b[retOff:]),
		BP: binary.LittleEndian.Uint64(b[bpOff:]),
		SP: sp + uint64(size),
	}, nil
}

// Options bound an unwind.
type Options struct {
	MaxFrames int // default 128
}

// UnwindX86 walks an x86-64 kernel stack with ORC.
func UnwindX86(mem Memory, orc *ORC, st StartX86, o Options) Trace {
	if o.MaxFrames == 0 {
		o.MaxFrames = 128
	}
	var tr Trace
	ip, sp, bp := st.IP, st.SP, st.BP
	exact := st.Exact
	regs := st.Regs // the full registers of the current frame, when known
	partial := false
	word := func(addr uint64) (uint64, error) {
		var b [8]byte
		if err := readFull(mem, b[:], addr); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(b[:]), nil
	}
	tr.Frames = append(tr.Frames, Frame{PC: ip, SP: sp, Exact: exact, Regs: regs != nil && !st.Exact})
	for len(tr.Frames) < o.MaxFrames {
		look := ip
		if !exact {
			look = ip - 1
		}
		if ip>>47 == 0 {
			// The lower canonical half: the CPU (or the frame's saved
			// registers) was running user code; the kernel stack ends here.
			tr.End = "user mode"
			return tr
		}
		e, ok := orc.Find(look)
		if !ok {
			tr.Stop = fmt.Sprintf("no ORC entry for %#x", ip)
			return tr
		}
		switch e.Type {
		case TypeEndOfStack:
			tr.End = "end of stack"
			return tr
		case TypeUndefined:
			tr.Stop = fmt.Sprintf("ORC has no unwind information for %#x", ip)
			return tr
		}
		// The frame's CFA (the caller's stack pointer).
		var cfa uint64
		var err error
		reg := func(off int, name string) (uint64, bool) {
			if regs == nil || partial {
				tr.Stop = fmt.Sprintf("at %#x: ORC needs %s, which is not known here", ip, name)
				return 0, false
			}
			v, ok := regs[off]
			if !ok {
				tr.Stop = fmt.Sprintf("at %#x: ORC needs %s, which is not known here", ip, name)
			}
			return v, ok
		}
		switch e.SPReg {
		case regSP:
			cfa = sp + uint64(int64(e.SPOffset))
		case regBP:
			cfa = bp + uint64(int64(e.SPOffset))
		case regSPIndirect:
			cfa, err = word(sp)
			cfa += uint64(int64(e.SPOffset))
		case regBPIndirect:
			cfa, err = word(bp + uint64(int64(e.SPOffset)))
		case regDI, regDX, regR10, regR13:
			off := map[uint8]int{regDI: ptDI, regDX: ptDX, regR10: ptR10, regR13: ptR13}[e.SPReg]
			v, ok := reg(off, map[uint8]string{regDI: "rdi", regDX: "rdx", regR10: "r10", regR13: "r13"}[e.SPReg])
			if !ok {
				return tr
			}
			cfa = v + uint64(int64(e.SPOffset))
		default:
			tr.Stop = fmt.Sprintf("at %#x: unknown ORC sp_reg %d", ip, e.SPReg)
			return tr
		}
		if err != nil {
			tr.Stop = fmt.Sprintf("at %#x: reading the stack: %v", ip, err)
			return tr
		}
		var nip, nsp uint64
		nexact := e.Signal
		var nregs map[int]uint64
		npartial := false
		switch e.Type {
		case TypeCall:
			nip, err = word(cfa - 8)
			nsp = cfa
			nexact = e.Signal
		case TypeRegs:
			b := make([]byte, ptSz)
			if err = readFull(mem, b, cfa); err == nil {
				nregs = map[int]uint64{}
				for off := 0; off < ptSz; off += 8 {
					nregs[off] = binary.LittleEndian.Uint64(b[off:])
				}
				nip, nsp = nregs[ptIP], nregs[ptSP]
				if nregs[ptCS]&3 != 0 {
					tr.End = "user mode"
					return tr
				}
			}
		case TypeRegsPartial:
			// cfa points at the iret frame: ip, cs, flags, sp, ss.
			b := make([]byte, 40)
			if err = readFull(mem, b, cfa); err == nil {
				nip, nsp = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[24:])
				if binary.LittleEndian.Uint64(b[8:])&3 != 0 {
					tr.End = "user mode"
					return tr
				}
				nregs = map[int]uint64{}
				npartial = true
			}
		}
		if err != nil {
			tr.Stop = fmt.Sprintf("at %#x: reading the frame at %#x: %v", ip, cfa, err)
			return tr
		}
		// The caller's frame pointer.
		nbp := bp
		switch e.BPReg {
		case regUndefined:
			if nregs != nil && !npartial {
				nbp = nregs[ptBP]
			}
		case regPrevSP:
			nbp, err = word(cfa + uint64(int64(e.BPOffset)))
		case regBP:
			nbp, err = word(bp + uint64(int64(e.BPOffset)))
		default:
			tr.Stop = fmt.Sprintf("at %#x: unknown ORC bp_reg %d", ip, e.BPReg)
			return tr
		}
		if err != nil {
			tr.Stop = fmt.Sprintf("at %#x: reading the saved frame pointer: %v", ip, err)
			return tr
		}
		if nip == 0 {
			tr.End = "end of stack"
			return tr
		}
		// The stack grows down: a caller's frame is above, except across
		// an interrupt or exception frame (another stack).
		if e.Type == TypeCall && (e.SPReg == regSP || e.SPReg == regBP) && nsp <= sp {
			tr.Stop = fmt.Sprintf("at %#x: the stack pointer goes backwards (%#x after %#x)", ip, nsp, sp)
			return tr
		}
		ip, sp, bp, exact, regs, partial = nip, nsp, nbp, nexact, nregs, npartial
		tr.Frames = append(tr.Frames, Frame{PC: ip, SP: sp, Exact: exact, Regs: nregs != nil})
	}
	tr.Stop = fmt.Sprintf("stopped after %d frames", o.MaxFrames)
	return tr
}
