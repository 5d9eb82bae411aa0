package kvm

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// A synthetic kallsyms table, laid out as scripts/kallsyms.c's output is
// described: a token table (256 NUL-terminated strings), 256 u16 indexes
// into it, the count, the relative base, the offsets (or addresses), the
// names (length-prefixed token strings whose first character is the
// type), in one flat image.
type synthKallsyms struct {
	syms      []KernelSymbol
	ptrSize   int
	bo        binary.ByteOrder
	addresses bool // kallsyms_addresses instead of offsets + relative base
	absPercpu bool // CONFIG_KALLSYMS_ABSOLUTE_PERCPU encoding
	base      uint64
	imageBase uint64 // where the image is mapped
	stextLine bool   // VMCOREINFO gets SYMBOL(_stext)
}

// synthImage is the built image and the tables' offsets in it.
type synthImage struct {
	base                          uint64
	data                          []byte
	tt, ti, num, rb, offs, names  int
	bo                            binary.ByteOrder
	ptrSize                       int
	addresses                     bool
	stext                         uint64
	stextLine                     bool
	vmcoreinfoExtra, vmcoreinfoNo string
}

// synthTokens are the 256 tokens: single printable characters at their
// own codes, words elsewhere.
func synthTokens() [256]string {
	words := []string{"init_", "task", "_st", "ext", "jiff", "ies", "kallsyms", "__", "_text", "per_cpu", "Tsch", "edule", "Dlinux", "_banner", "start", "BTF", "tart_k", "ernel"}
	var t [256]string
	w := 0
	for i := range t {
		switch {
		case i >= 0x20 && i < 0x7f:
			t[i] = string(rune(i))
		case w < len(words):
			t[i] = words[w]
			w++
		default:
			t[i] = fmt.Sprintf("q%02x", i)
		}
	}
	return t
}

// encodeName splits s into token indexes, longest token first.
func encodeName(s string, toks *[256]string) []byte {
	order := make([]int, 256)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(toks[order[a]]) > len(toks[order[b]]) })
	var out []byte
	for s != "" {
		for _, i := range order {
			if toks[i] != "" && strings.HasPrefix(s, toks[i]) {
				out = append(out, byte(i))
				s = s[len(toks[i]):]
				break
			}
		}
	}
	return out
}

func align8(n int) int { return (n + 7) &^ 7 }

func (k synthKallsyms) build() *synthImage {
	toks := synthTokens()
	img := &synthImage{base: k.imageBase, bo: k.bo, ptrSize: k.ptrSize, addresses: k.addresses, stextLine: k.stextLine}
	var b []byte
	img.tt = 0
	var idx [256]uint16
	for i, t := range toks {
		idx[i] = uint16(len(b))
		b = append(b, t...)
		b = append(b, 0)
	}
	b = append(b, make([]byte, align8(len(b))-len(b))...)
	img.ti = len(b)
	for _, o := range idx {
		b = k.ap().AppendUint16(b, o)
	}
	img.num = len(b)
	b = k.ap().AppendUint32(b, uint32(len(k.syms)))
	b = append(b, 0, 0, 0, 0)
	img.rb = len(b)
	if k.ptrSize == 8 {
		b = k.ap().AppendUint64(b, k.base)
	} else {
		b = k.ap().AppendUint32(b, uint32(k.base))
		b = append(b, 0, 0, 0, 0)
	}
	img.offs = len(b)
	for _, s := range k.syms {
		if s.Name == "_stext" {
			img.stext = s.Addr
		}
		switch {
		case k.addresses && k.ptrSize == 8:
			b = k.ap().AppendUint64(b, s.Addr)
		case k.addresses:
			b = k.ap().AppendUint32(b, uint32(s.Addr))
		case k.absPercpu && s.Type == 'A':
			b = k.ap().AppendUint32(b, uint32(s.Addr))
		case k.absPercpu:
			b = k.ap().AppendUint32(b, uint32(int32(-int64(s.Addr-k.base)-1)))
		default:
			b = k.ap().AppendUint32(b, uint32(s.Addr-k.base))
		}
	}
	b = append(b, make([]byte, align8(len(b))-len(b))...)
	img.names = len(b)
	for _, s := range k.syms {
		e := encodeName(string(s.Type)+s.Name, &toks)
		if len(e) > 0x7f {
			b = append(b, byte(len(e))|0x80, byte(len(e)>>7))
		} else {
			b = append(b, byte(len(e)))
		}
		b = append(b, e...)
	}
	img.data = b
	return img
}

