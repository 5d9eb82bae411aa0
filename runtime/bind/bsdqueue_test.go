package bind_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kvmgen/kvmgen/internal/fbsdtest"
	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

// qmem is memory made of 4 KiB pages (a read touching a page that is not
// there fails, as a read outside a dump does), written with pointers of
// ptr bytes in byte order bo.
type qmem struct {
	*testfix.SparseMem
	ptr int
	bo  binary.ByteOrder
}

func newQmem(ptr int, be bool) *qmem {
	m := &qmem{SparseMem: testfix.NewSparseMem(), ptr: ptr, bo: binary.LittleEndian}
	if be {
		m.bo = binary.BigEndian
	}
	return m
}

func (m *qmem) putPtr(a, v uint64) {
	if m.ptr == 4 {
		m.put32(a, uint32(v))
		return
	}
	var b [8]byte
	m.bo.PutUint64(b[:], v)
	m.Write(a, b[:])
}

func (m *qmem) put32(a uint64, v uint32) {
	var b [4]byte
	m.bo.PutUint32(b[:], v)
	m.Write(a, b[:])
}

// qlist lays out a well-formed list of kind at head: elements at elems,
// their entry at link, element i holding the value 100+i at offset 0.
func qlist(m *qmem, kind bind.QueueKind, head, link uint64, elems []uint64) {
	first, last := uint64(0), head
	if len(elems) > 0 {
		first, last = elems[0], elems[len(elems)-1]+link
	}
	m.putPtr(head, first)
	if kind == bind.QueueTailQ || kind == bind.QueueSTailQ {
		m.putPtr(head+uint64(m.ptr), last)
	}
	for i, e := range elems {
		m.put32(e, uint32(100+i))
		next, prev := uint64(0), head
		if i+1 < len(elems) {
			next = elems[i+1]
		}
		if i > 0 {
			prev = elems[i-1] + link
		}
		m.putPtr(e+link, next)
		if kind == bind.QueueList || kind == bind.QueueTailQ {
			m.putPtr(e+link+uint64(m.ptr), prev)
		}
	}
}

// walkQueue collects what QueueAt yields, failing the test if the walk
// does not end within seconds or yields after an error.
func walkQueue(t *testing.T, m kvm.Memory, q bind.Queue) ([]bind.QueueElem, error) {
	t.Helper()
	type result struct {
		elems []bind.QueueElem
		err   error
		after bool
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for e, err := range bind.QueueAt(m, q) {
			if r.err != nil {
				r.after = true
			}
			if err != nil {
				r.err = err
				continue
			}
			r.elems = append(r.elems, e)
		}
		done <- r
	}()
	select {
	case r := <-done:
		if r.after {
			t.Errorf("QueueAt yielded after its error %v", r.err)
		}
		return r.elems, r.err
	case <-time.After(20 * time.Second):
		t.Fatalf("QueueAt(%+v) did not end", q)
	}
	return nil, nil
}

var queueKinds = []bind.QueueKind{bind.QueueSList, bind.QueueList, bind.QueueSTailQ, bind.QueueTailQ}

