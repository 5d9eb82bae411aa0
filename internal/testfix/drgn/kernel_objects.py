# The address and bytes of a few kernel objects in a dump (runtime's
# kernel-dump tests): static data, slab objects in the direct map and the
# vmalloc'd stacks of sleeping tasks, one "NAME ADDRESS SIZE HEX" line each.
# args: [PID], a sleeping task shown besides PID 1.
from drgn.helpers.linux.pid import find_task


def show(name, addr, size):
    data = prog.read(addr, size)
    print(name, hex(addr), size, data.hex())


show("linux_banner", prog.symbol("linux_banner").address, 256)
show("init_uts_ns", prog["init_uts_ns"].address_of_().value_(), 512)
show("init_top_pgt", prog.symbol("init_top_pgt").address, 4096)
for pid in (1, int(args[0]) if args else 1):
    t = find_task(prog, pid)
    show("task%d" % pid, t.value_(), 1024)
    show("comm%d" % pid, t.comm.address_of_().value_(), 16)
    show("stack%d" % pid, t.stack.value_(), 16384)
