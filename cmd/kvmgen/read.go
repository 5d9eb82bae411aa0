package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	kvm "github.com/kvmgen/kvmgen/runtime"
)

func init() {
	register(command{
		name:  "read",
		usage: "read -kernel VMLINUX -core DUMP ADDRESS|SYMBOL[+OFFSET] LENGTH: hex dump of target memory",
		run:   runRead,
	})
}

// maxReadLength bounds one read command.
const maxReadLength = 1 << 30

func runRead(stdout io.Writer, args []string) error {
	fs := newFlagSet("read", "read [-kernel VMLINUX] [-core DUMP] [-phys] [-raw] ADDRESS|SYMBOL[+OFFSET] LENGTH")
	ta := targetFlags(fs)
	phys := fs.Bool("phys", false, "ADDRESS is physical")
	raw := fs.Bool("raw", false, "write the raw bytes instead of a hex dump")
	asJSON := jsonFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("read: want ADDRESS|SYMBOL[+OFFSET] LENGTH, got %q", fs.Args())
	}
	length, err := strconv.ParseUint(fs.Arg(1), 0, 64)
	if err != nil || length > maxReadLength {
		return fmt.Errorf("read: bad LENGTH %q (a number up to %d)", fs.Arg(1), maxReadLength)
	}
	kd, err := ta.open()
	if err != nil {
		return err
	}
	defer kd.Close()
	addr, err := parseAddress(kd, fs.Arg(0))
	if err != nil {
		return err
	}
	read := func(chunk []byte, at uint64) error {
		var err error
		if *phys {
			_, err = kd.ReadPhys(chunk, at)
		} else {
			_, err = kd.Read2(at, chunk)
		}
		return err
	}
	// Up to 16 MiB (and always with -json) the whole range is read before
	// anything is printed: a read that fails prints nothing but the error.
	// Longer ranges stream, and stop at the first unreadable byte.
	if length <= 16<<20 || *asJSON {
		if *asJSON && length > 16<<20 {
			return fmt.Errorf("read: -json reads at most %d bytes", 16<<20)
		}
		b := make([]byte, length)
		if err := read(b, addr); err != nil {
			return err
		}
		switch {
		case *asJSON:
			return writeJSON(stdout, map[string]any{"address": hexAddr(addr), "physical": *phys, "length": length, "hex": hex.EncodeToString(b)})
		case *raw:
			_, err := stdout.Write(b)
			return err
		}
		hd := &hexDumper{w: stdout, addr: addr, width: 16}
		if kd.Info().PtrSize == 4 && !*phys {
			hd.width = 8
		}
		hd.write(b)
		hd.flush()
		return nil
	}
	var hd *hexDumper
	if !*raw {
		hd = &hexDumper{w: stdout, addr: addr, width: 16}
		if kd.Info().PtrSize == 4 && !*phys {
			hd.width = 8 // 32-bit targets: 8 hex digits
		}
	}
	buf := make([]byte, 64<<10)
	for done := uint64(0); done < length; {
		n := min(uint64(len(buf)), length-done)
		chunk := buf[:n]
		if err := read(chunk, addr+done); err != nil {
			if hd != nil {
				hd.flush()
			}
			return err
		}
		if hd != nil {
			hd.write(chunk)
		} else if _, err := stdout.Write(chunk); err != nil {
			return err
		}
		done += n
	}
	if hd != nil {
		hd.flush()
	}
	return nil
}

// parseAddress accepts a number (0x... hex, or decimal) or SYMBOL[+OFFSET].
func parseAddress(kd *kvm.KVM, s string) (uint64, error) {
	if v, err := strconv.ParseUint(s, 0, 64); err == nil {
		return v, nil
	}
	name, offs, hasOff := strings.Cut(s, "+")
	var off uint64
	if hasOff {
		var err error
		if off, err = strconv.ParseUint(offs, 0, 64); err != nil {
			return 0, fmt.Errorf("read: bad offset %q in %q", offs, s)
		}
	}
	v, err := kd.LookupSymbol(name)
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	return v + off, nil
}

// hexDumper writes `hexdump -C` lines with absolute addresses, folding
// repeated lines into "*", and ends with the end address.
type hexDumper struct {
	w       io.Writer
	width   int // hex digits of an address
	addr    uint64
	pending []byte
	last    []byte
	starred bool
}

func (h *hexDumper) write(p []byte) {
	h.pending = append(h.pending, p...)
	for len(h.pending) >= 16 {
		h.line(h.pending[:16])
		h.pending = h.pending[16:]
	}
}

// flush writes the last partial line and, as hexdump -C does, a line with
// the end address.
func (h *hexDumper) flush() {
	if len(h.pending) > 0 {
		h.line(h.pending)
		h.pending = nil
	}
	fmt.Fprintf(h.w, "%0*x\n", h.width, h.addr)
}

func (h *hexDumper) line(b []byte) {
	if len(b) == 16 && h.last != nil && bytes.Equal(b, h.last) {
		if !h.starred {
			fmt.Fprintln(h.w, "*")
			h.starred = true
		}
		h.addr += 16
		return
	}
	h.starred = false
	h.last = append(h.last[:0], b...)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%0*x ", h.width, h.addr)
	for i := 0; i < 16; i++ {
		if i == 8 {
			sb.WriteByte(' ')
		}
		if i < len(b) {
			fmt.Fprintf(&sb, " %02x", b[i])
		} else {
			sb.WriteString("   ")
		}
	}
	sb.WriteString("  |")
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		sb.WriteByte(c)
	}
	sb.WriteString("|\n")
	io.WriteString(h.w, sb.String())
	h.addr += uint64(len(b))
}