// TestQueueWellFormed walks lists of every kind, pointer size and byte
// order, strict and not: the elements come in order, read whole.
func TestQueueWellFormed(t *testing.T) {
	const head, link = 0x10000, 24
	elems := []uint64{0x20000, 0x21f00, 0x30080} // the second one straddles a page
	for _, kind := range queueKinds {
		for _, ptr := range []int{4, 8} {
			for _, be := range []bool{false, true} {
				for _, n := range []int{0, 1, 3} {
					name := fmt.Sprintf("%v/ptr%d/be=%v/%d", kind, ptr, be, n)
					m := newQmem(ptr, be)
					qlist(m, kind, head, link, elems[:n])
					for _, strict := range []bool{false, true} {
						for _, size := range []int{0, 64} {
							q := bind.Queue{Kind: kind, Name: name, Head: head, Link: link, ElemSize: size, PtrSize: ptr, BigEndian: be, QueueOptions: bind.QueueOptions{Strict: strict}}
							got, err := walkQueue(t, m, q)
							if err != nil || len(got) != n {
								t.Fatalf("%s strict=%v size=%d: %d elements, %v; want %d", name, strict, size, len(got), err, n)
							}
							for i, e := range got {
								if e.Addr != elems[i] {
									t.Errorf("%s: element %d at %#x, want %#x", name, i, e.Addr, elems[i])
								}
								if size == 0 && e.Bytes != nil || size != 0 && (len(e.Bytes) != size || m.bo.Uint32(e.Bytes) != uint32(100+i)) {
									t.Errorf("%s: element %d bytes % x", name, i, e.Bytes)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestQueueCorrupt breaks well-formed lists one link at a time: each
// break gives one *bind.ListError naming the entry (or head) whose link is
// bad, after the elements before it, and the walk ends.
func TestQueueCorrupt(t *testing.T) {
	const head, link = 0x10000, 16
	const outside = 0xdead0000
	e := []uint64{0x20000, 0x21000, 0x22000, 0x23000}
	type brk struct {
		name  string
		kinds []bind.QueueKind // nil: all
		ptr8  bool             // only with 8-byte pointers
		edit  func(m *qmem)
		q     func(q *bind.Queue)
		// The error: node, its link's value, elements before it, a word
		// of the message; strictOnly: the list walks without Strict.
		node, next uint64
		index      int
		msg        string
		strictOnly bool
		readErr    bool
	}
	prevOff := func(m *qmem) uint64 { return link + uint64(m.ptr) }
	cases := []brk{
		{name: "cycle to the first", edit: func(m *qmem) { m.putPtr(e[3]+link, e[0]) }, node: e[3] + link, next: e[0], index: 4, msg: "cycle"},
		{name: "cycle to itself", edit: func(m *qmem) { m.putPtr(e[1]+link, e[1]) }, node: e[1] + link, next: e[1], index: 2, msg: "cycle"},
		{name: "link outside the dump", edit: func(m *qmem) { m.putPtr(e[1]+link, outside) }, node: e[1] + link, next: outside, index: 2, msg: "cannot read", readErr: true},
		{name: "first link outside the dump", edit: func(m *qmem) { m.putPtr(head, outside) }, node: head, next: outside, index: 0, msg: "cannot read", readErr: true},
		{name: "head outside the dump", q: func(q *bind.Queue) { q.Head = outside }, node: outside, index: 0, msg: "list head", readErr: true},
		{name: "link wraps the address space", ptr8: true, edit: func(m *qmem) { m.putPtr(e[0]+link, ^uint64(7)) }, node: e[0] + link, next: ^uint64(7), index: 1, msg: "address space"},
		{name: "NULL back link", kinds: []bind.QueueKind{bind.QueueList, bind.QueueTailQ},
			edit: func(m *qmem) { m.putPtr(e[2]+prevOff(m), 0) }, node: e[2] + link, next: 0, index: 2, msg: "NULL back link"},
		{name: "back link elsewhere", kinds: []bind.QueueKind{bind.QueueList, bind.QueueTailQ},
			edit: func(m *qmem) { m.putPtr(e[2]+prevOff(m), head) }, node: e[2] + link, next: head, index: 2, msg: "back link", strictOnly: true},
		{name: "tail pointer elsewhere", kinds: []bind.QueueKind{bind.QueueSTailQ, bind.QueueTailQ},
			edit: func(m *qmem) { m.putPtr(head+uint64(m.ptr), e[2]+link) }, node: head, next: e[2] + link, index: 4, msg: "tail pointer", strictOnly: true},
		{name: "tail pointer NULL", kinds: []bind.QueueKind{bind.QueueSTailQ, bind.QueueTailQ},
			edit: func(m *qmem) { m.putPtr(head+uint64(m.ptr), 0) }, node: head, next: 0, index: 4, msg: "tail pointer", strictOnly: true},
		{name: "longer than Max", q: func(q *bind.Queue) { q.Max = 2 }, node: e[1] + link, next: e[2], index: 2, msg: "longer than 2"},
	}
	for _, c := range cases {
		for _, kind := range queueKinds {
			if c.kinds != nil && !slices.Contains(c.kinds, kind) {
				continue
			}
			for _, ptr := range []int{4, 8} {
				if c.ptr8 && ptr != 8 {
					continue
				}
				for _, strict := range []bool{false, true} {
					name := fmt.Sprintf("%s/%v/ptr%d/strict=%v", c.name, kind, ptr, strict)
					t.Run(name, func(t *testing.T) {
						m := newQmem(ptr, false)
						qlist(m, kind, head, link, e)
						if c.edit != nil {
							c.edit(m)
						}
						q := bind.Queue{Kind: kind, Name: "test list", Head: head, Link: link, PtrSize: ptr, QueueOptions: bind.QueueOptions{Strict: strict}}
						if c.q != nil {
							c.q(&q)
						}
						got, err := walkQueue(t, m, q)
						if c.strictOnly && !strict {
							if err != nil || len(got) != len(e) {
								t.Fatalf("%d elements, %v; want all %d: only Strict checks this", len(got), err, len(e))
							}
							return
						}
						var le *bind.ListError
						if !errors.As(err, &le) {
							t.Fatalf("%d elements, error %v; want a *bind.ListError", len(got), err)
						}
						if le.Node != c.node || le.Next != c.next || le.Index != c.index || le.List != "test list" || !strings.Contains(le.Msg, c.msg) {
							t.Errorf("%+v; want node %#x -> %#x after %d, about %q", le, c.node, c.next, c.index, c.msg)
						}
						if !strings.Contains(err.Error(), fmt.Sprintf("node %#x", c.node)) {
							t.Errorf("%q does not name node %#x", err, c.node)
						}
						var re *kvm.ReadError
						if c.readErr != errors.As(err, &re) {
							t.Errorf("%v: wraps a *kvm.ReadError: %v, want %v", err, !c.readErr, c.readErr)
						}
						if want := min(c.index, len(e)); len(got) != want {
							t.Errorf("%d elements before the error, want %d", len(got), want)
						}
					})
				}
			}
		}
	}
}

// TestQueueBadDescription: a Queue that does not describe a list is an
// error before any read, never a panic or a huge allocation.
func TestQueueBadDescription(t *testing.T) {
	m := newQmem(8, false)
	qlist(m, bind.QueueList, 0x10000, 16, []uint64{0x20000})
	ok := bind.Queue{Kind: bind.QueueList, Name: "l", Head: 0x10000, Link: 16, PtrSize: 8}
	for _, c := range []struct {
		name string
		edit func(q *bind.Queue)
	}{
		{"no kind", func(q *bind.Queue) { q.Kind = 0 }},
		{"unknown kind", func(q *bind.Queue) { q.Kind = 9 }},
		{"pointer size 3", func(q *bind.Queue) { q.PtrSize = 3 }},
		{"pointer size 0", func(q *bind.Queue) { q.PtrSize = 0 }},
		{"huge link offset", func(q *bind.Queue) { q.Link = 1 << 40 }},
		{"element smaller than its entry", func(q *bind.Queue) { q.ElemSize = 20 }},
		{"negative element size", func(q *bind.Queue) { q.ElemSize = -1 }},
		{"huge element size", func(q *bind.Queue) { q.ElemSize = 1 << 40 }},
	} {
		q := ok
		c.edit(&q)
		got, err := walkQueue(t, m, q)
		if err == nil || len(got) != 0 {
			t.Errorf("%s: %d elements, %v; want an error", c.name, len(got), err)
		}
	}
	if got, err := walkQueue(t, m, ok); err != nil || len(got) != 1 {
		t.Fatalf("the good one: %d, %v", len(got), err)
	}
	// Stopping early stops the walk.
	for range bind.QueueAt(m, ok) {
		break
	}
}

// Typed iteration through a binding made by hand: struct fproc { int
// p_pid; ...; LIST_ENTRY(fproc) p_list at 16; TAILQ_HEAD p_threads at
// 32 }, struct fthread { int td_tid; TAILQ_ENTRY td_plist at 8 }.
type fproc struct{ bind.View }

func (fproc) KVMType() int { return 0 }

type fthread struct{ bind.View }

func (fthread) KVMType() int { return 1 }

var queueSpec = bind.Spec{
	Package: "queuetest", Arch: "x86_64", PtrSize: 8,
	Types: []bind.TypeSpec{
		{C: "struct fproc", Name: "fproc", Parent: -1, Size: 64, Fields: []bind.FieldSpec{
			bind.M("p_pid", bind.KindInt, 0, 4), bind.M("p_list", bind.KindStruct, 16, 16), bind.M("p_threads", bind.KindStruct, 32, 16),
		}},
		{C: "struct fthread", Name: "fthread", Parent: -1, Size: 32, Fields: []bind.FieldSpec{
			bind.M("td_tid", bind.KindInt, 0, 4), bind.M("td_plist", bind.KindStruct, 8, 16),
		}},
	},
}

func TestQueueTyped(t *testing.T) {
	const allproc = 0x10000
	procs := []uint64{0x20000, 0x20100, 0x20200}
	threads := [][]uint64{{0x30000}, {0x30100, 0x30200, 0x30300}, nil}
	m := newQmem(8, false)
	qlist(m, bind.QueueList, allproc, 16, procs)
	for i, p := range procs {
		qlist(m, bind.QueueTailQ, p+32, 8, threads[i])
		m.put32(p, uint32(10+i))
		for j, td := range threads[i] {
			m.put32(td, uint32(100000+10*i+j))
		}
	}
	b, err := bind.New(m, &queueSpec)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for p, err := range bind.BSDQueueAt[fproc](b, bind.QueueList, allproc, "p_list", bind.QueueOptions{Strict: true}) {
		if err != nil {
			t.Fatal(err)
		}
		pid := int32(bind.Uint(p.View, 0))
		// The TAILQ_HEAD as a member view, as generated code gives it.
		for td, err := range bind.BSDQueue[fthread](bind.Sub(p.View, 2), bind.QueueTailQ, "td_plist") {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d/%d", pid, int32(bind.Uint(td.View, 3))))
		}
	}
	if s := strings.Join(got, " "); s != "10/100000 11/100010 11/100011 11/100012" {
		t.Errorf("threads %s", s)
	}
	// The singly-linked kinds read the same next links.
	n := 0
	for _, err := range bind.BSDQueueAt[fproc](b, bind.QueueSList, allproc, "p_list") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	for _, err := range bind.BSDQueueAt[fthread](b, bind.QueueSTailQ, procs[1]+32, "td_plist") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 6 {
		t.Errorf("SLIST and STAILQ: %d elements, want 6", n)
	}

	// A thread list that loops: the error names the list and the entry.
	m.putPtr(threads[1][2]+8, threads[1][1])
	var le *bind.ListError
	n = 0
	for _, err := range bind.BSDQueueAt[fthread](b, bind.QueueTailQ, procs[1]+32, "td_plist") {
		if err != nil {
			if !errors.As(err, &le) {
				t.Fatalf("%v, want a *bind.ListError", err)
			}
			continue
		}
		n++
	}
	if le == nil || le.List != "struct fthread.td_plist" || le.Node != threads[1][2]+8 || le.Next != threads[1][1] || n != 3 {
		t.Errorf("cycle: %v after %d threads", le, n)
	}
	// Members that are not entries, or not in the bindings.
	for _, member := range []string{"p_pid", "p_nosuch"} {
		for _, err := range bind.BSDQueueAt[fproc](b, bind.QueueList, allproc, member) {
			if err == nil || !strings.Contains(err.Error(), member) {
				t.Errorf("BSDQueueAt(QueueList, %s): %v, want an error naming it", member, err)
			}
		}
	}
}

// TestBSDQueueKinds walks a list of each kind, headed at a member of a
// struct fproc, through its view (BSDQueue) and its address (BSDQueueAt),
// and checks that each walk reads the links of its own kind: a NULL back
// link breaks only LIST and TAILQ, a wrong tail pointer (Strict) only
// STAILQ and TAILQ.
func TestBSDQueueKinds(t *testing.T) {
	const proc, link = 0x20000, 8
	head := uint64(proc + 32) // fproc.p_threads
	elems := []uint64{0x30000, 0x30100, 0x30200}
	cases := []struct {
		kind       bind.QueueKind
		prev, last string // the back link and tail pointer, if any
	}{
		{bind.QueueSList, "", ""},
		{bind.QueueList, "le_prev", ""},
		{bind.QueueSTailQ, "", "stqh_last"},
		{bind.QueueTailQ, "tqe_prev", "tqh_last"},
	}
	for _, c := range cases {
		t.Run(c.kind.String(), func(t *testing.T) {
			fresh := func() (*qmem, *bind.Binding) {
				m := newQmem(8, false)
				m.put32(proc, 10)
				qlist(m, c.kind, head, link, elems)
				b, err := bind.New(m, &queueSpec)
				if err != nil {
					t.Fatal(err)
				}
				return m, b
			}
			walk := func(seq func(func(fthread, error) bool)) ([]uint32, error) {
				var tids []uint32
				var err error
				for td, e := range seq {
					if err != nil {
						t.Fatalf("yielded after the error %v", err)
					}
					if e != nil {
						err = e
						continue
					}
					tids = append(tids, uint32(bind.Uint(td.View, 3)))
				}
				return tids, err
			}
			strict := bind.QueueOptions{Strict: true}
			_, b := fresh()
			p, err := bind.ReadView[fproc](b, proc)
			if err != nil {
				t.Fatal(err)
			}
			for name, seq := range map[string]func(func(fthread, error) bool){
				"BSDQueue":   bind.BSDQueue[fthread](bind.Sub(p.View, 2), c.kind, "td_plist", strict),
				"BSDQueueAt": bind.BSDQueueAt[fthread](b, c.kind, head, "td_plist", strict),
			} {
				tids, err := walk(seq)
				if err != nil || fmt.Sprint(tids) != "[100 101 102]" {
					t.Errorf("%s: %v, %v; want [100 101 102]", name, tids, err)
				}
			}

			// A NULL back link in the second element's entry.
			m, b := fresh()
			m.putPtr(elems[1]+link+8, 0)
			tids, err := walk(bind.BSDQueueAt[fthread](b, c.kind, head, "td_plist"))
			var le *bind.ListError
			if c.prev == "" {
				if err != nil || len(tids) != 3 {
					t.Errorf("NULL second pointer of an entry: %v, %v; want the 3 elements", tids, err)
				}
			} else if !errors.As(err, &le) || !strings.Contains(le.Msg, c.prev) || le.Index != 1 || le.List != "struct fthread.td_plist" || len(tids) != 1 {
				t.Errorf("NULL %s: %v, %v; want a *ListError at index 1", c.prev, tids, err)
			}

			// A tail pointer to the head, the list not being empty.
			m, b = fresh()
			m.putPtr(head+8, head)
			tids, err = walk(bind.BSDQueueAt[fthread](b, c.kind, head, "td_plist", strict))
			le = nil
			if c.last == "" {
				if err != nil || len(tids) != 3 {
					t.Errorf("head's second pointer wrong: %v, %v; want the 3 elements", tids, err)
				}
			} else if !errors.As(err, &le) || !strings.Contains(le.Msg, c.last) || le.Node != head || len(tids) != 3 {
				t.Errorf("%s wrong: %v, %v; want a *ListError naming it", c.last, tids, err)
			}
		})
	}
}

// TestBSDQueueUnknownKind: a kind that is none of the four yields one
// error naming it, whatever else is wrong, and reads nothing.
func TestBSDQueueUnknownKind(t *testing.T) {
	m := newQmem(8, false)
	qlist(m, bind.QueueList, 0x10000, 16, []uint64{0x20000})
	b, err := bind.New(m, &queueSpec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := bind.ReadView[fproc](b, 0x20000)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []bind.QueueKind{0, bind.QueueTailQ + 1, 255} {
		for name, seq := range map[string]func(func(fproc, error) bool){
			"BSDQueueAt":         bind.BSDQueueAt[fproc](b, kind, 0x10000, "p_list"),
			"BSDQueue":           bind.BSDQueue[fproc](bind.Sub(p.View, 1), kind, "p_list"),
			"BSDQueue (unbound)": bind.BSDQueue[fproc](bind.View{}, kind, "p_nosuch"),
		} {
			var errs []error
			for _, err := range seq {
				if err == nil {
					t.Errorf("%s(%v): yielded an element", name, kind)
					continue
				}
				errs = append(errs, err)
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), "unknown list kind "+kind.String()) {
				t.Errorf("%s(%v): %v; want one error naming the kind", name, kind, errs)
			}
		}
	}
}

// TestQueueFreeBSDDumps walks the real dumps' allproc (a LIST through
// p_list) and thread lists (TAILQs through td_plist) with the offsets the
// kernels export. The thread counts are lldb's for the same dumps
// (TestFreeBSDKernelVMCore.py). The process lists were shortened by lldb's
// lldb-minimize-processes.patch, which rewrote le_next links only: a
// Strict walk of allproc must find the second process's le_prev still
// pointing to the process that preceded it before the edit, while the
// thread lists, untouched, pass Strict.
func TestQueueFreeBSDDumps(t *testing.T) {
	cases := []struct {
		dump, arch string
		pids       []int32
		threads    int
	}{
		{"vmcore-amd64-minidump", "amd64", []int32{800, 28, 11}, 16},
		{"vmcore-amd64-full", "amd64", []int32{806, 11}, 13},
		{"vmcore-i386-minidump", "i386", []int32{806, 11}, 13},
		{"vmcore-arm64-minidump", "arm64", []int32{939, 21, 11}, 10},
	}
	for _, c := range cases {
		t.Run(c.dump, func(t *testing.T) {
			kd, err := kvm.Open2(fbsdtest.Kernel(t, c.arch), fbsdtest.Dump(t, c.dump), os.O_RDONLY, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer kd.Close()
			off := func(sym string) uint64 {
				a, err := kd.LookupSymbol(sym)
				if err != nil {
					t.Fatal(err)
				}
				var b [4]byte
				if err := kvm.ReadFull(kd, b[:], a); err != nil {
					t.Fatal(err)
				}
				return uint64(binary.LittleEndian.Uint32(b[:]))
			}
			allproc, err := kd.LookupSymbol("allproc")
			if err != nil {
				t.Fatal(err)
			}
			ptr := kd.Info().PtrSize
			q := bind.Queue{Kind: bind.QueueList, Name: "allproc", Head: allproc, Link: off("proc_off_p_list"), PtrSize: ptr}
			var pids []int32
			var addrs []uint64
			threads := 0
			for p, err := range bind.QueueAt(kd, q) {
				if err != nil {
					t.Fatal(err)
				}
				var b [4]byte
				if err := kvm.ReadFull(kd, b[:], p.Addr+off("proc_off_p_pid")); err != nil {
					t.Fatal(err)
				}
				pids = append(pids, int32(binary.LittleEndian.Uint32(b[:])))
				addrs = append(addrs, p.Addr)
				tq := bind.Queue{Kind: bind.QueueTailQ, Name: "p_threads", Head: p.Addr + off("proc_off_p_threads"), Link: off("thread_off_td_plist"), PtrSize: ptr, QueueOptions: bind.QueueOptions{Strict: true}}
				for _, err := range bind.QueueAt(kd, tq) {
					if err != nil {
						t.Fatalf("pid %d: %v", pids[len(pids)-1], err)
					}
					threads++
				}
			}
			if fmt.Sprint(pids) != fmt.Sprint(c.pids) || threads != c.threads {
				t.Errorf("pids %v, %d threads; want %v, %d", pids, threads, c.pids, c.threads)
			}
			q.Strict = true
			got, err := walkQueue(t, kd, q)
			var le *bind.ListError
			if !errors.As(err, &le) || le.Index != 1 || len(got) != 1 || !strings.Contains(le.Msg, "back link le_prev") || le.Node != addrs[1]+off("proc_off_p_list") {
				t.Fatalf("strict allproc: %d, %v; want the le_prev of the second process (%#x) reported", len(got), err, addrs[1])
			}
		})
	}
}
