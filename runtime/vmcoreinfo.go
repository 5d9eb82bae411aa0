package kvm

import (
	"strconv"
	"strings"
)

// VMCoreInfo is the kernel's VMCOREINFO text (KEY=VALUE lines) recorded in
// a crash dump: OSRELEASE, BUILD-ID, PAGESIZE, KERNELOFFSET, SYMBOL(name),
// NUMBER(name), SIZE(type), OFFSET(type.member), ...
type VMCoreInfo struct {
	Raw    string
	Fields map[string]string
}

// maxVMCoreInfo bounds the VMCOREINFO blob read from a dump.
const maxVMCoreInfo = 1 << 20

func parseVMCoreInfo(b []byte) *VMCoreInfo {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	vi := &VMCoreInfo{Raw: string(b), Fields: make(map[string]string)}
	for _, line := range strings.Split(vi.Raw, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			continue
		}
		vi.Fields[k] = strings.TrimSpace(v)
	}
	return vi
}

// Get returns a field's value.
func (vi *VMCoreInfo) Get(key string) (string, bool) {
	if vi == nil {
		return "", false
	}
	v, ok := vi.Fields[key]
	return v, ok
}

// Symbol returns SYMBOL(name), a run-time address (written in hex).
func (vi *VMCoreInfo) Symbol(name string) (uint64, bool) {
	v, ok := vi.Get("SYMBOL(" + name + ")")
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseUint(v, 16, 64)
	return x, err == nil
}

// Number returns NUMBER(name) (decimal, possibly negative, or 0x hex).
func (vi *VMCoreInfo) Number(name string) (int64, bool) {
	v, ok := vi.Get("NUMBER(" + name + ")")
	if !ok {
		return 0, false
	}
	// Decimal (NUMBER(phys_base)=-268435456) or hex with 0x
	// (NUMBER(kimage_voffset)=0xffffbf6132c00000 on arm64).
	base := 10
	if strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X") {
		base, v = 16, v[2:]
	}
	x, err := strconv.ParseInt(v, base, 64)
	if err != nil {
		u, err2 := strconv.ParseUint(v, base, 64)
		return int64(u), err2 == nil
	}
	return x, true
}

// KernelOffset returns KERNELOFFSET (hex), the KASLR displacement.
func (vi *VMCoreInfo) KernelOffset() (uint64, bool) {
	v, ok := vi.Get("KERNELOFFSET")
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseUint(v, 16, 64)
	return x, err == nil
}

// PageSize returns PAGESIZE.
func (vi *VMCoreInfo) PageSize() (int, bool) {
	v, ok := vi.Get("PAGESIZE")
	if !ok {
		return 0, false
	}
	x, err := strconv.Atoi(v)
	return x, err == nil && x > 0
}

// dispFromStext derives the KASLR displacement where VMCOREINFO has no
// KERNELOFFSET (i386): the run-time SYMBOL(_stext) minus the execfile's.
func dispFromStext(vi *VMCoreInfo, x *execInfo) (uint64, bool) {
	if vi == nil || x == nil || x.Symbol == nil {
		return 0, false
	}
	rt, ok := vi.Symbol("_stext")
	if !ok {
		return 0, false
	}
	link, ok := x.Symbol("_stext")
	if !ok {
		return 0, false
	}
	return rt - link, true
}
