// Package printk reads the kernel log (what dmesg shows) from a crash dump
// or a live kernel's memory: the lockless printk ring buffer of Linux 5.10
// and later (kernel/printk/printk_ringbuffer.c), whose layout the kernel
// publishes in VMCOREINFO (SYMBOL(prb), SIZE(printk_info),
// OFFSET(prb_desc_ring.count_bits), ...).
//
// The ring buffer is two rings: descriptors (each a state word holding the
// record's id and state, and the logical positions of its text block), with
// a parallel array of printk_info (sequence number, timestamp, text length,
// level, caller), and a text data ring whose blocks start with the id of the
// descriptor that owns them. Read walks the descriptors from the tail id to
// the head id (at most one lap: the walk is bounded by the ring's size) and
// keeps the committed and finalized records. A descriptor or text block that
// does not make sense is skipped with an error, and the result is marked
// Partial; Read never loops more than the ring holds.
package printk

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Memory reads the target's kernel virtual memory (kvm.KVM satisfies it).
type Memory interface {
	ReadMemory(buf []byte, addr uint64) (int, error)
}

// VMCoreInfo is what Read needs of the dump's VMCOREINFO
// (*runtime.VMCoreInfo satisfies it).
type VMCoreInfo interface {
	Get(key string) (string, bool)
	Symbol(name string) (uint64, bool)
}

// Layout is the position of every field Read uses, in bytes.
type Layout struct {
	PtrSize   int // sizeof(long): 4 or 8
	BigEndian bool

	// struct printk_ringbuffer
	DescRing, TextDataRing, Fail int
	// struct prb_desc_ring
	CountBits, Descs, Infos, HeadID, TailID int
	// struct prb_desc
	DescSize, StateVar, TextBlkLpos int
	// struct prb_data_blk_lpos
	LposBegin, LposNext int
	// struct printk_info
	InfoSize, Seq, TsNsec, TextLen, Facility, FlagsLevel, CallerID, DevInfo int
	// struct dev_printk_info
	Subsystem, SubsystemLen, Device, DeviceLen int
	// struct prb_data_ring
	SizeBits, Data, HeadLpos, TailLpos int
	// atomic_long_t.counter
	Counter int
}

// ErrNoRingBuffer says the dump's VMCOREINFO does not describe a printk
// ring buffer (a kernel older than 5.10, or no VMCOREINFO).
var ErrNoRingBuffer = errors.New("VMCOREINFO describes no printk_ringbuffer (SYMBOL(prb)): the lockless ring buffer of Linux 5.10+ is needed")

