package unwind

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// sparseMem is memory made of 8-byte words.
type sparseMem map[uint64]uint64

func (m sparseMem) ReadMemory(b []byte, addr uint64) (int, error) {
	for i := 0; i < len(b); i += 8 {
		v, ok := m[addr+uint64(i)]
		if !ok {
			return i, fmt.Errorf("no memory at %#x", addr+uint64(i))
		}
		binary.LittleEndian.PutUint64(b[i:], v)
	}
	return len(b), nil
}

// record stores a frame record {fp, lr} at addr.
func (m sparseMem) record(addr, fp, lr uint64) { m[addr], m[addr+8] = fp, lr }

const (
	stackLo = 0xffff800008240000
	stackHi = stackLo + 0x4000
	final   = stackHi - 0x150 + 0x130 // a pt_regs' stackframe
)

func TestUnwindARM64Chain(t *testing.T) {
	m := sparseMem{}
	m.record(stackLo+0x100, stackLo+0x200, 0xffffbbb6f1000010)
	// A return address signed with a pointer authentication code.
	m.record(stackLo+0x200, final, 0x12babbb6f1000020)
	m[final], m[final+8] = 0, 0
	st := StackRange{Lo: stackLo, Hi: stackHi, Name: "task"}
	tr := UnwindARM64(m, StartARM64{PC: 0xffffbbb6f1000000, FP: stackLo + 0x100},
		ARM64Options{Stacks: []StackRange{st}, Final: final, FinalUser: true})
	if tr.Stop != "" || tr.End != "user mode" || len(tr.Frames) != 3 {
		t.Fatalf("%+v", tr)
	}
	if tr.Frames[2].PC != 0xffffbbb6f1000020 || tr.Frames[1].FP != stackLo+0x200 {
		t.Errorf("frames %+v", tr.Frames)
	}
}

func TestUnwindARM64Stops(t *testing.T) {
	st := StackRange{Lo: stackLo, Hi: stackHi, Name: "task"}
	irq := StackRange{Lo: 0xffff800008000000, Hi: 0xffff800008004000, Name: "irq"}
	o := ARM64Options{Stacks: []StackRange{st, irq}, Final: final}
	for _, c := range []struct {
		name  string
		mem   func(m sparseMem)
		start uint64
		want  string
	}{
		{"leaves the stacks", func(m sparseMem) { m.record(stackLo+0x100, 0xffff000012345000, 1<<63) }, stackLo + 0x100, "leaves the task's stacks (last on the task stack)"},
		{"backwards", func(m sparseMem) { m.record(stackLo+0x100, stackLo+0x80, 1<<63) }, stackLo + 0x100, "does not move up the stack (on the task stack"},
		{"misaligned", func(m sparseMem) { m.record(stackLo+0x100, stackLo+0x203, 1<<63) }, stackLo + 0x100, "not 8-byte aligned"},
		{"zero before the final record", func(m sparseMem) { m.record(stackLo+0x100, 0, 1<<63) }, stackLo + 0x100, "a zero frame pointer before the final frame record"},
		{"unreadable", func(m sparseMem) {}, stackLo + 0x100, "reading the frame record at 0xffff800008240100"},
		{"back to a stack left", func(m sparseMem) {
			m.record(irq.Lo+0x100, stackLo+0x100, 1<<63)
			m.record(stackLo+0x100, irq.Lo+0x200, 1<<63)
		}, irq.Lo + 0x100, "goes back to the irq stack"},
	} {
		m := sparseMem{}
		c.mem(m)
		tr := UnwindARM64(m, StartARM64{PC: 0xffffbbb6f1000000, FP: c.start}, o)
		if !strings.Contains(tr.Stop, c.want) || tr.End != "" {
			t.Errorf("%s: stopped %q, end %q; want %q", c.name, tr.Stop, tr.End, c.want)
		}
		if len(tr.Frames) == 0 {
			t.Errorf("%s: no frames kept", c.name)
		}
	}
	// A loop on one record is bounded.
	m := sparseMem{}
	o2 := ARM64Options{MaxFrames: 10}
	m.record(stackLo+0x100, stackLo+0x100, 1<<63)
	if tr := UnwindARM64(m, StartARM64{FP: stackLo + 0x100}, o2); len(tr.Frames) > 10 || tr.Stop == "" {
		t.Errorf("loop: %d frames, stopped %q", len(tr.Frames), tr.Stop)
	}
}

func TestStripPAC(t *testing.T) {
	for _, c := range []struct{ in, want uint64 }{
		{0x12babbb6f1000020, 0xffffbbb6f1000020},
		{0xffffbbb6f1000020, 0xffffbbb6f1000020},
		{0x0012_0000_0040_1000, 0x0000_0000_0040_1000}, // a user address
	} {
		if got := StripPAC(c.in, 48); got != c.want {
			t.Errorf("StripPAC(%#x) = %#x, want %#x", c.in, got, c.want)
		}
	}
}
