package procs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// fshift is FSHIFT of include/linux/sched/loadavg.h: avenrun[] holds
// fixed-point numbers with 11 fractional bits.
const fshift = 11

// LoadAvg is the kernel's load average over 1, 5 and 15 minutes.
type LoadAvg struct {
	Raw [3]uint64 // avenrun[], fixed point with 11 fractional bits
}

// Float returns the three load averages as numbers.
func (l LoadAvg) Float() [3]float64 {
	var f [3]float64
	for i, v := range l.Raw {
		f[i] = float64(v) / (1 << fshift)
	}
	return f
}

// String formats the three averages as /proc/loadavg's first three fields
// ("0.08 0.03 0.01"): rounded to two decimals as the kernel does it
// (adding FIXED_1/200 before truncating).
func (l LoadAvg) String() string {
	const fixed1 = 1 << fshift
	parts := make([]string, 3)
	for i, v := range l.Raw {
		v += fixed1 / 200
		parts[i] = fmt.Sprintf("%d.%02d", v>>fshift, ((v&(fixed1-1))*100)>>fshift)
	}
	return strings.Join(parts, " ")
}

// GetLoadAvg reads avenrun[] (kvm_getloadavg).
func (s *System) GetLoadAvg() (LoadAvg, error) {
	a, err := s.symbol("avenrun")
	if err != nil {
		return LoadAvg{}, err
	}
	var l LoadAvg
	for i := range l.Raw {
		v, err := s.readPtr(a+uint64(i*s.l.PtrSize), "avenrun[]") // unsigned long
		if err != nil {
			return LoadAvg{}, err
		}
		l.Raw[i] = v
	}
	return l, nil
}

// Swap is one swap area, as a line of /proc/swaps.
type Swap struct {
	Name      string // path of the swap file or device, as d_path gives it
	Partition bool   // a block device ("partition"), else a "file"
	Size      uint64 // bytes (usable pages, the header page excluded)
	Used      uint64 // bytes in use
	Priority  int
}

// Swap area flag bits (include/linux/swap.h, unchanged since 2.6).
const (
	swpUsed    = 1 << 0
	swpWriteOK = 1 << 1
)

// sIFMT and sIFBLK are the file-type bits of an inode's i_mode.
const (
	sIFMT  = 0o170000
	sIFBLK = 0o060000
)

// ErrNoSwapInfo is returned when the kernel's DWARF did not describe swap
// areas (no swap_info_struct or swap_info[]).
var ErrNoSwapInfo = errors.New("procs: kernel layout has no swap area information")

