package dwarfmodel

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/go-delve/delve/pkg/dwarf/godwarf"
)

// infoPart is one .debug_info section of a relocatable object and where
// its bytes are in File.infoMem.
type infoPart struct {
	sec       *elf.Section
	base, len int
}

// Options tunes OpenWith and NewFileWith.
type Options struct {
	// Progress, when set, is called during indexing with the bytes of
	// .debug_info (and .debug_types, when the file has DWARF 4 type
	// units) indexed so far and their total size. Calls are serialized;
	// the last one has done == total.
	Progress func(done, total int64)

	// CacheDir, when set, keeps the index of each file with a GNU build ID
	// in this directory (DefaultCacheDir() is the usual choice) and reuses
	// it on the next open of a file with the same build ID, size and
	// .debug_info size: open then skips the indexing pass. A damaged or
	// stale cache file is ignored and rewritten; failing to write one is
	// not an error.
	CacheDir string
}

// File is an ELF file with DWARF, indexed. Its methods are safe for
// concurrent use.
type File struct {
	name   string
	ra     io.ReaderAt
	closer io.Closer
	size   int64 // file size, -1 when unknown
	ef     *elf.File
	dm     DataModel

	// DWARF sections. info is read with ReadAt, one unit at a time, unless
	// the section was compressed (then infoMem holds it whole).
	info       io.ReaderAt
	infoSize   int64 // of .debug_info, plus .debug_types when there is one
	typesBase  int64 // where .debug_types starts in that space; 0: none
	infoMem    []byte
	infoParts  []infoPart // relocatable objects: the .debug_info sections in infoMem
	closed     bool
	fromCache  bool   // the index came from Options.CacheDir
	abbrev     []byte // when loaded whole (compressed, relocatable)
	abbrevRA   io.ReaderAt
	abbrevSize int64
	str        []byte
	lineStr    []byte
	strOffs    []byte
	addr       []byte
	abbrevMu   sync.Mutex
	abbrevMap  map[abbrevKey]*abbrevTable

	units  []*unit
	sigs   map[uint64]uint64 // type signature -> type DIE offset (DWARF 5 type units)
	idx    index
	opts   Options
	mu     sync.Mutex // guards memo, cache, names
	memo   map[uint64]Type
	cache  unitCache
	tnames []string
	vnames []string

	symOnce sync.Once
	syms    []Symbol
	symMap  map[string]int
	symErr  error

	idOnce  sync.Once
	buildID string
}

// Open opens the named ELF file and indexes its DWARF.
func Open(name string) (*File, error) { return OpenWith(name, Options{}) }

// OpenWith is Open with options.
func OpenWith(name string, opts Options) (*File, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := newFile(fh, name, st.Size(), opts)
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// NewFile indexes the ELF file read from r. Errors name no file.
func NewFile(r io.ReaderAt) (*File, error) { return NewFileWith(r, Options{}) }

// NewFileWith is NewFile with options.
func NewFileWith(r io.ReaderAt, opts Options) (*File, error) {
	size := int64(-1)
	if s, ok := r.(interface{ Size() int64 }); ok {
		size = s.Size()
	} else if s, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if st, err := s.Stat(); err == nil {
			size = st.Size()
		}
	}
	return newFile(r, "", size, opts)
}

// Close releases the file. Types already decoded stay usable; Type and
// Variable fail afterwards.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	var err error
	if f.closer != nil {
		if e := f.closer.Close(); err == nil {
			err = e
		}
		f.closer = nil
	}
	return err
}

// Name is the file name given to Open, or "".
func (f *File) Name() string { return f.name }

// DataModel is the target's data model, from the ELF header.
func (f *File) DataModel() DataModel { return f.dm }

