package unwind

import (
	"debug/elf"
	"errors"
	"fmt"
)

// VmlinuxORC reads the kernel's ORC table from its vmlinux file instead of
// the dump's memory: the sections .orc_unwind_ip (int32 offsets, each
// relative to its own address) and .orc_unwind (6-byte entries). disp is
// the KASLR displacement (run-time minus link-time address), added to
// every instruction address; sym gives the run-time _stext and _end (the
// text the table covers). The table is the same the kernel uses: the
// build sorts it in the file (scripts/sorttable), and the kernel never
// changes it. .orc_lookup, the kernel's index into it by 256-byte block
// of text, is NOBITS in the file (unwind_init fills it at boot) and not
// needed: Find searches the sorted addresses.
func VmlinuxORC(f *elf.File, disp uint64, sym Symbols, format ORCFormat) (*ORC, error) {
	ipSec, entSec := f.Section(".orc_unwind_ip"), f.Section(".orc_unwind")
	if ipSec == nil || entSec == nil {
		return nil, errors.New("the vmlinux has no .orc_unwind_ip and .orc_unwind sections (built without CONFIG_UNWINDER_ORC?)")
	}
	if ipSec.Type == elf.SHT_NOBITS || entSec.Type == elf.SHT_NOBITS {
		return nil, errors.New("the vmlinux's ORC sections hold no data (a stripped or debug-only image?)")
	}
	if ipSec.Size%4 != 0 || entSec.Size%6 != 0 || ipSec.Size/4 != entSec.Size/6 {
		return nil, fmt.Errorf("%w: .orc_unwind_ip of %d bytes, .orc_unwind of %d", ErrORCCorrupt, ipSec.Size, entSec.Size)
	}
	ipb, err := ipSec.Data()
	if err != nil {
		return nil, fmt.Errorf("reading .orc_unwind_ip: %w", err)
	}
	eb, err := entSec.Data()
	if err != nil {
		return nil, fmt.Errorf("reading .orc_unwind: %w", err)
	}
	// Lazy, over the sections' bytes: one run-time address space holding
	// both, as memory would (the sections need not be adjacent).
	t, err := LazyTable(sectionsMem{bytesMem{ipb, ipSec.Addr + disp}, bytesMem{eb, entSec.Addr + disp}},
		ipSec.Addr+disp, entSec.Addr+disp, len(ipb)/4, format)
	if err != nil {
		return nil, err
	}
	o := &ORC{Kernel: t}
	o.KStart, _ = sym("_stext")
	o.KEnd, _ = sym("_end")
	return o, nil
}

// VmlinuxORCFile opens name and reads its ORC table (VmlinuxORC).
func VmlinuxORCFile(name string, disp uint64, sym Symbols, format ORCFormat) (*ORC, error) {
	f, err := elf.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return VmlinuxORC(f, disp, sym, format)
}

// sectionsMem reads from whichever of its parts holds the address.
type sectionsMem []bytesMem

func (s sectionsMem) ReadMemory(buf []byte, addr uint64) (int, error) {
	for _, m := range s {
		if addr >= m.base && addr-m.base < uint64(len(m.b)) {
			return m.ReadMemory(buf, addr)
		}
	}
	return 0, fmt.Errorf("address %#x outside the ORC sections", addr)
}
