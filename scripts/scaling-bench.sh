#!/usr/bin/env bash
# scripts/scaling-bench.sh: how the task walk scales (issue #9, "iterating
# 10,000 tasks scales linearly"): `kvmgen ps -T` (one line per thread) on the
# 6.1 guest's normal ELF dump (dumps/elf.vmcore, 55 tasks) and on the
# 10,000-task one (dumps/many/elf.vmcore: 100 processes `kvmgen-many` of 100
# threads each, truth/many.txt "PID THREADS"), beside drgn 0.0.22's
# for_each_task reading each task's pid, tgid and comm
# (scripts/drgn-tasks.py), in the same run.
#
# kvmgen runs with no vmlinux (symbols from the dump's kallsyms; the layout
# resolved from the dump's BTF once, then cached by build ID, as `kvmgen ps`
# does by default, here in a cache of this run's own: other builds of kvmgen
# may rewrite the user's), with -kernel vmlinux (symbols from its .symtab),
# and with -no-layout-cache (the first run on a kernel: the layout from the
# BTF, or from the DWARF with -kernel).
# The fixed start-up cost is measured beside each: `kvmgen uptime` (the same
# open and bind as ps, then two reads) and `drgn-tasks.py ... open` (open the
# dump, load the vmlinux's debug info, read init_task.comm); per-task time
# is (command - its start-up) / tasks on the many dump (on the 55-task one
# the walk is below the noise of whole-process times: the in-process figures
# give both sizes), and the marginal cost (T_many - T_small) / (N_many -
# N_small). drgn also runs on the normal dump's `-p` twin (paging.vmcore),
# which it reads natively: what scripts/drgn-prelude.py's way of reading
# physical-only dumps costs it.
#
# First the outputs are checked: kvmgen lists every task (the same TIDs and
# comms as drgn, each many.txt process with its thread count), then the
# commands run RUNS times (1 warm-up round), interleaved: each round runs
# every command once, in an order rotated from round to round. Wall time
# from `date +%s.%N`, CPU and peak RSS from /usr/bin/time, the 1-minute load
# average of each round (the machine is shared); then the in-process Go
# benchmarks (cmd/kvmgen/scaling_bench_test.go: TaskWalk, PSOpen, PSThreads,
# ns/task) with benchstat. Needs python3-drgn (/usr/bin/python3), QEMU (the
# fixtures). Figures go to docs/BENCHMARKS.md, "## Task-walk scaling".
#
#   bash scripts/scaling-bench.sh [OUTDIR]      (RUNS=10, BENCH_COUNT=5; GO_BENCH=0 skips go test)
set -euo pipefail
# shellcheck source=scripts/bench-rounds.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-rounds.sh"
bench_setup scaling-bench "${1:-}"
MANY=$K/dumps/many/truth/many.txt
DT=$REPO/scripts/drgn-tasks.py

echo "== outputs ($OUT)"
"$KV" ps -T $L -core "$M" > "$OUT/kvmgen-many.txt"
"$KV" ps -T $L -kernel "$V" -core "$M" > "$OUT/kvmgen-many-vmlinux.txt"
"$KV" ps -T $L -core "$S" > "$OUT/kvmgen-small.txt"
"$PY" "$DT" "$V" "$M" > "$OUT/drgn-many.txt"
"$PY" "$DT" "$V" "$S" > "$OUT/drgn-small.txt"
"$PY" "$DT" "$V" "$P" > "$OUT/drgn-small-paging.txt"
cmp -s "$OUT/kvmgen-many.txt" "$OUT/kvmgen-many-vmlinux.txt" ||
	{ echo "kvmgen ps -T: different output with and without -kernel (diff $OUT/kvmgen-many*.txt)"; exit 1; }
cmp -s "$OUT/drgn-small.txt" "$OUT/drgn-small-paging.txt" ||
	{ echo "drgn: different tasks in elf.vmcore and paging.vmcore"; exit 1; }
"$PY" - "$OUT" "$MANY" <<'PY'
# kvmgen ps -T lists the tasks drgn's for_each_task yields (TIDs; comm: drgn
# reads task->comm, 15 characters, where kvmgen ps shows a kernel thread's
# full name and a workqueue worker's "-WORKQUEUE" suffix, as ps does);
# drgn's thread groups of kvmgen-many have many.txt's thread counts.
import sys
out, many = sys.argv[1], sys.argv[2]
def kv(name):
    rows = {}
    for line in open("%s/%s" % (out, name)).read().splitlines()[1:]:
        f = line.split(None, 7)
        rows[int(f[0])] = f[6]
    return rows
def dr(name):
    rows = {}
    for line in open("%s/%s" % (out, name)).read().splitlines():
        tid, tgid, comm = line.split(" ", 2)
        rows[int(tid)] = (int(tgid), comm)
    return rows
bad = 0
for size in ("small", "many"):
    k, d = kv("kvmgen-%s.txt" % size), dr("drgn-%s.txt" % size)
    if set(k) != set(d):
        print("%s: TIDs only kvmgen lists %s, only drgn %s" % (size, sorted(set(k) - set(d))[:10], sorted(set(d) - set(k))[:10]))
        bad += 1
    comm = [t for t in k if t in d and not k[t].startswith(d[t][1])]
    if comm:
        print("%s: comm differs for TIDs %s" % (size, comm[:10]))
        bad += 1
    print("%s: kvmgen ps -T lists %d tasks, drgn for_each_task %d" % (size, len(k), len(d)))
d = dr("drgn-many.txt")
groups = {}
for tgid, _ in d.values():
    groups[tgid] = groups.get(tgid, 0) + 1
want = dict(tuple(map(int, l.split())) for l in open(many) if l.strip())
wrong = [p for p in want if groups.get(p) != want[p]]
if wrong:
    print("many: thread counts differ from many.txt for PIDs %s" % wrong[:10])
    bad += 1
