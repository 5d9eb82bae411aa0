package printk

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// amd64 is the layout of Linux 6.1 on x86-64 (as its VMCOREINFO says).
var amd64 = Layout{
	PtrSize: 8, DescRing: 0, TextDataRing: 48, Fail: 80,
	CountBits: 0, Descs: 8, Infos: 16, HeadID: 24, TailID: 32,
	DescSize: 24, StateVar: 0, TextBlkLpos: 8, LposBegin: 0, LposNext: 8,
	InfoSize: 88, Seq: 0, TsNsec: 8, TextLen: 16, Facility: 18, FlagsLevel: 19, CallerID: 20, DevInfo: 24,
	Subsystem: 0, SubsystemLen: 16, Device: 16, DeviceLen: 48,
	SizeBits: 0, Data: 8, HeadLpos: 16, TailLpos: 24,
}

const memBase = 0x10000

// ring builds a ring buffer image at memBase: header (88 bytes, padded to
// 128), descriptors, infos, data, with the given records written in order
// (the ring overwrites the oldest when full, as the kernel does).
type ring struct {
	countBits, sizeBits uint
	mem                 []byte
	descs, infos, data  uint64
	head                uint64 // id
	headLpos            uint64
	seq                 uint64
	blocks              []blk // every record written
}

type blk struct{ id, begin, next uint64 }

const idMask62 = 1<<62 - 1

func newRing(countBits, sizeBits uint) *ring {
	r := &ring{countBits: countBits, sizeBits: sizeBits}
	n := uint64(1) << countBits
	r.descs = 128
	r.infos = r.descs + n*24
	r.data = r.infos + n*88
	r.mem = make([]byte, r.data+1<<sizeBits)
	// Ids start just below 0 (they wrap): the first record is id -n.
	r.head = (-n - 1) & idMask62
	r.putDesc(r.head, 3, 1, 1) // reusable, data-less
	return r
}

func (r *ring) put64(off, v uint64) { binary.LittleEndian.PutUint64(r.mem[off:], v) }

func (r *ring) putDesc(id, state, begin, next uint64) {
	d := r.descs + (id&(1<<r.countBits-1))*24
	r.put64(d, id&idMask62|state<<62)
	r.put64(d+8, begin)
	r.put64(d+16, next)
}

// add appends a record.
func (r *ring) add(text string, ts uint64, level int) {
	n := uint64(1) << r.countBits
	size := uint64(1) << r.sizeBits
	id := (r.head + 1) & idMask62
	bl := (8 + uint64(len(text)) + 7) &^ 7
	begin := r.headLpos
	next := begin + bl
	at := begin & (size - 1)
	if begin>>r.sizeBits != next>>r.sizeBits {
		next = (next>>r.sizeBits)<<r.sizeBits + bl
		r.put64(r.data+at, id)
		at = 0
	}
	r.put64(r.data+at, id)
	copy(r.mem[r.data+at+8:], text)
	r.putDesc(id, 2, begin, next)
	in := r.infos + (id&(n-1))*88
	clear(r.mem[in : in+88])
	r.put64(in, r.seq)
	r.put64(in+8, ts)
	binary.LittleEndian.PutUint16(r.mem[in+16:], uint16(len(text)))
	r.mem[in+19] = byte(level << 5)
	binary.LittleEndian.PutUint32(r.mem[in+20:], 42)
	copy(r.mem[in+24:], "pci")
	r.seq++
	r.head = id
	r.headLpos = next
	r.blocks = append(r.blocks, blk{id, begin, next})
}

// tail is the oldest record whose descriptor and data are both intact; the
// ones before it are made reusable, as the kernel does when it pushes the
// tails.
func (r *ring) tail() (id, lpos uint64) {
	n := uint64(1) << r.countBits
	size := uint64(1) << r.sizeBits
	for i, b := range r.blocks {
		if len(r.blocks)-i <= int(n)-1 && r.headLpos-b.begin <= size {
			return b.id, b.begin
		}
		if (r.head-b.id)&idMask62 < n {
			r.putDesc(b.id, 3, b.begin, b.next)
		}
	}
	return r.head, r.headLpos
}

