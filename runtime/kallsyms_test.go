package kvm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// ---- Synthetic tables ----

func TestKallsymsSynthetic(t *testing.T) {
	for _, c := range []struct {
		name string
		k    synthKallsyms
	}{
		{"offsets/absolute-percpu", synthKallsyms{ptrSize: 8, bo: binary.LittleEndian, absPercpu: true, base: 0xffffffff81000000, stextLine: true}},
		{"offsets/absolute-percpu/no-stext-line", synthKallsyms{ptrSize: 8, bo: binary.LittleEndian, absPercpu: true, base: 0xffffffff81000000}},
		{"offsets/plain", synthKallsyms{ptrSize: 8, bo: binary.LittleEndian, base: 0xffff800008000000, stextLine: true}},
		{"offsets/plain/no-stext-line", synthKallsyms{ptrSize: 8, bo: binary.LittleEndian, base: 0xffff800008000000}},
		{"offsets/plain/32-bit", synthKallsyms{ptrSize: 4, bo: binary.LittleEndian, base: 0xc1000000, stextLine: true}},
		{"addresses/64-bit big-endian", synthKallsyms{ptrSize: 8, bo: binary.BigEndian, addresses: true, base: 0x100000}},
		{"addresses/32-bit", synthKallsyms{ptrSize: 4, bo: binary.LittleEndian, addresses: true, base: 0xc1000000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := c.k
			k.syms = synthSymbols(k.base, k.absPercpu)
			k.imageBase = 0xffffffff82000000
			if k.ptrSize == 4 {
				k.imageBase = 0xc2000000
			}
			img := k.build()
			got, err := ReadKallsyms(&testfix.FlatMem{Base: img.base, Data: img.data}, img.vmcoreinfo(), k.bo, k.ptrSize)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, k.syms) {
				t.Errorf("decoded\n%v\nwant\n%v", got, k.syms)
			}
		})
	}
}

// synthDefault is a valid x86-64-like table.
func synthDefault() *synthImage {
	k := synthKallsyms{ptrSize: 8, bo: binary.LittleEndian, absPercpu: true, base: 0xffffffff81000000, imageBase: 0xffffffff82000000, stextLine: true}
	k.syms = synthSymbols(k.base, true)
	return k.build()
}

