package kvm

import (
	"errors"
	"fmt"
)

// Process (user) memory: Solaris' kvm_uread and kvm_uwrite, for any
// address space whose top page table is known. The kernel's own walker
// (x86-64 4/5-level, i386 PAE or classic, AArch64 4 KiB granule) is
// re-rooted at the process's table: one translator for kernel and user
// addresses.

// NotMappedError reports a user address the address space does not map:
// the walk found an empty (or invalid) entry at Level (the top level is
// the highest number; 1 is the page level). Entry is the entry read, zero
// when nothing was ever mapped there.
type NotMappedError struct {
	PGD   uint64 // the top page table (kernel virtual address)
	Addr  uint64
	Level int
	Entry uint64
}

func (e *NotMappedError) Error() string {
	if e.Entry != 0 {
		return fmt.Sprintf("user address %#x not mapped (page-table level %d entry %#x, not present)", e.Addr, e.Level, e.Entry)
	}
	return fmt.Sprintf("user address %#x not mapped (empty page-table entry at level %d)", e.Addr, e.Level)
}

// SwappedOutError reports a user page that is not in memory: its page
// table entry holds a swap entry. Type is the swap area's index
// (swap_info[Type]; types at or above the number of swap areas are the
// kernel's special entries: migration, hwpoison, device-private, markers)
// and Offset the page's slot in it, decoded when Decoded (x86-64; AArch64
// and i386 entries are reported raw: their layout changed between kernel
// versions).
type SwappedOutError struct {
	PGD     uint64
	Addr    uint64
	Entry   uint64
	Type    int
	Offset  uint64
	Decoded bool
}

func (e *SwappedOutError) Error() string {
	if e.Decoded {
		return fmt.Sprintf("user page %#x swapped out (swap type %d, offset %#x; entry %#x)", e.Addr&^0xfff, e.Type, e.Offset, e.Entry)
	}
	return fmt.Sprintf("user page %#x swapped out (entry %#x)", e.Addr&^0xfff, e.Entry)
}

// ErrReadOnly is the reason a write is refused on a descriptor not opened
// os.O_WRONLY or os.O_RDWR.
var ErrReadOnly = errReadOnly

// ReadOnlyError is returned by WriteUser (and wraps ErrReadOnly) when the
// descriptor or its corefile was not opened for writing.
type ReadOnlyError struct {
	Addr uint64
}

func (e *ReadOnlyError) Error() string {
	return fmt.Sprintf("write at user address %#x refused: %v", e.Addr, errReadOnly)
}

func (e *ReadOnlyError) Unwrap() error { return errReadOnly }

// NoUserTranslationError says the descriptor cannot translate process
// addresses: the corefile holds no physical memory, or its kernel's page
// tables were not found (Err says why).
type NoUserTranslationError struct {
	Core string
	Err  error
}

func (e *NoUserTranslationError) Error() string {
	return fmt.Sprintf("%s: process memory cannot be read: %v", e.Core, e.Err)
}

func (e *NoUserTranslationError) Unwrap() error { return e.Err }

// rooted is implemented by the page-table walkers: the same walker over
// another top-level table (a physical address), for a process's half of
// the address space, without a cache.
type rooted interface {
	translator
	rooted(root uint64) translator
}

func (w *x86Walker) rooted(root uint64) translator {
	return &x86Walker{phys: w.phys, root: root & x86PTEAddrMask, levels: w.levels, user: true}
}

func (w *i386Walker) rooted(root uint64) translator {
	return &i386Walker{phys: w.phys, root: root, pae: w.pae}
}

func (w *arm64Walker) rooted(root uint64) translator {
	return &arm64Walker{phys: w.phys, root: root &^ 0xfff, vaBits: w.vaBits, bo: w.bo, user: true}
}

// kernelMemory is implemented by dumps that translate kernel addresses
// with page tables over physical memory.
type kernelMemory interface {
	kernelMem() (*kernelMem, error)
}

