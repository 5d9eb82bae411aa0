package bind

import (
	"encoding/binary"
	"fmt"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"iter"
	"math"
)

// Traversal of the lists of BSD's <sys/queue.h> (queue(3)): SLIST, LIST,
// STAILQ and TAILQ. Unlike Linux's circular list_head, they end at NULL,
// and their links point to the next element itself, not to its entry
// member. The iterators check every link once (cycles, memory outside the
// dump, length, a NULL back link; with QueueOptions.Strict where the back
// links and the tail pointer point too) and report a broken one as a
// *ListError naming the entry (or head) whose link is bad.

// QueueKind is one of the list types of <sys/queue.h>.
type QueueKind uint8

const (
	// QueueSList: SLIST_HEAD { slh_first }, SLIST_ENTRY { sle_next }.
	QueueSList QueueKind = iota + 1
	// QueueList: LIST_HEAD { lh_first }, LIST_ENTRY { le_next, le_prev },
	// le_prev pointing to the previous element's le_next (or to lh_first).
	QueueList
	// QueueSTailQ: STAILQ_HEAD { stqh_first, stqh_last }, STAILQ_ENTRY
	// { stqe_next }, stqh_last pointing to the last element's stqe_next
	// (or to stqh_first).
	QueueSTailQ
	// QueueTailQ: TAILQ_HEAD { tqh_first, tqh_last }, TAILQ_ENTRY
	// { tqe_next, tqe_prev }, the back links as LIST's and STAILQ's.
	QueueTailQ
)

func (k QueueKind) String() string {
	switch k {
	case QueueSList:
		return "SLIST"
	case QueueList:
		return "LIST"
	case QueueSTailQ:
		return "STAILQ"
	case QueueTailQ:
		return "TAILQ"
	}
	return fmt.Sprintf("QueueKind(%d)", uint8(k))
}

// valid reports whether k is one of the four kinds.
func (k QueueKind) valid() bool { return k >= QueueSList && k <= QueueTailQ }

// backLinked reports whether entries hold a back link (le_prev, tqe_prev).
func (k QueueKind) backLinked() bool { return k == QueueList || k == QueueTailQ }

// tailed reports whether the head holds a tail pointer (stqh_last, tqh_last).
func (k QueueKind) tailed() bool { return k == QueueSTailQ || k == QueueTailQ }

// entryPtrs is the number of pointers of the kind's entry.
func (k QueueKind) entryPtrs() int {
	if k.backLinked() {
		return 2
	}
	return 1
}

// prevName and lastName name the back link and the tail pointer in
// messages.
func (k QueueKind) prevName() string {
	if k == QueueTailQ {
		return "tqe_prev"
	}
	return "le_prev"
}

func (k QueueKind) lastName() string {
	if k == QueueTailQ {
		return "tqh_last"
	}
	return "stqh_last"
}

// MaxQueueElemSize bounds Queue.ElemSize and Queue.Link: elements are read
// whole, and no kernel structure on a list is near 1 MiB.
const MaxQueueElemSize = 1 << 20

// QueueOptions tune the queue(3) iterators.
type QueueOptions struct {
	// Strict also checks that every element's back link (le_prev,
	// tqe_prev) points to the link that led to it, and that the head's
	// tail pointer (tqh_last, stqh_last) points to the last element's next
	// link, as the kernel's QUEUE_MACRO_DEBUG does. Off, the forward links
	// are followed and checked, and a back link only for not being NULL
	// (an element on a LIST or TAILQ always has one): a crash dump may
	// have been taken in the middle of an insertion, and debuggers that
	// edit dumps relink forward links only (lldb's test dumps of FreeBSD
	// are such).
	Strict bool
	// Max bounds the number of elements; 0 (or more than MaxListLen)
	// means MaxListLen.
	Max int
}

func (o QueueOptions) max() int {
	if o.Max <= 0 || o.Max > MaxListLen {
		return MaxListLen
	}
	return o.Max
}

// Queue describes a queue(3) list of a target for QueueAt, in raw terms:
// where its head is, where the entry lies in each element, and the
// target's data model.
type Queue struct {
	Kind QueueKind
	// Name is how errors name the list: "allproc (struct proc.p_list)".
	Name string
	// Head is the address of the head (LIST_HEAD, TAILQ_HEAD, ...).
	Head uint64
	// Link is the offset of the entry (LIST_ENTRY, TAILQ_ENTRY, ...) in
	// each element.
	Link uint64
	// ElemSize is how many bytes of each element, from its start, are read
	// (in one read) and yielded; it must cover the entry. 0: only the
	// entry is read, and QueueElem.Bytes is nil (for dumps that hold only
	// the members a debugger read, as sparse dumps do).
	ElemSize  int
	PtrSize   int // 4 or 8
	BigEndian bool
	QueueOptions
}

