#!/usr/bin/env bash
# scripts/maps-bench.sh: `kvmgen maps -a` (every process's memory map, as
# /proc/PID/maps) beside a drgn 0.0.22 walk of the same maple trees
# (scripts/drgn-maple.py: Debian's drgn has no VMA helper), in the same run
# (issue #11: kvmgen at most a third of drgn's time). On the 6.1 guest's
# normal ELF dump (dumps/elf.vmcore: 8 processes, 85 VMAs) and on the
# 10,000-task one (dumps/many/elf.vmcore: about 100 processes, 20,000 VMAs).
#
# kvmgen runs with no vmlinux (the dump's kallsyms, the layout from its BTF)
# and with -kernel vmlinux, the layout cached (as by default; in a cache of
# this run's own), and, on the small dump, as a loop of `kvmgen maps -p PID`
# over every process (the way without -a). drgn also runs on the normal
# dump's `-p` twin (paging.vmcore), which it reads natively: what
# scripts/drgn-prelude.py's way of reading physical-only dumps costs it.
#
# First the outputs are checked: kvmgen's maps (start, end, permissions;
# without the [vsyscall] gate VMA, which is not in the tree) equal drgn's
# (start, end, vm_flags) for every process, drgn reads the same from both
# dumps, and on the small dump each `maps -a` section equals `maps -p PID`.
# Then the commands run RUNS times (1 warm-up round) interleaved, each round
# in an order rotated from the last; wall time from `date +%s.%N`, CPU and
# peak RSS from /usr/bin/time, the 1-minute load average of each round (the
# machine is shared). Then the walk alone, in process: drgn-maple.py's
# "bench" mode and the Go benchmark BenchmarkMapsAll (cmd/kvmgen/
# maps_all_test.go) with benchstat. Needs python3-drgn (/usr/bin/python3) and
# QEMU (the fixtures). Figures go to docs/BENCHMARKS.md, "## kvmgen maps -a".
#
#   bash scripts/maps-bench.sh [OUTDIR]      (RUNS=10, BENCH_COUNT=5; GO_BENCH=0 skips go test)
set -euo pipefail
# shellcheck source=scripts/bench-rounds.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-rounds.sh"
bench_setup maps-bench "${1:-}"
DM=$REPO/scripts/drgn-maple.py

echo "== outputs ($OUT)"
# shellcheck disable=SC2086
{
	"$KV" maps -a $L -core "$S" > "$OUT/kvmgen-small.txt"
	"$KV" maps -a $L -kernel "$V" -core "$S" > "$OUT/kvmgen-small-vmlinux.txt"
	"$KV" maps -a $L -core "$M" > "$OUT/kvmgen-many.txt"
	"$KV" maps -a $L -kernel "$V" -core "$M" > "$OUT/kvmgen-many-vmlinux.txt"
}
"$PY" "$DM" "$V" "$S" > "$OUT/drgn-small.txt"
"$PY" "$DM" "$V" "$P" > "$OUT/drgn-small-paging.txt"
"$PY" "$DM" "$V" "$M" > "$OUT/drgn-many.txt"
for f in small many; do
	cmp -s "$OUT/kvmgen-$f.txt" "$OUT/kvmgen-$f-vmlinux.txt" ||
		{ echo "kvmgen maps -a: different output with and without -kernel ($f)"; exit 1; }
done
cmp -s "$OUT/drgn-small.txt" "$OUT/drgn-small-paging.txt" ||
	{ echo "drgn-maple.py: different output on elf.vmcore and paging.vmcore"; exit 1; }
echo "drgn-maple.py: the same output on elf.vmcore and its -p twin paging.vmcore"
cat > "$OUT/cmpmaps.py" <<'PY'
# kvmgen maps -a against drgn-maple.py: the same processes, and for each the
# same VMAs (start, end, and the permissions drgn's vm_flags give: VM_READ
# 0x1, VM_WRITE 0x2, VM_EXEC 0x4, VM_MAYSHARE 0x80 for "s").
import sys
def kv(path):
    out = []
    for line in open(path):
        f = line.split()
        if line.startswith("PID: "):
            out.append(("PID", int(f[1])))
        elif f and f[-1] != "[vsyscall]":  # the gate VMA: not in the maple tree
            s, e = f[0].split("-")
            out.append((int(s, 16), int(e, 16), f[1]))
    return out
