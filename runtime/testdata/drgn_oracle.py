# Oracle for the kernel-dump tests: drgn (an independent reader) prints the
# address and bytes of objects in a dump it can read, one per line:
#   NAME ADDRESS SIZE HEX
# Run with Debian's python3 (which has drgn): /usr/bin/python3 drgn_oracle.py VMLINUX CORE
import sys
import drgn
from drgn.helpers.linux.pid import find_task

vmlinux, core = sys.argv[1], sys.argv[2]
prog = drgn.Program()
prog.set_core_dump(core)
prog.load_debug_info([vmlinux])


def show(name, addr, size):
    data = prog.read(addr, size)
    print(name, hex(addr), size, data.hex())


show("linux_banner", prog.symbol("linux_banner").address, 256)
show("init_uts_ns", prog["init_uts_ns"].address_of_().value_(), 512)
show("init_top_pgt", prog.symbol("init_top_pgt").address, 4096)
# Direct-map (slab) objects and vmalloc'd stacks of sleeping tasks.
for pid in (1, int(sys.argv[3]) if len(sys.argv) > 3 else 1):
    t = find_task(prog, pid)
    show("task%d" % pid, t.value_(), 1024)
    show("comm%d" % pid, t.comm.address_of_().value_(), 16)
    show("stack%d" % pid, t.stack.value_(), 16384)
