package isf

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ulikunitz/xz"
)

// SHA256File returns the lower-case hex SHA-256 of a file's contents.
func SHA256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ErrNoBanner is returned by ELFBanner when the image has no linux_banner
// symbol.
var ErrNoBanner = errors.New("no linux_banner symbol")

// ELFBanner returns the bytes of the linux_banner symbol of a kernel
// image, NUL included: the symbol's size of bytes from the allocated
// section that holds it. syms is the image's symbol table when the caller
// has read it (nil to read it here).
func ELFBanner(name string, syms []elf.Symbol) ([]byte, error) {
	ef, err := elf.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: not an ELF file (%v)", name, err)
	}
	defer ef.Close()
	if syms == nil {
		if syms, err = ef.Symbols(); err != nil {
			return nil, fmt.Errorf("%s: %w: %v", name, ErrNoBanner, err)
		}
	}
	for _, s := range syms {
		if s.Name != "linux_banner" {
			continue
		}
		return ELFData(ef, name, s.Value, s.Size)
	}
	return nil, fmt.Errorf("%s: %w", name, ErrNoBanner)
}

// ELFData reads size bytes at link-time address addr of an ELF image, from
// the allocated section with contents that holds them; for a banner with
// no recorded size (0), up to and including the first NUL (at most 1 KiB).
func ELFData(ef *elf.File, name string, addr, size uint64) ([]byte, error) {
	for _, sec := range ef.Sections {
		if sec.Flags&elf.SHF_ALLOC == 0 || sec.Type == elf.SHT_NOBITS || addr < sec.Addr || addr >= sec.Addr+sec.Size {
			continue
		}
		n := size
		if n == 0 {
			n = 1024
		}
		if addr+n > sec.Addr+sec.Size {
			if size != 0 {
				return nil, fmt.Errorf("%s: %d bytes at %#x run past section %s", name, size, addr, sec.Name)
			}
			n = sec.Addr + sec.Size - addr
		}
		b := make([]byte, n)
		if _, err := sec.ReadAt(b, int64(addr-sec.Addr)); err != nil {
			return nil, fmt.Errorf("%s: reading %d bytes at %#x in %s: %v", name, n, addr, sec.Name, err)
		}
		if size == 0 {
			i := strings.IndexByte(string(b), 0)
			if i < 0 {
				return nil, fmt.Errorf("%s: no NUL in the 1 KiB at %#x", name, addr)
			}
			b = b[:i+1]
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s: no section holds address %#x", name, addr)
}

// ELFSymbols returns an ELF image's .symtab as Symbols, leaving out
// section and file symbols and empty names (Dedup resolves duplicates).
func ELFSymbols(syms []elf.Symbol) []Symbol {
	out := make([]Symbol, 0, len(syms))
	for _, s := range syms {
		t := elf.ST_TYPE(s.Info)
		if s.Name == "" || t == elf.STT_SECTION || t == elf.STT_FILE {
			continue
		}
		b := elf.ST_BIND(s.Info)
		out = append(out, Symbol{Name: s.Name, Address: s.Value, Global: b == elf.STB_GLOBAL || b == elf.STB_WEAK})
	}
	return out
}

// ParseSystemMap reads a System.map (or a /proc/kallsyms copy: module
// symbols, "name [module]", are left out): lines "ADDRESS TYPE NAME" with
// link-time addresses. An upper-case type letter is a global symbol.
func ParseSystemMap(r io.Reader, name string) ([]Symbol, error) {
	var out []Symbol
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 || len(f[1]) != 1 {
			return nil, fmt.Errorf("%s:%d: not a System.map line (want \"ADDRESS TYPE NAME\"): %.60q", name, line, sc.Text())
		}
		a, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: bad address %q (want hex)", name, line, f[0])
		}
		if len(f) > 3 && strings.HasPrefix(f[3], "[") {
			continue
		}
		c := f[1][0]
		out = append(out, Symbol{Name: f[2], Address: a, Global: c >= 'A' && c <= 'Z'})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no symbols (want a System.map: \"ADDRESS TYPE NAME\" lines)", name)
	}
	return out, nil
}

// Create creates the named output file, compressing what is written to it
// when the name ends in .json.xz (xz) or .json.gz (gzip), the compressed
// forms Volatility 3 reads. Close finishes the compressed stream and the
// file.
func Create(name string) (io.WriteCloser, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasSuffix(name, ".xz"):
		bw := bufio.NewWriterSize(f, 1<<20)
		cfg := xz.WriterConfig{DictCap: 8 << 20}
		zw, err := cfg.NewWriter(bw)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &chain{w: zw, closers: []func() error{zw.Close, bw.Flush, f.Close}}, nil
	case strings.HasSuffix(name, ".gz"):
		bw := bufio.NewWriterSize(f, 1<<20)
		zw := gzip.NewWriter(bw)
		return &chain{w: zw, closers: []func() error{zw.Close, bw.Flush, f.Close}}, nil
	}
	return f, nil
}

type chain struct {
	w       io.Writer
	closers []func() error
}

func (c *chain) Write(b []byte) (int, error) { return c.w.Write(b) }

func (c *chain) Close() error {
	var first error
	for _, f := range c.closers {
		if err := f(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
