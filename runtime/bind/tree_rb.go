package bind

import (
	"fmt"
	"iter"
)

// rbLayout is where the bound kernel keeps the rb-tree links.
type rbLayout struct {
	rootNode            Field // rb_root.rb_node
	cachedRoot          Field // rb_root_cached.rb_root; Off -1 when the bindings lack it
	cachedSize          int64
	rootSize            int64
	parent, right, left Field // rb_node's __rb_parent_color, rb_right, rb_left
	nodeSize            int64
}

func (b *Binding) rbLayout() (*rbLayout, error) {
	root, err := b.shapeOf("struct rb_root")
	if err != nil {
		return nil, err
	}
	node, err := b.shapeOf("struct rb_node")
	if err != nil {
		return nil, err
	}
	l := &rbLayout{cachedRoot: Field{Off: -1}, rootSize: root.size(), nodeSize: node.size()}
	if l.rootNode, err = root.scalar("rb_node"); err != nil {
		return nil, err
	}
	for _, m := range []struct {
		f    *Field
		name string
	}{{&l.parent, "__rb_parent_color"}, {&l.right, "rb_right"}, {&l.left, "rb_left"}} {
		if *m.f, err = node.scalar(m.name); err != nil {
			return nil, err
		}
	}
	if c, err := b.shapeOf("struct rb_root_cached"); err == nil {
		if f, ok := c.optField("rb_root"); ok {
			l.cachedRoot, l.cachedSize = f, c.size()
		}
	}
	return l, nil
}

// RBTree iterates, in order (rb_first, then rb_next), the entries of the
// rb-tree whose root is the view root of a struct rb_root, or of a struct
// rb_root_cached (told apart by the view's size: the cached root's
// rb_root is walked). member is the struct rb_node member of T that links
// the entries (for vmap_area_root, "rb_node"). Entries are read whole, one
// read each, and their links are taken from that snapshot; the layout of
// rb_root and rb_node is the binding's (generated bindings of T include
// struct rb_node, T's member's type).
//
// A node is entered once, from its parent, whose address its
// __rb_parent_color must hold (the root's: NULL); rb_next's climb back up
// through those parent links follows the path the walk came down. A link
// to a node already entered (a cycle), a parent link that is not the node
// it hangs from (NULL included), memory the target cannot read, a tree
// deeper than MaxTreeDepth or of more than MaxListLen nodes yield one
// *ListError (Kind "rbtree") naming the node, and end the iteration.
func RBTree[T Viewer](root View, member string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		addr := root.addr
		if root.b != nil {
			if l, err := root.b.rbLayout(); err == nil && l.cachedRoot.Off >= 0 &&
				int64(len(root.snap)) == l.cachedSize && l.cachedSize != l.rootSize {
				addr += uint64(l.cachedRoot.Off)
			}
		}
		for e, err := range RBTreeAt[T](root.b, addr, member) {
			if !yield(e, err) {
				return
			}
		}
	}
}

// RBTreeAt is RBTree with the address of the struct rb_root (of an
// rb_root_cached: of its rb_root member).
func RBTreeAt[T Viewer](b *Binding, root uint64, member string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var z T
		off, name, err := memberOffset[T](b, member)
		if err != nil {
			yield(z, err)
			return
		}
		l, err := b.rbLayout()
		if err != nil {
			yield(z, fmt.Errorf("rbtree %s: %w", name, err))
			return
		}
		n := 0 // entries yielded
		fail := func(node, next uint64, depth int, msg string, err error) {
			yield(z, treeError("rbtree", name, root, node, next, depth, n, msg, err))
		}
		top, err := b.readPtr(root + uint64(l.rootNode.Off))
		if err != nil {
			fail(root, 0, 0, "cannot read the struct rb_root", err)
			return
		}
		if top == 0 {
			return // the empty tree
		}
		// The path from the root to the node being visited; a frame holds
		// the entry read and whether it hangs right of the frame below.
		type frame struct {
			node        uint64
			e           T
			left, right uint64
			isRight     bool
		}
		var path []frame
		seen := map[uint64]bool{}
		ptrAlign := uint64(b.ptrSize)
		// enter reads node, the child on side right of from (the
		// rb_root when the path is empty), and pushes it.
		enter := func(from, node uint64, right bool) bool {
			depth := len(path)
			switch {
			case seen[node]:
				fail(from, node, depth, "cycle: the link leads to a node already visited", nil)
				return false
			case depth >= MaxTreeDepth:
				fail(from, node, depth, fmt.Sprintf("tree deeper than %d levels", MaxTreeDepth), nil)
				return false
			case len(seen) >= MaxListLen:
				fail(from, node, depth, fmt.Sprintf("tree of more than %d nodes", MaxListLen), nil)
				return false
			case node < uint64(off):
				fail(from, node, depth, "link below the member's offset: not a tree node", nil)
				return false
			case node%ptrAlign != 0:
				fail(from, node, depth, "misaligned link: struct rb_node is aligned to a long", nil)
				return false
			}
			seen[node] = true
			e, err := ReadView[T](b, node-uint64(off))
			if err != nil {
				fail(from, node, depth, "cannot read the entry", err)
				return false
			}
			snap := struct{ View }(e).View.snap
			at := func(f Field) uint64 { return b.uintAt(snap, int(off)+int(f.Off), int(f.Size)) }
			var want uint64
			if depth > 0 {
				want = path[depth-1].node
			}
			if parent := at(l.parent) &^ 3; parent != want {
				msg := fmt.Sprintf("parent link %#x is not %#x, the node it hangs from", parent, want)
				if parent == 0 {
					msg = fmt.Sprintf("NULL parent link: the node hangs from %#x", want)
				} else if depth == 0 {
					msg = "the root's parent link is not NULL"
				}
				fail(node, parent, depth, msg, nil)
				return false
			}
			path = append(path, frame{node: node, e: e, left: at(l.left), right: at(l.right), isRight: right})
			return true
		}
		// descendLeft enters the leftmost path below the top frame.
		descendLeft := func() bool {
			for {
				f := path[len(path)-1]
				if f.left == 0 {
					return true
				}
				if !enter(f.node, f.left, false) {
					return false
				}
			}
		}
		// rb_first.
		if !enter(root, top, false) || !descendLeft() {
			return
		}
		for {
			f := path[len(path)-1]
			if !yield(f.e, nil) {
				return
			}
			n++
			// rb_next: the leftmost node of the right subtree, else the
			// first ancestor reached from its left.
			if f.right != 0 {
				if !enter(f.node, f.right, true) || !descendLeft() {
					return
				}
				continue
			}
			for {
				c := path[len(path)-1]
				path = path[:len(path)-1]
				if len(path) == 0 {
					return
				}
				if !c.isRight {
					break
				}
			}
		}
	}
}
