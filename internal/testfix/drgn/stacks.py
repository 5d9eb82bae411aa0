# For each PID in args: "PID PC,PC,...", the program counters of the
# task's stack_trace (DWARF CFI): physical frames only (inlined calls are
# DWARF's view of one frame), kernel addresses only.
from drgn.helpers.linux.pid import find_task

for p in args:
    t = find_task(prog, int(p))
    pcs = []
    for f in prog.stack_trace(t):
        if f.is_inline or f.pc < (1 << 63):
            continue
        pcs.append("%x" % f.pc)
    print(p, ",".join(pcs))
