# For each PID in args: "PID HEX(cmdline) HEX(environ)", read from the dump
# through the process's own page tables.
from drgn.helpers.linux.mm import cmdline, environ
from drgn.helpers.linux.pid import find_task

for pid in map(int, args):
    t = find_task(prog, pid)
    print(pid, (b"\0".join(cmdline(t)) + b"\0").hex(), (b"\0".join(environ(t)) + b"\0").hex())