// QueueElem is one element of a list walked by QueueAt: its address, and
// the first Queue.ElemSize bytes of it.
type QueueElem struct {
	Addr  uint64
	Bytes []byte
}

// QueueAt iterates the elements of the queue(3) list q of m, in list
// order. Each element is read once; its next link is taken from that
// read. A cycle, a link to memory m cannot read, a link that would wrap
// the address space, more than q.Max elements, a NULL back link, or (with
// q.Strict) a back link or tail pointer that points elsewhere yield one
// *ListError and end the iteration. Its Node is the head or entry holding
// the bad link, Next the link's value (for a back link or tail pointer,
// that pointer's), Index the elements yielded before. A Queue that does
// not describe a list (a bad kind, pointer size, or sizes above
// MaxQueueElemSize) yields a plain error.
func QueueAt(m kvm.Memory, q Queue) iter.Seq2[QueueElem, error] {
	return func(yield func(QueueElem, error) bool) {
		w := queueWalk{kind: q.Kind, name: q.Name, head: q.Head, link: q.Link, ptrSize: q.PtrSize, be: q.BigEndian, opts: q.QueueOptions, m: m}
		if err := w.check(); err != nil {
			yield(QueueElem{}, err)
			return
		}
		entry := w.entrySize()
		if q.ElemSize != 0 && (q.ElemSize < 0 || q.ElemSize > MaxQueueElemSize || uint64(q.ElemSize) < q.Link+uint64(entry)) {
			yield(QueueElem{}, fmt.Errorf("queue %s: element size %d does not cover the %s entry at offset %d, or exceeds %d", w.name, q.ElemSize, w.kind, q.Link, MaxQueueElemSize))
			return
		}
		var cur QueueElem
		read := func(elem uint64) ([]byte, error) {
			if q.ElemSize == 0 {
				b := make([]byte, entry)
				if err := kvm.ReadFull(m, b, elem+q.Link); err != nil {
					return nil, err
				}
				cur = QueueElem{Addr: elem}
				return b, nil
			}
			b := make([]byte, q.ElemSize)
			if err := kvm.ReadFull(m, b, elem); err != nil {
				return nil, err
			}
			cur = QueueElem{Addr: elem, Bytes: b}
			return b[q.Link : q.Link+uint64(entry)], nil
		}
		w.walk(read, func() bool { return yield(cur, nil) }, func(err error) { yield(QueueElem{}, err) })
	}
}

// queueWalk is one walk of a queue(3) list.
type queueWalk struct {
	kind    QueueKind
	name    string
	head    uint64
	link    uint64 // offset of the entry in the element
	ptrSize int
	be      bool
	opts    QueueOptions
	m       kvm.Memory
}

func (w *queueWalk) entrySize() int { return w.kind.entryPtrs() * w.ptrSize }

// check rejects a description that is not a list.
func (w *queueWalk) check() error {
	switch {
	case !w.kind.valid():
		return fmt.Errorf("queue %s: unknown list kind %v", w.name, w.kind)
	case w.ptrSize != 4 && w.ptrSize != 8:
		return fmt.Errorf("queue %s: pointer size %d", w.name, w.ptrSize)
	case w.link > MaxQueueElemSize:
		return fmt.Errorf("queue %s: entry offset %d exceeds %d", w.name, w.link, MaxQueueElemSize)
	}
	return nil
}

func (w *queueWalk) ptr(b []byte, i int) uint64 {
	p := b[i*w.ptrSize : (i+1)*w.ptrSize]
	switch {
	case w.ptrSize == 4 && w.be:
		return uint64(binary.BigEndian.Uint32(p))
	case w.ptrSize == 4:
		return uint64(binary.LittleEndian.Uint32(p))
	case w.be:
		return binary.BigEndian.Uint64(p)
	}
	return binary.LittleEndian.Uint64(p)
}