// vmcoreinfo is the image's VMCOREINFO lines.
func (img *synthImage) vmcoreinfo() *VMCoreInfo {
	var s strings.Builder
	sym := func(name string, off int) {
		if name == img.vmcoreinfoNo {
			return
		}
		fmt.Fprintf(&s, "SYMBOL(%s)=%x\n", name, img.base+uint64(off))
	}
	s.WriteString("OSRELEASE=6.1.0-synthetic\n")
	sym("kallsyms_names", img.names)
	sym("kallsyms_num_syms", img.num)
	sym("kallsyms_token_table", img.tt)
	sym("kallsyms_token_index", img.ti)
	if img.addresses {
		sym("kallsyms_addresses", img.offs)
	} else {
		sym("kallsyms_offsets", img.offs)
		sym("kallsyms_relative_base", img.rb)
	}
	if img.stextLine {
		fmt.Fprintf(&s, "SYMBOL(_stext)=%x\n", img.stext)
	}
	s.WriteString(img.vmcoreinfoExtra)
	return parseVMCoreInfo([]byte(s.String()))
}

// synthSymbols is a small kernel: per-cpu absolutes (when absPercpu),
// text, data, a long name (two-byte length), duplicates.
func synthSymbols(base uint64, absPercpu bool) []KernelSymbol {
	var s []KernelSymbol
	if absPercpu {
		s = append(s, KernelSymbol{"fixed_percpu_data", 0, 'A'}, KernelSymbol{"cpu_tss_rw", 0x6000, 'A'})
	}
	s = append(s,
		KernelSymbol{"_text", base, 'T'},
		KernelSymbol{"_stext", base, 'T'},
		KernelSymbol{"start_kernel", base + 0x100, 'T'},
		KernelSymbol{"schedule", base + 0x200, 'T'},
		KernelSymbol{"helper", base + 0x280, 't'},
		KernelSymbol{"helper", base + 0x2c0, 't'},
		KernelSymbol{"linux_banner", base + 0x10000, 'D'},
		KernelSymbol{strings.Repeat("very_long_symbol_name_", 14), base + 0x10100, 'r'},
		KernelSymbol{"init_task", base + 0x20000, 'D'},
		KernelSymbol{"jiffies", base + 0x20400, 'D'},
		KernelSymbol{"__bss_start", base + 0x30000, 'B'},
	)
	return s
}

// synthFuzzImage encodes an image for FuzzKallsyms: a flags byte (bit 0:
// kallsyms_addresses; bit 1: 4-byte pointers; bit 2: big-endian; bit 3:
// SYMBOL(_stext)), six little-endian u32 table offsets (names, num_syms,
// token_table, token_index, offsets or addresses, relative_base), then
// the image.
func synthFuzzImage(img *synthImage) []byte {
	var flags byte
	if img.addresses {
		flags |= 1
	}
	if img.ptrSize == 4 {
		flags |= 2
	}
	if img.bo == binary.BigEndian {
		flags |= 4
	}
	if img.stextLine {
		flags |= 8
	}
	out := []byte{flags}
	for _, o := range []int{img.names, img.num, img.tt, img.ti, img.offs, img.rb} {
		out = binary.LittleEndian.AppendUint32(out, uint32(o))
	}
	return append(out, img.data...)
}

const fuzzImageBase = 0xffffffff81000000

// decodeFuzzImage is synthFuzzImage's inverse; ok false when data is too
// short.
func decodeFuzzImage(data []byte) (m *testfix.FlatMem, vi *VMCoreInfo, bo binary.ByteOrder, ptrSize int, ok bool) {
	if len(data) < 25 {
		return nil, nil, nil, 0, false
	}
	flags := data[0]
	var o [6]uint64
	for i := range o {
		o[i] = fuzzImageBase + uint64(binary.LittleEndian.Uint32(data[1+4*i:]))
	}
	bo, ptrSize = binary.LittleEndian, 8
	if flags&2 != 0 {
		ptrSize = 4
	}
	if flags&4 != 0 {
		bo = binary.BigEndian
	}
	var s strings.Builder
	fmt.Fprintf(&s, "SYMBOL(kallsyms_names)=%x\nSYMBOL(kallsyms_num_syms)=%x\nSYMBOL(kallsyms_token_table)=%x\nSYMBOL(kallsyms_token_index)=%x\n", o[0], o[1], o[2], o[3])
	if flags&1 != 0 {
		fmt.Fprintf(&s, "SYMBOL(kallsyms_addresses)=%x\n", o[4])
	} else {
		fmt.Fprintf(&s, "SYMBOL(kallsyms_offsets)=%x\nSYMBOL(kallsyms_relative_base)=%x\n", o[4], o[5])
	}
	if flags&8 != 0 {
		fmt.Fprintf(&s, "SYMBOL(_stext)=%x\n", uint64(fuzzImageBase))
	}
	return &testfix.FlatMem{Base: fuzzImageBase, Data: data[25:]}, parseVMCoreInfo([]byte(s.String())), bo, ptrSize, true
}

func (k synthKallsyms) ap() binary.AppendByteOrder { return k.bo.(binary.AppendByteOrder) }