func TestKallsymsBadInput(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(img *synthImage) // may change the image and its VMCOREINFO
		table  string
		want   string // in the message
	}{
		{"truncated names", func(img *synthImage) { img.data = img.data[:len(img.data)-20] }, "kallsyms_names", "token bytes"},
		{"names cut at an entry", func(img *synthImage) { img.data = img.data[:img.names+1] }, "kallsyms_names", "entry"},
		{"token index outside the token table", func(img *synthImage) {
			img.bo.PutUint16(img.data[img.ti+2*7:], 0xfff0)
		}, "kallsyms_token_table", "kallsyms_token_index refers to offset 65520"},
		{"token without NUL", func(img *synthImage) {
			// The token table moved to 2000 bytes without a NUL at
			// the image's end.
			img.vmcoreinfoNo = "kallsyms_token_table"
			img.vmcoreinfoExtra = "SYMBOL(kallsyms_token_table)=" + strconv.FormatUint(img.base+uint64(len(img.data)), 16) + "\n"
			img.data = append(img.data, bytes.Repeat([]byte{'x'}, 2000)...)
		}, "kallsyms_token_table", "NUL-terminated"},
		{"num_syms absurd", func(img *synthImage) { img.bo.PutUint32(img.data[img.num:], 0xffffffff) }, "kallsyms_num_syms", "a count from 1 to"},
		{"num_syms zero", func(img *synthImage) { img.bo.PutUint32(img.data[img.num:], 0) }, "kallsyms_num_syms", "a count from 1 to"},
		{"num_syms large, tables small", func(img *synthImage) { img.bo.PutUint32(img.data[img.num:], maxKallsyms) }, "kallsyms_names", "entry"},
		{"zero-length entry", func(img *synthImage) { img.data[img.names] = 0 }, "kallsyms_names", "non-zero length"},
		{"names outside the dump", func(img *synthImage) {
			img.vmcoreinfoNo = "kallsyms_names"
			img.vmcoreinfoExtra = "SYMBOL(kallsyms_names)=ffff888000000000\n"
		}, "kallsyms_names", "not in memory"},
		{"offsets outside the dump", func(img *synthImage) {
			img.vmcoreinfoNo = "kallsyms_offsets"
			img.vmcoreinfoExtra = "SYMBOL(kallsyms_offsets)=ffffffffffffff00\n"
		}, "kallsyms_offsets", "4-byte offsets"},
		{"offsets truncated", func(img *synthImage) {
			img.vmcoreinfoNo = "kallsyms_offsets"
			img.vmcoreinfoExtra = "SYMBOL(kallsyms_offsets)=" + strconv.FormatUint(img.base+uint64(len(img.data))-8, 16) + "\n"
		}, "kallsyms_offsets", "4-byte offsets"},
		{"token index outside the dump", func(img *synthImage) {
			img.vmcoreinfoNo = "kallsyms_token_index"
			img.vmcoreinfoExtra = "SYMBOL(kallsyms_token_index)=1000\n"
		}, "kallsyms_token_index", "256 2-byte offsets"},
		{"relative base outside the dump", func(img *synthImage) {
			img.vmcoreinfoNo = "kallsyms_relative_base"
			img.vmcoreinfoExtra = "SYMBOL(kallsyms_relative_base)=10\n"
		}, "kallsyms_relative_base", "an address of 8 bytes"},
		{"name expands too long", func(img *synthImage) {
			// Token 0x80 becomes 900 bytes long; an entry of 2
			// repeats it.
			toks := synthTokens()
			long := strings.Repeat("z", 900)
			var tt []byte
			var idx [256]uint16
			for i, tk := range toks {
				if i == 0x80 {
					tk = long
				}
				idx[i] = uint16(len(tt))
				tt = append(append(tt, tk...), 0)
			}
			// Rebuild: the new token table, then the rest moved up.
			rest := img.data[img.ti:]
			shift := len(tt) - img.ti
			shift = align8(shift)
			tt = append(tt, make([]byte, img.ti+shift-len(tt))...)
			img.data = append(tt, rest...)
			img.ti += shift
			img.num += shift
			img.rb += shift
			img.offs += shift
			img.names += shift
			for i, o := range idx {
				img.bo.PutUint16(img.data[img.ti+2*i:], o)
			}
			img.data[img.names] = 2
			img.data[img.names+1] = 0x80
			img.data[img.names+2] = 0x80
		}, "kallsyms_names", "expand to under 1024 bytes"},
		{"no kallsyms lines", func(img *synthImage) { img.vmcoreinfoNo = "kallsyms_names" }, "kallsyms_names", "VMCOREINFO lacks the kallsyms tables (kernels before 6.0"},
		{"no offsets nor addresses", func(img *synthImage) { img.vmcoreinfoNo = "kallsyms_offsets" }, "kallsyms_addresses", "-symbols System.map"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := synthDefault()
			img.data = slices.Clone(img.data)
			c.mutate(img)
			mem := &testfix.FlatMem{Base: img.base, Data: img.data}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			syms, err := ReadKallsyms(mem, img.vmcoreinfo(), img.bo, img.ptrSize)
			runtime.ReadMemStats(&after)
			var ke *KallsymsError
			if !errors.As(err, &ke) {
				t.Fatalf("got %d symbols, error %v (%T); want a *KallsymsError", len(syms), err, err)
			}
			if ke.Table != c.table || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.table) {
				t.Errorf("error %q (table %q); want table %q and %q", err, ke.Table, c.table, c.want)
			}
			// The allocation follows the data, not the count: well
			// under what 4M symbols would take.
			if a := after.TotalAlloc - before.TotalAlloc; a > 16<<20 {
				t.Errorf("decoding allocated %d bytes", a)
			}
			if mem.Reads > 200 {
				t.Errorf("%d reads", mem.Reads)
			}
			t.Log(err)
		})
	}
	// No VMCOREINFO at all.
	if _, err := ReadKallsyms(&testfix.FlatMem{}, nil, binary.LittleEndian, 8); !errors.Is(err, ErrNoKallsyms) || !strings.Contains(err.Error(), "no VMCOREINFO in the dump") {
		t.Errorf("without VMCOREINFO: %v", err)
	}
	if _, err := ReadKallsyms(&testfix.FlatMem{}, parseVMCoreInfo(nil), binary.LittleEndian, 3); err == nil {
		t.Error("pointer size 3 accepted")
	}
}

// A read that fails across a page boundary although its start is
// readable: the decoder retries up to the page's end.
type pickyMem struct{ testfix.FlatMem }

