package procs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kvmgen/kvmgen/runtime/bind"
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
	Flags     uint64 // swap_info_struct.flags (SWP_USED, SWP_WRITEOK, ...)
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

// ErrNoSwapInfo is returned when the kernel's types do not describe swap
// areas (no swap_info_struct).
var ErrNoSwapInfo = errors.New("procs: kernel layout has no swap area information")

// maxSwapFiles bounds nr_swapfiles: MAX_SWAPFILES is at most 32.
const maxSwapFiles = 32

// GetSwapInfo lists the active swap areas (kvm_getswapinfo), as
// /proc/swaps does: areas in use and writable, in swap_info[] order.
func (s *System) GetSwapInfo() ([]Swap, error) {
	z := bind.AsView[linuxSwapInfoStruct](bind.MakeView(s.b, 0, nil))
	if !z.HasPages() || !z.HasSwapFile() || !z.HasFlags() || !z.HasSwapMap() {
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
	if n > maxSwapFiles {
		return nil, fmt.Errorf("procs: nr_swapfiles is %d, beyond MAX_SWAPFILES", n)
	}
	var out []Swap
	for i := uint64(0); i < n; i++ {
		si, err := s.readPtr(arr+i*uint64(s.l.PtrSize), "swap_info[]")
		if err != nil {
			return nil, err
		}
		if si == 0 {
			continue
		}
		sw, err := readView[linuxSwapInfoStruct](s, si, "struct swap_info_struct")
		if err != nil {
			return nil, err
		}
		flags := uint64(sw.Flags())
		if flags&swpUsed == 0 || flags&swpWriteOK == 0 || sw.SwapMap() == 0 {
			continue
		}
		a := Swap{
			Size:     uint64(sw.Pages()) * s.pageSize,
			Used:     uint64(sw.InusePages()) * s.pageSize,
			Priority: int(sw.Prio()),
			Flags:    flags,
		}
		if f := sw.SwapFile(); !f.IsNil() {
			if a.Name, a.Partition, err = s.filePath(f.Addr); err != nil {
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
	zf := bind.AsView[linuxFile](bind.MakeView(s.b, 0, nil))
	zd := bind.AsView[linuxDentry](bind.MakeView(s.b, 0, nil))
	zm := bind.AsView[linuxMount](bind.MakeView(s.b, 0, nil))
	if !zf.HasFPathDentry() || !zf.HasFPathMnt() || !zd.HasDParent() || !zd.HasDNameName() || !zm.HasMnt() || !zm.HasMntParent() {
		return "", false, errors.New("procs: kernel layout has no file path information")
	}
	f, err := readView[linuxFile](s, file, "struct file")
	if err != nil {
		return "", false, err
	}
	block := false
	if ino := f.FInode(); !ino.IsNil() {
		in, err := readView[linuxInode](s, ino.Addr, "struct inode")
		if err != nil {
			return "", false, err
		}
		block = uint32(in.IMode())&sIFMT == sIFBLK
	}
	vfsmnt := f.FPathMnt().Addr
	dentry := f.FPathDentry().Addr
	var names []string
	for steps := 0; ; steps++ {
		if steps > 4096 {
			return "", false, fmt.Errorf("procs: path of file %#x: more than 4096 components (a cycle?)", file)
		}
		if vfsmnt == 0 || dentry == 0 {
			break
		}
		vm, err := readView[linuxVfsmount](s, vfsmnt, "struct vfsmount")
		if err != nil {
			return "", false, err
		}
		mp, err := bind.ContainerOf[linuxMount](s.b, vfsmnt, "mnt") // real_mount()
		if err != nil {
			return "", false, err
		}
		if dentry == vm.MntRoot().Addr {
			mount, err := readView[linuxMount](s, mp.Addr, "struct mount")
			if err != nil {
				return "", false, err
			}
			parent := mount.MntParent()
			if parent.Addr == mp.Addr || parent.IsNil() {
				break // the root of the mount tree
			}
			dentry = mount.MntMountpoint().Addr
			mnt, err := bind.Offsetof[linuxMount](s.b, "mnt")
			if err != nil {
				return "", false, err
			}
			vfsmnt = parent.Addr + uint64(mnt)
			continue
		}
		d, err := readView[linuxDentry](s, dentry, "struct dentry")
		if err != nil {
			return "", false, err
		}
		parent := d.DParent().Addr
		if parent == dentry {
			break // a disconnected root
		}
		n := d.DNameLen()
		if n > 255 {
			return "", false, fmt.Errorf("procs: dentry %#x: name length %d exceeds NAME_MAX", dentry, n)
		}
		name, err := s.read(d.DNameName(), int64(n), "dentry name")
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
	zt := bind.AsView[linuxTimekeeper](bind.MakeView(s.b, 0, nil))
	if s.b.Sizeof(linuxTkCoreType{}.KVMType()) < 0 || !zt.HasTkrMonoBase() || !zt.HasOffsBoot() {
		return Time{}, errors.New("procs: kernel layout has no timekeeper (tk_core)")
	}
	tc, err := s.k.TkCore()
	if err != nil {
		return Time{}, fmt.Errorf("procs: reading tk_core: %w", err)
	}
	tk := tc.Timekeeper()
	shift := uint64(tk.TkrMonoShift())
	var nsec uint64
	if shift < 64 {
		nsec = tk.TkrMonoXtimeNsec() >> shift
	}
	mono := tk.TkrMonoBase() + int64(nsec)
	boot := mono + tk.OffsBoot()
	return Time{
		Wall:   time.Unix(int64(tk.XtimeSec()), 0).UTC(),
		Uptime: time.Duration(boot),
	}, nil
}

// ProcSwapsHeader is the first line of /proc/swaps.
const ProcSwapsHeader = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"
