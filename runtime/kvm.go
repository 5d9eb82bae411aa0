package kvm

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// KVAddr is a kernel (or process) virtual address, wide enough for every
// architecture (libkvm's kvaddr_t).
type KVAddr = uint64

// Resolver returns the link-time address of a kernel symbol (as the
// execfile's symbol table records it, without any KASLR displacement); the
// descriptor adds Kerndisp. It is kvm_open2's resolver.
type Resolver func(name string) (KVAddr, error)

// Stderr is where Open prints errors when given a non-empty errstr (like
// perror). Tests may replace it.
var Stderr io.Writer = os.Stderr

// Options configures OpenOptions.
type Options struct {
	// Flags is os.O_RDONLY, os.O_WRONLY or os.O_RDWR.
	Flags int
	// Resolver looks symbols up; nil uses the execfile's symbol table.
	Resolver Resolver
	// IgnoreBuildID opens a dump whose kernel build ID differs from the
	// execfile's.
	IgnoreBuildID bool
	// NoCache disables the address-translation cache.
	NoCache bool
	// SymbolFile is a symbol table of nm's "ADDRESS TYPE NAME" format to
	// look symbols up in instead of the execfile's (or the dump's own
	// kallsyms): a System.map, whose addresses are link-time ones (the
	// descriptor adds the displacement), or a copy of a running kernel's
	// /proc/kallsyms, whose addresses are run-time ones. Which one it is
	// is read from the data: when the file's _stext equals VMCOREINFO's
	// SYMBOL(_stext) its addresses are run-time ones; otherwise the
	// difference is the displacement added, and it must agree with the
	// dump's KASLR offset when that is known (else the file belongs to
	// another kernel: an error, unless IgnoreBuildID). Without
	// SYMBOL(_stext), a file under /proc/ is taken as run-time, any other
	// as link-time (Kerndisp added).
	SymbolFile string
	// SwapFile is the image of the target's swap area (Solaris' swapfile):
	// user pages swapped out to swap area 0 are read from it (ReadUser,
	// argv, environment). "" reports such pages as *SwappedOutError, except
	// on live memory, where the running kernel's swap area is used when
	// /proc/swaps lists exactly one and it is readable (KVM.SwapFile).
	SwapFile string
}

// KVM is an open kernel memory descriptor (libkvm's kvm_t). Its methods
// are safe for concurrent use.
type KVM struct {
	execName, coreName string
	exec               *execImage // nil without an execfile
	dump               coreDump
	file               io.Closer
	resolver           Resolver
	writable           bool

	// symFile is Options.SymbolFile, symFileDisp what its values need
	// added.
	symFile     *execImage
	symFileDisp uint64
	// wantKallsyms says symbols come from the kallsyms table in the
	// dump's memory (no execfile symbols, no resolver, no SymbolFile, a
	// dump file); it is decoded on first use (ks).
	wantKallsyms bool
	ks           struct {
		once sync.Once
		img  *execImage
		at   uint64 // SYMBOL(kallsyms_names)
		err  error
	}
	// sorted are all symbols by run-time address, text those Symbolize
	// searches; built on first use.
	sorted struct {
		once      sync.Once
		all, text []KernelSymbol
		err       error
	}

	mu     sync.Mutex
	errmsg string
	errstr string // Open's: later errors are printed after it too (Sun)
	swap   *swapFile
	closed atomic.Bool
}

// OpenError is returned by the Open functions.
type OpenError struct {
	Exec, Core string
	Err        error
}

func (e *OpenError) Error() string {
	switch {
	case e.Core != "" && e.Exec != "":
		return fmt.Sprintf("kvm open %s (kernel %s): %v", e.Core, e.Exec, e.Err)
	case e.Core != "":
		return fmt.Sprintf("kvm open %s: %v", e.Core, e.Err)
	case e.Exec == "":
		return fmt.Sprintf("kvm open (the running kernel): %v", e.Err)
	}
	return fmt.Sprintf("kvm open (kernel %s): %v", e.Exec, e.Err)
}

func (e *OpenError) Unwrap() error { return e.Err }

// ArchMismatchError is returned when the execfile and the corefile are of
// different architectures or data models.
type ArchMismatchError struct {
	Exec, Core         string
	ExecArch, CoreArch string
}

