package kvm

import (
	"encoding/binary"
	"errors"
	"testing"
)

// fakePhys is sparse physical memory for page-table tests.
type fakePhys map[uint64][]byte // page base -> 4 KiB

func (m fakePhys) ReadPhys(buf []byte, pa uint64) (int, error) {
	done := 0
	for done < len(buf) {
		a := pa + uint64(done)
		p, ok := m[a&^0xfff]
		if !ok {
			return done, errPageExcluded
		}
		done += copy(buf[done:], p[a&0xfff:])
	}
	return done, nil
}

func (m fakePhys) set(pa, v uint64) {
	p, ok := m[pa&^0xfff]
	if !ok {
		p = make([]byte, 4096)
		m[pa&^0xfff] = p
	}
	binary.LittleEndian.PutUint64(p[pa&0xfff:], v)
}

// idx returns the page-table index of va at a level (1 = PTE).
func idx(va uint64, level int) uint64 { return va >> (12 + 9*uint(level-1)) & 0x1ff }

// TestX86Walker builds 4- and 5-level tables by hand, mapping pages of
// each size, and checks the walker against the construction.
func TestX86Walker(t *testing.T) {
	for _, levels := range []int{4, 5} {
		m := fakePhys{}
		const root = 0x1000
		next := uint64(0x100000) // table allocator
		alloc := func() uint64 { next += 0x1000; m.set(next, 0); return next }
		// table returns the table at level lvl for va, creating entries.
		walk := func(va uint64, stop int) uint64 {
			table := uint64(root)
			for l := levels; l > stop; l-- {
				ea := table + idx(va, l)*8
				var b [8]byte
				m.ReadPhys(b[:], ea)
				e := binary.LittleEndian.Uint64(b[:])
				if e&1 == 0 {
					e = alloc() | 0x63
					m.set(ea, e)
				}
				table = e & x86PTEAddrMask
			}
			return table
		}
		m.set(root, 0)
		va4k := uint64(0xffff888000123000)
		va2m := uint64(0xffffffff81200000)
		va1g := uint64(0xffff888140000000)
		if levels == 5 {
			va4k = 0xff11000000123000 // needs bits above 47
		}
		m.set(walk(va4k, 1)+idx(va4k, 1)*8, 0x7654000|0x63)
		m.set(walk(va2m, 2)+idx(va2m, 2)*8, 0x3400000|0xe3)  // PS
		m.set(walk(va1g, 3)+idx(va1g, 3)*8, 0x80000000|0xe3) // PS
		notPresent := va4k + 0x1000
		m.set(walk(notPresent, 1)+idx(notPresent, 1)*8, 0x7655000) // present bit clear
		w := &x86Walker{phys: m, root: root, levels: levels, cache: newTLB()}
		for _, tc := range []struct{ va, pa, n uint64 }{
			{va4k + 0x10, 0x7654010, 0xff0},
			{va2m + 0x12345, 0x3412345, 0x200000 - 0x12345},
			{va1g + 0x123456, 0x80123456, 0x40000000 - 0x123456},
		} {
			for pass := 0; pass < 2; pass++ { // uncached, then cached
				pa, n, err := w.translate(tc.va)
				if err != nil || pa != tc.pa || (pass == 0 && n != tc.n) {
					t.Errorf("%d levels, pass %d: translate(%#x) = %#x, %#x, %v; want %#x, %#x", levels, pass, tc.va, pa, n, err, tc.pa, tc.n)
				}
			}
		}
		var te *TranslationError
		if _, _, err := w.translate(notPresent); !errors.As(err, &te) || te.Level != 1 || te.Addr != notPresent {
			t.Errorf("not present: %v", err)
		}
		if _, _, err := w.translate(0x0000900000000000 | 1<<47); !errors.As(err, &te) {
			t.Errorf("non-canonical: %v", err)
		}
		// A large-page bit at the top level is garbage, reported as such.
		top := uint64(0xffffc00000000000)
		m.set(root+idx(top, levels)*8, 0x200000|0xe3)
		if _, _, err := w.translate(top); !errors.As(err, &te) || te.Level != levels {
			t.Errorf("PS at level %d: %v", levels, err)
		}
		// A table pointing at memory the dump lacks: an error naming it.
		other := uint64(0xffffd00000000000)
		m.set(root+idx(other, levels)*8, 0xdead000000|0x63)
		if _, _, err := w.translate(other); !errors.As(err, &te) || te.Level != levels-1 {
			t.Errorf("missing table: %v", err)
		}
		// Reads through kernelMem cross page boundaries.
		km := &kernelMem{phys: m, xlat: w}
		m.set(0x7654ff8, 0x1122334455667788)
		buf := make([]byte, 8)
		if _, err := km.ReadMemory(buf, va4k+0xff8); err != nil || binary.LittleEndian.Uint64(buf) != 0x1122334455667788 {
			t.Errorf("ReadMemory = %x, %v", buf, err)
		}
		if n, err := km.ReadMemory(make([]byte, 16), va4k+0xff8); err == nil || n != 8 {
			t.Errorf("read into a not-present page: %d, %v", n, err)
		}
	}
}
