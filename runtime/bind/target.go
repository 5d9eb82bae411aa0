package bind

import (
	"github.com/kvmgen/kvmgen/dwarfmodel"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// bitField extracts the bitfield of bitSize bits at data bit offset
// dataBitOffset of b, numbered as BitsAt says, zero-extended (see
// SignExtend).
func bitField(b []byte, dataBitOffset, bitSize uint, bigEndian bool) uint64 {
	if bitSize == 0 || bitSize > 64 {
		return 0
	}
	var v uint64
	if bigEndian {
		for i := uint(0); i < bitSize; i++ {
			bit := dataBitOffset + i
			v = v<<1 | uint64(b[bit/8]>>(7-bit%8)&1)
		}
		return v
	}
	for i := uint(0); i < bitSize; i++ {
		bit := dataBitOffset + i
		v |= uint64(b[bit/8]>>(bit%8)&1) << i
	}
	return v
}

// SignExtend sign-extends the low bitSize bits of v.
func SignExtend(v uint64, bitSize uint) int64 {
	if bitSize == 0 || bitSize >= 64 {
		return int64(v)
	}
	shift := 64 - bitSize
	return int64(v<<shift) >> shift
}

// bindingsMismatch is the kvm.BuildIDError of bindings bound to another kernel.
func bindingsMismatch(generated, target string) *kvm.BuildIDError {
	return &kvm.BuildIDError{Want: generated, Got: target, WantFrom: "the bindings' kernel", GotFrom: "the target kernel",
		Hint: "regenerate them, bind with bind.Types(the target's BTF or DWARF) to relocate, or bind.IgnoreBuildID()"}
}

// Option changes how generated bindings attach to a target.
type Option func(*bindConfig)

type bindConfig struct {
	ignoreBuildID bool
	types         func() (dwarfmodel.Source, error) // the target's own types (relocatable bindings)
	forceRelocate bool
}

// IgnoreBuildID binds generated code to a target even when its kernel's
// build ID differs from the one the code was generated from.
func IgnoreBuildID() Option { return func(c *bindConfig) { c.ignoreBuildID = true } }

// CheckBuildID is called by generated Bind functions: it fails with a
// *kvm.BuildIDError when t's kernel is known and is not the one the
// bindings were generated from, unless IgnoreBuildID is given.
func CheckBuildID(t kvm.Target, generated string, opts ...Option) error {
	var c bindConfig
	for _, o := range opts {
		o(&c)
	}
	if c.ignoreBuildID {
		return nil
	}
	got := t.BuildID()
	if got == "" || generated == "" || got == generated {
		return nil
	}
	return bindingsMismatch(generated, got)
}