func (e *ArchMismatchError) Error() string {
	return fmt.Sprintf("kernel %s is %s but dump %s is %s: they cannot belong together", e.Exec, e.ExecArch, e.Core, e.CoreArch)
}

// isLiveCore says whether corefile is the running system's memory.
func isLiveCore(name string) bool {
	for _, l := range liveCores {
		if name == l {
			return true
		}
	}
	return false
}

// DevNull as the corefile opens symbols only: reads fail.
const DevNull = "/dev/null"

// liveCores are tried in order when corefile is "".
var liveCores = []string{"/proc/kcore", "/dev/mem"}

// OpenOptions opens a descriptor. execfile "" means the running kernel
// (/boot/vmlinux-RELEASE or /usr/lib/debug/boot/vmlinux-RELEASE, else
// /proc/kallsyms); corefile "" means live memory (/proc/kcore, then
// /dev/mem); corefile "/dev/null" opens symbols only.
func OpenOptions(execfile, corefile string, o Options) (*KVM, error) {
	kd, err := openOptions(execfile, corefile, o)
	if err != nil {
		return nil, &OpenError{Exec: execfile, Core: corefile, Err: err}
	}
	return kd, nil
}

func openOptions(execfile, corefile string, o Options) (*KVM, error) {
	var writable bool
	switch o.Flags {
	case os.O_RDONLY:
	case os.O_WRONLY, os.O_RDWR:
		writable = true
	default:
		return nil, fmt.Errorf("bad flags %#x: only os.O_RDONLY, os.O_WRONLY and os.O_RDWR are allowed", o.Flags)
	}
	kd := &KVM{execName: execfile, coreName: corefile, resolver: o.Resolver, writable: writable}
	live := corefile == ""
	var err error
	switch {
	case execfile != "":
		kd.exec, err = loadExec(execfile)
	case o.SymbolFile != "":
		// The symbols are given: no need of the running kernel's.
	case live || corefile == DevNull || isLiveCore(corefile):
		kd.exec, kd.execName, err = loadRunningKernel()
	}
	if err != nil {
		return nil, err
	}
	if o.SymbolFile != "" {
		if kd.symFile, err = loadSymbolText(o.SymbolFile); err != nil {
			return nil, fmt.Errorf("symbol file %w", err)
		}
	}
	var ctx *openContext
	if kd.exec != nil {
		ctx = &openContext{Exec: &kd.exec.info}
	} else {
		ctx = &openContext{}
	}
	ctx.Writable = writable
	if corefile == DevNull {
		kd.dump = &nullDump{exec: kd.exec}
	} else {
		names := []string{corefile}
		if live {
			names = liveCores
		}
		var errs []error
		for _, name := range names {
			d, f, err := openCore(name, ctx, o)
			if err == nil {
				kd.dump, kd.file, kd.coreName = d, f, name
				break
			}
			errs = append(errs, err)
		}
		if kd.dump == nil {
			return nil, errors.Join(errs...)
		}
	}
	if kd.exec != nil && !kd.exec.runtimeAddrs {
		// A kernel image of one architecture (or data model) never
		// describes a dump of another: refuse it now rather than misread
		// every structure later. The build ID cannot say so when the dump
		// records none.
		ea, da := archOf(kd.exec.info.Machine, kd.exec.info.Class, kd.exec.info.ByteOrder), kd.dump.Info().Arch
		if ea != "" && da != "" && ea != da {
			kd.dump.Close()
			if kd.file != nil {
				kd.file.Close()
			}
			return nil, &ArchMismatchError{Exec: kd.execName, Core: kd.coreName, ExecArch: ea, CoreArch: da}
		}
	}
	if !o.IgnoreBuildID && kd.exec != nil && !kd.exec.runtimeAddrs {
		if cb, eb := kd.dump.Info().BuildID, kd.exec.info.BuildID; cb != "" && eb != "" && !SameBuildID(cb, eb) {
			kd.dump.Close()
			if kd.file != nil {
				kd.file.Close()
			}
			return nil, &BuildIDError{Want: eb, Got: cb, WantFrom: "kernel " + kd.execName, GotFrom: "the kernel of dump " + kd.coreName, Hint: "set Options.IgnoreBuildID to open anyway"}
		}
	}
	noSyms := (kd.exec == nil || len(kd.exec.syms) == 0) && kd.symFile == nil
	if kd.resolver == nil && noSyms && !kd.Native() && kd.vmcoreinfo() == nil {
		kd.Close()
		return nil, errors.New("a kernel of another architecture needs an execfile with symbols or a resolver (kvm_open2)")
	}
	if kd.symFile != nil {
		if err := kd.placeSymbolFile(o.IgnoreBuildID); err != nil {
			kd.Close()
			return nil, err
		}
	}
	// A dump without other symbols: the kernel's own kallsyms table,
	// decoded when first needed (it costs tens of milliseconds; a
	// caller reading only VMCOREINFO or memory does not pay it).
	kd.wantKallsyms = kd.resolver == nil && noSyms && !live && corefile != DevNull && !isLiveCore(corefile)
	if o.SwapFile != "" {
		i := kd.Info()
		var bo binary.ByteOrder = binary.LittleEndian
		if i.BigEndian {
			bo = binary.BigEndian
		}
		if kd.swap, err = openSwapFile(o.SwapFile, int(kd.userPageSize()), bo); err != nil {
			kd.Close()
			return nil, err
		}
	} else if live || isLiveCore(corefile) {
		// Live memory without a swapfile: the running kernel's swap area,
		// when there is one and it can be read (root); else swapped-out
		// pages stay *SwappedOutError.
		if name := runningSwapArea(); name != "" {
			if sf, err := openSwapFile(name, int(kd.userPageSize()), binary.NativeEndian); err == nil {
				kd.swap = sf
			}
		}
	}
	return kd, nil
}