func (m *pickyMem) ReadMemory(buf []byte, addr uint64) (int, error) {
	if addr/4096 != (addr+uint64(len(buf))-1)/4096 {
		return 0, errors.New("crosses a page")
	}
	return m.FlatMem.ReadMemory(buf, addr)
}

func TestKallsymsPageCrossingReads(t *testing.T) {
	k := synthKallsyms{ptrSize: 8, bo: binary.LittleEndian, absPercpu: true, base: 0xffffffff81000000, imageBase: 0xffffffff82000ff0, stextLine: true}
	for i := 0; i < 3000; i++ {
		k.syms = append(k.syms, KernelSymbol{"sym_" + strconv.Itoa(i), k.base + uint64(i)*16, 't'})
	}
	k.syms[0].Name = "_stext"
	img := k.build()
	got, err := ReadKallsyms(&pickyMem{testfix.FlatMem{Base: img.base, Data: img.data}}, img.vmcoreinfo(), k.bo, 8)
	if err != nil || !slices.Equal(got, k.syms) {
		t.Fatalf("%d symbols, %v", len(got), err)
	}
}

// ---- FuzzKallsyms ----

func FuzzKallsyms(f *testing.F) {
	for _, k := range []synthKallsyms{
		{ptrSize: 8, bo: binary.LittleEndian, absPercpu: true, base: fuzzImageBase, stextLine: true},
		{ptrSize: 8, bo: binary.LittleEndian, base: fuzzImageBase},
		{ptrSize: 4, bo: binary.BigEndian, addresses: true, base: 0x81000000},
	} {
		k.imageBase = fuzzImageBase
		k.syms = synthSymbols(k.base, k.absPercpu)
		f.Add(synthFuzzImage(k.build()))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, vi, bo, ps, ok := decodeFuzzImage(data)
		if !ok {
			return
		}
		syms, err := ReadKallsyms(m, vi, bo, ps)
		if err != nil {
			var ke *KallsymsError
			if !errors.As(err, &ke) {
				t.Fatalf("error %v is a %T", err, err)
			}
			return
		}
		if len(syms) == 0 || len(syms) > maxKallsyms {
			t.Fatalf("%d symbols", len(syms))
		}
		for _, s := range syms {
			if s.Name == "" || len(s.Name) >= maxKallsymsName {
				t.Fatalf("bad name %q", s.Name)
			}
		}
	})
}

// ---- Real kernels ----

// kallsymsKernel is a fixture kernel and its dumps.
type kallsymsKernel struct {
	dir   string
	cores []string
}

var kallsymsKernels = []kallsymsKernel{
	{"linux-amd64", []string{"elf", "paging", "kdump-zlib"}},
	{"linux-amd64-prev", []string{"elf", "paging", "kdump-zlib"}},
	{"linux-arm64", []string{"elf", "kdump-zlib"}},
	{"linux-i386", []string{"elf", "kdump-zlib"}},
}

// symtabOracle is a vmlinux's .symtab read with debug/elf: every value of
// each name, and whether it is absolute.
type symtabOracle struct {
	vals map[string][]uint64
	n    int
}

var symtabCache sync.Map // vmlinux path -> *symtabOracle

func readSymtab(t *testing.T, vmlinux string) *symtabOracle {
	t.Helper()
	if o, ok := symtabCache.Load(vmlinux); ok {
		return o.(*symtabOracle)
	}
	o := &symtabOracle{vals: make(map[string][]uint64)}
	for _, s := range testfix.ELFSymbols(t, vmlinux) {
		if s.Name == "" || s.Section == elf.SHN_UNDEF || elf.ST_TYPE(s.Info) == elf.STT_SECTION || elf.ST_TYPE(s.Info) == elf.STT_FILE {
			continue
		}
		o.vals[s.Name] = append(o.vals[s.Name], s.Value)
		o.n++
	}
	symtabCache.Store(vmlinux, o)
	return o
}

func TestKallsymsRealKernels(t *testing.T) {
	for _, kk := range kallsymsKernels {
		t.Run(kk.dir, func(t *testing.T) {
			vmlinux := testfix.Path(t, kk.dir+"/vmlinux")
			for _, c := range kk.cores {
				t.Run(c, func(t *testing.T) {
					checkKallsymsDump(t, kk, vmlinux, testfix.Path(t, kk.dir+"/dumps/"+c+".vmcore"))
				})
			}
		})
	}
}

