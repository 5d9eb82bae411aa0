package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
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
}

// KVM is an open kernel memory descriptor (libkvm's kvm_t). Its methods
// are safe for concurrent use.
type KVM struct {
	execName, coreName string
	exec               *execImage // nil without an execfile
	dump               Dump
	file               io.Closer
	resolver           Resolver
	writable           bool

	mu     sync.Mutex
	errmsg string
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

// BuildIDError is returned when a dump's kernel is not the execfile.
type BuildIDError struct {
	Exec, Core           string
	ExecBuildID, CoreBID string
}

func (e *BuildIDError) Error() string {
	return fmt.Sprintf("kernel %s has build ID %s but dump %s was taken from build ID %s (set Options.IgnoreBuildID to open anyway)", e.Exec, e.ExecBuildID, e.Core, e.CoreBID)
}

// Open is kvm_open: errors are returned and, when errstr is not empty, also
// printed to Stderr as "errstr: message". swapfile is ignored, as in
// libkvm.
func Open(execfile, corefile, swapfile string, flags int, errstr string) (*KVM, error) {
	kd, err := OpenOptions(execfile, corefile, Options{Flags: flags})
	if err != nil && errstr != "" {
		fmt.Fprintf(Stderr, "%s: %v\n", errstr, err)
	}
	return kd, err
}

// OpenFiles is kvm_openfiles. swapfile is ignored.
func OpenFiles(execfile, corefile, swapfile string, flags int) (*KVM, error) {
	return OpenOptions(execfile, corefile, Options{Flags: flags})
}

// Open2 is kvm_open2: resolver, when not nil, looks symbols up instead of
// the execfile's symbol table. A kernel of another architecture than the
// host's needs a resolver unless the execfile has a symbol table.
func Open2(execfile, corefile string, flags int, resolver Resolver) (*KVM, error) {
	return OpenOptions(execfile, corefile, Options{Flags: flags, Resolver: resolver})
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
	case live || corefile == DevNull || isLiveCore(corefile):
		kd.exec, kd.execName, err = loadRunningKernel()
	}
	if err != nil {
		return nil, err
	}
	var ctx *OpenContext
	if kd.exec != nil {
		ctx = &OpenContext{Exec: &kd.exec.info}
	} else {
		ctx = &OpenContext{}
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
	if !o.IgnoreBuildID && kd.exec != nil && !kd.exec.live {
		if cb, eb := kd.dump.Info().BuildID, kd.exec.info.BuildID; cb != "" && eb != "" && !SameBuildID(cb, eb) {
			kd.dump.Close()
			if kd.file != nil {
				kd.file.Close()
			}
			return nil, &BuildIDError{Exec: kd.execName, Core: kd.coreName, ExecBuildID: eb, CoreBID: cb}
		}
	}
	if kd.exec != nil && !kd.exec.live {
		// A kernel image of one architecture (or data model) never
		// describes a dump of another: refuse it now rather than misread
		// every structure later. The build ID cannot say so when the dump
		// records none.
		ea, da := archOf(kd.exec.info.Machine, kd.exec.info.Class), kd.dump.Info().Arch
		if ea != "" && da != "" && ea != da {
			kd.dump.Close()
			if kd.file != nil {
				kd.file.Close()
			}
			return nil, &ArchMismatchError{Exec: kd.execName, Core: kd.coreName, ExecArch: ea, CoreArch: da}
		}
	}
	noSyms := kd.exec == nil || len(kd.exec.syms) == 0
	if kd.resolver == nil && noSyms && !kd.Native() && kd.vmcoreinfo() == nil {
		kd.Close()
		return nil, errors.New("a kernel of another architecture needs an execfile with symbols or a resolver (kvm_open2)")
	}
	return kd, nil
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

func openCore(name string, ctx *OpenContext, o Options) (Dump, io.Closer, error) {
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
	d, err := OpenDump(&c)
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

// OpenDump tries each known format on ctx.File in turn and returns the
// first that claims it. When none does, the error lists each format's
// reason.
func OpenDump(ctx *OpenContext) (Dump, error) {
	var reasons []string
	for _, list := range [][]Format{formats, lastResortFormats} {
		for _, f := range list {
			d, err := f.Open(ctx)
			if err == nil {
				return d, nil
			}
			if !errors.Is(err, ErrNotMine) {
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
		i.Arch = archOf(n.exec.info.Machine, n.exec.info.Class)
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
	return err
}

// Geterr returns the message of the descriptor's last error, "" if none
// (kvm_geterr).
func (kd *KVM) Geterr() string {
	kd.mu.Lock()
	defer kd.mu.Unlock()
	return kd.errmsg
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
		i.Arch = archOf(kd.exec.info.Machine, kd.exec.info.Class)
	}
	return i
}

// Dump returns the underlying opened corefile.
func (kd *KVM) Dump() Dump { return kd.dump }

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
	if o, ok := kd.dump.(interface{ TargetOS() string }); ok && o.TargetOS() != goruntime.GOOS {
		return false
	}
	if kd.exec != nil {
		return kd.exec.info.Machine == hostMachine() && kd.exec.info.Class == hostClass()
	}
	i := kd.dump.Info()
	return i.Arch == archOf(hostMachine(), hostClass()) && i.PtrSize == ptrSize
}

// Kerndisp returns the kernel's displacement from its link-time addresses
// (KASLR slide), 0 when there is none or it is unknown (kvm_kerndisp).
func (kd *KVM) Kerndisp() KVAddr {
	if kd.exec != nil && kd.exec.live {
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

// SymbolError is returned when a symbol is not found.
type SymbolError struct{ Name string }

func (e *SymbolError) Error() string { return "symbol " + e.Name + " not found" }

// LookupSymbol returns a symbol's run-time address: the resolver's or
// execfile's value plus Kerndisp, else VMCOREINFO's SYMBOL(name).
func (kd *KVM) LookupSymbol(name string) (uint64, error) {
	if kd.resolver != nil {
		v, err := kd.resolver(name)
		if err != nil {
			return 0, kd.seterr(err)
		}
		return v + kd.Kerndisp(), nil
	}
	if kd.exec != nil {
		if v, ok := kd.exec.syms[name]; ok {
			return v + kd.Kerndisp(), nil
		}
	}
	if v, ok := kd.vmcoreinfo().Symbol(name); ok {
		return v, nil
	}
	return 0, kd.seterr(&SymbolError{Name: name})
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

// Nlist is one entry of a symbol list (struct kvm_nlist).
type Nlist struct {
	Name  string
	Type  uint8 // NTypeUndef when not found, else NTypeAbs... as nlist
	Value KVAddr
}

// Nlist types.
const (
	NTypeUndef uint8 = 0x0 // N_UNDF
	NTypeAbs   uint8 = 0x2 // N_ABS
	NTypeText  uint8 = 0x4 // N_TEXT
	NTypeData  uint8 = 0x6 // N_DATA
)

// Nlist2 looks each entry's name up, filling Value (run-time address) and
// Type; entries not found get Type NTypeUndef and Value 0. It returns the
// number not found (kvm_nlist2).
func (kd *KVM) Nlist2(nl []Nlist) (int, error) {
	if kd.isClosed() {
		return len(nl), kd.seterr(errClosed)
	}
	missing := 0
	for i := range nl {
		v, err := kd.LookupSymbol(nl[i].Name)
		if err != nil {
			nl[i].Type, nl[i].Value = NTypeUndef, 0
			missing++
			continue
		}
		nl[i].Type, nl[i].Value = NTypeAbs, v
	}
	return missing, nil
}

// Nlist is the classic kvm_nlist: names in, values out; it returns the
// values and how many names were not found.
func (kd *KVM) Nlist(names ...string) ([]KVAddr, int, error) {
	nl := make([]Nlist, len(names))
	for i, n := range names {
		nl[i].Name = n
	}
	missing, err := kd.Nlist2(nl)
	vals := make([]KVAddr, len(nl))
	for i := range nl {
		vals[i] = nl[i].Value
	}
	return vals, missing, err
}

// Read2 reads len(buf) bytes at addr (kvm_read2). It returns how many bytes
// were read; fewer than len(buf) only with an error.
func (kd *KVM) Read2(addr KVAddr, buf []byte) (int, error) {
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

// Read is kvm_read; it is Read2.
func (kd *KVM) Read(addr KVAddr, buf []byte) (int, error) { return kd.Read2(addr, buf) }

// ReadMemory implements Memory.
func (kd *KVM) ReadMemory(buf []byte, addr uint64) (int, error) { return kd.Read2(addr, buf) }

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
	w, ok := kd.dump.(Writer)
	if !ok {
		return 0, kd.seterr(fmt.Errorf("%s (%s) cannot be written", kd.coreName, kd.dump.Info().Format))
	}
	n, err := w.WriteMemory(buf, addr)
	return n, kd.seterr(err)
}

// WalkPages calls fn for each page the corefile holds (kvm_walk_pages).
func (kd *KVM) WalkPages(fn func(Page) error) error {
	w, ok := kd.dump.(PageWalker)
	if !ok {
		return kd.seterr(fmt.Errorf("%s (%s) cannot list its pages", kd.coreName, kd.dump.Info().Format))
	}
	return kd.seterr(w.WalkPages(fn))
}

// ReadPhys reads physical memory when the corefile holds it.
func (kd *KVM) ReadPhys(buf []byte, paddr uint64) (int, error) {
	p, ok := kd.dump.(PhysReader)
	if !ok {
		return 0, kd.seterr(fmt.Errorf("%s (%s) holds no physical memory", kd.coreName, kd.dump.Info().Format))
	}
	n, err := p.ReadPhys(buf, paddr)
	return n, kd.seterr(err)
}

var _ Target = (*KVM)(nil)

type cacheDisabler interface{ disableCache() }

func disableCache(d Dump) {
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
