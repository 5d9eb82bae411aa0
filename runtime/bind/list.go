package bind

import (
	"fmt"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"iter"
)

// Typed traversal of the kernel's intrusive lists: container_of, and
// list_head and hlist iterators that check every link once (NULL, cycles,
// memory outside the dump, length) and name the node at fault.

// MaxListLen bounds the iterators: longer lists are an error (the longest
// kernel lists, of tasks, are bounded by PID_MAX_LIMIT, 4M).
const MaxListLen = 1 << 22

// ListError is a broken list or tree: the node (a list_head or hlist_node
// address; a tree's rb_node, xa_node or maple_node) whose link or content
// is bad, and why. Every iterator of list.go, tree_rb.go, xarray.go and
// maple.go ends with one on a corrupt structure.
type ListError struct {
	// Kind is "" for lists, "rbtree", "xarray" or "maple tree".
	Kind  string
	List  string // "struct task_struct.tasks", "struct vmap_area.rb_node", "struct xarray"
	Root  uint64 // trees: the rb_root, xarray or maple_tree walked
	Node  uint64 // the list_head (hlist_node) whose next link is bad; the tree node at fault
	Next  uint64 // where it points (the bad link, entry or value)
	Index int    // entries read before it
	Depth int    // trees: the node's depth (0 for the top node)
	Msg   string
	Err   error
}

func (e *ListError) Error() string {
	var s string
	if e.Kind == "" {
		s = fmt.Sprintf("list %s: node %#x (after %d entries) -> %#x: %s", e.List, e.Node, e.Index, e.Next, e.Msg)
	} else {
		s = fmt.Sprintf("%s %s at %#x: node %#x (depth %d, after %d entries) -> %#x: %s", e.Kind, e.List, e.Root, e.Node, e.Depth, e.Index, e.Next, e.Msg)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ListError) Unwrap() error { return e.Err }

// memberOffset is the bound kernel's offset of member (a list_head, an
// hlist_node...) in T.
func memberOffset[T Viewer](b *Binding, member string) (int64, string, error) {
	var z T
	typ := z.KVMType()
	if b == nil || b.spec == nil || typ < 0 || typ >= len(b.spec.Types) {
		return 0, "", errNotBound
	}
	name := b.spec.Types[typ].C + "." + member
	i, ok := b.FieldIndex(typ, member)
	if !ok {
		return 0, name, fmt.Errorf("%s: the bindings have no member %s (generate it)", b.spec.Types[typ].C, member)
	}
	if err := b.MissingError(typ, i); err != nil {
		return 0, name, err
	}
	return int64(b.fields[i].Off), name, nil
}

// ContainerOf returns a pointer to the T whose member (named as in C,
// "tasks") lies at addr: container_of(addr, T, member), with the bound
// kernel's offset of member.
func ContainerOf[T Viewer](b *Binding, addr uint64, member string) (Ptr[T], error) {
	off, _, err := memberOffset[T](b, member)
	if err != nil {
		return Ptr[T]{}, err
	}
	if addr == 0 {
		return Ptr[T]{}, fmt.Errorf("container_of(NULL, %s)", member)
	}
	return Ptr[T]{b: b, Addr: addr - uint64(off)}, nil
}

func (b *Binding) readPtr(addr uint64) (uint64, error) {
	buf := make([]byte, b.ptrSize)
	if err := kvm.ReadFull(b.t, buf, addr); err != nil {
		return 0, err
	}
	return b.uintAt(buf, 0, b.ptrSize), nil
}

// List iterates the entries of a circular list_head list: head is the
// view of the list_head heading it (init_task.Tasks().View), member the
// list_head member of T that links the entries (for init_task.tasks,
// "tasks"). Entries are read whole, one read each, and the next link is
// taken from the entry's snapshot. A NULL link, a link that does not lead
// back to head (a cycle), memory the target cannot read, or more than
// MaxListLen entries yield one *ListError naming the node, and end the
// iteration. list_head is { next, prev } in every kernel: next is its
// first pointer.
func List[T Viewer](head View, member string) iter.Seq2[T, error] {
	return ListAt[T](head.b, head.addr, member)
}

// ListAt is List with the address of the heading list_head.
func ListAt[T Viewer](b *Binding, head uint64, member string) iter.Seq2[T, error] {
	return linked[T](b, head, member, true)
}

// HList iterates the entries of an hlist (hlist_head { first }, linked by
// hlist_node { next, pprev } members named member of T, ending at NULL),
// with the checks of List.
func HList[T Viewer](head View, member string) iter.Seq2[T, error] {
	return HListAt[T](head.b, head.addr, member)
}

// HListAt is HList with the address of the hlist_head.
func HListAt[T Viewer](b *Binding, head uint64, member string) iter.Seq2[T, error] {
	return linked[T](b, head, member, false)
}

// linked walks a list_head list (circular: it ends back at head) or an
// hlist (it ends at NULL), each entry read whole through member of T.
func linked[T Viewer](b *Binding, head uint64, member string, circular bool) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var z T
		off, name, err := memberOffset[T](b, member)
		if err != nil {
			yield(z, err)
			return
		}
		fail := func(node, next uint64, n int, msg string, err error) {
			yield(z, &ListError{List: name, Node: node, Next: next, Index: n, Msg: msg, Err: err})
		}
		next, err := b.readPtr(head)
		if err != nil {
			what := "list"
			if !circular {
				what = "hlist"
			}
			fail(head, 0, 0, "cannot read the "+what+" head", err)
			return
		}
		end := head // a list_head list ends back at its head, an hlist at NULL
		if !circular {
			end = 0
		}
		seen := map[uint64]bool{}
		node := head
		for n := 0; next != end; n++ {
			switch {
			case next == 0:
				fail(node, next, n, "NULL link", nil)
				return
			case seen[next] || next == head: // (a list_head list ends at head)
				msg := "cycle: the link leads to a node already visited"
				if circular {
					msg += ", not back to the head"
				}
				fail(node, next, n, msg, nil)
				return
			case n >= MaxListLen:
				fail(node, next, n, fmt.Sprintf("list longer than %d entries", MaxListLen), nil)
				return
			case next < uint64(off):
				fail(node, next, n, "link below the member's offset: not a list node", nil)
				return
			}
			seen[next] = true
			e, err := ReadView[T](b, next-uint64(off))
			if err != nil {
				fail(node, next, n, "cannot read the entry", err)
				return
			}
			node = next
			next = b.uintAt(struct{ View }(e).View.snap, int(off), b.ptrSize)
			if !yield(e, nil) {
				return
			}
		}
	}
}
