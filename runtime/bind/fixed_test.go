package bind

import (
	"encoding/binary"
	"testing"
)

func TestFixedUint(t *testing.T) {
	b := []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09}
	for _, c := range []struct {
		off, size int
		be        bool
		want      uint64
	}{
		{0, 1, false, 0x01},
		{8, 1, true, 0x09},
		{1, 2, false, uint64(binary.LittleEndian.Uint16(b[1:]))},
		{1, 2, true, 0x0203},
		{1, 4, false, 0x05040302},
		{1, 4, true, 0x02030405},
		{1, 8, false, 0x0908070605040302},
		{0, 8, true, 0x0102030405060708},
		// Out of range or not an integer size: 0, never a panic.
		{2, 8, false, 0},
		{9, 1, false, 0},
		{-1, 2, false, 0},
		{0, 3, false, 0},
		{0, 0, true, 0},
		{0, 16, false, 0},
		{1 << 62, 8, false, 0},
		{0, -1, false, 0},
		{0, 1 << 62, true, 0},
	} {
		if got := FixedUint(b, c.off, c.size, c.be); got != c.want {
			t.Errorf("FixedUint(off %d, size %d, big-endian %v) = %#x, want %#x", c.off, c.size, c.be, got, c.want)
		}
	}
	if got := FixedUint(nil, 0, 4, false); got != 0 {
		t.Errorf("FixedUint of no bytes = %#x", got)
	}
}
