package bind_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/procs"
	kvm "github.com/kvmgen/kvmgen/runtime"
	"github.com/kvmgen/kvmgen/runtime/bind"
)

// TestMapleTreeVMAs: the maple tree of every process's VMAs
// (mm_struct.mm_mt), walked through TreeBinding (the kernel's own layout,
// node metadata included), reproduces procs.Maps (whose layout lacks the
// metadata, and which the guest's /proc/PID/maps checks in procs' tests):
// one entry per VMA, in order, each stored at [vm_start, vm_end-1].
func TestMapleTreeVMAs(t *testing.T) {
	for _, k := range []string{"linux-amd64", "linux-amd64-6.12", "linux-arm64", "linux-i386"} {
		t.Run(k, func(t *testing.T) {
			if k != "linux-amd64" {
				if _, err := os.Stat(filepath.Join(testfix.Dir(), k, "vmlinux")); err != nil {
					t.Skipf("no %s fixture", k)
				}
			}
			vml := testfix.Path(t, k+"/vmlinux")
			kd, err := kvm.OpenOptions(vml, testfix.Path(t, k+"/dumps/elf.vmcore"), kvm.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer kd.Close()
			src, err := dwarfmodel.Open(vml)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			l, err := procs.ResolveLayout(src)
			if err != nil {
				t.Fatal(err)
			}
			s, err := procs.New(kd, l)
			if err != nil {
				t.Fatal(err)
			}
			b, err := bind.TreeBinding(kd, src)
			if err != nil {
				t.Fatal(err)
			}
			mmType, err := src.Type("struct mm_struct")
			if err != nil {
				t.Fatal(err)
			}
			mmMt, _, ok := dwarfmodel.MemberPath(dwarfmodel.Underlying(mmType).(*dwarfmodel.Struct), "mm_mt")
			if !ok {
				t.Fatal("struct mm_struct has no mm_mt")
			}
			mtType, err := src.Type("struct maple_tree")
			if err != nil {
				t.Fatal(err)
			}
			maRoot, _, _ := dwarfmodel.MemberPath(dwarfmodel.Underlying(mtType).(*dwarfmodel.Struct), "ma_root")
			ps, err := s.GetProcs(procs.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			maps, vmas, deep := 0, 0, 0
			for i := range ps {
				p := &ps[i]
				if p.Mm == 0 {
					continue
				}
				want, err := s.Maps(p)
				if err != nil {
					t.Fatalf("pid %d: procs.Maps: %v", p.PID, err)
				}
				n := 0
				for r, err := range bind.MapleTreeAt(b, p.Mm+uint64(mmMt)) {
					if err != nil {
						t.Fatalf("pid %d: %v", p.PID, err)
					}
					if n >= len(want) {
						t.Fatalf("pid %d: entry %d (%#x-%#x) past procs.Maps' %d VMAs", p.PID, n, r.First, r.Last, len(want))
					}
					if w := want[n]; r.Entry != w.Addr || r.First != w.Start || r.Last != w.End-1 {
						t.Fatalf("pid %d: entry %d is %#x at %#x-%#x; procs.Maps: VMA %#x at %#x-%#x", p.PID, n, r.Entry, r.First, r.Last, w.Addr, w.Start, w.End)
					}
					n++
				}
				// procs.Maps appends the x86-64 gate VMA, which is not in
				// the tree.
				if rest := want[n:]; len(rest) > 1 || len(rest) == 1 && rest[0].Name != "[vsyscall]" {
					t.Fatalf("pid %d: the tree has %d VMAs, procs.Maps %d", p.PID, n, len(want))
				}
				maps++
				vmas += n
				// Trees of more than one node: the root is an enode of
				// an internal (maple_arange_64) node.
				root := make([]byte, l.PtrSize)
				if err := kvm.ReadFull(kd, root, p.Mm+uint64(mmMt+maRoot)); err != nil {
					t.Fatal(err)
				}
				if root[0]&3 == 2 && root[0]>>3&0xf == 3 { // type maple_arange_64 (enum maple_type)
					deep++
				}
			}
			// (The i386 guest runs two small processes: single leaves.)
			if maps == 0 || deep == 0 && l.PtrSize == 8 {
				t.Fatalf("%d processes with a memory map, %d of them with internal nodes", maps, deep)
			}
			t.Logf("%s: %d processes' maps (%d trees of more than one node), %d VMAs, equal to procs.Maps", k, maps, deep, vmas)
		})
	}
}