func (r *ring) image() []byte {
	b := r.mem
	tid, tlpos := r.tail()
	binary.LittleEndian.PutUint32(b[0:], uint32(r.countBits))
	r.put64(8, memBase+r.descs)
	r.put64(16, memBase+r.infos)
	r.put64(24, r.head)
	r.put64(32, tid)
	binary.LittleEndian.PutUint32(b[48:], uint32(r.sizeBits))
	r.put64(56, memBase+r.data)
	r.put64(64, r.headLpos)
	r.put64(72, tlpos)
	return b
}

func TestSyntheticRing(t *testing.T) {
	r := newRing(4, 9)
	var want []string
	for i := 0; i < 40; i++ {
		s := fmt.Sprintf("record %d %s", i, strings.Repeat("x", i%13))
		if i == 7 {
			s = "two\nlines"
		}
		r.add(s, uint64(i)*1500000123, i%8)
		want = append(want, s)
	}
	lg, err := ReadRing(&testfix.FlatMem{Base: memBase, Data: r.image()}, &amd64, memBase, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if lg.Partial {
		t.Fatalf("partial: %v", lg.Err())
	}
	if len(lg.Records) < 5 || len(lg.Records) > 15 {
		t.Fatalf("%d records", len(lg.Records))
	}
	first := int(lg.Records[0].Seq)
	for i, rec := range lg.Records {
		n := first + i
		if rec.Text != want[n] || rec.Seq != uint64(n) || rec.Level != n%8 || rec.TsNsec != uint64(n)*1500000123 || rec.Subsystem != "pci" {
			t.Errorf("record %d: %+v, want %q", i, rec, want[n])
		}
	}
	if got := lg.Records[len(lg.Records)-1].Format(FormatOptions{Raw: true}); got != "<7>[   58.500004] "+want[39]+"\n" {
		t.Errorf("Format: %q", got)
	}
	mr := Record{Text: "a\nb", TsNsec: 1e9, CallerID: 0x80000001, Level: 6}
	if got := mr.Format(FormatOptions{Caller: true}); got != "[    1.000000][    C1] a\n[    1.000000][    C1] b\n" {
		t.Errorf("Format multi-line: %q", got)
	}

	// A corrupt descriptor: a partial log with an error, the rest kept.
	img := r.image()
	head := r.head
	d := r.descs + ((head-2)&15)*24
	binary.LittleEndian.PutUint64(img[d+8:], 0x7777777)
	lg2, err := ReadRing(&testfix.FlatMem{Base: memBase, Data: img}, &amd64, memBase, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !lg2.Partial || len(lg2.Errs) == 0 || len(lg2.Records) != len(lg.Records)-1 {
		t.Fatalf("corrupt descriptor: partial %v, errs %v, %d records (of %d)", lg2.Partial, lg2.Errs, len(lg2.Records), len(lg.Records))
	}
	// A huge count_bits is refused, not allocated.
	binary.LittleEndian.PutUint32(img[0:], 40)
	if _, err := ReadRing(&testfix.FlatMem{Base: memBase, Data: img}, &amd64, memBase, Options{}); err == nil {
		t.Fatal("count_bits 40 accepted")
	}
}

// TestWriteFuzzSeeds writes the fuzz seeds (KVMGEN_WRITE_SEEDS=1).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("KVMGEN_WRITE_SEEDS") != "1" {
		t.Skip("KVMGEN_WRITE_SEEDS=1 writes testdata/fuzz/FuzzReadRing")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadRing")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, img := range seeds() {
		s := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", img)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func seeds() [][]byte {
	var out [][]byte
	for _, n := range []int{0, 3, 20} {
		r := newRing(3, 8)
		for i := 0; i < n; i++ {
			r.add(fmt.Sprintf("seed %d %s", i, strings.Repeat("y", i%7)), uint64(i)*1000, i%8)
		}
		out = append(out, append([]byte(nil), r.image()...))
	}
	return out
}

func FuzzReadRing(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, img []byte) {
		lg, err := ReadRing(&testfix.FlatMem{Base: memBase, Data: img}, &amd64, memBase, Options{MaxRingBytes: 1 << 16})
		if err != nil {
			return
		}
		if len(lg.Records) > int(lg.DescCount) {
			t.Fatalf("%d records from %d descriptors", len(lg.Records), lg.DescCount)
		}
		for i := range lg.Records {
			_ = lg.Records[i].Format(FormatOptions{Raw: true, Caller: true})
		}
	})
}
