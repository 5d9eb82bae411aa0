package freebsd

import (
	"encoding/binary"
	"math/bits"
	"sort"
)

// binWords is how many 64-bit bitmap words share one cached population
// count: a lookup counts at most binWords/2 words.
const binWords = 16

// availRange is one dump_avail range: physical [start, end), whose pages
// have bits firstBit .. firstBit+npages-1 in the bitmap.
type availRange struct {
	start, end uint64
	firstBit   uint64
	npages     uint64
}

// sparseIndex maps a physical page to the file offset of its bytes in a
// minidump: the page's bit in the bitmap (numbered across dump_avail
// ranges), then pagesOff + (bits set before it) × pageSize.
type sparseIndex struct {
	words    []uint64
	nbits    uint64
	bins     []uint64 // bins[i] = bits set in words[0 : i*binWords]
	ranges   []availRange
	pageSize uint64
	pagesOff int64  // file offset of the first dumped page
	npages   uint64 // bits set in the whole bitmap
	stored   uint64 // pages the file holds, in whole or in part (less when truncated)
}

// newSparseIndex builds the index from the raw (little-endian) bitmap.
// ranges may be nil: the bitmap is then indexed by pa / pageSize.
func newSparseIndex(bitmap []byte, ranges []availRange, pageSize uint64, pagesOff, fileSize int64) *sparseIndex {
	nw := (len(bitmap) + 7) / 8
	s := &sparseIndex{words: make([]uint64, nw), nbits: uint64(len(bitmap)) * 8, pageSize: pageSize, pagesOff: pagesOff}
	for i := range s.words {
		var w [8]byte
		copy(w[:], bitmap[i*8:])
		s.words[i] = binary.LittleEndian.Uint64(w[:])
	}
	s.bins = make([]uint64, nw/binWords+2)
	var n uint64
	for i, w := range s.words {
		if i%binWords == 0 {
			s.bins[i/binWords] = n
		}
		n += uint64(bits.OnesCount64(w))
	}
	s.bins[len(s.bins)-1] = n
	if nw%binWords == 0 {
		s.bins[nw/binWords] = n
	}
	s.npages = n
	if ranges == nil {
		ranges = []availRange{{start: 0, end: s.nbits * pageSize, firstBit: 0, npages: s.nbits}}
	}
	s.ranges = ranges
	if fileSize < 0 {
		s.stored = n // size unknown: every page may be there
	} else if fileSize > pagesOff {
		// A page cut in the middle still holds its first bytes.
		s.stored = (uint64(fileSize-pagesOff) + pageSize - 1) / pageSize
	}
	return s
}

// parseDumpAvail decodes dump_avail (pairs of little-endian u64 physical
// addresses, ended by a zero end) into ranges numbered as the kernel's
// vm_dumpset numbers them.
func parseDumpAvail(b []byte, pageSize uint64) []availRange {
	var rs []availRange
	var bit uint64
	for i := 0; i+16 <= len(b); i += 16 {
		start := binary.LittleEndian.Uint64(b[i:])
		end := binary.LittleEndian.Uint64(b[i+8:])
		if end == 0 {
			break
		}
		if end <= start {
			continue
		}
		first := start / pageSize
		last := (end-1)/pageSize + 1 // howmany(end, pageSize)
		rs = append(rs, availRange{start: start, end: end, firstBit: bit, npages: last - first})
		bit += last - first
	}
	return rs
}

// bitOf returns the bitmap bit of the page holding pa.
func (s *sparseIndex) bitOf(pa uint64) (uint64, bool) {
	// Ranges are ascending in every real dump_avail; search them, then
	// check the candidate (and fall back to a scan if unsorted).
	i := sort.Search(len(s.ranges), func(i int) bool { return s.ranges[i].end > pa })
	if i < len(s.ranges) && pa >= s.ranges[i].start {
		r := s.ranges[i]
		return r.firstBit + pa/s.pageSize - r.start/s.pageSize, true
	}
	for _, r := range s.ranges {
		if pa >= r.start && pa < r.end {
			return r.firstBit + pa/s.pageSize - r.start/s.pageSize, true
		}
	}
	return 0, false
}

// paOf is the inverse of bitOf: the page-aligned physical address of bit.
func (s *sparseIndex) paOf(bit uint64) (uint64, bool) {
	for _, r := range s.ranges {
		if bit >= r.firstBit && bit < r.firstBit+r.npages {
			return (r.start/s.pageSize + bit - r.firstBit) * s.pageSize, true
		}
	}
	return 0, false
}

func (s *sparseIndex) isSet(bit uint64) bool {
	return bit < s.nbits && s.words[bit/64]>>(bit%64)&1 != 0
}

// rank is the number of bits set before bit, counted from the nearest
// cached bin (below or above).
func (s *sparseIndex) rank(bit uint64) uint64 {
	w := bit / 64
	bin := w / binWords
	partial := uint64(bits.OnesCount64(s.words[w] & (1<<(bit%64) - 1)))
	lo := bin * binWords
	hi := lo + binWords
	if w-lo <= binWords/2 || hi >= uint64(len(s.words)) {
		n := s.bins[bin]
		for i := lo; i < w; i++ {
			n += uint64(bits.OnesCount64(s.words[i]))
		}
		return n + partial
	}
	// Count down from the next bin.
	n := s.bins[bin+1]
	for i := w; i < hi; i++ {
		n -= uint64(bits.OnesCount64(s.words[i]))
	}
	return n + partial
}

// lookup returns the file offset of the page holding pa (page-aligned), and
// whether the dump holds it. truncated reports a page the bitmap lists but
// the file is too short to hold.
func (s *sparseIndex) lookup(pa uint64) (off int64, ok, truncated bool) {
	bit, ok := s.bitOf(pa)
	if !ok || !s.isSet(bit) {
		return 0, false, false
	}
	r := s.rank(bit)
	off = s.pagesOff + int64(r*s.pageSize)
	if r >= s.stored {
		return off, false, true
	}
	return off, true, false
}