func (f *File) errf(section string, off int64, format string, args ...any) *FormatError {
	return &FormatError{File: f.name, Section: section, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func newFile(r io.ReaderAt, name string, size int64, opts Options) (f *File, err error) {
	f = &File{name: name, ra: r, size: size, opts: opts, memo: map[uint64]Type{}, abbrevMap: map[abbrevKey]*abbrevTable{}}
	f.cache.max = unitCacheBytes
	ef, err := safeNewELF(r)
	if err != nil {
		var fe *elf.FormatError
		if errors.As(err, &fe) {
			return nil, &FormatError{File: name, Section: "ELF header", Msg: fe.Error()}
		}
		return nil, &FormatError{File: name, Section: "ELF header", Msg: err.Error()}
	}
	f.ef = ef
	f.dm = dataModel(ef)
	if err := f.loadSections(); err != nil {
		return nil, err
	}
	if f.loadIndexCache() {
		f.fromCache = true
		if opts.Progress != nil {
			opts.Progress(f.infoSize, f.infoSize)
		}
		return f, nil
	}
	if err := f.buildIndex(); err != nil {
		return nil, err
	}
	f.saveIndexCache() // best effort: the cache only saves time
	return f, nil
}

// safeNewELF is elf.NewFile, turning a panic on hostile input (debug/elf
// has had such bugs) into an error.
func safeNewELF(r io.ReaderAt) (ef *elf.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			ef, err = nil, fmt.Errorf("malformed ELF: %v", p)
		}
	}()
	return elf.NewFile(r)
}

func dataModel(ef *elf.File) DataModel {
	m := DataModel{Machine: ef.Machine, Class: ef.Class, ByteOrder: ef.ByteOrder}
	if m.ByteOrder == nil {
		m.ByteOrder = binary.LittleEndian
	}
	m.PtrSize = 4
	if ef.Class == elf.ELFCLASS64 {
		m.PtrSize = 8
	}
	m.Arch = ArchName(ef.Machine, ef.Class, m.ByteOrder)
	return m
}

// ArchName names an architecture by its ELF machine, class and byte order
// with GNU triplet CPU names: "x86_64", "i386", "aarch64", "s390x",
// "ppc64le", "mipsel"...
func ArchName(machine elf.Machine, class elf.Class, bo binary.ByteOrder) string {
	is64 := class == elf.ELFCLASS64
	be := bo == binary.BigEndian
	switch machine {
	case elf.EM_X86_64:
		if !is64 {
			return "x32"
		}
		return "x86_64"
	case elf.EM_386:
		return "i386"
	case elf.EM_AARCH64:
		if be {
			return "aarch64_be"
		}
		return "aarch64"
	case elf.EM_ARM:
		if be {
			return "armeb"
		}
		return "arm"
	case elf.EM_S390:
		if is64 {
			return "s390x"
		}
		return "s390"
	case elf.EM_PPC64:
		if !be {
			return "ppc64le"
		}
		return "ppc64"
	case elf.EM_PPC:
		return "powerpc"
	case elf.EM_RISCV:
		if is64 {
			return "riscv64"
		}
		return "riscv32"
	case elf.EM_MIPS:
		switch {
		case is64 && be:
			return "mips64"
		case is64:
			return "mips64el"
		case be:
			return "mips"
		default:
			return "mipsel"
		}
	case elf.EM_SPARCV9:
		return "sparc64"
	case elf.EM_SPARC:
		return "sparc"
	case elf.EM_LOONGARCH:
		return "loongarch64"
	}
	return fmt.Sprintf("elf-machine-%d", int(machine))
}

// Limits on what a section may decompress to, so a forged header cannot
// make us allocate without bound.
const (
	maxDecompressed      = 4 << 30
	maxDecompressedRatio = 2000
)

// section finds .debug_<name> or .zdebug_<name>.
func (f *File) section(name string) *elf.Section {
	if s := f.ef.Section(".debug_" + name); s != nil {
		return s
	}
	return f.ef.Section(".zdebug_" + name)
}

func (f *File) checkRange(s *elf.Section) error {
	if s.Type == elf.SHT_NOBITS {
		return f.errf(s.Name, 0, "section has no data in the file (SHT_NOBITS): a stripped debug file?")
	}
	if f.size >= 0 && (s.Offset > uint64(f.size) || s.FileSize > uint64(f.size)-s.Offset) {
		return f.errf("ELF section headers", 0, "section %s [%#x, +%#x) lies beyond the end of the file (%#x bytes)", s.Name, s.Offset, s.FileSize, f.size)
	}
	return nil
}