func (c *elfCore) kernelMem() (*kernelMem, error) {
	if c.kmem == nil {
		if c.xlatErr != nil {
			return nil, c.xlatErr
		}
		if c.phys == nil {
			return nil, errors.New("the dump records no physical addresses")
		}
		return nil, errors.New("the kernel's page tables were not found")
	}
	return c.kmem, nil
}

func (d *kdumpDump) kernelMem() (*kernelMem, error) {
	if d.kmem == nil {
		if d.xlatErr != nil {
			return nil, d.xlatErr
		}
		return nil, errors.New("the kernel's page tables were not found")
	}
	return d.kmem, nil
}

func (d *rawDump) kernelMem() (*kernelMem, error) { return d.kmem, nil }

// userSpace returns the translator of the address space whose top page
// table is at kernel virtual address pgd (mm_struct.pgd).
func (kd *KVM) userSpace(pgd uint64) (translator, physReader, error) {
	if kd.isClosed() {
		return nil, nil, errClosed
	}
	km, ok := kd.dump.(kernelMemory)
	if !ok {
		return nil, nil, &NoUserTranslationError{Core: kd.coreName, Err: fmt.Errorf("%s dumps hold no page tables kvmgen can walk", kd.dump.Info().Format)}
	}
	k, err := km.kernelMem()
	if err != nil {
		return nil, nil, &NoUserTranslationError{Core: kd.coreName, Err: err}
	}
	r, ok := k.xlat.(rooted)
	if !ok {
		return nil, nil, &NoUserTranslationError{Core: kd.coreName, Err: fmt.Errorf("%v cannot walk another address space", k.xlat)}
	}
	if pgd == 0 {
		return nil, nil, errors.New("no page table (NULL pgd: a kernel thread?)")
	}
	root, _, err := k.xlat.translate(pgd)
	if err != nil {
		return nil, nil, fmt.Errorf("the process's top page table %#x: %w", pgd, err)
	}
	return r.rooted(root), k.phys, nil
}

// userError turns a failed user walk into NotMappedError or
// SwappedOutError.
func userError(t translator, pgd uint64, err error) error {
	var te *TranslationError
	if !errors.As(err, &te) || te.Level == 0 || (te.Msg != "not present" && te.Msg != "invalid descriptor") {
		return err
	}
	if te.Level == 1 && te.Entry != 0 {
		e := &SwappedOutError{PGD: pgd, Addr: te.Addr, Entry: te.Entry}
		if _, ok := t.(*x86Walker); ok {
			// arch/x86/include/asm/pgtable_64.h: the type in the top 5
			// bits, the offset inverted (L1TF) from bit 9 up.
			e.Type, e.Offset, e.Decoded = int(te.Entry>>59), (^te.Entry<<5)>>14, true
		}
		return e
	}
	return &NotMappedError{PGD: pgd, Addr: te.Addr, Level: te.Level, Entry: te.Entry}
}

// ReadUser reads len(buf) bytes of process memory at user address addr in
// the address space whose top-level page table is at kernel virtual
// address pgd (Linux's mm_struct.pgd), like Solaris' kvm_uread. It walks
// the process's page tables with the walker that translates kernel
// addresses, so it works on every architecture the descriptor translates
// (x86-64, i386, AArch64) and on corefiles that hold physical memory. It
// returns how many bytes were read; fewer than len(buf) only with an
// error: a *NotMappedError, a *SwappedOutError, or a *ReadError (a page
// mapped but not in the dump, e.g. filtered out by makedumpfile).
func (kd *KVM) ReadUser(pgd, addr KVAddr, buf []byte) (int, error) {
	t, phys, err := kd.userSpace(pgd)
	if err != nil {
		return 0, kd.seterr(err)
	}
	return kd.userCopy(t, pgd, addr, buf, func(b []byte, va, pa uint64) (int, error) {
		got, err := phys.ReadPhys(b, pa)
		if err != nil {
			var re *ReadError
			if !errors.As(err, &re) {
				err = &ReadError{Addr: va, Len: len(b), Err: fmt.Errorf("physical %#x: %w", pa, err)}
			}
		}
		return got, err
	}, true)
}

