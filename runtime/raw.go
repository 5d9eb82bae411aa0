package kvm

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// rawDump is a raw physical memory image (file offset = physical address),
// or /dev/mem. The kernel is found in it by content (findX86Kernel).
type rawDump struct {
	name string
	r    io.ReaderAt
	w    io.WriterAt
	end  uint64
	info DumpInfo
	kmem *kernelMem
	walk *x86Walker
}

func openRaw(ctx *openContext) (coreDump, error) {
	x := ctx.Exec
	if x == nil || x.Machine != elf.EM_X86_64 {
		return nil, &notMineError{Format: "raw physical memory", Reason: "needs an x86-64 kernel execfile to find the kernel in the image"}
	}
	end := uint64(ctx.Size)
	if ctx.Size < 0 {
		e, err := systemRAMEnd("/proc/iomem")
		if err != nil {
			return nil, &notMineError{Format: "raw physical memory", Reason: "size unknown and /proc/iomem unreadable: " + err.Error()}
		}
		end = e
	}
	d := &rawDump{name: ctx.Name, r: ctx.File, end: end}
	loc, err := findX86Kernel(d, []physRange{{0, end}}, x, 0)
	if err != nil {
		return nil, &notMineError{Format: "raw physical memory", Reason: err.Error()}
	}
	d.walk = loc.walker
	d.kmem = &kernelMem{phys: d, xlat: loc.walker}
	d.info = DumpInfo{Format: "raw physical memory", Arch: "x86_64", PtrSize: 8, PageSize: 4096, KernDisp: loc.disp, KernDispKnown: true,
		Translation: describe(loc.walker, loc.how)}
	if ctx.Writable {
		if w, ok := ctx.File.(io.WriterAt); ok {
			d.w = w
		}
	}
	return d, nil
}

func (d *rawDump) Info() DumpInfo { return d.info }
func (d *rawDump) Close() error   { return nil }
func (d *rawDump) disableCache()  { d.walk.cache = nil }

func (d *rawDump) ReadMemory(buf []byte, addr uint64) (int, error) {
	return d.kmem.ReadMemory(buf, addr)
}

func (d *rawDump) ReadPhys(buf []byte, paddr uint64) (int, error) {
	if paddr >= d.end || uint64(len(buf)) > d.end-paddr {
		return 0, &ReadError{Addr: paddr, Len: len(buf), Err: fmt.Errorf("beyond the end of physical memory %#x", d.end)}
	}
	n, err := d.r.ReadAt(buf, int64(paddr))
	if n < len(buf) {
		if err == nil || err == io.EOF {
			err = errors.New("short read")
		}
		return n, &ReadError{Addr: paddr + uint64(n), Len: len(buf) - n, Err: fmt.Errorf("%s: %w", d.name, err)}
	}
	return n, nil
}

// WriteMemory writes kernel virtual memory (opened for writing only).
func (d *rawDump) WriteMemory(buf []byte, addr uint64) (int, error) {
	if d.w == nil {
		return 0, errReadOnly
	}
	done := 0
	for done < len(buf) {
		va := addr + uint64(done)
		pa, n, err := d.walk.translate(va)
		if err != nil {
			return done, err
		}
		n = min(n, uint64(len(buf)-done))
		if pa >= d.end || n > d.end-pa {
			return done, &ReadError{Addr: va, Len: int(n), Err: fmt.Errorf("physical %#x beyond the end of memory", pa)}
		}
		m, err := d.w.WriteAt(buf[done:done+int(n)], int64(pa))
		done += m
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// systemRAMEnd returns the end of the highest "System RAM" range of
// /proc/iomem (needs root to see addresses).
func systemRAMEnd(name string) (uint64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var end uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rng, what, ok := strings.Cut(line, " : ")
		if !ok || what != "System RAM" {
			continue
		}
		_, hi, ok := strings.Cut(rng, "-")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(hi, 16, 64)
		if err == nil && v+1 > end {
			end = v + 1
		}
	}
	if end == 0 {
		return 0, errors.New("no System RAM ranges (addresses hidden?)")
	}
	return end, nil
}