// walk follows the list. read reads the element at elem and returns the
// bytes of its entry (entrySize of them); emit hands the element read
// last to the caller (false: stop); fail gets the one error that ends the
// walk.
func (w *queueWalk) walk(read func(elem uint64) ([]byte, error), emit func() bool, fail func(error)) {
	bad := func(node, next uint64, n int, msg string, err error) {
		fail(&ListError{List: w.name, Node: node, Next: next, Index: n, Msg: msg, Err: err})
	}
	heads := 1
	if w.kind.tailed() && w.opts.Strict {
		heads = 2
	}
	hb := make([]byte, heads*w.ptrSize)
	if err := kvm.ReadFull(w.m, hb, w.head); err != nil {
		bad(w.head, 0, 0, "cannot read the list head", err)
		return
	}
	next := w.ptr(hb, 0)
	max := w.opts.max()
	var seen map[uint64]bool
	node := w.head // the link (head or entry) next was read from
	elemEnd := uint64(math.MaxUint64) - w.link - uint64(w.entrySize())
	n := 0
	for ; next != 0; n++ {
		switch {
		case n >= max:
			bad(node, next, n, fmt.Sprintf("list longer than %d entries", max), nil)
			return
		case seen[next]:
			bad(node, next, n, "cycle: the link leads to an element already visited", nil)
			return
		case next > elemEnd:
			bad(node, next, n, "link past the end of the address space: not an element", nil)
			return
		}
		if seen == nil {
			seen = make(map[uint64]bool)
		}
		seen[next] = true
		e, err := read(next)
		if err != nil {
			bad(node, next, n, "cannot read the element", err)
			return
		}
		entry := next + w.link
		if w.kind.backLinked() {
			switch prev := w.ptr(e, 1); {
			case prev == 0:
				bad(entry, prev, n, fmt.Sprintf("NULL back link %s (element at %#x)", w.kind.prevName(), next), nil)
				return
			case w.opts.Strict && prev != node:
				bad(entry, prev, n, fmt.Sprintf("back link %s does not point to the link at %#x that leads to the element at %#x", w.kind.prevName(), node, next), nil)
				return
			}
		}
		if !emit() {
			return
		}
		node = entry
		next = w.ptr(e, 0)
	}
	if heads == 2 {
		if last := w.ptr(hb, 1); last != node {
			bad(w.head, last, n, fmt.Sprintf("tail pointer %s does not point to the last link, at %#x", w.kind.lastName(), node), nil)
		}
	}
}

// BSDQueue iterates, in list order, the entries of type T on the
// queue(3) list of the given kind whose head is the view head; member
// names the entry field of T that links the entries (its C name). By
// kind, head is the view of:
//
//   - QueueList: a LIST_HEAD, member a LIST_ENTRY (allproc:
//     BSDQueue[Proc](k.Allproc().View, QueueList, "p_list"));
//   - QueueTailQ: a TAILQ_HEAD, member a TAILQ_ENTRY (a process's threads:
//     BSDQueue[Thread](p.PThreads().View, QueueTailQ, "td_plist"));
//   - QueueSList: an SLIST_HEAD, member an SLIST_ENTRY;
//   - QueueSTailQ: an STAILQ_HEAD, member an STAILQ_ENTRY.
//
// Entries are read whole, one read each, and the next link is taken from
// the entry's snapshot. The checks are QueueAt's (opts: at most one
// QueueOptions); the *ListError's List names the member ("struct
// proc.p_list"). A kind that is none of the four, a member the bindings
// lack, or one smaller than the kind's entry yields one plain error.
func BSDQueue[T Viewer](head View, kind QueueKind, member string, opts ...QueueOptions) iter.Seq2[T, error] {
	return queueOf[T](head.b, kind, head.addr, member, opts)
}

// BSDQueueAt is BSDQueue with the address of the head (the LIST_HEAD,
// TAILQ_HEAD, SLIST_HEAD or STAILQ_HEAD, by kind) in the target of b.
func BSDQueueAt[T Viewer](b *Binding, kind QueueKind, head uint64, member string, opts ...QueueOptions) iter.Seq2[T, error] {
	return queueOf[T](b, kind, head, member, opts)
}

func queueOf[T Viewer](b *Binding, kind QueueKind, head uint64, member string, opts []QueueOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var z T
		if !kind.valid() {
			yield(z, fmt.Errorf("queue of %T through %s: unknown list kind %v (want QueueSList, QueueList, QueueSTailQ or QueueTailQ)", z, member, kind))
			return
		}
		off, name, err := memberOffset[T](b, member)
		if err != nil {
			yield(z, err)
			return
		}
		w := queueWalk{kind: kind, name: name, head: head, link: uint64(off), ptrSize: b.ptrSize, be: b.be, m: b.t}
		if len(opts) > 0 {
			w.opts = opts[0]
		}
		if err := w.check(); err != nil {
			yield(z, err)
			return
		}
		entry := w.entrySize()
		if i, ok := b.FieldIndex(z.KVMType(), member); ok && int(b.fields[i].Size) < entry {
			yield(z, fmt.Errorf("%s: %d bytes, not a %s entry (%d bytes)", name, b.fields[i].Size, kind, entry))
			return
		}
		var cur T
		read := func(elem uint64) ([]byte, error) {
			e, err := ReadView[T](b, elem)
			if err != nil {
				return nil, err
			}
			snap := struct{ View }(e).View.snap
			if uint64(len(snap)) < w.link+uint64(entry) {
				return nil, fmt.Errorf("%s lies outside its %d-byte element", name, len(snap))
			}
			cur = e
			return snap[w.link : w.link+uint64(entry)], nil
		}
		w.walk(read, func() bool { return yield(cur, nil) }, func(err error) { yield(z, err) })
	}
}