// placeSymbolFile decides whether the SymbolFile's values are link-time or
// run-time ones (see Options.SymbolFile) and checks that it describes the
// dump's kernel.
func (kd *KVM) placeSymbolFile(ignoreMismatch bool) error {
	f := kd.symFile
	info := kd.dump.Info()
	vi := kd.vmcoreinfo()
	fileStext, ok1 := f.syms["_stext"]
	vmStext, ok2 := vi.Symbol("_stext")
	switch {
	case ok1 && ok2:
		kd.symFileDisp = vmStext - fileStext
	case strings.HasPrefix(f.name, "/proc/"):
		kd.symFileDisp = 0
	default:
		kd.symFileDisp = kd.Kerndisp()
	}
	f.runtimeAddrs = kd.symFileDisp == 0
	if ignoreMismatch {
		return nil
	}
	mismatch := func(name string, file, vm uint64) error {
		return fmt.Errorf("symbol file %s does not belong to the dump's kernel: its %s is %#x, +%#x = %#x, but VMCOREINFO's SYMBOL(%s) is %#x (set Options.IgnoreBuildID to use it anyway)", f.name, name, file, kd.symFileDisp, file+kd.symFileDisp, name, vm)
	}
	if ok1 && ok2 && info.KernDispKnown && kd.symFileDisp != 0 && kd.symFileDisp != info.KernDisp {
		return fmt.Errorf("symbol file %s does not belong to the dump's kernel: its _stext is %#x, VMCOREINFO's %#x, and the KASLR offset %#x (set Options.IgnoreBuildID to use it anyway)", f.name, fileStext, vmStext, info.KernDisp)
	}
	// Every other SYMBOL() VMCOREINFO records must agree too (two
	// builds of one release often share _stext). mem_section's line is
	// the pointer's value, not its address.
	if vi != nil {
		for k, v := range vi.Fields {
			name, ok := strings.CutPrefix(k, "SYMBOL(")
			if !ok || !strings.HasSuffix(name, ")") {
				continue
			}
			name = strings.TrimSuffix(name, ")")
			fv, ok := f.syms[name]
			vm, err := strconv.ParseUint(v, 16, 64)
			if !ok || err != nil || name == "mem_section" {
				continue
			}
			if fv+kd.symFileDisp != vm {
				return mismatch(name, fv, vm)
			}
		}
	}
	return nil
}

// SameBuildID compares build IDs; VMCOREINFO may record a prefix.
func SameBuildID(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= 8 && strings.HasPrefix(b, a)
}

// mappedFile closes the corefile and its mapping.
type mappedFile struct {
	*os.File
	mm *mmapReader
}

func (m *mappedFile) Close() error {
	err := m.mm.Close()
	if e := m.File.Close(); err == nil {
		err = e
	}
	return err
}

