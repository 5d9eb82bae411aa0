package bind

import (
	"encoding/binary"
	"errors"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// Decoders of fixed-offset bindings (kvmgen gen -fixed) and of globals.
// Each returns 0 when the bytes are out of range, so that an accessor on a
// zero-value view never panics.

// FixedUint is the unsigned integer of size bytes (1, 2, 4 or 8) at b[off:],
// in the byte order bigEndian says.
func FixedUint(b []byte, off, size int, bigEndian bool) uint64 {
	if off < 0 || len(b)-off < size {
		return 0
	}
	b = b[off:]
	switch size {
	case 1:
		return uint64(b[0])
	case 2:
		if bigEndian {
			return uint64(binary.BigEndian.Uint16(b))
		}
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		if bigEndian {
			return uint64(binary.BigEndian.Uint32(b))
		}
		return uint64(binary.LittleEndian.Uint32(b))
	case 8:
		if bigEndian {
			return binary.BigEndian.Uint64(b)
		}
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// BitsAt is the n-bit field at data bit offset off in b (DWARF 5
// DW_AT_data_bit_offset, in the target's bit numbering: little-endian
// targets count from the least significant bit of byte 0, big-endian ones
// from the most significant), sign-extended to 64 bits when signed; 0 when
// out of range.
func BitsAt(b []byte, off, n uint, signed, bigEndian bool) uint64 {
	if n == 0 || n > 64 || uint64(len(b))*8 < uint64(off)+uint64(n) {
		return 0
	}
	v := bitField(b, off, n, bigEndian)
	if signed {
		return uint64(SignExtend(v, n))
	}
	return v
}

// SubAt is the view of the size bytes at off in v (a member by value).
func SubAt(v View, off, size int) View {
	return View{b: v.b, addr: v.addr + uint64(off), snap: sub(v.snap, off, size)}
}

// MakeView is a view of bytes b read at addr through binding bd.
func MakeView(bd *Binding, addr uint64, b []byte) View { return View{b: bd, addr: addr, snap: b} }

// Decode decodes an integer of len(b) bytes (1, 2, 4 or 8) in the bound
// kernel's byte order, sign-extended when signed.
func (b *Binding) Decode(p []byte, signed bool) uint64 {
	if b == nil {
		return 0
	}
	v := b.uintAt(p, 0, len(p))
	if signed && len(p) < 8 && len(p) > 0 {
		return uint64(SignExtend(v, uint(len(p))*8))
	}
	return v
}

// LookupSymbol is t.LookupSymbol, an error for a nil target.
func LookupSymbol(t kvm.Target, name string) (uint64, error) {
	if t == nil {
		return 0, errNotBound
	}
	return t.LookupSymbol(name)
}

// ReadBytes reads n bytes at addr.
func ReadBytes(m kvm.Memory, addr uint64, n int) ([]byte, error) {
	if m == nil {
		return nil, errNotBound
	}
	if n < 0 {
		return nil, errors.New("negative length")
	}
	b := make([]byte, n)
	if err := kvm.ReadFull(m, b, addr); err != nil {
		return nil, err
	}
	return b, nil
}