// userCopy walks [addr, addr+len(buf)) of the address space at pgd page
// by page, calling copy for each resident run (its physical address);
// swapped-out pages are read from the swapfile when reading (fromSwap is
// true) and the descriptor has one, else they end the copy with a
// *SwappedOutError, as unmapped pages do with a *NotMappedError.
func (kd *KVM) userCopy(t translator, pgd, addr uint64, buf []byte, copy func(b []byte, va, pa uint64) (int, error), fromSwap bool) (int, error) {
	done := 0
	for done < len(buf) {
		va := addr + uint64(done)
		pa, n, err := t.translate(va)
		if err != nil {
			uerr := userError(t, pgd, err)
			var se *SwappedOutError
			if fromSwap && kd.swap != nil && errors.As(uerr, &se) {
				got, serr := kd.fromSwap(se, buf[done:], va, kd.userPageSize())
				if serr != nil {
					return done, kd.seterr(serr)
				}
				done += got
				continue
			}
			return done, kd.seterr(uerr)
		}
		want := min(n, uint64(len(buf)-done))
		got, err := copy(buf[done:done+int(want)], va, pa)
		done += got
		if err != nil {
			return done, kd.seterr(fmt.Errorf("user address %#x (physical %#x): %w", va, pa, err))
		}
	}
	return done, nil
}

// physWriter is implemented by corefiles that can write physical memory.
type physWriter interface {
	writePhys(buf []byte, paddr uint64) (int, error)
}

// WriteUser writes buf into process memory at user address addr of the
// address space whose top page table is pgd (Solaris' kvm_uwrite). It is
// refused with a *ReadOnlyError unless the descriptor was opened
// os.O_WRONLY or os.O_RDWR; it fails like ReadUser on pages that are not
// mapped or not resident, and for corefiles that cannot be written.
func (kd *KVM) WriteUser(pgd, addr KVAddr, buf []byte) (int, error) {
	if kd.isClosed() {
		return 0, kd.seterr(errClosed)
	}
	if !kd.writable {
		return 0, kd.seterr(&ReadOnlyError{Addr: addr})
	}
	w, ok := kd.dump.(physWriter)
	if !ok {
		return 0, kd.seterr(fmt.Errorf("%s (%s) cannot be written at physical addresses", kd.coreName, kd.dump.Info().Format))
	}
	t, _, err := kd.userSpace(pgd)
	if err != nil {
		return 0, kd.seterr(err)
	}
	// A swapped-out page is not written (the swap image is read-only
	// here): the write stops there with a *SwappedOutError.
	return kd.userCopy(t, pgd, addr, buf, func(b []byte, _, pa uint64) (int, error) { return w.writePhys(b, pa) }, false)
}

// writePhys writes into the file at a physical address a PT_LOAD holds.
func (c *elfCore) writePhys(buf []byte, paddr uint64) (int, error) {
	if c.w == nil {
		return 0, &ReadOnlyError{Addr: paddr}
	}
	if c.phys == nil {
		return 0, errors.New("the dump records no physical addresses")
	}
	return c.phys.write(c.w, buf, paddr, "physical address")
}

// writePhys writes physical memory of a raw image.
func (d *rawDump) writePhys(buf []byte, paddr uint64) (int, error) {
	if d.w == nil {
		return 0, &ReadOnlyError{Addr: paddr}
	}
	if paddr >= d.end || uint64(len(buf)) > d.end-paddr {
		return 0, &ReadError{Addr: paddr, Len: len(buf), Err: fmt.Errorf("beyond the end of physical memory %#x", d.end)}
	}
	return d.w.WriteAt(buf, int64(paddr))
}

// userPageSize is the size of a user page: the dump's page size, 4 KiB
// when it records none.
func (kd *KVM) userPageSize() uint64 {
	if ps := kd.Info().PageSize; ps > 0 {
		return uint64(ps)
	}
	return 4096
}