func compressed(s *elf.Section) bool {
	return s.Flags&elf.SHF_COMPRESSED != 0 || (len(s.Name) > 8 && s.Name[:8] == ".zdebug_")
}

// sectionData loads a whole debug section, decompressing it (SHF_COMPRESSED
// zlib or zstd, or a legacy .zdebug_ section). A missing section is nil.
func (f *File) sectionData(name string) ([]byte, error) {
	s := f.section(name)
	if s == nil {
		return nil, nil
	}
	return f.sectionBytes(s, name)
}

// sectionBytes loads the section s, which is .debug_<name> or
// .zdebug_<name>, decompressing it.
func (f *File) sectionBytes(s *elf.Section, name string) ([]byte, error) {
	if err := f.checkRange(s); err != nil {
		return nil, err
	}
	if !compressed(s) {
		b := make([]byte, s.Size)
		if _, err := s.ReadAt(b, 0); err != nil && !(err == io.EOF) {
			return nil, f.errf(s.Name, 0, "reading %d bytes: %v", s.Size, err)
		}
		return b, nil
	}
	if s.Flags&elf.SHF_COMPRESSED == 0 {
		// Legacy .zdebug_: "ZLIB" then the big-endian uncompressed size.
		var hdr [12]byte
		if _, err := s.ReadAt(hdr[:], 0); err != nil {
			return nil, f.errf(s.Name, 0, "reading the compression header: %v", err)
		}
		if string(hdr[:4]) == "ZLIB" {
			n := binary.BigEndian.Uint64(hdr[4:])
			if n > maxDecompressed || n > s.Size*maxDecompressedRatio+1<<20 {
				return nil, f.errf(s.Name, 4, "uncompressed size %#x is implausible for %#x compressed bytes", n, s.Size)
			}
		}
	} else if s.Size > maxDecompressed || s.Size > s.FileSize*maxDecompressedRatio+1<<20 {
		return nil, f.errf(s.Name, 0, "uncompressed size %#x is implausible for %#x compressed bytes", s.Size, s.FileSize)
	}
	var b []byte
	var err error
	if s.Flags&elf.SHF_COMPRESSED != 0 && f.section(name) != s {
		// One of several sections of that name (a relocatable object's
		// section groups): delve's helper finds only the first by name;
		// debug/elf decompresses SHF_COMPRESSED itself.
		b, err = s.Data()
	} else {
		b, err = godwarfSection(f.ef, name)
	}
	if err != nil {
		return nil, f.errf(s.Name, 0, "decompressing: %v", err)
	}
	return b, nil
}

func godwarfSection(ef *elf.File, name string) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("%v", p)
		}
	}()
	return godwarf.GetDebugSectionElf(ef, name)
}

func (f *File) loadSections() error {
	s := f.section("info")
	if s == nil {
		return fmt.Errorf("%s: %w: no .debug_info section", f.displayName(), ErrNoDWARF)
	}
	if err := f.checkRange(s); err != nil {
		return err
	}
	relocate := f.ef.Type == elf.ET_REL
	if relocate {
		// A relocatable object may hold several .debug_info sections
		// (section groups, as -fdebug-types-section makes): each holds
		// whole units, so they are read one after the other.
		var b []byte
		for _, p := range f.ef.Sections {
			if p.Name != s.Name {
				continue
			}
			d, err := f.sectionBytes(p, "info")
			if err != nil {
				return err
			}
			f.infoParts = append(f.infoParts, infoPart{p, len(b), len(d)})
			b = append(b, d...)
		}
		f.infoMem = b
		f.info = bytes.NewReader(b)
		f.infoSize = int64(len(b))
	} else if compressed(s) {
		b, err := f.sectionData("info")
		if err != nil {
			return err
		}
		f.infoMem = b
		f.info = bytes.NewReader(b)
		f.infoSize = int64(len(b))
	} else {
		f.info = io.NewSectionReader(f.ra, int64(s.Offset), int64(s.Size))
		f.infoSize = int64(s.Size)
	}
	if err := f.loadTypes(relocate); err != nil {
		return err
	}
	var err error
	load := func(dst *[]byte, name string) {
		if err == nil {
			*dst, err = f.sectionData(name)
		}
	}
	if as := f.section("abbrev"); as != nil && !compressed(as) && !relocate {
		// Read a table at a time: the kernel's is 5 MB.
		if err := f.checkRange(as); err != nil {
			return err
		}
		f.abbrevRA, f.abbrevSize = io.NewSectionReader(f.ra, int64(as.Offset), int64(as.Size)), int64(as.Size)
	} else {
		load(&f.abbrev, "abbrev")
		if f.abbrev != nil {
			f.abbrevRA, f.abbrevSize = bytes.NewReader(f.abbrev), int64(len(f.abbrev))
		}
	}
	load(&f.str, "str")
	load(&f.lineStr, "line_str")
	load(&f.strOffs, "str_offsets")
	load(&f.addr, "addr")
	if err != nil {
		return err
	}
	if f.abbrevRA == nil {
		return fmt.Errorf("%s: %w: no .debug_abbrev section", f.displayName(), ErrNoDWARF)
	}
	if relocate {
		if err := f.safeApplyRelocations(); err != nil {
			return err
		}
	}
	return nil
}