// LayoutFromVMCoreInfo reads the ring buffer's layout from VMCOREINFO.
// printk_info's facility and level are not in VMCOREINFO: they are the two
// bytes after text_len (u16 text_len; u8 facility; u8 flags:5, level:3),
// which the position of caller_id (text_len + 4) confirms.
func LayoutFromVMCoreInfo(vi VMCoreInfo, ptrSize int, bigEndian bool) (*Layout, error) {
	if vi == nil {
		return nil, ErrNoRingBuffer
	}
	if _, ok := vi.Symbol("prb"); !ok {
		return nil, ErrNoRingBuffer
	}
	l := &Layout{PtrSize: ptrSize, BigEndian: bigEndian}
	var missing []string
	get := func(key string, dst *int) {
		v, ok := vi.Get(key)
		if !ok {
			missing = append(missing, key)
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > 1<<20 {
			missing = append(missing, key+"="+v)
			return
		}
		*dst = n
	}
	get("OFFSET(printk_ringbuffer.desc_ring)", &l.DescRing)
	get("OFFSET(printk_ringbuffer.text_data_ring)", &l.TextDataRing)
	get("OFFSET(printk_ringbuffer.fail)", &l.Fail)
	get("OFFSET(prb_desc_ring.count_bits)", &l.CountBits)
	get("OFFSET(prb_desc_ring.descs)", &l.Descs)
	get("OFFSET(prb_desc_ring.infos)", &l.Infos)
	get("OFFSET(prb_desc_ring.head_id)", &l.HeadID)
	get("OFFSET(prb_desc_ring.tail_id)", &l.TailID)
	get("SIZE(prb_desc)", &l.DescSize)
	get("OFFSET(prb_desc.state_var)", &l.StateVar)
	get("OFFSET(prb_desc.text_blk_lpos)", &l.TextBlkLpos)
	get("OFFSET(prb_data_blk_lpos.begin)", &l.LposBegin)
	get("OFFSET(prb_data_blk_lpos.next)", &l.LposNext)
	get("SIZE(printk_info)", &l.InfoSize)
	get("OFFSET(printk_info.seq)", &l.Seq)
	get("OFFSET(printk_info.ts_nsec)", &l.TsNsec)
	get("OFFSET(printk_info.text_len)", &l.TextLen)
	get("OFFSET(printk_info.caller_id)", &l.CallerID)
	get("OFFSET(printk_info.dev_info)", &l.DevInfo)
	get("OFFSET(dev_printk_info.subsystem)", &l.Subsystem)
	get("LENGTH(printk_info_subsystem)", &l.SubsystemLen)
	get("OFFSET(dev_printk_info.device)", &l.Device)
	get("LENGTH(printk_info_device)", &l.DeviceLen)
	get("OFFSET(prb_data_ring.size_bits)", &l.SizeBits)
	get("OFFSET(prb_data_ring.data)", &l.Data)
	get("OFFSET(prb_data_ring.head_lpos)", &l.HeadLpos)
	get("OFFSET(prb_data_ring.tail_lpos)", &l.TailLpos)
	l.Counter = 0
	if v, ok := vi.Get("OFFSET(atomic_long_t.counter)"); ok {
		l.Counter, _ = strconv.Atoi(v)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("printk: VMCOREINFO lacks %s", strings.Join(missing, ", "))
	}
	l.Facility, l.FlagsLevel = -1, -1
	if l.CallerID == l.TextLen+4 {
		l.Facility, l.FlagsLevel = l.TextLen+2, l.TextLen+3
	}
	return l, nil
}

// Record is one kernel log record.
type Record struct {
	Seq       uint64 `json:"seq"`
	TsNsec    uint64 `json:"ts_nsec"`
	Level     int    `json:"level"`    // 0 (KERN_EMERG) .. 7 (KERN_DEBUG); -1 unknown
	Facility  int    `json:"facility"` // 0 for the kernel; -1 unknown
	Flags     int    `json:"flags"`    // LOG_NEWLINE 2, LOG_CONT 8 (printk_info.flags)
	CallerID  uint32 `json:"caller_id"`
	Text      string `json:"text"`
	Truncated bool   `json:"truncated,omitempty"` // text_len exceeds its data block
	Subsystem string `json:"subsystem,omitempty"`
	Device    string `json:"device,omitempty"`
}

// Caller formats CallerID as the kernel does with CONFIG_PRINTK_CALLER:
// "T<pid>" for a task, "C<cpu>" for a CPU in interrupt context.
func (r *Record) Caller() string {
	if r.CallerID&0x80000000 != 0 {
		return "C" + strconv.FormatUint(uint64(r.CallerID&^0x80000000), 10)
	}
	return "T" + strconv.FormatUint(uint64(r.CallerID), 10)
}

// Log is the result of Read.
type Log struct {
	Records []Record
	// Partial is set when some descriptors or text blocks could not be
	// decoded (Errs says which) or the walk stopped early.
	Partial bool
	Errs    []error
	// Dropped is printk_ringbuffer.fail: records the kernel failed to store.
	Dropped uint64
	// DescCount and DataSize are the sizes of the two rings.
	DescCount uint64
	DataSize  uint64
}

// Err joins Errs (nil when there are none).
func (l *Log) Err() error { return errors.Join(l.Errs...) }

// Options bound Read.
type Options struct {
	// MaxRingBytes bounds the descriptor, info and data arrays read
	// (default 1 GiB): a corrupt count_bits or size_bits is refused
	// rather than allocated.
	MaxRingBytes uint64
	// MaxErrs bounds the errors kept (default 32); later ones are counted.
	MaxErrs int
}

// Descriptor states (the two top bits of state_var).
const (
	descReserved  = 0
	descCommitted = 1
	descFinalized = 2
	descReusable  = 3
)

// Read reads every committed record of the ring buffer at SYMBOL(prb).
func Read(mem Memory, vi VMCoreInfo, ptrSize int, bigEndian bool, o Options) (*Log, error) {
	l, err := LayoutFromVMCoreInfo(vi, ptrSize, bigEndian)
	if err != nil {
		return nil, err
	}
	prbVar, _ := vi.Symbol("prb")
	r := reader{mem: mem, l: l}
	rb, err := r.ptr(prbVar)
	if err != nil {
		return nil, fmt.Errorf("printk: reading prb at %#x: %w", prbVar, err)
	}
	return ReadRing(mem, l, rb, o)
}

type reader struct {
	mem Memory
	l   *Layout
}

func (r *reader) order() binary.ByteOrder {
	if r.l.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (r *reader) read(addr uint64, n int) ([]byte, error) {
	b := make([]byte, n)
	got, err := r.mem.ReadMemory(b, addr)
	if err != nil {
		return nil, err
	}
	if got != n {
		return nil, fmt.Errorf("short read at %#x: %d of %d bytes", addr, got, n)
	}
	return b, nil
}

func (r *reader) ptr(addr uint64) (uint64, error) {
	b, err := r.read(addr, r.l.PtrSize)
	if err != nil {
		return 0, err
	}
	return r.word(b, 0), nil
}

// word decodes a long at off of b (0 when out of range).
func (r *reader) word(b []byte, off int) uint64 {
	if off < 0 || off+r.l.PtrSize > len(b) {
		return 0
	}
	if r.l.PtrSize == 4 {
		return uint64(r.order().Uint32(b[off:]))
	}
	return r.order().Uint64(b[off:])
}

func (r *reader) u64(b []byte, off int) uint64 {
	if off < 0 || off+8 > len(b) {
		return 0
	}
	return r.order().Uint64(b[off:])
}

func (r *reader) u32(b []byte, off int) uint32 {
	if off < 0 || off+4 > len(b) {
		return 0
	}
	return r.order().Uint32(b[off:])
}

func (r *reader) u16(b []byte, off int) uint16 {
	if off < 0 || off+2 > len(b) {
		return 0
	}
	return r.order().Uint16(b[off:])
}

func cstr(b []byte, off, n int) string {
	if off < 0 || n <= 0 || off+n > len(b) {
		return ""
	}
	s := b[off : off+n]
	if i := strings.IndexByte(string(s), 0); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

// ReadRing reads the ring buffer struct printk_ringbuffer at rb with the
// layout l.
func ReadRing(mem Memory, l *Layout, rb uint64, o Options) (*Log, error) {
	if o.MaxRingBytes == 0 {
		o.MaxRingBytes = 1 << 30
	}
	if o.MaxErrs == 0 {
		o.MaxErrs = 32
	}
	if l.PtrSize != 4 && l.PtrSize != 8 {
		return nil, fmt.Errorf("printk: pointer size %d", l.PtrSize)
	}
	r := reader{mem: mem, l: l}
	hdrLen := max(l.DescRing+l.HeadID, l.DescRing+l.TailID, l.DescRing+l.Descs, l.DescRing+l.Infos,
		l.TextDataRing+l.Data, l.TextDataRing+l.SizeBits, l.TextDataRing+l.HeadLpos, l.TextDataRing+l.TailLpos, l.Fail) + 8
	hdr, err := r.read(rb, hdrLen)
	if err != nil {
		return nil, fmt.Errorf("printk: reading printk_ringbuffer at %#x: %w", rb, err)
	}
	countBits := uint64(r.u32(hdr, l.DescRing+l.CountBits))
	descsAddr := r.word(hdr, l.DescRing+l.Descs)
	infosAddr := r.word(hdr, l.DescRing+l.Infos)
	headID := r.word(hdr, l.DescRing+l.HeadID+l.Counter)
	tailID := r.word(hdr, l.DescRing+l.TailID+l.Counter)
	sizeBits := uint64(r.u32(hdr, l.TextDataRing+l.SizeBits))
	dataAddr := r.word(hdr, l.TextDataRing+l.Data)
	out := &Log{Dropped: r.word(hdr, l.Fail+l.Counter)}

	bits := uint64(l.PtrSize * 8)
	if countBits >= bits-2 || sizeBits >= bits-1 {
		return nil, fmt.Errorf("printk: corrupt ring buffer at %#x: count_bits %d, size_bits %d", rb, countBits, sizeBits)
	}
	count := uint64(1) << countBits
	size := uint64(1) << sizeBits
	out.DescCount, out.DataSize = count, size
	if l.DescSize <= 0 || l.InfoSize <= 0 {
		return nil, errors.New("printk: zero descriptor or info size")
	}
	if count*uint64(l.DescSize) > o.MaxRingBytes || count*uint64(l.InfoSize) > o.MaxRingBytes || size > o.MaxRingBytes {
		return nil, fmt.Errorf("printk: ring buffer at %#x too large (%d descriptors, %d bytes of text; limit %d bytes)", rb, count, size, o.MaxRingBytes)
	}
	descs, err := r.read(descsAddr, int(count)*l.DescSize)
	if err != nil {
		return nil, fmt.Errorf("printk: reading %d descriptors at %#x: %w", count, descsAddr, err)
	}
	infos, err := r.read(infosAddr, int(count)*l.InfoSize)
	if err != nil {
		return nil, fmt.Errorf("printk: reading %d printk_info at %#x: %w", count, infosAddr, err)
	}
	data, err := r.read(dataAddr, int(size))
	if err != nil {
		return nil, fmt.Errorf("printk: reading %d bytes of text at %#x: %w", size, dataAddr, err)
	}

	flagsShift := bits - 2
	idMask := uint64(1)<<flagsShift - 1
	nerr := 0
	fail := func(format string, a ...any) {
		out.Partial = true
		nerr++
		if len(out.Errs) < o.MaxErrs {
			out.Errs = append(out.Errs, fmt.Errorf(format, a...))
		} else if len(out.Errs) == o.MaxErrs {
			out.Errs = append(out.Errs, errors.New("printk: more errors not shown"))
		}
	}
	n := (headID - tailID) & idMask
	if n >= count {
		fail("printk: tail id %#x and head id %#x are %d apart, more than the %d descriptors: walking the last %d", tailID, headID, n, count, count)
		tailID = (headID - (count - 1)) & idMask
		n = count - 1
	}
	lastSeq, haveSeq := uint64(0), false
	for i := uint64(0); i <= n; i++ {
		id := (tailID + i) & idMask
		idx := id & (count - 1)
		d := descs[int(idx)*l.DescSize : int(idx+1)*l.DescSize]
		sv := r.word(d, l.StateVar+l.Counter)
		state := sv >> flagsShift
		if sv&idMask != id {
			// Reused for a newer record or not yet written: the record is gone.
			if state == descReserved || state == descReusable {
				continue
			}
			fail("printk: descriptor %d (id %#x) holds id %#x", idx, id, sv&idMask)
			continue
		}
		if state != descCommitted && state != descFinalized {
			continue // reserved (being written) or reusable (expired)
		}
		info := infos[int(idx)*l.InfoSize : int(idx+1)*l.InfoSize]
		rec := Record{
			Seq:      r.u64(info, l.Seq),
			TsNsec:   r.u64(info, l.TsNsec),
			CallerID: r.u32(info, l.CallerID),
			Level:    -1, Facility: -1,
		}
		if l.Facility >= 0 && l.Facility < len(info) {
			rec.Facility = int(info[l.Facility])
		}
		if l.FlagsLevel >= 0 && l.FlagsLevel < len(info) {
			b := info[l.FlagsLevel]
			if l.BigEndian { // bitfields are allocated from the most significant bit
				rec.Flags, rec.Level = int(b>>3), int(b&7)
			} else {
				rec.Flags, rec.Level = int(b&0x1f), int(b>>5)
			}
		}
		rec.Subsystem = cstr(info, l.DevInfo+l.Subsystem, l.SubsystemLen)
		rec.Device = cstr(info, l.DevInfo+l.Device, l.DeviceLen)
		textLen := int(r.u16(info, l.TextLen))
		begin := r.word(d, l.TextBlkLpos+l.LposBegin)
		next := r.word(d, l.TextBlkLpos+l.LposNext)
		if haveSeq && rec.Seq <= lastSeq {
			fail("printk: record id %#x: sequence number %d after %d", id, rec.Seq, lastSeq)
			continue
		}
		if begin&1 != 0 && next&1 != 0 {
			// A data-less record (FAILED_LPOS, or EMPTY_LINE_LPOS: an empty line).
			lastSeq, haveSeq = rec.Seq, true
			out.Records = append(out.Records, rec)
			continue
		}
		text, err := r.block(data, size, sizeBits, begin, next, id)
		if err != nil {
			fail("printk: record %d (id %#x): %v", rec.Seq, id, err)
			continue
		}
		if textLen > len(text) {
			rec.Truncated = true
			textLen = len(text)
		}
		rec.Text = string(text[:textLen])
		lastSeq, haveSeq = rec.Seq, true
		out.Records = append(out.Records, rec)
	}
	if nerr > len(out.Errs) && len(out.Errs) > 0 {
		out.Errs[len(out.Errs)-1] = fmt.Errorf("printk: %d more errors not shown", nerr-o.MaxErrs)
	}
	return out, nil
}

// block returns the text of the data block [begin, next) of the data ring
// (its owner's id first, then the text), checking that id owns it.
func (r *reader) block(data []byte, size, sizeBits, begin, next, id uint64) ([]byte, error) {
	w := uint64(r.l.PtrSize)
	if next-begin > 2*size || next == begin {
		return nil, fmt.Errorf("text block [%#x, %#x) does not fit the %d-byte data ring", begin, next, size)
	}
	bi, ni := begin&(size-1), next&(size-1)
	var blk []byte
	if begin>>sizeBits == next>>sizeBits || (ni == 0 && (begin>>sizeBits)+1 == next>>sizeBits) {
		end := ni
		if ni == 0 {
			end = size
		}
		if end < bi {
			return nil, fmt.Errorf("text block [%#x, %#x) is inverted", begin, next)
		}
		blk = data[bi:end]
	} else {
		// The block wrapped: its data is at the start of the ring; the
		// owner's id is repeated there.
		if (begin>>sizeBits)+1 != next>>sizeBits {
			return nil, fmt.Errorf("text block [%#x, %#x) spans more than one wrap", begin, next)
		}
		blk = data[:ni]
	}
	if uint64(len(blk)) < w {
		return nil, fmt.Errorf("text block [%#x, %#x) shorter than its id", begin, next)
	}
	var owner uint64
	if w == 4 {
		owner = uint64(r.order().Uint32(blk))
	} else {
		owner = r.order().Uint64(blk)
	}
	// The block's id is the full id (no state bits).
	if owner != id {
		return nil, fmt.Errorf("text block [%#x, %#x) belongs to id %#x", begin, next, owner)
	}
	return blk[w:], nil
}

// FormatOptions choose how Format prints a record.
type FormatOptions struct {
	Raw    bool // "<LEVEL>" prefix: (facility << 3) | level, as dmesg -r
	Caller bool // "[T123]" after the timestamp, as CONFIG_PRINTK_CALLER
	NoTime bool // no "[seconds.micro]" prefix
}

// Prefix is the prefix of every line of rec, as the kernel's syslog
// interface (dmesg) writes it.
func (rec *Record) Prefix(o FormatOptions) string {
	var b strings.Builder
	if o.Raw {
		lv := rec.Level
		if lv < 0 {
			lv = 4
		}
		fc := rec.Facility
		if fc < 0 {
			fc = 0
		}
		fmt.Fprintf(&b, "<%d>", fc<<3|lv)
	}
	if !o.NoTime {
		fmt.Fprintf(&b, "[%5d.%06d]", rec.TsNsec/1e9, rec.TsNsec%1e9/1000)
	}
	if o.Caller {
		fmt.Fprintf(&b, "[%6s]", rec.Caller())
	}
	if !o.NoTime || o.Caller {
		b.WriteByte(' ')
	}
	return b.String()
}

// Format writes rec as dmesg does: every line of its text (a record may
// hold several) after the record's prefix, each ending in a newline.
func (rec *Record) Format(o FormatOptions) string {
	p := rec.Prefix(o)
	var b strings.Builder
	for _, line := range strings.Split(rec.Text, "\n") {
		b.WriteString(p)
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// JSON is rec as one line of JSON (no newline).
func (rec *Record) JSON() []byte {
	b, _ := json.Marshal(rec)
	return b
}