def dr(path):
    out = []
    for line in open(path):
        f = line.split()
        if line.startswith("PID: "):
            out.append(("PID", int(f[1])))
        else:
            s, e = f[0].split("-")
            fl = int(f[1], 16)
            perms = ("r" if fl & 1 else "-") + ("w" if fl & 2 else "-") + ("x" if fl & 4 else "-") + ("s" if fl & 0x80 else "p")
            out.append((int(s, 16), int(e, 16), perms))
    return out
a, b = kv(sys.argv[1]), dr(sys.argv[2])
procs = sum(1 for x in a if x[0] == "PID")
if a == b:
    print("%s: kvmgen maps -a and the drgn maple walk agree: %d processes, %d VMAs (start, end, perms)" % (sys.argv[3], procs, len(a) - procs))
    sys.exit(0)
for i, (x, y) in enumerate(zip(a, b)):
    if x != y:
        print("%s: first difference at line %d: kvmgen %s, drgn %s" % (sys.argv[3], i, x, y))
        break
else:
    print("%s: kvmgen %d lines, drgn %d" % (sys.argv[3], len(a), len(b)))
sys.exit(1)
PY
"$PY" "$OUT/cmpmaps.py" "$OUT/kvmgen-small.txt" "$OUT/drgn-small.txt" small
"$PY" "$OUT/cmpmaps.py" "$OUT/kvmgen-many.txt" "$OUT/drgn-many.txt" many
# maps -a is maps -p PID for each process (small dump).
PIDS=$(sed -n 's/^PID: \([0-9]*\) .*/\1/p' "$OUT/kvmgen-small.txt" | tr '\n' ' ')
for pid in $PIDS; do
	# shellcheck disable=SC2086
	"$KV" maps $L -p "$pid" -core "$S" > "$OUT/p.txt"
	awk -v p="$pid" '/^PID: /{on = ($2 == p); next} on' "$OUT/kvmgen-small.txt" | cmp -s - "$OUT/p.txt" ||
		{ echo "maps -a and maps -p $pid differ"; exit 1; }
done
echo "small: maps -a equals maps -p PID for each of the $(echo $PIDS | wc -w) processes"
NVS=$(grep -vc '^PID: ' "$OUT/drgn-small.txt")
NVM=$(grep -vc '^PID: ' "$OUT/drgn-many.txt")

echo "== peak RSS (/usr/bin/time -v)"
for a in "-core $M" "-kernel $V -core $M"; do
	# shellcheck disable=SC2086
	/usr/bin/time -v "$KV" maps -a $L $a 2> "$OUT/time-v.txt" > /dev/null
	echo "kvmgen maps -a $a: $(grep -E 'Maximum resident' "$OUT/time-v.txt" | sed 's/.*: //') KB max RSS"
done
/usr/bin/time -v "$PY" "$DM" "$V" "$M" 2> "$OUT/time-v.txt" > /dev/null
echo "drgn-maple.py (many): $(grep -E 'Maximum resident' "$OUT/time-v.txt" | sed 's/.*: //') KB max RSS"

echo "== timed runs: RUNS=$RUNS, interleaved, 1 warm-up round"
CMDS=(
	"maps -a small|$NVS|$KV maps -a $L -core $S"
	"maps -a -kernel small|$NVS|$KV maps -a $L -kernel $V -core $S"
	"maps -p loop small|$NVS|bash -c 'for p in $PIDS; do $KV maps $L -p \$p -core $S; done'"
	"drgn small|$NVS|$PY $DM $V $S"
	"drgn small paging|$NVS|$PY $DM $V $P"
	"maps -a many|$NVM|$KV maps -a $L -core $M"
	"maps -a -kernel many|$NVM|$KV maps -a $L -kernel $V -core $M"
	"drgn many|$NVM|$PY $DM $V $M"
)
bench_rounds "$RUNS" "$OUT" "${CMDS[@]}"
PYTHONPATH="$REPO/scripts" "$PY" - "$OUT/runs.tsv" "$OUT/names.txt" <<'PY'
import statistics as st, sys
from bench_rounds import load
rows, med = load(sys.argv[1], sys.argv[2])
print("| command | VMAs | wall median | min-max | n | CPU median | peak RSS (largest of the runs) | / drgn (same dump, wall medians) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, r in rows.items():
    w = r["wall"]
    size = name.split()[-1] if not name.endswith("paging") else "small"
    ratio = med[name] / med["drgn " + size]
    print("| %s | %d | %.3f s | %.3f-%.3f | %d | %.3f s | %d MiB | %.2f |" % (
        name, r["size"], med[name], min(w), max(w), len(w), st.median(r["cpu"]), max(r["rss"]) // 1024, ratio))
PY

bench_drgn_walk "$DM" "maple walk" VMA
bench_go MapsAll
