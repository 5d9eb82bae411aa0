package kvm

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// The flattened format (makedumpfile -F): a 4 KiB header starting
// "makedumpfile", then records {int64 offset; int64 size} (big-endian)
// each followed by size bytes to be placed at offset of the real dump,
// ended by a record whose offset is -1.
const (
	flatSignature  = "makedumpfile"
	flatHeaderSize = 4096
	flatRecordHdr  = 16
	maxFlatRecords = 1 << 26
)

func isFlattened(r io.ReaderAt) bool {
	var b [16]byte
	n, _ := r.ReadAt(b[:], 0)
	return n == 16 && string(b[:12]) == flatSignature && b[12] == 0
}

type flatExtent struct {
	off, size int64 // in the rebuilt dump
	src       int64 // in the flattened file
}

// flatReader presents a flattened file as the dump it encodes. Bytes no
// record wrote read as zero.
type flatReader struct {
	name string
	r    io.ReaderAt
	ext  []flatExtent // sorted by off, not overlapping
	size int64
}

func newFlatReader(name string, r io.ReaderAt, fileSize int64) (*flatReader, error) {
	fr := &flatReader{name: name, r: r}
	pos := int64(flatHeaderSize)
	var hdr [flatRecordHdr]byte
	var recs []flatExtent
	for {
		n, err := r.ReadAt(hdr[:], pos)
		if n < flatRecordHdr {
			if n == 0 && err == io.EOF {
				break // no end marker: accept what was written
			}
			return nil, &FormatError{File: name, Offset: pos + int64(n), Msg: "flattened record header truncated"}
		}
		off := int64(binary.BigEndian.Uint64(hdr[0:]))
		size := int64(binary.BigEndian.Uint64(hdr[8:]))
		if off == -1 {
			break
		}
		if off < 0 || size < 0 || size > 1<<32 || off > 1<<56 {
			return nil, &FormatError{File: name, Offset: pos, Msg: fmt.Sprintf("flattened record: offset %#x size %#x out of range", off, size)}
		}
		if fileSize >= 0 && pos+flatRecordHdr+size > fileSize {
			return nil, &FormatError{File: name, Offset: pos, Msg: fmt.Sprintf("flattened record of %d bytes runs past the end of the file", size)}
		}
		if len(recs) >= maxFlatRecords {
			return nil, &FormatError{File: name, Offset: pos, Msg: fmt.Sprintf("more than %d flattened records", maxFlatRecords)}
		}
		if size > 0 {
			recs = append(recs, flatExtent{off: off, size: size, src: pos + flatRecordHdr})
		}
		pos += flatRecordHdr + size
	}
	// Later records win where they overlap earlier ones: insert in order,
	// trimming what they cover.
	fr.ext = flattenExtents(recs)
	for _, e := range fr.ext {
		if e.off+e.size > fr.size {
			fr.size = e.off + e.size
		}
	}
	return fr, nil
}

// flattenExtents resolves overlaps (later records win) and sorts. Records
// are sorted by offset; only clusters of overlapping records (rare: a
// header rewritten at the end) are resolved pairwise.
func flattenExtents(recs []flatExtent) []flatExtent {
	type rec struct {
		flatExtent
		seq int
	}
	rs := make([]rec, len(recs))
	for i, r := range recs {
		rs[i] = rec{r, i}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].off < rs[j].off })
	out := make([]flatExtent, 0, len(rs))
	for i := 0; i < len(rs); {
		// The cluster of records overlapping rs[i] transitively.
		j, end := i+1, rs[i].off+rs[i].size
		for j < len(rs) && rs[j].off < end {
			end = max(end, rs[j].off+rs[j].size)
			j++
		}
		if j == i+1 {
			out = append(out, rs[i].flatExtent)
			i = j
			continue
		}
		cl := append([]rec(nil), rs[i:j]...)
		sort.Slice(cl, func(a, b int) bool { return cl[a].seq < cl[b].seq })
		var res []flatExtent
		for _, r := range cl {
			var next []flatExtent
			for _, e := range res {
				if e.off+e.size <= r.off || e.off >= r.off+r.size {
					next = append(next, e)
					continue
				}
				if e.off < r.off {
					next = append(next, flatExtent{off: e.off, size: r.off - e.off, src: e.src})
				}
				if e.off+e.size > r.off+r.size {
					cut := r.off + r.size - e.off
					next = append(next, flatExtent{off: e.off + cut, size: e.size - cut, src: e.src + cut})
				}
			}
			res = append(next, r.flatExtent)
		}
		sort.Slice(res, func(a, b int) bool { return res[a].off < res[b].off })
		out = append(out, res...)
		i = j
	}
	return out
}

func (fr *flatReader) Size() int64 { return fr.size }

// ReadAt implements io.ReaderAt over the rebuilt dump.
func (fr *flatReader) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		o := off + int64(done)
		if o >= fr.size {
			return done, io.EOF
		}
		i := sort.Search(len(fr.ext), func(i int) bool { return fr.ext[i].off+fr.ext[i].size > o })
		if i == len(fr.ext) {
			return done, io.EOF
		}
		e := fr.ext[i]
		if e.off > o { // a hole: zeros
			n := min(int64(len(p)-done), e.off-o)
			clear(p[done : done+int(n)])
			done += int(n)
			continue
		}
		n := min(int64(len(p)-done), e.off+e.size-o)
		m, err := fr.r.ReadAt(p[done:done+int(n)], e.src+(o-e.off))
		done += m
		if int64(m) < n {
			if err == nil || err == io.EOF {
				err = &FormatError{File: fr.name, Offset: e.src + (o - e.off) + int64(m), Msg: "flattened record truncated"}
			}
			return done, err
		}
	}
	return done, nil
}