func checkKallsymsDump(t *testing.T, kk kallsymsKernel, vmlinux, core string) {
	// The displacement, from the kernel image: the descriptor opened
	// with it, cross-checked against VMCOREINFO's KERNELOFFSET.
	kdV, err := OpenOptions(vmlinux, core, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kdV.Close()
	disp := kdV.Kerndisp()
	if ko, ok := kdV.VMCoreInfo().KernelOffset(); ok && ko != disp {
		t.Fatalf("Kerndisp %#x, KERNELOFFSET %#x", disp, ko)
	}
	if strings.HasPrefix(kdV.SymbolSource(), "execfile "+vmlinux+" (.symtab, ") == false {
		t.Errorf("with the vmlinux: SymbolSource() = %q", kdV.SymbolSource())
	}

	kd, err := OpenOptions("", core, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	t0 := time.Now()
	src := kd.SymbolSource()
	took := time.Since(t0)
	if !strings.HasPrefix(src, "kallsyms in the dump at 0x") {
		t.Fatalf("SymbolSource() = %q", src)
	}
	names, _ := kd.VMCoreInfo().Symbol("kallsyms_names")
	if !strings.Contains(src, "0x"+strconv.FormatUint(names, 16)) {
		t.Errorf("SymbolSource() = %q; kallsyms_names is at %#x", src, names)
	}
	// The decoder alone, on the open dump.
	i := kd.Info()
	var bo binary.ByteOrder = binary.LittleEndian
	if i.BigEndian {
		bo = binary.BigEndian
	}
	t1 := time.Now()
	ks, err := ReadKallsyms(kd, kd.VMCoreInfo(), bo, i.PtrSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d kallsyms symbols; first decode (with the dump's first reads) %v, again %v", src, len(ks), took, time.Since(t1))
	if len(ks) < 10000 {
		t.Fatalf("only %d symbols", len(ks))
	}

	// Oracle 1: the vmlinux's .symtab plus the displacement; absolute
	// (per-cpu) symbols without it.
	o := readSymtab(t, vmlinux)
	overlap, matched, absent := 0, 0, 0
	var bad []string
	for _, s := range ks {
		vals, ok := o.vals[s.Name]
		if !ok {
			absent++
			continue
		}
		overlap++
		hit := false
		for _, v := range vals {
			if v+disp == s.Addr || (s.Type == 'A' || s.Type == 'a') && v == s.Addr {
				hit = true
				break
			}
		}
		if hit {
			matched++
		} else if len(bad) < 10 {
			bad = append(bad, s.Name+" "+string(s.Type)+" "+strconv.FormatUint(s.Addr, 16))
		}
	}
	t.Logf(".symtab (%d symbols) + displacement %#x: %d of the %d kallsyms symbols also in .symtab match (%d not in .symtab)", o.n, disp, matched, overlap, absent)
	if matched != overlap || len(bad) > 0 {
		t.Errorf("%d of %d do not match .symtab, e.g. %v", overlap-matched, overlap, bad)
	}
	if absent > len(ks)/100 {
		t.Errorf("%d kallsyms symbols are not in .symtab", absent)
	}

	// Core symbols through the descriptor. A kernel without
	// CONFIG_KALLSYMS_ALL (Debian's arm64 cloud kernel) lists text only.
	withData := slices.ContainsFunc(ks, func(s KernelSymbol) bool { return s.Name == "init_task" })
	t.Logf("data symbols in kallsyms (CONFIG_KALLSYMS_ALL): %v", withData)
	if kk.dir == "linux-amd64" && !withData {
		t.Error("the amd64 kernel has CONFIG_KALLSYMS_ALL but no data symbols were decoded")
	}
	coreSyms := []string{"_stext", "start_kernel", "schedule"}
	if withData {
		coreSyms = append(coreSyms, "_text", "init_task", "linux_banner", "jiffies")
		// Debian's i386 kernel has no BTF.
		if _, ok := o.vals["__start_BTF"]; ok || kk.dir == "linux-amd64" {
			coreSyms = append(coreSyms, "__start_BTF", "__stop_BTF")
		}
	}
	for _, n := range coreSyms {
		got, err := kd.LookupSymbol(n)
		want, err2 := kdV.LookupSymbol(n)
		if err != nil || err2 != nil || got != want || got != o.vals[n][0]+disp {
			t.Errorf("%s: %#x %v; with the vmlinux %#x %v", n, got, err, want, err2)
		}
	}
	// VMCOREINFO's own SYMBOL() lines agree with the table (not
	// mem_section's: with SPARSEMEM_EXTREME it is the pointer's value).
	for _, n := range []string{"_stext", "init_top_pgt", "swapper_pg_dir", "init_uts_ns", "node_online_map"} {
		want, ok := kd.VMCoreInfo().Symbol(n)
		if !ok {
			continue
		}
		if got, err := kd.LookupSymbol(n); err != nil || got != want {
			t.Errorf("%s: %#x %v; VMCOREINFO says %#x", n, got, err, want)
		}
	}
	if withData {
		// A symbol neither in kallsyms nor VMCOREINFO: a plain
		// SymbolError (the table was there).
		_, err := kd.LookupSymbol("no_such_symbol_kvmgen")
		var se *SymbolError
		if !errors.As(err, &se) || se.Err != nil {
			t.Errorf("missing symbol: %v", err)
		}
	}

	// Symbols and Symbolize.
	all, err := kd.Symbols()
	if err != nil || len(all) != len(ks) {
		t.Fatalf("Symbols: %d, %v", len(all), err)
	}
	if !slices.IsSortedFunc(all, func(a, b KernelSymbol) int { return compareUint64(a.Addr, b.Addr) }) {
		t.Error("Symbols() not sorted by address")
	}
	checked := 0
	for j, s := range all {
		if s.Type == 'A' || s.Type == 'a' || j%97 != 0 {
			continue
		}
		name, off, ok := kd.Symbolize(s.Addr + 1)
		if !ok || off != 1 && name == s.Name {
			t.Errorf("Symbolize(%#x+1) = %s+%#x, %v; want %s+1 or a symbol above it", s.Addr, name, off, ok, s.Name)
		}
		if ok && off == 1 {
			if v, err := kd.LookupSymbol(name); err != nil || (v != s.Addr && !hasAt(all, name, s.Addr)) {
				t.Errorf("Symbolize(%#x+1) = %s, at %#x", s.Addr, name, v)
			}
		}
		checked++
	}
	sk, _ := kd.LookupSymbol("start_kernel")
	if n, off, ok := kd.Symbolize(sk + 5); !ok || n != "start_kernel" || off != 5 {
		t.Errorf("Symbolize(start_kernel+5) = %s+%d %v", n, off, ok)
	}
	t.Logf("Symbolize checked at %d addresses", checked)

	// Oracle 2 (amd64): the guest's own /proc/kallsyms, saved when the
	// dump was taken.
	if strings.HasPrefix(kk.dir, "linux-amd64") {
		truth := testfix.Path(t, kk.dir+"/dumps/truth/kallsyms.gz")
		guest := readGzip(t, truth)
		list, ncore, err := parseKallsyms(bytes.NewReader(guest))
		if err != nil {
			t.Fatal(err)
		}
		if ncore != len(ks) {
			t.Errorf("guest /proc/kallsyms has %d kernel symbols, the dump's table %d", ncore, len(ks))
		}
		same := 0
		for j := 0; j < min(ncore, len(ks)); j++ {
			if list[j] == ks[j] {
				same++
			} else if j-same < 5 {
				t.Errorf("symbol %d: guest %v, dump %v", j, list[j], ks[j])
			}
		}
		t.Logf("guest /proc/kallsyms: %d of %d kernel symbols equal (name, address, type, in order)", same, ncore)
		// The same file as a SymbolFile: run-time addresses.
		p := filepath.Join(t.TempDir(), "kallsyms")
		if err := os.WriteFile(p, guest, 0o644); err != nil {
			t.Fatal(err)
		}
		kdF, err := OpenOptions("", core, Options{SymbolFile: p})
		if err != nil {
			t.Fatal(err)
		}
		defer kdF.Close()
		if s := kdF.SymbolSource(); !strings.HasPrefix(s, "System.map "+p) || !strings.Contains(s, "run-time addresses") {
			t.Errorf("guest kallsyms: SymbolSource() = %q", s)
		}
		for _, n := range coreSyms {
			a, err := kdF.LookupSymbol(n)
			b, _ := kd.LookupSymbol(n)
			if err != nil || a != b {
				t.Errorf("guest kallsyms: %s = %#x %v, want %#x", n, a, err, b)
			}
		}
	}

	// Oracle 3: a System.map made by nm from the vmlinux (the way the
	// kernel's build makes it; Debian ships a placeholder), as a
	// SymbolFile: link-time addresses, displaced.
	smap := nmSystemMap(t, vmlinux)
	if smap == "" {
		return
	}
	kdM, err := OpenOptions("", core, Options{SymbolFile: smap})
	if err != nil {
		t.Fatal(err)
	}
	defer kdM.Close()
	if s := kdM.SymbolSource(); !strings.HasPrefix(s, "System.map "+smap+" (") || strings.Contains(s, "run-time") {
		t.Errorf("System.map: SymbolSource() = %q", s)
	}
	mapSyms, err := kdM.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	byName := make(map[string][]KernelSymbol)
	for _, s := range mapSyms {
		byName[s.Name] = append(byName[s.Name], s)
	}
	inMap, sameMap := 0, 0
	for _, s := range ks {
		cands, ok := byName[s.Name]
		if !ok {
			continue
		}
		inMap++
		for _, c := range cands {
			// nm shows per-cpu variables as data at their link-time
			// offsets; kallsyms makes them absolute.
			if c.Addr == s.Addr && c.Type == s.Type || s.Type == 'A' && c.Addr-disp == s.Addr {
				sameMap++
				break
			}
		}
	}
	t.Logf("System.map (nm): %d of the %d kallsyms symbols also in it have its address + %#x and type", sameMap, inMap, disp)
	if sameMap != inMap {
		t.Errorf("%d kallsyms symbols differ from System.map", inMap-sameMap)
	}
	for _, n := range coreSyms {
		a, err := kdM.LookupSymbol(n)
		b, _ := kd.LookupSymbol(n)
		if err != nil || a != b {
			t.Errorf("System.map: %s = %#x %v, want %#x", n, a, err, b)
		}
	}
}

func compareUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func hasAt(all []KernelSymbol, name string, addr uint64) bool {
	for _, s := range all {
		if s.Name == name && s.Addr == addr {
			return true
		}
	}
	return false
}

func readGzip(t *testing.T, name string) []byte {
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(z); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var nmMaps sync.Map // vmlinux -> System.map contents

// nmSystemMap writes `nm -n vmlinux` (nm run once per test binary) to a
// file in t's temporary directory; "" (with a log) when nm is missing.
func nmSystemMap(t *testing.T, vmlinux string) string {
	var text []byte
	if b, ok := nmMaps.Load(vmlinux); ok {
		text = b.([]byte)
	} else {
		nm, err := exec.LookPath("nm")
		if err != nil {
			if testfix.Required() {
				t.Fatal("nm (binutils) is needed to make a System.map")
			}
			t.Log("nm not installed: no System.map comparison")
			return ""
		}
		out, err := exec.Command(nm, "-n", vmlinux).Output()
		if err != nil {
			t.Fatalf("nm -n %s: %v", vmlinux, err)
		}
		// Drop what the kernel's mksysmap drops from nm's output: local
		// absolute, debugging, undefined and weak undefined symbols.
		var b bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || strings.ContainsAny(f[1], "aNUw") {
				continue
			}
			b.WriteString(sc.Text())
			b.WriteByte('\n')
		}
		text = b.Bytes()
		nmMaps.Store(vmlinux, text)
	}
	p := filepath.Join(t.TempDir(), "System.map")
	if err := os.WriteFile(p, text, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A dump whose VMCOREINFO lacks the kallsyms lines (a kernel before 6.0):
// VMCOREINFO's SYMBOL()s still resolve; other names fail with a
// SymbolError saying why the table was not there.
func TestKallsymsMissingFallsBackToVMCoreInfo(t *testing.T) {
	f, err := os.Open(testfix.Path(t, fxELF))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 1<<20)
	n, _ := f.ReadAt(head, 0)
	i := bytes.Index(head[:n], []byte("SYMBOL(kallsyms_names)="))
	if i < 0 {
		t.Fatal("no SYMBOL(kallsyms_names) in the dump's first MiB")
	}
	r := &patchedReader{r: f, patches: map[int64][]byte{int64(i): []byte("SYMBOL(kallsyms_nameX)")}}
	d, err := openDump(&openContext{Name: "patched", File: r, Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	kd := &KVM{coreName: "patched", dump: d, wantKallsyms: true}
	defer kd.Close()
	if s := kd.SymbolSource(); !strings.HasPrefix(s, "VMCOREINFO only (kallsyms: no SYMBOL(kallsyms_names) in VMCOREINFO") {
		t.Errorf("SymbolSource() = %q", s)
	}
	want, _ := d.(vmcoreInfoer).VMCoreInfo().Symbol("_stext")
	if got, err := kd.LookupSymbol("_stext"); err != nil || got != want {
		t.Errorf("_stext = %#x, %v; want VMCOREINFO's %#x", got, err, want)
	}
	_, err = kd.LookupSymbol("init_task")
	var se *SymbolError
	var ke *KallsymsError
	if !errors.As(err, &se) || se.Name != "init_task" || !errors.As(err, &ke) || !errors.Is(err, ErrNoKallsyms) ||
		!strings.Contains(err.Error(), "kernels before 6.0") || !strings.Contains(err.Error(), "System.map") {
		t.Errorf("init_task: %v", err)
	}
	if kd.Geterr() != err.Error() {
		t.Errorf("Geterr() = %q", kd.Geterr())
	}
	if _, err := kd.Symbols(); err == nil {
		t.Error("Symbols() without a table succeeded")
	}
	if _, _, ok := kd.Symbolize(want); ok {
		t.Error("Symbolize without a table succeeded")
	}
	t.Log(err)
}

func TestSymbolFileErrors(t *testing.T) {
	core := testfix.Path(t, fxELF)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// kptr_restrict: every address 0.
	hidden := write("kallsyms-hidden", "0000000000000000 T _stext\n0000000000000000 D init_task\n")
	if _, err := OpenOptions("", core, Options{SymbolFile: hidden}); err == nil ||
		!strings.Contains(err.Error(), "kernel.kptr_restrict hides the addresses: run as root or set kernel.kptr_restrict=0") {
		t.Errorf("all-zero file: %v", err)
	}
	// Debian's placeholder System.map.
	ph := write("System.map-placeholder", "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n")
	if _, err := OpenOptions("", core, Options{SymbolFile: ph}); err == nil || !strings.Contains(err.Error(), "ADDRESS TYPE NAME") {
		t.Errorf("placeholder System.map: %v", err)
	}
	if _, err := OpenOptions("", core, Options{SymbolFile: filepath.Join(dir, "absent")}); err == nil {
		t.Error("absent symbol file accepted")
	}
	// Another kernel's System.map: refused, unless IgnoreBuildID.
	prev := nmSystemMap(t, testfix.Path(t, "linux-amd64-prev/vmlinux"))
	if prev == "" {
		return
	}
	_, err := OpenOptions("", core, Options{SymbolFile: prev})
	if err == nil || !strings.Contains(err.Error(), "does not belong to the dump's kernel") {
		t.Errorf("another kernel's System.map: %v", err)
	}
	kd, err := OpenOptions("", core, Options{SymbolFile: prev, IgnoreBuildID: true})
	if err != nil {
		t.Fatal(err)
	}
	kd.Close()
}

// The lazily decoded table under concurrent first use (run with -race).
func TestKallsymsConcurrentFirstUse(t *testing.T) {
	kd, err := OpenOptions("", testfix.Path(t, fxKdump), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	want, ok := kd.VMCoreInfo().Symbol("_stext")
	if !ok {
		t.Fatal("no SYMBOL(_stext)")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			switch g % 4 {
			case 0:
				if a, err := kd.LookupSymbol("_stext"); err != nil || a != want {
					errs <- fmt.Errorf("_stext = %#x, %v", a, err)
				}
			case 1:
				n, off, ok := kd.Symbolize(want + 3)
				if a, err := kd.LookupSymbol(n); !ok || off != 3 || err != nil || a != want {
					errs <- fmt.Errorf("Symbolize = %s+%d %v", n, off, ok)
				}
			case 2:
				if s := kd.SymbolSource(); !strings.HasPrefix(s, "kallsyms in the dump") {
					errs <- errors.New(s)
				}
			case 3:
				if s, err := kd.Symbols(); err != nil || len(s) < 10000 {
					errs <- fmt.Errorf("Symbols: %d %v", len(s), err)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkReadKallsyms(b *testing.B) {
	kd, err := OpenOptions("", testfix.Path(b, fxELF), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer kd.Close()
	for b.Loop() {
		if _, err := ReadKallsyms(kd, kd.VMCoreInfo(), binary.LittleEndian, 8); err != nil {
			b.Fatal(err)
		}
	}
}