// GetSwapInfo lists the active swap areas (kvm_getswapinfo), as
// /proc/swaps does: areas in use and writable, in swap_info[] order.
func (s *System) GetSwapInfo() ([]Swap, error) {
	l := s.l
	if !l.Swap.Pages.Present() || !l.Swap.SwapFile.Present() {
		return nil, ErrNoSwapInfo
	}
	arr, err := s.symbol("swap_info")
	if err != nil {
		return nil, err
	}
	na, err := s.symbol("nr_swapfiles")
	if err != nil {
		return nil, err
	}
	nb, err := s.read(na, 4, "nr_swapfiles")
	if err != nil {
		return nil, err
	}
	n := uint64(s.bo.Uint32(nb))
	if l.Swap.Count > 0 && n > uint64(l.Swap.Count) {
		return nil, fmt.Errorf("procs: nr_swapfiles is %d but swap_info[] has %d entries", n, l.Swap.Count)
	}
	if n > 1024 {
		return nil, fmt.Errorf("procs: nr_swapfiles is %d, beyond any MAX_SWAPFILES", n)
	}
	sw := &l.Swap
	var out []Swap
	for i := uint64(0); i < n; i++ {
		si, err := s.readPtr(arr+i*uint64(l.PtrSize), "swap_info[]")
		if err != nil {
			return nil, err
		}
		if si == 0 {
			continue
		}
		b, err := s.read(si, span(sw.Flags, sw.Prio, sw.Pages, sw.Inuse, sw.SwapMap, sw.SwapFile), "struct swap_info_struct")
		if err != nil {
			return nil, err
		}
		flags := s.u(b, sw.Flags)
		if flags&swpUsed == 0 || flags&swpWriteOK == 0 || s.ptr(b, sw.SwapMap) == 0 {
			continue
		}
		a := Swap{
			Size:     s.u(b, sw.Pages) * s.pageSize,
			Used:     s.u(b, sw.Inuse) * s.pageSize,
			Priority: int(s.i(b, sw.Prio)),
		}
		if f := s.ptr(b, sw.SwapFile); f != 0 {
			if a.Name, a.Partition, err = s.filePath(f); err != nil {
				return nil, err
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// filePath is d_path() of a struct file seen from the root of the mount
// tree, and whether the file is a block device.
func (s *System) filePath(file uint64) (string, bool, error) {
	l := s.l
	if !l.File.PathDentry.Present() || !l.Dentry.Parent.Present() || !l.Mount.Mnt.Present() {
		return "", false, errors.New("procs: kernel layout has no file path information")
	}
	fb, err := s.read(file, span(l.File.PathMnt, l.File.PathDentry, l.File.Inode), "struct file")
	if err != nil {
		return "", false, err
	}
	block := false
	if ino := s.ptr(fb, l.File.Inode); ino != 0 {
		ib, err := s.read(ino, l.Inode.Mode.end(), "struct inode")
		if err != nil {
			return "", false, err
		}
		block = s.u(ib, l.Inode.Mode)&sIFMT == sIFBLK
	}
	vfsmnt := s.ptr(fb, l.File.PathMnt)
	dentry := s.ptr(fb, l.File.PathDentry)
	var names []string
	for steps := 0; ; steps++ {
		if steps > 4096 {
			return "", false, fmt.Errorf("procs: path of file %#x: more than 4096 components (a cycle?)", file)
		}
		if vfsmnt == 0 || dentry == 0 {
			break
		}
		root, err := s.readPtr(vfsmnt+uint64(l.Mount.MntRoot.Off), "vfsmount.mnt_root")
		if err != nil {
			return "", false, err
		}
		mount := vfsmnt - uint64(l.Mount.Mnt.Off) // real_mount()
		if dentry == root {
			parent, err := s.readPtr(mount+uint64(l.Mount.Parent.Off), "mount.mnt_parent")
			if err != nil {
				return "", false, err
			}
			if parent == mount || parent == 0 {
				break // the root of the mount tree
			}
			if dentry, err = s.readPtr(mount+uint64(l.Mount.Mountpoint.Off), "mount.mnt_mountpoint"); err != nil {
				return "", false, err
			}
			vfsmnt = parent + uint64(l.Mount.Mnt.Off)
			continue
		}
		db, err := s.read(dentry, span(l.Dentry.Parent, l.Dentry.NameLen, l.Dentry.NamePtr), "struct dentry")
		if err != nil {
			return "", false, err
		}
		parent := s.ptr(db, l.Dentry.Parent)
		if parent == dentry {
			break // a disconnected root
		}
		n := s.u(db, l.Dentry.NameLen)
		if n > 255 {
			return "", false, fmt.Errorf("procs: dentry %#x: name length %d exceeds NAME_MAX", dentry, n)
		}
		name, err := s.read(s.ptr(db, l.Dentry.NamePtr), int64(n), "dentry name")
		if err != nil {
			return "", false, err
		}
		names = append(names, string(name))
		dentry = parent
	}
	var b strings.Builder
	for i := len(names) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(names[i])
	}
	if b.Len() == 0 {
		b.WriteByte('/')
	}
	return b.String(), block, nil
}

// ProcSwapsLine formats a as a line of /proc/swaps (without the newline),
// escaping the name as seq_file_path does.
func (a Swap) ProcSwapsLine() string {
	name := escapePath(a.Name)
	pad := 1
	if len(name) < 40 {
		pad = 40 - len(name)
	}
	typ := "file\t"
	if a.Partition {
		typ = "partition"
	}
	size, used := a.Size>>10, a.Used>>10
	t1, t2 := "", ""
	if size < 10000000 {
		t1 = "\t"
	}
	if used < 10000000 {
		t2 = "\t"
	}
	return fmt.Sprintf("%s%*s%s\t%d\t%s%d\t%s%d", name, pad, " ", typ, size, t1, used, t2, a.Priority)
}

// escapePath escapes ' ', '\t', '\n' and '\\' as \ooo, as seq_file_path
// does for /proc/swaps.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\\' {
			fmt.Fprintf(&b, "\\%03o", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Time is the kernel's clock as of its last timekeeping update (the last
// tick before the dump).
type Time struct {
	Wall   time.Time     // CLOCK_REALTIME (whole seconds)
	Uptime time.Duration // CLOCK_BOOTTIME, what /proc/uptime shows
}

// GetTime reads the timekeeper (tk_core.timekeeper).
func (s *System) GetTime() (Time, error) {
	tl := &s.l.Time
	if !tl.Timekeeper.Present() || !tl.MonoBase.Present() || !tl.OffsBoot.Present() {
		return Time{}, errors.New("procs: kernel layout has no timekeeper (tk_core)")
	}
	a, err := s.symbol("tk_core")
	if err != nil {
		return Time{}, err
	}
	b, err := s.read(a+uint64(tl.Timekeeper.Off), span(tl.XtimeSec, tl.MonoBase, tl.MonoNsec, tl.MonoShift, tl.OffsBoot), "tk_core.timekeeper")
	if err != nil {
		return Time{}, err
	}
	shift := s.u(b, tl.MonoShift)
	var nsec uint64
	if shift < 64 {
		nsec = s.u(b, tl.MonoNsec) >> shift
	}
	mono := s.i(b, tl.MonoBase) + int64(nsec)
	boot := mono + s.i(b, tl.OffsBoot)
	return Time{
		Wall:   time.Unix(int64(s.u(b, tl.XtimeSec)), 0).UTC(),
		Uptime: time.Duration(boot),
	}, nil
}

// ProcSwapsHeader is the first line of /proc/swaps.
const ProcSwapsHeader = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"
