package bind

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// The synthetic XArray: a top node of shift 6 over two leaves.
const (
	xaAddr  = synthBase + 0x300
	xaTop   = synthBase + 0x10000
	xaLeafA = synthBase + 0x10400 // slot 0 of the top: indices 0-63
	xaLeafB = synthBase + 0x10800 // slot 2: indices 128-191
)

func xaPtr(index uint64) uint64 { return synthBase + 0x80000 + index*0x10 }

type xarrayView struct{ View }

func (xarrayView) KVMType() int { return 4 }

func xaNode(m *synthMem, addr uint64, shift, offset byte, parent uint64) {
	m.put8(addr, shift)
	m.put8(addr+1, offset)
	m.put64(addr+8, parent)
	m.put64(addr+16, xaAddr)
}

func xaSlot(m *synthMem, node uint64, i int, e uint64) { m.put64(node+40+uint64(i)*8, e) }

func xaSynth(m *synthMem) {
	m.put64(xaAddr+8, xaTop|2)
	xaNode(m, xaTop, 6, 0, 0)
	xaSlot(m, xaTop, 0, xaLeafA|2)
	xaSlot(m, xaTop, 2, xaLeafB|2)
	xaNode(m, xaLeafA, 0, 0, xaTop)
	xaSlot(m, xaLeafA, 1, xaPtr(1))
	xaSlot(m, xaLeafA, 5, xaPtr(5))
	xaSlot(m, xaLeafA, 7, 42<<1|1)    // xa_mk_value(42)
	xaSlot(m, xaLeafA, 8, 257<<2|2)   // XA_ZERO_ENTRY
	xaSlot(m, xaLeafA, 9, xaPtr(9))   // a multi-index entry at 9-11
	xaSlot(m, xaLeafA, 10, 9<<2|2)    // xa_mk_sibling(9)
	xaSlot(m, xaLeafA, 11, 9<<2|2)    //
	xaNode(m, xaLeafB, 0, 2, xaTop)   //
	xaSlot(m, xaLeafB, 3, xaPtr(131)) //
}

func xaEntries(b *Binding, xa uint64) (string, error) {
	s := ""
	for e, err := range XArrayAt(b, xa) {
		if err != nil {
			return s, err
		}
		if XAIsValue(e.Entry) {
			s += fmt.Sprintf("%d=v%d ", e.Index, XAToValue(e.Entry))
		} else {
			s += fmt.Sprintf("%d=%#x ", e.Index, e.Entry)
		}
	}
	return s, nil
}

func TestXArraySynthetic(t *testing.T) {
	m := newSynth()
	b := bindSynth(t, m)
	xaSynth(m)
	want := fmt.Sprintf("1=%#x 5=%#x 7=v42 9=%#x 131=%#x ", xaPtr(1), xaPtr(5), xaPtr(9), xaPtr(131))
	if got, err := xaEntries(b, xaAddr); got != want || err != nil {
		t.Fatalf("entries %q, %v; want %q", got, err, want)
	}
	// Through a view of the struct xarray.
	n := 0
	for e, err := range XArray(PtrTo[xarrayView](b, xaAddr).mustRead(t).View) {
		if err != nil || e.Index != []uint64{1, 5, 7, 9, 131}[n] {
			t.Fatalf("XArray(view): entry %d: %+v, %v", n, e, err)
		}
		n++
	}
	// A head that is an entry: index 0 alone.
	for _, c := range []struct {
		head uint64
		want string
	}{{0, ""}, {xaPtr(0), fmt.Sprintf("0=%#x ", xaPtr(0))}, {3<<1 | 1, "0=v3 "}, {257<<2 | 2, ""}} {
		m.put64(xaAddr+8, c.head)
		if got, err := xaEntries(b, xaAddr); got != c.want || err != nil {
			t.Errorf("head %#x: entries %q, %v; want %q", c.head, got, err, c.want)
		}
	}
}

