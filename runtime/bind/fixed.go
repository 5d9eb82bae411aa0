package bind

import (
	"encoding/binary"
	"errors"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// Decoders of fixed-offset bindings (kvmgen gen -fixed) and of globals.
// Each returns 0 when the bytes are out of range, so that an accessor on a
// zero-value view never panics.

// U8 is b[off].
func U8(b []byte, off int) uint8 {
	if off < 0 || off >= len(b) {
		return 0
	}
	return b[off]
}

// U16LE is the little-endian uint16 at b[off:].
func U16LE(b []byte, off int) uint16 {
	if off < 0 || len(b)-off < 2 {
		return 0
	}
	return binary.LittleEndian.Uint16(b[off:])
}

// U32LE is the little-endian uint32 at b[off:].
func U32LE(b []byte, off int) uint32 {
	if off < 0 || len(b)-off < 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(b[off:])
}

// U64LE is the little-endian uint64 at b[off:].
func U64LE(b []byte, off int) uint64 {
	if off < 0 || len(b)-off < 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(b[off:])
}

// U16BE is the big-endian uint16 at b[off:].
func U16BE(b []byte, off int) uint16 {
	if off < 0 || len(b)-off < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(b[off:])
}

// U32BE is the big-endian uint32 at b[off:].
func U32BE(b []byte, off int) uint32 {
	if off < 0 || len(b)-off < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b[off:])
}

// U64BE is the big-endian uint64 at b[off:].
func U64BE(b []byte, off int) uint64 {
	if off < 0 || len(b)-off < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b[off:])
}

// BitsAt is the n-bit field at data bit offset off in b (see Bits),
// sign-extended to 64 bits when signed; 0 when out of range.
func BitsAt(b []byte, off, n uint, signed, bigEndian bool) uint64 {
	if n == 0 || n > 64 || uint64(len(b))*8 < uint64(off)+uint64(n) {
		return 0
	}
	v := Bits(b, off, n, bigEndian)
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
