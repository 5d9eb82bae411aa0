package kvm

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// execImage is a loaded execfile: a kernel image or program (ELF), or the
// running kernel's /proc/kallsyms.
type execImage struct {
	info execInfo
	syms map[string]uint64 // link-time values (runtimeAddrs: run-time values)
	// list is every symbol, in the file's (or table's) order, with its
	// nm type letter; same values as syms.
	list []KernelSymbol
	// runtimeAddrs says the values already carry the KASLR displacement:
	// /proc/kallsyms of the running kernel, the kallsyms table decoded
	// from a dump, a SymbolFile holding a running kernel's /proc/kallsyms.
	runtimeAddrs bool
	name         string
	loads        []segment // PT_LOADs by link-time virtual address

	// lazy: syms is built only after lazyLookups lookups by name; before,
	// lookups scan list. A dump's kallsyms table is decoded for a handful
	// of names (`kvmgen ps` looks up about twenty): indexing its ~90,000
	// names first costs more than the scans, and a 6 MB map's memory.
	lazy     bool
	lazyMu   sync.Mutex
	lazyN    int
	lazySyms atomic.Pointer[map[string]uint64]
}

// lazyLookups is how many lookups by name a lazy image answers by
// scanning before it builds its index.
const lazyLookups = 64

// lookup returns a symbol's value by name: the first global (upper-case
// type) definition, else the first local one, as symbolsByName indexes.
func (img *execImage) lookup(name string) (uint64, bool) {
	if !img.lazy {
		v, ok := img.syms[name]
		return v, ok
	}
	if m := img.lazySyms.Load(); m != nil {
		v, ok := (*m)[name]
		return v, ok
	}
	img.lazyMu.Lock()
	img.lazyN++
	build := img.lazyN == lazyLookups
	img.lazyMu.Unlock()
	if build {
		m := symbolsByName(img.list)
		img.lazySyms.Store(&m)
		v, ok := m[name]
		return v, ok
	}
	local, found := uint64(0), false
	for i := range img.list {
		s := &img.list[i]
		if len(s.Name) != len(name) || s.Name != name {
			continue
		}
		if s.Type >= 'A' && s.Type <= 'Z' {
			return s.Addr, true
		}
		if !found {
			local, found = s.Addr, true
		}
	}
	return local, found
}

// readLink reads the execfile's contents at a link-time address.
func (img *execImage) readLink(buf []byte, addr uint64) (int, error) {
	f, err := os.Open(img.name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	m := &segMap{name: img.name, r: f, size: st.Size(), segs: img.loads}
	return m.read(buf, addr)
}

// maxSymbols bounds the symbol table read from an execfile.
const maxSymbols = 1 << 24

func loadExec(name string) (*execImage, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, fmt.Errorf("execfile %s: %w", name, err)
	}
	img := &execImage{
		info: execInfo{Name: name, Machine: ef.Machine, Class: ef.Class, ByteOrder: ef.ByteOrder},
		syms: make(map[string]uint64),
	}
	img.info.BuildID = elfBuildID(ef)
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && p.Filesz > 0 {
			img.loads = append(img.loads, segment{start: p.Vaddr, filesz: p.Filesz, memsz: p.Memsz, off: int64(p.Off)})
		}
	}
	(&segMap{segs: img.loads}).sort()
	img.name = name
	img.info.ReadLink = img.readLink
	syms, err := ef.Symbols()
	if err != nil && err != elf.ErrNoSymbols {
		return nil, fmt.Errorf("execfile %s: symbol table: %w", name, err)
	}
	if len(syms) > maxSymbols {
		return nil, fmt.Errorf("execfile %s: %d symbols exceed the limit of %d", name, len(syms), maxSymbols)
	}
	img.list = make([]KernelSymbol, 0, len(syms))
	for _, s := range syms {
		if s.Name == "" || s.Section == elf.SHN_UNDEF {
			continue
		}
		switch elf.ST_TYPE(s.Info) {
		case elf.STT_SECTION, elf.STT_FILE:
			continue
		}
		img.list = append(img.list, KernelSymbol{Name: s.Name, Addr: s.Value, Type: elfTypeLetter(ef, s)})
		// Prefer global definitions over local ones of the same name.
		if _, ok := img.syms[s.Name]; ok && elf.ST_BIND(s.Info) == elf.STB_LOCAL {
			continue
		}
		img.syms[s.Name] = s.Value
	}
	img.info.Symbol = img.symbol
	return img, nil
}

