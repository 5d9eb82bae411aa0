# scripts/drgn-maple.py: the peer of `kvmgen maps -a` in scripts/maps-bench.sh.
# Debian's drgn 0.0.22 has no VMA or maple-tree helper, so this walks each
# process's mm->mm_mt maple tree with drgn's primitives: for every process
# on init_task.tasks (the thread-group leaders, as kvmgen walks them:
# list_for_each_entry) that has an mm, it reads mm_mt.ma_root and descends
# the tree (each node read with one prog.read, its pivots and slots unpacked
# at the offsets drgn gives for struct maple_node's mr64 and ma64), then
# reads each VMA (struct vm_area_struct) as one drgn Object. Output, per
# process:
#
#   PID: <pid> COMMAND: <comm>
#   <vm_start>-<vm_end> <vm_flags>        (hex, one line per VMA, in address order)
#
#   /usr/bin/python3 scripts/drgn-maple.py VMLINUX DUMP [bench K]
#
# With "bench K", the walk alone, in process (as kvmgen's BenchmarkMapsAll):
# one warm-up pass over every process, then K passes, each timed
# (time.perf_counter) and printed as "walk SECONDS PROCESSES VMAS".
# DUMP may be a physical-only QEMU ELF dump: scripts/drgn-prelude.py says how.
#
# The maple tree encoding, as this script reads it (Linux 6.1+, 64-bit):
# ma_root is NULL (an empty tree), a single entry for index 0, or an encoded
# node pointer (an "internal" entry: low two bits 0b10, above 4096). The node
# is at entry & ~0xff and its type is (entry >> 3) & 0xf: maple_dense (0),
# maple_leaf_64 (1), maple_range_64 (2), maple_arange_64 (3). Leaf and range
# nodes have 15 pivots and 16 slots, arange nodes (the internal nodes of
# trees that track gaps, as mm_mt does) 9 pivots and 10 slots. Slot i covers
# [the previous pivot + 1, pivot[i]]; the last slot ends at the node's own
# maximum; a zero pivot after the first slot, or a pivot reaching the node's
# maximum, ends the node's data (what follows may be metadata). The root
# covers [0, ULONG_MAX]; a child the range of the parent's slot that points
# to it. Leaf entries are the VMAs; a VMA's range is its [vm_start, vm_end - 1],
# which the script checks (stderr).
import os
import struct
import sys

exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "drgn-prelude.py")).read())

import drgn  # noqa: E402
from drgn.helpers.linux.list import list_for_each_entry  # noqa: E402

prog = prog  # noqa: F821 (from the prelude)
ULONG_MAX = (1 << 64) - 1
LEAF_64, RANGE_64, ARANGE_64 = 1, 2, 3
MAX_DEPTH = 32
node_type = prog.type("struct maple_node")
NODE_SIZE = node_type.size
LAYOUT = {}  # node type -> (pivots' offset, pivot count, slots' offset, slot count)
for kind, member in ((LEAF_64, "mr64"), (RANGE_64, "mr64"), (ARANGE_64, "ma64")):
    sub = node_type.member(member).type
    base = drgn.offsetof(node_type, member)
    LAYOUT[kind] = (base + drgn.offsetof(sub, "pivot"), sub.member("pivot").type.length,
                    base + drgn.offsetof(sub, "slot"), sub.member("slot").type.length)
VMA = prog.type("struct vm_area_struct *")


def is_node(entry):
    return entry & 3 == 2 and entry > 4096


def walk(enode, lo, hi, depth, out):
    """Appends (first, last, entry) for every non-NULL entry under enode, in order."""
    if depth > MAX_DEPTH:
        raise ValueError("maple tree deeper than %d at %#x" % (MAX_DEPTH, enode))
    kind = (enode >> 3) & 0xF
    if kind not in LAYOUT:
        raise ValueError("maple node %#x: type %d not handled" % (enode, kind))
    poff, npiv, soff, nslot = LAYOUT[kind]
    buf = prog.read(enode & ~0xFF, NODE_SIZE)
    pivots = struct.unpack_from("<%dQ" % npiv, buf, poff)
    slots = struct.unpack_from("<%dQ" % nslot, buf, soff)
    leaf = kind == LEAF_64
    for i in range(nslot):
        last = i == nslot - 1
        end = hi if last else pivots[i]
        if not last and end == 0 and i > 0:
            end, last = hi, True  # past the node's data: this slot runs to the node's max
        if end >= hi:
            end, last = hi, True
        entry = slots[i]
        if entry:
            if leaf:
                out.append((lo, end, entry))
            else:
                walk(entry, lo, end, depth + 1, out)
        if last:
            break
        lo = end + 1


def tree_entries(mm):
    root = mm.mm_mt.ma_root.value_()
    if root == 0:
        return []
    if not is_node(root):
        return [(0, 0, root)]
    out = []
    walk(root, 0, ULONG_MAX, 0, out)
    return out


def collect():
    lines = []
    init = prog["init_task"]
    for task in list_for_each_entry("struct task_struct", init.tasks.address_of_(), "tasks"):
        mm = task.mm
        if not mm.value_():
            continue  # a kernel thread or a zombie
        pid = task.pid.value_()
        lines.append("PID: %d COMMAND: %s" % (pid, task.comm.string_().decode(errors="replace")))
        for lo, hi, entry in tree_entries(mm):
            if entry & 3:
                continue  # a reserved/internal value, not a VMA
            v = drgn.Object(prog, VMA, entry)[0].read_()
            start, end = v.vm_start.value_(), v.vm_end.value_()
            if (lo, hi) != (start, end - 1):
                sys.stderr.write("pid %d: VMA %#x is %x-%x but the tree indexes it at %x-%x\n"
                                 % (pid, entry, start, end, lo, hi + 1))
            lines.append("%x-%x %x" % (start, end, v.vm_flags.value_()))
    return lines


if sys.argv[3:4] == ["bench"]:
    import time

    collect()
    for _ in range(int(sys.argv[4])):
        t0 = time.perf_counter()
        lines = collect()
        t = time.perf_counter() - t0
        nproc = sum(1 for line in lines if line.startswith("PID: "))
        print("walk %.6f %d %d" % (t, nproc, len(lines) - nproc))
    sys.exit(0)
sys.stdout.write("\n".join(collect()) + "\n")
