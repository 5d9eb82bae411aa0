package runtime

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// execImage is a loaded execfile: a kernel image or program (ELF), or the
// running kernel's /proc/kallsyms.
type execImage struct {
	info ExecInfo
	syms map[string]uint64 // link-time values (kallsyms: run-time values)
	// live says the symbols came from /proc/kallsyms: they already carry
	// the KASLR displacement.
	live  bool
	name  string
	loads []segment // PT_LOADs by link-time virtual address
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
		info: ExecInfo{Name: name, Machine: ef.Machine, Class: ef.Class, ByteOrder: ef.ByteOrder},
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
	for _, s := range syms {
		if s.Name == "" || s.Section == elf.SHN_UNDEF {
			continue
		}
		switch elf.ST_TYPE(s.Info) {
		case elf.STT_SECTION, elf.STT_FILE:
			continue
		}
		// Prefer global definitions over local ones of the same name.
		if _, ok := img.syms[s.Name]; ok && elf.ST_BIND(s.Info) == elf.STB_LOCAL {
			continue
		}
		img.syms[s.Name] = s.Value
	}
	img.info.Symbol = img.symbol
	return img, nil
}

func (img *execImage) symbol(name string) (uint64, bool) {
	v, ok := img.syms[name]
	return v, ok
}

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
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img := &execImage{syms: make(map[string]uint64), live: true}
	img.info = ExecInfo{Name: name, Machine: hostMachine(), Class: hostClass(), ByteOrder: binary.NativeEndian}
	if err := parseKallsyms(f, img.syms); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
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

func parseKallsyms(r io.Reader, syms map[string]uint64) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	allZero := true
	for sc.Scan() {
		line++
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 {
			return fmt.Errorf("line %d: expected \"ADDRESS TYPE NAME\"", line)
		}
		v, err := strconv.ParseUint(fs[0], 16, 64)
		if err != nil {
			return fmt.Errorf("line %d: bad address %q", line, fs[0])
		}
		if v != 0 {
			allZero = false
		}
		if len(syms) >= maxSymbols {
			return fmt.Errorf("more than %d symbols", maxSymbols)
		}
		if _, ok := syms[fs[2]]; !ok {
			syms[fs[2]] = v
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if line > 0 && allZero {
		return fmt.Errorf("all addresses are 0 (kernel.kptr_restrict hides them; run as root)")
	}
	return nil
}
