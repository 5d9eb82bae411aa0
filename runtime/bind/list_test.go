package bind

import "testing"

// The list walks on the synthetic kernel: struct item's "node" member
// (offset 8) serves as the list_head or hlist_node, whose first word is
// the next link in both.

const (
	listHead  = synthBase + 0x100 // a list_head: { next, prev }
	hlistHead = synthBase + 0x140 // an hlist_head: { first }
)

// linkItems links items 1..n through their node members, the first from
// head; the last links to end (listHead for a list_head list, 0 for an
// hlist).
func linkItems(m *synthMem, head uint64, n int, end uint64) {
	m.put64(head, rbNodeOf(1))
	for i := 1; i <= n; i++ {
		m.put64(itemAddr(i), uint64(i))
		next := end
		if i < n {
			next = rbNodeOf(i + 1)
		}
		m.put64(rbNodeOf(i), next)
	}
}

func walkKeys(b *Binding, head uint64, circular bool) ([]uint64, error) {
	seq := ListAt[item](b, head, "node")
	if !circular {
		seq = HListAt[item](b, head, "node")
	}
	var keys []uint64
	for e, err := range seq {
		if err != nil {
			return keys, err
		}
		keys = append(keys, Uint(e.View, 0))
	}
	return keys, nil
}

func TestListSynthetic(t *testing.T) {
	for _, kind := range []struct {
		name     string
		head     uint64
		end      uint64
		circular bool
	}{
		{"list_head", listHead, listHead, true},
		{"hlist", hlistHead, 0, false},
	} {
		t.Run(kind.name, func(t *testing.T) {
			const n = 5
			// Well formed: 1..n in order, and an empty list.
			m := newSynth()
			b := bindSynth(t, m)
			linkItems(m, kind.head, n, kind.end)
			keys, err := walkKeys(b, kind.head, kind.circular)
			if err != nil || len(keys) != n {
				t.Fatalf("%d entries, %v; want %d", len(keys), err, n)
			}
			for i, k := range keys {
				if k != uint64(i+1) {
					t.Fatalf("entry %d has key %d: not in list order", i, k)
				}
			}
			m.put64(kind.head, kind.end)
			if keys, err := walkKeys(b, kind.head, kind.circular); err != nil || len(keys) != 0 {
				t.Fatalf("empty list: %d entries, %v", len(keys), err)
			}
			// Stopping early reads no further.
			linkItems(m, kind.head, n, kind.end)
			m.put64(rbNodeOf(3), synthOut) // would fail if followed
			seq := ListAt[item](b, kind.head, "node")
			if !kind.circular {
				seq = HListAt[item](b, kind.head, "node")
			}
			seen := 0
			for _, err := range seq {
				if err != nil {
					t.Fatalf("entry %d: %v", seen, err)
				}
				if seen++; seen == 2 {
					break
				}
			}

			cycleMsg := "cycle: the link leads to a node already visited"
			if kind.circular {
				cycleMsg += ", not back to the head"
			}
			for _, c := range []struct {
				name    string
				corrupt func(m *synthMem)
				node    uint64
				msg     string
				read    bool
			}{
				{"cycle", func(m *synthMem) { m.put64(rbNodeOf(4), rbNodeOf(2)) }, rbNodeOf(4), cycleMsg, false},
				{"into itself", func(m *synthMem) { m.put64(rbNodeOf(2), rbNodeOf(2)) }, rbNodeOf(2), cycleMsg, false},
				{"outside the dump", func(m *synthMem) { m.put64(rbNodeOf(3), synthOut) }, rbNodeOf(3), "cannot read the entry", true},
				{"below the member's offset", func(m *synthMem) { m.put64(rbNodeOf(1), 4) }, rbNodeOf(1), "below the member's offset", false},
				{"head outside the dump", nil, synthOut, "head", true},
			} {
				t.Run(c.name, func(t *testing.T) {
					m := newSynth()
					b := bindSynth(t, m)
					linkItems(m, kind.head, n, kind.end)
					head := kind.head
					if c.corrupt != nil {
						c.corrupt(m)
					} else {
						head = synthOut
					}
					keys, err := walkKeys(b, head, kind.circular)
					le := wantTreeError(t, err, "", c.node, c.msg, c.read)
					if le.List != "struct item.node" {
						t.Errorf("error names list %q, want struct item.node", le.List)
					}
					if c.corrupt != nil && le.Index != len(keys) {
						t.Errorf("error after %d entries, %d yielded", le.Index, len(keys))
					}
				})
			}
		})
	}
	// The ends differ: a NULL link ends an hlist but breaks a list_head
	// list, and a link back to the head ends a list_head list but is a
	// cycle in an hlist.
	m := newSynth()
	b := bindSynth(t, m)
	linkItems(m, listHead, 3, 0)
	keys, err := walkKeys(b, listHead, true)
	wantTreeError(t, err, "", rbNodeOf(3), "NULL link", false)
	if len(keys) != 3 {
		t.Errorf("%d entries before the NULL link, want 3", len(keys))
	}
	linkItems(m, hlistHead, 3, hlistHead)
	keys, err = walkKeys(b, hlistHead, false)
	wantTreeError(t, err, "", rbNodeOf(3), "cycle", false)
	if len(keys) != 3 {
		t.Errorf("%d hlist entries before the link to the head, want 3", len(keys))
	}
}