func TestXArrayCorrupt(t *testing.T) {
	cases := []struct {
		name    string
		corrupt func(m *synthMem)
		node    uint64
		msg     string
		read    bool
	}{
		{"cycle", func(m *synthMem) { xaSlot(m, xaTop, 3, xaLeafA|2) }, xaTop, "cycle", false},
		{"top into itself", func(m *synthMem) { xaSlot(m, xaTop, 1, xaTop|2) }, xaTop, "cycle", false},
		{"NULL parent", func(m *synthMem) { m.put64(xaLeafB+8, 0) }, xaLeafB, "NULL parent link", false},
		{"wrong parent", func(m *synthMem) { m.put64(xaLeafB+8, xaLeafA) }, xaLeafB, "is not", false},
		{"wrong offset", func(m *synthMem) { m.put8(xaLeafB+1, 5) }, xaLeafB, "offset 5", false},
		{"wrong array", func(m *synthMem) { m.put64(xaLeafB+16, synthBase) }, xaLeafB, "array", false},
		{"outside the dump", func(m *synthMem) { xaSlot(m, xaTop, 4, synthOut|2) }, xaTop, "cannot read", true},
		{"head outside the dump", func(m *synthMem) { m.put64(xaAddr+8, synthOut|2) }, xaAddr, "cannot read", true},
		{"top shift too large", func(m *synthMem) { m.put8(xaTop, 66) }, xaTop, "top node's shift", false},
		{"no shift step", func(m *synthMem) { m.put8(xaLeafA, 6) }, xaLeafA, "shift 6, not 0", false},
		{"node link in a leaf", func(m *synthMem) { xaSlot(m, xaLeafB, 4, xaLeafA|2) }, xaLeafB, "shift 0", false},
		{"retry entry", func(m *synthMem) { xaSlot(m, xaLeafB, 6, 256<<2|2) }, xaLeafB, "XA_RETRY_ENTRY", false},
		{"sibling ahead", func(m *synthMem) { xaSlot(m, xaLeafB, 1, 3<<2|2) }, xaLeafB, "sibling", false},
		{"unknown internal", func(m *synthMem) { xaSlot(m, xaLeafB, 1, 300<<2|2) }, xaLeafB, "internal entry", false},
		{"head retry", func(m *synthMem) { m.put64(xaAddr+8, 256<<2|2) }, xaAddr, "XA_RETRY_ENTRY", false},
		{"misaligned", func(m *synthMem) { xaSlot(m, xaTop, 5, (xaLeafB+4)|2) }, xaTop, "misaligned", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newSynth()
			b := bindSynth(t, m)
			xaSynth(m)
			c.corrupt(m)
			_, err := xaEntries(b, xaAddr)
			wantTreeError(t, err, "xarray", c.node, c.msg, c.read)
		})
	}
	// Excessive depth: a chain of nodes each at slot 0 of the one above
	// it, all of the top's shift, is refused at the first.
	t.Run("depth", func(t *testing.T) {
		m := newSynth()
		b := bindSynth(t, m)
		m.put64(xaAddr+8, xaTop|2)
		for i := uint64(0); i < 40; i++ {
			a := xaTop + i*0x400
			parent := uint64(0)
			if i > 0 {
				parent = a - 0x400
			}
			xaNode(m, a, 12, 0, parent)
			xaSlot(m, a, 0, (a+0x400)|2)
		}
		_, err := xaEntries(b, xaAddr)
		le := wantTreeError(t, err, "xarray", xaTop+0x400, "shift 12, not 6", false)
		if le.Depth != 1 {
			t.Fatalf("depth %d, want 1", le.Depth)
		}
	})
}

// memberOff is the offset of a member path in a struct of src, for the
// tests' own reads (the oracle side).
func memberOff(t *testing.T, src dwarfmodel.Source, typ, path string) int64 {
	t.Helper()
	ty, err := src.Type(typ)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := dwarfmodel.Underlying(ty).(*dwarfmodel.Struct)
	if !ok {
		t.Fatalf("%s is not a struct", typ)
	}
	off, _, ok := dwarfmodel.MemberPath(st, path)
	if !ok {
		t.Fatalf("%s has no %s", typ, path)
	}
	return off
}

// guestTIDs lists the thread IDs under the guest's /proc/PID/task.
func guestTIDs(t *testing.T, truth string) []uint64 {
	t.Helper()
	tasks, err := filepath.Glob(filepath.Join(truth, "proc", "*", "task", "*"))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no tasks in %s/proc: %v", truth, err)
	}
	var out []uint64
	for _, p := range tasks {
		tid, err := strconv.ParseUint(filepath.Base(p), 10, 32)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, tid)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestXArrayPIDs: the IDR of the initial PID namespace (init_pid_ns.idr,
// an XArray) holds a struct pid for every thread: walked in index order,
// its indices are exactly the TIDs under the guest's /proc/PID/task when
// the dump was taken, each entry a struct pid whose numbers[0].nr is its
// index.
func TestXArrayPIDs(t *testing.T) {
	for _, k := range []struct{ kernel, dump string }{
		{"linux-amd64", "elf.vmcore"},
		{"linux-amd64", "panic/elf.vmcore"},
		{"linux-amd64-6.12", "elf.vmcore"},
	} {
		t.Run(k.kernel+"/"+k.dump, func(t *testing.T) {
			if k.kernel != "linux-amd64" {
				if _, err := os.Stat(filepath.Join(testfix.Dir(), k.kernel, "vmlinux")); err != nil {
					t.Skipf("no %s fixture", k.kernel)
				}
			}
			kd, src, truth := openTreeFixture(t, k.kernel, k.dump)
			b, err := TreeBinding(kd, src)
			if err != nil {
				t.Fatal(err)
			}
			ns, err := kd.LookupSymbol("init_pid_ns")
			if err != nil {
				t.Fatal(err)
			}
			idr := ns + uint64(memberOff(t, src, "struct pid_namespace", "idr.idr_rt"))
			nrOff := memberOff(t, src, "struct pid", "numbers") + memberOff(t, src, "struct upid", "nr")
			var got []uint64
			for e, err := range XArrayAt(b, idr) {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) > 0 && e.Index <= got[len(got)-1] {
					t.Fatalf("index %d after %d", e.Index, got[len(got)-1])
				}
				if XAIsValue(e.Entry) {
					t.Fatalf("index %d: a value entry %#x, not a struct pid", e.Index, e.Entry)
				}
				nr := make([]byte, 4)
				if err := kvm.ReadFull(kd, nr, e.Entry+uint64(nrOff)); err != nil {
					t.Fatalf("index %d: struct pid %#x: %v", e.Index, e.Entry, err)
				}
				if n := binary.LittleEndian.Uint32(nr); uint64(n) != e.Index {
					t.Fatalf("index %d: struct pid %#x has numbers[0].nr %d", e.Index, e.Entry, n)
				}
				got = append(got, e.Index)
			}
			want := guestTIDs(t, truth)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("the IDR holds %d PIDs:\n%v\nthe guest listed %d threads:\n%v", len(got), got, len(want), want)
			}
			t.Logf("%s %s: %d PIDs, the guest's %d threads", k.kernel, k.dump, len(got), len(want))
		})
	}
}