print("many: %d kvmgen-many processes, %d threads (many.txt) + %d other tasks = %d" %
      (len(want), sum(want.values()), len(d) - sum(want.values()), len(d)))
sys.exit(1 if bad else 0)
PY
# kvmgen's own thread groups: ps -T -p PID lists PID's threads.
bad=0
while read -r pid n; do
	got=$(("$("$KV" ps -T $L -p "$pid" -core "$M" | wc -l)" - 1))
	[ "$got" = "$n" ] || { echo "kvmgen ps -T -p $pid: $got threads, many.txt $n"; bad=1; }
done < "$MANY"
[ $bad = 0 ] && echo "many: kvmgen ps -T -p PID lists many.txt's thread count for each of its $(wc -l < "$MANY") processes"
[ $bad = 0 ] || exit 1
NS=$(($(wc -l < "$OUT/kvmgen-small.txt") - 1))
NM=$(($(wc -l < "$OUT/kvmgen-many.txt") - 1))

echo "== peak RSS on the many dump (/usr/bin/time -v)"
for a in "ps -T $L -core $M" "ps -T $L -kernel $V -core $M" "ps -T -no-layout-cache -kernel $V -core $M"; do
	# shellcheck disable=SC2086
	/usr/bin/time -v "$KV" $a 2> "$OUT/time-v.txt" > /dev/null
	echo "kvmgen $a: $(grep -E 'Maximum resident' "$OUT/time-v.txt" | sed 's/.*: //') KB max RSS," \
		"$(grep -E 'Elapsed' "$OUT/time-v.txt" | sed 's/.*: //') elapsed"
done
/usr/bin/time -v "$PY" "$DT" "$V" "$M" 2> "$OUT/time-v.txt" > /dev/null
echo "drgn-tasks.py (many): $(grep -E 'Maximum resident' "$OUT/time-v.txt" | sed 's/.*: //') KB max RSS"

echo "== timed runs: RUNS=$RUNS, interleaved, 1 warm-up round"
# NAME|SIZE|command: SIZE is the task count the per-task figures divide by.
CMDS=(
	"ps-T small|$NS|$KV ps -T $L -core $S"
	"ps-T -kernel small|$NS|$KV ps -T $L -kernel $V -core $S"
	"ps-T nocache small|$NS|$KV ps -T -no-layout-cache -core $S"
	"ps-T nocache -kernel small|$NS|$KV ps -T -no-layout-cache -kernel $V -core $S"
	"uptime small|0|$KV uptime $L -core $S"
	"uptime -kernel small|0|$KV uptime $L -kernel $V -core $S"
	"drgn small|$NS|$PY $DT $V $S"
	"drgn small paging|$NS|$PY $DT $V $P"
	"drgn open small|0|$PY $DT $V $S open"
	"ps-T many|$NM|$KV ps -T $L -core $M"
	"ps-T -kernel many|$NM|$KV ps -T $L -kernel $V -core $M"
	"ps-T nocache many|$NM|$KV ps -T -no-layout-cache -core $M"
	"ps-T nocache -kernel many|$NM|$KV ps -T -no-layout-cache -kernel $V -core $M"
	"uptime many|0|$KV uptime $L -core $M"
	"uptime -kernel many|0|$KV uptime $L -kernel $V -core $M"
	"drgn many|$NM|$PY $DT $V $M"
	"drgn open many|0|$PY $DT $V $M open"
)
bench_rounds "$RUNS" "$OUT" "${CMDS[@]}"
PYTHONPATH="$REPO/scripts" "$PY" - "$OUT/runs.tsv" "$OUT/names.txt" <<'PY'
import statistics as st, sys
from bench_rounds import load
rows, med = load(sys.argv[1], sys.argv[2])
print("| command | tasks | wall median | min-max | n | CPU median | peak RSS (largest of the runs) | per task (wall - start-up) / tasks |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
def startup(name):
    size = name.split()[-1]
    if name.startswith("drgn"):
        return med["drgn open " + size]
    return med[("uptime -kernel " if "-kernel" in name else "uptime ") + size]
for name, r in rows.items():
    w = r["wall"]
    per = ""
    # Only on the many dump: on the small one, 55 tasks' worth of walk (a
    # few ms) is below the noise of whole-process times; the in-process
    # figures below give the per-task cost at both sizes.
    if r["size"] and "nocache" not in name and "many" in name:  # uptime's start-up has the layout cached
        per = "%.1f µs" % ((med[name] - startup(name.replace(" paging", ""))) / r["size"] * 1e6)
    print("| %s | %d | %.3f s | %.3f-%.3f | %d | %.3f s | %d MiB | %s |" % (
        name, r["size"], med[name], min(w), max(w), len(w), st.median(r["cpu"]), max(r["rss"]) // 1024, per))
print()
print("marginal cost per task, (T_many - T_small) / (N_many - N_small), wall medians:")
for a in ("ps-T", "ps-T -kernel", "ps-T nocache", "ps-T nocache -kernel", "drgn"):
    s, m = rows[a + " small"], rows[a + " many"]
    b = (med[a + " many"] - med[a + " small"]) / (m["size"] - s["size"])
    print("  %-22s %.1f µs/task; intercept (fixed) %.3f s" % (a, b * 1e6, med[a + " small"] - b * s["size"]))
print("kvmgen / drgn on the many dump: ps -T %.2f, ps -T -kernel %.2f (wall medians)" % (
    med["ps-T many"] / med["drgn many"], med["ps-T -kernel many"] / med["drgn many"]))
PY

bench_drgn_walk "$DT" "for_each_task walk" task
bench_go 'TaskWalk|PSOpen|PSThreads'