// elfTypeLetter is the letter nm would print for an ELF symbol, from its
// section's type and flags: 'A' absolute, 'T' text, 'B' bss, 'D' data,
// 'R' read-only data, 'W' weak, 'N' other; lower case when local.
func elfTypeLetter(ef *elf.File, s elf.Symbol) byte {
	var c byte
	switch {
	case s.Section == elf.SHN_ABS:
		c = 'a'
	case s.Section == elf.SHN_COMMON:
		c = 'c'
	case int(s.Section) < len(ef.Sections):
		sec := ef.Sections[s.Section]
		switch {
		case sec.Flags&elf.SHF_EXECINSTR != 0:
			c = 't'
		case sec.Type == elf.SHT_NOBITS:
			c = 'b'
		case sec.Flags&elf.SHF_WRITE != 0:
			c = 'd'
		case sec.Flags&elf.SHF_ALLOC != 0:
			c = 'r'
		default:
			c = 'n'
		}
	default:
		c = '?'
	}
	switch elf.ST_BIND(s.Info) {
	case elf.STB_GLOBAL:
		c -= 'a' - 'A'
	case elf.STB_WEAK:
		c = 'W'
	}
	return c
}

func (img *execImage) symbol(name string) (uint64, bool) { return img.lookup(name) }

// elfBuildID returns the GNU build ID of an ELF file as lower-case hex.
func elfBuildID(ef *elf.File) string {
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		if s.Size > 1<<20 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			continue
		}
		for _, n := range parseNotes(data, ef.ByteOrder) {
			if n.Name == "GNU" && n.Type == 3 {
				return hex.EncodeToString(n.Desc)
			}
		}
	}
	return ""
}

// elfNote is one ELF note.
type elfNote struct {
	Name string
	Type uint32
	Desc []byte
}

// parseNotes parses a note segment or section; a truncated trailing note is
// dropped.
func parseNotes(data []byte, bo binary.ByteOrder) []elfNote {
	var notes []elfNote
	for len(data) >= 12 {
		namesz := uint64(bo.Uint32(data[0:]))
		descsz := uint64(bo.Uint32(data[4:]))
		typ := bo.Uint32(data[8:])
		data = data[12:]
		na := (namesz + 3) &^ 3
		da := (descsz + 3) &^ 3
		if na > uint64(len(data)) || namesz > na {
			break
		}
		name := string(data[:namesz])
		name = strings.TrimRight(name, "\x00")
		data = data[na:]
		if descsz > uint64(len(data)) {
			break
		}
		desc := data[:descsz]
		if da > uint64(len(data)) {
			da = uint64(len(data))
		}
		data = data[da:]
		notes = append(notes, elfNote{Name: name, Type: typ, Desc: desc})
	}
	return notes
}