func openCore(name string, ctx *openContext, o Options) (coreDump, io.Closer, error) {
	flag := os.O_RDONLY
	if ctx.Writable {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(name, flag, 0)
	if err != nil {
		return nil, nil, err
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && !strings.HasPrefix(name, "/proc/") {
		size = st.Size()
	}
	c := *ctx
	c.Name, c.File, c.Size = name, f, size
	var mm *mmapReader
	if !ctx.Writable && size > 0 {
		if m, ok := mmapFile(f, size); ok {
			mm = m
			c.File = m
		}
	}
	d, err := openDump(&c)
	if err != nil {
		if mm != nil {
			mm.Close()
		}
		f.Close()
		return nil, nil, err
	}
	if mm != nil {
		return d, &mappedFile{File: f, mm: mm}, nil
	}
	if o.NoCache {
		disableCache(d)
	}
	return d, f, nil
}

// openDump tries each known format on ctx.File in turn and returns the
// first that claims it. When none does, the error lists each format's
// reason.
func openDump(ctx *openContext) (coreDump, error) {
	var reasons []string
	for _, list := range [][]dumpFormat{formats, lastResortFormats} {
		for _, f := range list {
			d, err := f.Open(ctx)
			if err == nil {
				return d, nil
			}
			if !errors.Is(err, errNotMine) {
				return nil, err
			}
			reasons = append(reasons, err.Error())
		}
	}
	return nil, fmt.Errorf("%s: unknown corefile format (%s)", ctx.Name, strings.Join(reasons, "; "))
}

// loadRunningKernel finds the running kernel's image or symbols.
func loadRunningKernel() (*execImage, string, error) {
	var uts syscall.Utsname
	if err := syscall.Uname(&uts); err != nil {
		return nil, "", err
	}
	var rel []byte
	for _, c := range uts.Release {
		if c == 0 {
			break
		}
		rel = append(rel, byte(c))
	}
	for _, p := range []string{"/boot/vmlinux-" + string(rel), "/usr/lib/debug/boot/vmlinux-" + string(rel), "/lib/modules/" + string(rel) + "/build/vmlinux"} {
		if _, err := os.Stat(p); err == nil {
			img, err := loadExec(p)
			return img, p, err
		}
	}
	img, err := loadKallsyms("/proc/kallsyms")
	if err != nil {
		return nil, "", fmt.Errorf("no image of the running kernel %s found (/boot/vmlinux-%s, /usr/lib/debug/boot/vmlinux-%s) and %w", rel, rel, rel, err)
	}
	return img, "/proc/kallsyms", nil
}

// nullDump is the /dev/null corefile: symbols only.
type nullDump struct{ exec *execImage }

func (n *nullDump) ReadMemory(buf []byte, addr uint64) (int, error) {
	return 0, &ReadError{Addr: addr, Len: len(buf), Err: errors.New("opened with corefile /dev/null: symbols only, no memory")}
}
func (n *nullDump) Info() DumpInfo {
	i := DumpInfo{Format: "none (/dev/null)"}
	if n.exec != nil {
		i.Arch = archOf(n.exec.info.Machine, n.exec.info.Class, n.exec.info.ByteOrder)
		i.BuildID = n.exec.info.BuildID
	}
	return i
}
func (n *nullDump) Close() error { return nil }

func (kd *KVM) seterr(err error) error {
	if err == nil {
		return nil
	}
	kd.mu.Lock()
	kd.errmsg = err.Error()
	kd.mu.Unlock()
	if kd.errstr != "" {
		fmt.Fprintf(Stderr, "%s: %v\n", kd.errstr, err)
	}
	return err
}

// Err returns the descriptor's last error as an error, nil if none.
func (kd *KVM) Err() error {
	if s := kd.Geterr(); s != "" {
		return errors.New(s)
	}
	return nil
}

var errClosed = errors.New("descriptor is closed")

// Close releases the descriptor (kvm_close).
func (kd *KVM) Close() error {
	if kd.closed.Swap(true) {
		return errClosed
	}
	err := kd.dump.Close()
	if kd.swap != nil {
		kd.swap.f.Close()
	}
	if kd.file != nil {
		if e := kd.file.Close(); err == nil {
			err = e
		}
	}
	return err
}

func (kd *KVM) isClosed() bool { return kd.closed.Load() }

// Info describes the corefile.
func (kd *KVM) Info() DumpInfo {
	i := kd.dump.Info()
	if i.Arch == "" && kd.exec != nil {
		i.Arch = archOf(kd.exec.info.Machine, kd.exec.info.Class, kd.exec.info.ByteOrder)
	}
	return i
}

// ExecFile returns the execfile's path ("/proc/kallsyms" for the running
// kernel without an image; "" when none).
func (kd *KVM) ExecFile() string { return kd.execName }

// CoreFile returns the corefile's path.
func (kd *KVM) CoreFile() string { return kd.coreName }

// ExecBuildID returns the execfile's build ID, "" if unknown.
func (kd *KVM) ExecBuildID() string {
	if kd.exec == nil {
		return ""
	}
	return kd.exec.info.BuildID
}

// Native reports whether the kernel is of the host's architecture and data
// model (kvm_native).
func (kd *KVM) Native() bool {
	// A dump of another operating system's kernel (FreeBSD's, read on
	// Linux) is never native, whatever its architecture.
	if o, ok := kd.dump.(interface{ TargetOS() string }); ok && o.TargetOS() != runtime.GOOS {
		return false
	}
	if kd.exec != nil {
		return kd.exec.info.Machine == hostMachine() && kd.exec.info.Class == hostClass()
	}
	i := kd.dump.Info()
	return i.Arch == HostArch() && i.PtrSize == ptrSize
}

// Kerndisp returns the kernel's displacement from its link-time addresses
// (KASLR slide), 0 when there is none or it is unknown (kvm_kerndisp).
func (kd *KVM) Kerndisp() KVAddr {
	if kd.exec != nil && kd.exec.runtimeAddrs {
		return 0
	}
	i := kd.dump.Info()
	if i.KernDispKnown {
		return i.KernDisp
	}
	return 0
}

type vmcoreInfoer interface{ VMCoreInfo() *VMCoreInfo }

func (kd *KVM) vmcoreinfo() *VMCoreInfo {
	if v, ok := kd.dump.(vmcoreInfoer); ok {
		return v.VMCoreInfo()
	}
	return nil
}

// VMCoreInfo returns the dump's VMCOREINFO, nil if it has none.
func (kd *KVM) VMCoreInfo() *VMCoreInfo { return kd.vmcoreinfo() }

// SymbolError is returned when a symbol is not found. Err, when not nil,
// says why no full symbol table was at hand (e.g. the *KallsymsError of a
// dump opened without an execfile whose kallsyms could not be decoded):
// only VMCOREINFO's few SYMBOL() lines were searched.
type SymbolError struct {
	Name string
	Err  error
}

func (e *SymbolError) Error() string {
	if e.Err != nil {
		return "symbol " + e.Name + " not found (only VMCOREINFO was searched: " + e.Err.Error() + ")"
	}
	return "symbol " + e.Name + " not found"
}

func (e *SymbolError) Unwrap() error { return e.Err }

// symtab returns the symbol table LookupSymbol searches and what its
// values need added (the KASLR displacement for link-time values), or nil
// and why there is none (nil error: no table was expected).
func (kd *KVM) symtab() (*execImage, uint64, error) {
	switch {
	case kd.symFile != nil:
		return kd.symFile, kd.symFileDisp, nil
	case kd.exec != nil && len(kd.exec.syms) > 0:
		return kd.exec, kd.Kerndisp(), nil
	case kd.wantKallsyms:
		kd.ks.once.Do(kd.loadDumpKallsyms)
		if kd.ks.err != nil {
			return nil, 0, kd.ks.err
		}
		return kd.ks.img, 0, nil
	}
	return nil, 0, nil
}

// closedCheck reads the dump unless the descriptor is closed, without
// recording errors (the decoder's probing reads may fail harmlessly).
type closedCheck struct{ kd *KVM }

func (c closedCheck) ReadMemory(buf []byte, addr uint64) (int, error) {
	if c.kd.isClosed() {
		return 0, errClosed
	}
	return c.kd.dump.ReadMemory(buf, addr)
}

func (kd *KVM) loadDumpKallsyms() {
	i := kd.dump.Info()
	var bo binary.ByteOrder = binary.LittleEndian
	if i.BigEndian {
		bo = binary.BigEndian
	}
	ps := i.PtrSize
	if ps == 0 {
		ps = 8
	}
	t, err := readKallsyms(closedCheck{kd}, kd.vmcoreinfo(), bo, ps)
	if err != nil {
		kd.ks.err = err
		return
	}
	img := &execImage{list: t.syms, lazy: true, runtimeAddrs: true, name: kd.coreName}
	img.info = execInfo{Name: kd.coreName, Symbol: img.symbol}
	kd.ks.img, kd.ks.at = img, t.names
}

// SymbolSource says where the descriptor's symbols come from:
// "execfile PATH (.symtab, N symbols)", "kallsyms in the dump at ADDR (N
// symbols)", "/proc/kallsyms (N symbols)", "System.map FILE (N symbols)"
// (", run-time addresses" when the file holds them), "resolver", or
// "VMCOREINFO only" (with, in parentheses, why the dump's kallsyms could
// not be used), "none". It decodes the dump's kallsyms if not yet done.
func (kd *KVM) SymbolSource() string {
	if kd.resolver != nil {
		return "resolver"
	}
	img, _, err := kd.symtab()
	switch {
	case img == kd.symFile && img != nil:
		if img.runtimeAddrs && kd.Kerndisp() != 0 {
			return fmt.Sprintf("System.map %s (%d symbols, run-time addresses)", img.name, len(img.list))
		}
		return fmt.Sprintf("System.map %s (%d symbols)", img.name, len(img.list))
	case img == kd.exec && img != nil:
		if img.runtimeAddrs {
			return fmt.Sprintf("%s (%d symbols)", img.info.Name, len(img.list))
		}
		return fmt.Sprintf("execfile %s (.symtab, %d symbols)", kd.execName, len(img.list))
	case img != nil:
		return fmt.Sprintf("kallsyms in the dump at %#x (%d symbols)", kd.ks.at, len(img.list))
	case err != nil:
		return "VMCOREINFO only (" + err.Error() + ")"
	case kd.vmcoreinfo() != nil:
		return "VMCOREINFO only"
	}
	return "none"
}

// sortedSymbols builds (once) all symbols with run-time addresses, by
// address, and the subset Symbolize searches.
func (kd *KVM) sortedSymbols() ([]KernelSymbol, []KernelSymbol, error) {
	kd.sorted.once.Do(func() {
		if kd.resolver != nil {
			kd.sorted.err = errors.New("symbols come from a resolver, which cannot list them")
			return
		}
		img, disp, err := kd.symtab()
		if img == nil {
			if err == nil {
				err = errors.New("no symbol table (VMCOREINFO's SYMBOL() lines only)")
			}
			kd.sorted.err = err
			return
		}
		all := make([]KernelSymbol, len(img.list))
		for i, s := range img.list {
			s.Addr += disp
			all[i] = s
		}
		slices.SortStableFunc(all, func(a, b KernelSymbol) int {
			if c := cmp.Compare(a.Addr, b.Addr); c != 0 {
				return c
			}
			// Globals first: Symbolize names an address by them.
			ga, gb := isGlobalType(a.Type), isGlobalType(b.Type)
			if ga != gb {
				if ga {
					return -1
				}
				return 1
			}
			return 0
		})
		text := make([]KernelSymbol, 0, len(all))
		for _, s := range all {
			if s.Type != 'A' && s.Type != 'a' {
				text = append(text, s)
			}
		}
		kd.sorted.all, kd.sorted.text = all, text
	})
	return kd.sorted.all, kd.sorted.text, kd.sorted.err
}

func isGlobalType(c byte) bool { return c >= 'A' && c <= 'Z' }

// Symbols returns all the kernel's symbols with their run-time addresses
// (as LookupSymbol returns them), sorted by address (globals first among
// equal addresses), in a new slice. It fails when symbols come from a
// resolver or from VMCOREINFO only.
func (kd *KVM) Symbols() ([]KernelSymbol, error) {
	all, _, err := kd.sortedSymbols()
	if err != nil {
		return nil, kd.seterr(err)
	}
	return slices.Clone(all), nil
}

// Symbolize names a run-time address: the symbol at or nearest below addr
// and addr's offset from it. Absolute symbols ('A', e.g. x86-64 per-cpu
// variables, whose values are offsets) are not considered; among symbols
// at the same address a global one is preferred. ok is false below the
// first symbol or without a symbol table (see Symbols).
func (kd *KVM) Symbolize(addr uint64) (name string, off uint64, ok bool) {
	_, text, err := kd.sortedSymbols()
	if err != nil || len(text) == 0 {
		return "", 0, false
	}
	// The first symbol above addr; the one before it is at or below.
	i := sort.Search(len(text), func(i int) bool { return text[i].Addr > addr })
	if i == 0 {
		return "", 0, false
	}
	a := text[i-1].Addr
	j := sort.Search(i, func(j int) bool { return text[j].Addr >= a })
	return text[j].Name, addr - a, true
}

// LookupSymbol returns a symbol's run-time address: the resolver's value
// plus Kerndisp; else the symbol table's (the execfile's, the SymbolFile's,
// or the dump's own kallsyms), with Kerndisp added to link-time values;
// else VMCOREINFO's SYMBOL(name).
func (kd *KVM) LookupSymbol(name string) (uint64, error) {
	if kd.resolver != nil {
		v, err := kd.resolver(name)
		if err != nil {
			return 0, kd.seterr(err)
		}
		return v + kd.Kerndisp(), nil
	}
	img, disp, why := kd.symtab()
	if img != nil {
		if v, ok := img.lookup(name); ok {
			return v + disp, nil
		}
	}
	if v, ok := kd.vmcoreinfo().Symbol(name); ok {
		return v, nil
	}
	return 0, kd.seterr(&SymbolError{Name: name, Err: why})
}

// BuildID returns the kernel's build ID: VMCOREINFO's BUILD-ID when the
// dump records one, else the execfile's.
func (kd *KVM) BuildID() string {
	if b := kd.dump.Info().BuildID; b != "" {
		return strings.ToLower(b)
	}
	if kd.exec != nil {
		return kd.exec.info.BuildID
	}
	return ""
}

// ReadMemory reads len(buf) bytes of kernel virtual memory at addr: the
// descriptor's read (Memory). It returns how many bytes were read; fewer
// than len(buf) only with an error: a *ReadError naming the address (and
// wrapping, for an address the kernel does not map, a *TranslationError).
func (kd *KVM) ReadMemory(buf []byte, addr uint64) (int, error) {
	if kd.isClosed() {
		return 0, kd.seterr(errClosed)
	}
	n, err := kd.dump.ReadMemory(buf, addr)
	if err != nil {
		var re *ReadError
		if !errors.As(err, &re) {
			err = &ReadError{Addr: addr + uint64(n), Len: len(buf) - n, Err: err}
		}
		return n, kd.seterr(err)
	}
	return n, nil
}

// Write writes buf at addr (kvm_write). It is refused unless the
// descriptor was opened os.O_WRONLY or os.O_RDWR and the target can be
// written.
func (kd *KVM) Write(addr KVAddr, buf []byte) (int, error) {
	if kd.isClosed() {
		return 0, kd.seterr(errClosed)
	}
	if !kd.writable {
		return 0, kd.seterr(errReadOnly)
	}
	w, ok := kd.dump.(memWriter)
	if !ok {
		return 0, kd.seterr(fmt.Errorf("%s (%s) cannot be written", kd.coreName, kd.dump.Info().Format))
	}
	n, err := w.WriteMemory(buf, addr)
	return n, kd.seterr(err)
}

// WalkPages calls fn for each page the corefile holds (kvm_walk_pages).
func (kd *KVM) WalkPages(fn func(Page) error) error {
	w, ok := kd.dump.(pageWalker)
	if !ok {
		return kd.seterr(fmt.Errorf("%s (%s) cannot list its pages", kd.coreName, kd.dump.Info().Format))
	}
	return kd.seterr(w.WalkPages(fn))
}

// ReadPhys reads physical memory when the corefile holds it.
func (kd *KVM) ReadPhys(buf []byte, paddr uint64) (int, error) {
	p, ok := kd.dump.(physReader)
	if !ok {
		return 0, kd.seterr(fmt.Errorf("%s (%s) holds no physical memory", kd.coreName, kd.dump.Info().Format))
	}
	n, err := p.ReadPhys(buf, paddr)
	return n, kd.seterr(err)
}

var _ Target = (*KVM)(nil)

type cacheDisabler interface{ disableCache() }

func disableCache(d coreDump) {
	if c, ok := d.(cacheDisabler); ok {
		c.disableCache()
	}
}

func (c *elfCore) disableCache() {
	if c.kmem != nil {
		dropCache(c.kmem.xlat)
	}
}

// dropCache turns a translator's cache off.
func dropCache(t translator) {
	switch w := t.(type) {
	case *x86Walker:
		w.cache = nil
	case *arm64Walker:
		w.cache = nil
	case *i386Walker:
		w.cache = nil
	}
}
