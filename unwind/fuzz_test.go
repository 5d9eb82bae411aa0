package unwind

import (
	"encoding/binary"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

const (
	textBase  = 0xffffffff81000000
	stackBase = 0xffffc90000000000
)

// entry encodes a 6.1 orc_entry.
func entry(spOff, bpOff int16, spReg, bpReg, typ uint16, end bool) []byte {
	b := make([]byte, 6)
	binary.LittleEndian.PutUint16(b, uint16(spOff))
	binary.LittleEndian.PutUint16(b[2:], uint16(bpOff))
	fl := spReg | bpReg<<4 | typ<<8
	if end {
		fl |= 1 << 10
	}
	binary.LittleEndian.PutUint16(b[4:], fl)
	return b
}

// synthetic: three functions at textBase, +0x100, +0x200, each a CALL frame
// of 16 bytes (sp+16), and an end-of-stack entry at +0x300; a stack whose
// return addresses chain f0 -> f1 -> f2 -> end.
func synthetic() (ips, ents, stack []byte) {
	addrs := []uint64{textBase, textBase + 0x100, textBase + 0x200, textBase + 0x300}
	ipAddr := uint64(textBase + 0x10000)
	for i, a := range addrs {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(int32(int64(a)-int64(ipAddr+uint64(4*i)))))
		ips = append(ips, b[:]...)
		if i == 3 {
			ents = append(ents, entry(0, 0, regUndefined, regUndefined, 0, true)...)
		} else {
			ents = append(ents, entry(16, 0, regSP, regUndefined, 0, false)...)
		}
	}
	stack = make([]byte, 256)
	// Frame of f0 at sp 0: return address into f1 at sp+8.
	binary.LittleEndian.PutUint64(stack[8:], textBase+0x110)
	binary.LittleEndian.PutUint64(stack[24:], textBase+0x210)
	binary.LittleEndian.PutUint64(stack[40:], textBase+0x310)
	return
}

func TestSyntheticUnwind(t *testing.T) {
	ips, ents, stack := synthetic()
	tab, err := DecodeTable(ips, textBase+0x10000, ents, ORC61)
	if err != nil {
		t.Fatal(err)
	}
	tr := UnwindX86(&testfix.FlatMem{Base: stackBase, Data: stack}, &ORC{Kernel: tab}, StartX86{IP: textBase + 0x10, SP: stackBase, Exact: true}, Options{})
	if len(tr.Frames) != 4 || tr.End != "end of stack" || tr.Stop != "" {
		t.Fatalf("%+v", tr)
	}
	for i, want := range []uint64{textBase + 0x10, textBase + 0x110, textBase + 0x210, textBase + 0x310} {
		if tr.Frames[i].PC != want {
			t.Errorf("frame %d: %#x, want %#x", i, tr.Frames[i].PC, want)
		}
	}
	// A loop (the return address points back with the same sp) stops.
	binary.LittleEndian.PutUint64(stack[24:], 0)
	tr = UnwindX86(&testfix.FlatMem{Base: stackBase, Data: stack}, &ORC{Kernel: tab}, StartX86{IP: textBase + 0x10, SP: stackBase, Exact: true}, Options{})
	if len(tr.Frames) != 2 || tr.End != "end of stack" {
		t.Errorf("zero return address: %+v", tr)
	}
	tr = UnwindX86(&testfix.FlatMem{Base: stackBase, Data: stack[:20]}, &ORC{Kernel: tab}, StartX86{IP: textBase + 0x110, SP: stackBase + 16, Exact: true}, Options{})
	if tr.Stop == "" || len(tr.Frames) != 1 {
		t.Errorf("unreadable stack: %+v", tr)
	}
}

func FuzzUnwindX86(f *testing.F) {
	ips, ents, stack := synthetic()
	f.Add(ips, ents, stack, uint64(textBase+0x10), uint8(0))
	f.Add(ips, ents, stack, uint64(textBase+0x110), uint8(2))
	f.Fuzz(func(t *testing.T, ips, ents, stack []byte, ip uint64, format uint8) {
		if len(ips) > 1<<16 || len(ents) > 1<<16 {
			return
		}
		tab, err := DecodeTable(ips, textBase+0x10000, ents, ORCFormat(format%3))
		if err != nil {
			return
		}
		tr := UnwindX86(&testfix.FlatMem{Base: stackBase, Data: stack}, &ORC{Kernel: tab}, StartX86{IP: ip, SP: stackBase, BP: stackBase + 64, Exact: format&4 != 0, Regs: map[int]uint64{}}, Options{MaxFrames: 64})
		if len(tr.Frames) > 64 || len(tr.Frames) == 0 {
			t.Fatalf("%d frames", len(tr.Frames))
		}
		if tr.Stop == "" && tr.End == "" {
			t.Fatal("an unwind ended without saying why")
		}
		for i := range tab.Entries {
			_, _ = tab.Find(tab.IPs[i])
		}
	})
}
