# scripts/drgn-tasks.py: the peer of `kvmgen ps -T` in scripts/scaling-bench.sh.
# drgn 0.0.22 (Debian python3-drgn, /usr/bin/python3) walks every task with
# for_each_task (drgn.helpers.linux.pid: the PID namespace's IDR, then each
# pid's tasks) and reads each task's pid, tgid and comm. Output: one line
# "TID TGID COMM" per task, so the task count is the line count.
#
#   /usr/bin/python3 scripts/drgn-tasks.py VMLINUX DUMP [open | bench K]
#
# With "open", only the start-up: open DUMP, load VMLINUX's debug information,
# read init_task.comm (the fixed cost the per-task figures subtract). With
# "bench K", the walk alone, in process, as kvmgen's BenchmarkTaskWalk: one
# warm-up walk, then K walks, each timed (time.perf_counter) and printed as
# "walk SECONDS TASKS".
# DUMP may be a physical-only QEMU ELF dump: scripts/drgn-prelude.py says how.
import os
import sys

exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "drgn-prelude.py")).read())

from drgn.helpers.linux.pid import for_each_task  # noqa: E402

prog = prog  # noqa: F821 (from the prelude)
if sys.argv[3:] == ["open"]:
    print(prog["init_task"].comm.string_().decode())
    sys.exit(0)


def walk():
    out = []
    for t in for_each_task(prog):
        out.append("%d %d %s" % (t.pid.value_(), t.tgid.value_(), t.comm.string_().decode(errors="replace")))
    return out


if sys.argv[3:4] == ["bench"]:
    import time

    walk()
    for _ in range(int(sys.argv[4])):
        t0 = time.perf_counter()
        n = len(walk())
        print("walk %.6f %d" % (time.perf_counter() - t0, n))
    sys.exit(0)
sys.stdout.write("\n".join(walk()) + "\n")
