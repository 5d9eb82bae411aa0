#!/usr/bin/env bash
# scripts/triage-bench.sh: the crash-triage commands `kvmgen dmesg` and
# `kvmgen bt` (-a: the CPUs; -T: every task) on the 6.1 paging.vmcore with
# the DWARF vmlinux, beside their peers on the same dump and vmlinux:
#   drgn 0.0.22 (/usr/bin/python3): get_printk_records(prog), and
#     prog.stack_trace(task) for each task of for_each_task;
#   crash (crash -s -i CMDFILE vmlinux dump): "log", "bt -a" and "foreach bt".
# Wall time with hyperfine, peak RSS with /usr/bin/time -f %M, and the load
# average before and after (the machine is shared). Needs hyperfine,
# python3-drgn, crash. Figures go to docs/BENCHMARKS.md, "## Crash triage
# (dmesg, bt)".
#
#   bash scripts/triage-bench.sh [OUTDIR]      (RUNS=10, CRASH_RUNS=3)
set -euo pipefail
CACHE=${KVMGEN_CACHE:-$HOME/.cache/kvmgen}
K=$CACHE/linux-amd64
V=$K/vmlinux
D=$K/dumps/paging.vmcore
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/triage-bench.XXXXXX")}
RUNS=${RUNS:-10}
CRASH_RUNS=${CRASH_RUNS:-3}
mkdir -p "$OUT"
(cd "$REPO" && go build -o "$OUT/kvmgen" ./cmd/kvmgen)
KV=$OUT/kvmgen
cat > "$OUT/drgn_dmesg.py" <<'PY'
# The peer of kvmgen dmesg: every record, "[seconds.micros] text".
import sys
import drgn
from drgn.helpers.linux.printk import get_printk_records
prog = drgn.Program()
prog.set_core_dump(sys.argv[2])
prog.load_debug_info([sys.argv[1]])
out = []
for r in get_printk_records(prog):
    out.append("[%5d.%06d] %s" % (r.timestamp // 1000000000, r.timestamp % 1000000000 // 1000,
                                  r.text.decode(errors="replace")))
sys.stdout.write("\n".join(out) + "\n")
PY
cat > "$OUT/drgn_bt.py" <<'PY'
# The peer of kvmgen bt -T: the stack of every task (drgn unwinds with
# the vmlinux's DWARF CFI, ORC where it has none).
import sys
import drgn
from drgn.helpers.linux.pid import for_each_task
prog = drgn.Program()
prog.set_core_dump(sys.argv[2])
prog.load_debug_info([sys.argv[1]])
for t in for_each_task(prog):
    print("PID: %d COMMAND: %s" % (t.pid.value_(), t.comm.string_().decode()))
    try:
        print(prog.stack_trace(t))
    except Exception as e:  # an exited task's stack is gone
        print("  error:", e)
PY
printf 'log\nquit\n' > "$OUT/crash-log.cmd"
printf 'bt -a\nquit\n' > "$OUT/crash-bt-a.cmd"
printf 'foreach bt\nquit\n' > "$OUT/crash-foreach-bt.cmd"
export KVMGEN_KERNEL=
echo "== load average before: $(cat /proc/loadavg)"
echo "== outputs ($OUT)"
"$KV" dmesg -kernel "$V" -core "$D" > "$OUT/kvmgen-dmesg.txt"
"$KV" bt -a -kernel "$V" -core "$D" > "$OUT/kvmgen-bt-a.txt"
"$KV" bt -T -kernel "$V" -core "$D" > "$OUT/kvmgen-bt-T.txt"
/usr/bin/python3 "$OUT/drgn_dmesg.py" "$V" "$D" > "$OUT/drgn-dmesg.txt"
/usr/bin/python3 "$OUT/drgn_bt.py" "$V" "$D" > "$OUT/drgn-bt.txt"
if cmp -s "$OUT/kvmgen-dmesg.txt" "$OUT/drgn-dmesg.txt"; then
	echo "dmesg: kvmgen and drgn print the same $(wc -l < "$OUT/drgn-dmesg.txt") lines"
else
	echo "dmesg: kvmgen $(wc -l < "$OUT/kvmgen-dmesg.txt") lines, drgn $(wc -l < "$OUT/drgn-dmesg.txt") (diff in $OUT)"
fi
echo "bt -T: kvmgen $(grep -c '^PID:' "$OUT/kvmgen-bt-T.txt") tasks, drgn $(grep -c '^PID:' "$OUT/drgn-bt.txt")"
HAVE_CRASH=0
if command -v crash >/dev/null && crash -s -i "$OUT/crash-log.cmd" "$V" "$D" > "$OUT/crash-log.txt" 2>&1; then
	HAVE_CRASH=1
	crash -s -i "$OUT/crash-bt-a.cmd" "$V" "$D" > "$OUT/crash-bt-a.txt" 2>&1 || true
	echo "crash log: $(wc -l < "$OUT/crash-log.txt") lines"
else
	echo "crash: not usable on this dump (see $OUT/crash-log.txt)"
fi
echo "== peak RSS (/usr/bin/time -f %M)"
t() { /usr/bin/time -f "$1: %e s, %M KB" "${@:2}" >/dev/null 2>"$OUT/time.err" || true; tail -1 "$OUT/time.err"; }
t "kvmgen dmesg" "$KV" dmesg -kernel "$V" -core "$D"
t "kvmgen bt -a" "$KV" bt -a -kernel "$V" -core "$D"
t "kvmgen bt -T" "$KV" bt -T -kernel "$V" -core "$D"
t "drgn get_printk_records" /usr/bin/python3 "$OUT/drgn_dmesg.py" "$V" "$D"
t "drgn stack_trace (every task)" /usr/bin/python3 "$OUT/drgn_bt.py" "$V" "$D"
if [ $HAVE_CRASH = 1 ]; then
	t "crash log" crash -s -i "$OUT/crash-log.cmd" "$V" "$D"
	t "crash bt -a" crash -s -i "$OUT/crash-bt-a.cmd" "$V" "$D"
	t "crash foreach bt" crash -s -i "$OUT/crash-foreach-bt.cmd" "$V" "$D"
fi
echo "== hyperfine"
hyperfine -N --warmup 1 --runs "$RUNS" --export-markdown "$OUT/triage.md" \
	-n "kvmgen dmesg" "$KV dmesg -kernel $V -core $D" \
	-n "kvmgen bt -a" "$KV bt -a -kernel $V -core $D" \
	-n "kvmgen bt -T" "$KV bt -T -kernel $V -core $D" \
	-n "drgn get_printk_records" "/usr/bin/python3 $OUT/drgn_dmesg.py $V $D" \
	-n "drgn stack_trace (every task)" "/usr/bin/python3 $OUT/drgn_bt.py $V $D"
cat "$OUT/triage.md"
if [ $HAVE_CRASH = 1 ]; then
	hyperfine -N --runs "$CRASH_RUNS" --export-markdown "$OUT/crash.md" \
		-n "crash log" "crash -s -i $OUT/crash-log.cmd $V $D" \
		-n "crash bt -a" "crash -s -i $OUT/crash-bt-a.cmd $V $D" \
		-n "crash foreach bt" "crash -s -i $OUT/crash-foreach-bt.cmd $V $D"
	cat "$OUT/crash.md"
fi
echo "== load average after: $(cat /proc/loadavg)"