// loadTypes appends the DWARF 4 type units of .debug_types (if any) to the
// units' address space: they are read at offsets from f.typesBase (the
// size of .debug_info) on, so that one offset names any DIE. Type.Offset of
// a type from .debug_types is therefore its section offset plus the size
// of .debug_info.
func (f *File) loadTypes(relocate bool) error {
	var parts []*elf.Section
	for _, p := range f.ef.Sections {
		if p.Name == ".debug_types" || p.Name == ".zdebug_types" {
			parts = append(parts, p)
			if !relocate {
				break
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	f.typesBase = f.infoSize
	if f.infoMem == nil && len(parts) == 1 && !compressed(parts[0]) {
		p := parts[0]
		if err := f.checkRange(p); err != nil {
			return err
		}
		f.info = &pairReaderAt{f.info, io.NewSectionReader(f.ra, int64(p.Offset), int64(p.Size)), f.infoSize}
		f.infoSize += int64(p.Size)
		return nil
	}
	var b []byte
	for _, p := range parts {
		d, err := f.sectionBytes(p, "types")
		if err != nil {
			return err
		}
		if relocate {
			f.infoParts = append(f.infoParts, infoPart{p, int(f.infoSize) + len(b), len(d)})
		}
		b = append(b, d...)
	}
	if f.infoMem != nil {
		f.infoMem = append(f.infoMem, b...)
		f.info = bytes.NewReader(f.infoMem)
	} else {
		f.info = &pairReaderAt{f.info, bytes.NewReader(b), f.infoSize}
	}
	f.infoSize += int64(len(b))
	return nil
}

// pairReaderAt reads a then b as one space (a is split bytes long).
type pairReaderAt struct {
	a, b  io.ReaderAt
	split int64
}

func (p *pairReaderAt) ReadAt(buf []byte, off int64) (int, error) {
	if off >= p.split {
		return p.b.ReadAt(buf, off-p.split)
	}
	if off+int64(len(buf)) <= p.split {
		return p.a.ReadAt(buf, off)
	}
	n, err := p.a.ReadAt(buf[:p.split-off], off)
	if err != nil {
		return n, err
	}
	m, err := p.b.ReadAt(buf[n:], 0)
	return n + m, err
}

func (f *File) displayName() string {
	if f.name == "" {
		return "ELF input"
	}
	return f.name
}

// BuildID is the GNU build ID (NT_GNU_BUILD_ID note) as lower-case hex;
// when the file has none, "sha256:" and the hex SHA-256 of its contents.
func (f *File) BuildID() string {
	f.idOnce.Do(func() {
		if id := f.noteBuildID(); id != "" {
			f.buildID = id
			return
		}
		h := sha256.New()
		if f.size >= 0 {
			io.Copy(h, io.NewSectionReader(f.ra, 0, f.size))
		} else {
			// Unknown size: hash what DWARF we read.
			h.Write(f.infoMem)
			h.Write(f.abbrev)
			h.Write(f.str)
		}
		f.buildID = "sha256:" + hex.EncodeToString(h.Sum(nil))
	})
	return f.buildID
}

// NoteBuildID returns the GNU build ID (NT_GNU_BUILD_ID) in a note section
// or segment's bytes as lower-case hex, "" if there is none.
func NoteBuildID(b []byte, order binary.ByteOrder) string {
	for len(b) >= 12 {
		nsz := uint64(order.Uint32(b))
		dsz := uint64(order.Uint32(b[4:]))
		typ := order.Uint32(b[8:])
		b = b[12:]
		na := (nsz + 3) &^ 3
		da := (dsz + 3) &^ 3
		if na > uint64(len(b)) || da > uint64(len(b))-na || dsz > da {
			return ""
		}
		if typ == 3 && nsz == 4 && string(b[:4]) == "GNU\x00" && dsz > 0 {
			return hex.EncodeToString(b[na : na+dsz])
		}
		b = b[na+da:]
	}
	return ""
}

func (f *File) noteBuildID() string {
	order := f.dm.ByteOrder
	scan := func(r io.ReaderAt, size uint64) string {
		if size > 1<<20 {
			size = 1 << 20
		}
		b := make([]byte, size)
		n, _ := r.ReadAt(b, 0)
		return NoteBuildID(b[:n], order)
	}
	for _, s := range f.ef.Sections {
		if s.Type == elf.SHT_NOTE && f.checkRange(s) == nil {
			if id := scan(s, s.Size); id != "" {
				return id
			}
		}
	}
	for _, p := range f.ef.Progs {
		if p.Type == elf.PT_NOTE {
			if id := scan(p, p.Filesz); id != "" {
				return id
			}
		}
	}
	return ""
}

// Symbols returns the ELF symbol table (.symtab, else .dynsym) sorted by
// name, then value. Section and file symbols are left out.
func (f *File) Symbols() ([]Symbol, error) {
	f.loadSymbols()
	if f.symErr != nil {
		return nil, f.symErr
	}
	out := make([]Symbol, len(f.syms))
	copy(out, f.syms)
	return out, nil
}

// Symbol looks up a symbol by name (the first by value when several share
// it).
func (f *File) Symbol(name string) (Symbol, bool) {
	f.loadSymbols()
	i, ok := f.symMap[name]
	if !ok {
		return Symbol{}, false
	}
	return f.syms[i], true
}

func (f *File) loadSymbols() {
	f.symOnce.Do(func() {
		defer func() {
			if p := recover(); p != nil {
				f.syms, f.symMap = nil, nil
				f.symErr = &FormatError{File: f.name, Section: ".symtab", Msg: fmt.Sprintf("malformed symbol table (%v)", p)}
			}
		}()
		syms, err := f.ef.Symbols()
		if err != nil && errors.Is(err, elf.ErrNoSymbols) {
			syms, err = f.ef.DynamicSymbols()
		}
		if err != nil {
			if errors.Is(err, elf.ErrNoSymbols) {
				err = nil
			} else {
				f.symErr = &FormatError{File: f.name, Section: ".symtab", Msg: err.Error()}
				return
			}
		}
		out := make([]Symbol, 0, len(syms))
		for _, s := range syms {
			t := elf.ST_TYPE(s.Info)
			if s.Name == "" || t == elf.STT_SECTION || t == elf.STT_FILE {
				continue
			}
			out = append(out, Symbol{Name: s.Name, Value: s.Value, Size: s.Size, Type: t, Bind: elf.ST_BIND(s.Info)})
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].Name != out[j].Name {
				return out[i].Name < out[j].Name
			}
			return out[i].Value < out[j].Value
		})
		f.syms = out
		f.symMap = make(map[string]int, len(out))
		for i := len(out) - 1; i >= 0; i-- {
			f.symMap[out[i].Name] = i
		}
	})
}

func (f *File) safeApplyRelocations() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &FormatError{File: f.name, Section: "relocations", Msg: fmt.Sprintf("malformed relocations (%v)", p)}
		}
	}()
	return f.applyRelocations()
}