// loadKallsyms reads the running kernel's symbols from /proc/kallsyms (or
// another file of its format). The values are run-time addresses.
func loadKallsyms(name string) (*execImage, error) {
	img, err := loadSymbolText(name)
	if err != nil {
		return nil, err
	}
	img.runtimeAddrs = true
	img.info = execInfo{Name: name, Machine: hostMachine(), Class: hostClass(), ByteOrder: binary.NativeEndian}
	img.info.Symbol = img.symbol
	// The running kernel's build ID is in its notes.
	if b, err := os.ReadFile("/sys/kernel/notes"); err == nil {
		for _, n := range parseNotes(b, binary.NativeEndian) {
			if n.Name == "GNU" && n.Type == 3 {
				img.info.BuildID = hex.EncodeToString(n.Desc)
			}
		}
	}
	// Of the image's contents only linux_banner is known: /proc/version
	// prints the same text. It lets a raw reader (/dev/mem) find the kernel.
	if v, err := os.ReadFile("/proc/version"); err == nil && len(v) > 0 {
		if ba, ok := img.syms["linux_banner"]; ok {
			img.info.ReadLink = func(buf []byte, addr uint64) (int, error) {
				if addr < ba || addr-ba >= uint64(len(v)) {
					return 0, fmt.Errorf("%#x: only linux_banner (from /proc/version) is known of the running kernel", addr)
				}
				n := copy(buf, v[addr-ba:])
				if n < len(buf) {
					return n, io.ErrUnexpectedEOF
				}
				return n, nil
			}
		}
	}
	return img, nil
}

// loadSymbolText reads a symbol file of nm's format, "ADDRESS TYPE NAME"
// lines: System.map (link-time addresses) or /proc/kallsyms (run-time
// ones; the caller says which).
func loadSymbolText(name string) (*execImage, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img := &execImage{name: name}
	var core int
	if img.list, core, err = parseKallsyms(f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(img.list) == 0 {
		return nil, fmt.Errorf("%s: no symbols (expected \"ADDRESS TYPE NAME\" lines, as System.map or /proc/kallsyms)", name)
	}
	// The kernel's own symbols first; modules' (after them in
	// /proc/kallsyms) only where the kernel has no such name.
	img.syms = symbolsByName(img.list[:core])
	for n, v := range symbolsByName(img.list[core:]) {
		if _, ok := img.syms[n]; !ok {
			img.syms[n] = v
		}
	}
	img.info.Name = name
	img.info.Symbol = img.symbol
	return img, nil
}

// symbolsByName indexes symbols by name; where a name repeats, the first
// global (upper-case type) definition wins, else the first local one.
func symbolsByName(list []KernelSymbol) map[string]uint64 {
	m := make(map[string]uint64, len(list))
	for _, s := range list {
		if s.Type >= 'A' && s.Type <= 'Z' {
			if _, ok := m[s.Name]; !ok {
				m[s.Name] = s.Addr
			}
		}
	}
	for _, s := range list {
		if _, ok := m[s.Name]; !ok {
			m[s.Name] = s.Addr
		}
	}
	return m
}

// errKptrRestrict is the error for a kallsyms file whose addresses are
// all hidden.
var errKptrRestrict = errors.New("all addresses are 0: kernel.kptr_restrict hides the addresses: run as root or set kernel.kptr_restrict=0")

// parseKallsyms parses "ADDRESS TYPE NAME [\[MODULE\]]" lines; core is
// the number before the first module's symbol.
func parseKallsyms(r io.Reader) (list []KernelSymbol, core int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	allZero := true
	core = -1
	for sc.Scan() {
		line++
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 || len(fs[1]) != 1 || len(fs) > 4 || len(fs) == 4 && !strings.HasPrefix(fs[3], "[") {
			return nil, 0, fmt.Errorf("line %d: expected \"ADDRESS TYPE NAME\" or \"ADDRESS TYPE NAME [MODULE]\"", line)
		}
		v, err := strconv.ParseUint(fs[0], 16, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("line %d: bad address %q", line, fs[0])
		}
		if v != 0 {
			allZero = false
		}
		if len(list) >= maxSymbols {
			return nil, 0, fmt.Errorf("more than %d symbols", maxSymbols)
		}
		if core < 0 && len(fs) > 3 && strings.HasPrefix(fs[3], "[") {
			core = len(list)
		}
		list = append(list, KernelSymbol{Name: fs[2], Addr: v, Type: fs[1][0]})
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	if line > 0 && allZero {
		return nil, 0, errKptrRestrict
	}
	if core < 0 {
		core = len(list)
	}
	return list, core, nil
}
