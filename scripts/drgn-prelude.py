# scripts/drgn-prelude.py: the common start of the drgn peers of the
# benchmark scripts (scripts/drgn-tasks.py, scripts/drgn-maple.py), run by
# them with exec(); sys.argv is VMLINUX DUMP. It gives them `prog`: a
# drgn.Program on DUMP with VMLINUX's debug information.
#
# drgn 0.0.22 reads QEMU's `dump-guest-memory -p` dumps (their PT_LOADs
# carry the kernel's virtual addresses) but not the physical-only ones that
# `dump-guest-memory` without -p writes (p_vaddr == p_paddr): it translates
# kernel addresses through the page tables, but reads the top-level table
# (swapper_pg_dir) by its virtual address, which such a dump does not map,
# and fails with "recursive address translation". So for a physical-only
# dump this prelude maps, as a -p dump's headers would, the two kernel
# regions where what the benchmarks read lies, each a drgn memory segment
# whose reads are served from the dump's physical memory (prog.read(...,
# physical=True)): the kernel image (__START_KERNEL_map + physical -
# phys_base, phys_base from the dump's VMCOREINFO note) and the direct map
# (page_offset_base + physical). Other addresses go through drgn's own
# page-table walk, whose root is now readable. (Mapping swapper_pg_dir alone
# also works, but then every read walks four levels of tables, each read
# whole: 7x slower than drgn on the -p twin of a dump.)
import struct
import sys

import drgn

START_KERNEL_MAP = 0xFFFFFFFF80000000  # x86-64 __START_KERNEL_map


def _elf_notes_and_loads(path):
    """The VMCOREINFO note (as a dict) and the PT_LOADs' (vaddr, paddr, filesz)."""
    info, loads = {}, []
    with open(path, "rb") as f:
        eh = f.read(64)
        if eh[:4] != b"\x7fELF" or eh[4] != 2 or eh[5] != 1:
            return info, loads  # not a little-endian ELF64 core: leave it to drgn
        (phoff,) = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
        for i in range(phnum):
            p_type, _, p_offset, p_vaddr, p_paddr, p_filesz = struct.unpack_from("<IIQQQQ", ph, i * phentsize)
            if p_type == 1:  # PT_LOAD
                loads.append((p_vaddr, p_paddr, p_filesz))
            elif p_type == 4:  # PT_NOTE
                f.seek(p_offset)
                b = f.read(p_filesz)
                o = 0
                while o + 12 <= len(b):
                    namesz, descsz, _ = struct.unpack_from("<III", b, o)
                    o += 12
                    name = b[o:o + namesz].rstrip(b"\0")
                    o += (namesz + 3) & ~3
                    desc = b[o:o + descsz]
                    o += (descsz + 3) & ~3
                    if name == b"VMCOREINFO":
                        for line in desc.decode(errors="replace").splitlines():
                            k, _, v = line.partition("=")
                            info[k] = v
    return info, loads


def open_program(vmlinux, dump):
    prog = drgn.Program()
    prog.set_core_dump(dump)
    info, loads = _elf_notes_and_loads(dump)
    physical_only = loads and all(v == p for v, p, _ in loads)
    if not (physical_only and "NUMBER(phys_base)" in info):
        prog.load_debug_info([vmlinux])
        return prog
    phys_base = int(info["NUMBER(phys_base)"])
    image_size = int(info.get("NUMBER(KERNEL_IMAGE_SIZE)", str(1 << 30)))

    def read_image(address, count, offset, physical):
        return prog.read(phys_base + offset, count, True)

    def read_direct(address, count, offset, physical):
        return prog.read(offset, count, True)

    # The kernel image (its globals; swapper_pg_dir, the root of drgn's own
    # page-table walks, among them): __START_KERNEL_map + physical - phys_base.
    prog.add_memory_segment(START_KERNEL_MAP, image_size, read_image, False)
    prog.load_debug_info([vmlinux])
    # The direct map, where the slab objects are (task_structs, maple nodes,
    # VMAs): page_offset_base + physical address.
    pob = prog["page_offset_base"].value_()
    prog.add_memory_segment(pob, max(p + n for _, p, n in loads), read_direct, False)
    return prog


prog = open_program(sys.argv[1], sys.argv[2])
