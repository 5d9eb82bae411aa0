#!/usr/bin/env bash
# examples/lsproc/bench.sh: lsproc end to end (process start to exit, the
# vmlinux symbol table included) on the fixture dumps, beside drgn and crash
# listing the same tasks of the same paging dump, in one run. Needs
# hyperfine, /usr/bin/python3 with drgn (python3-drgn) and crash; results are
# recorded in docs/BENCHMARKS.md, "## lsproc".
#
#   bash examples/lsproc/bench.sh [OUTDIR]
set -euo pipefail
CACHE=${KVMGEN_CACHE:-$HOME/.cache/kvmgen}
K=$CACHE/linux-amd64
D=$K/dumps
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/lsproc-bench.XXXXXX")}
mkdir -p "$OUT"
RUNS=${RUNS:-10}

(cd "$REPO" && go build -o "$OUT/lsproc" ./examples/lsproc)
cat > "$OUT/drgn_ps.py" <<'PY'
# for_each_task over the dump: PID, real parent's TGID, state, comm.
import sys
import drgn
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import task_state_to_char
prog = drgn.Program()
prog.set_core_dump(sys.argv[2])
prog.load_debug_info([sys.argv[1]])
rows = sorted((t.pid.value_(), t.real_parent.tgid.value_(), task_state_to_char(t),
               t.comm.string_().decode()) for t in for_each_task(prog))
print("PID PPID STATE COMM")
for r in rows:
    print("%d %d %s %s" % r)
PY
printf 'ps\nquit\n' > "$OUT/crash.cmd"

echo "== outputs (task rows: lsproc lists thread-group leaders, drgn every thread)"
"$OUT/lsproc" -kernel "$K/vmlinux" -core "$D/paging.vmcore" > "$OUT/lsproc.txt"
/usr/bin/python3 "$OUT/drgn_ps.py" "$K/vmlinux" "$D/paging.vmcore" > "$OUT/drgn.txt"
crash -s -i "$OUT/crash.cmd" "$K/vmlinux" "$D/paging.vmcore" > "$OUT/crash.txt" 2>&1 || true
wc -l "$OUT/lsproc.txt" "$OUT/drgn.txt"
echo "crash ps rows: $(grep -c '^[> ] *[0-9]' "$OUT/crash.txt" || true)"

echo "== peak RSS (/usr/bin/time -f %M)"
for f in elf paging kdump-zlib; do
	/usr/bin/time -f "lsproc $f.vmcore: %e s, %M KB" "$OUT/lsproc" -kernel "$K/vmlinux" -core "$D/$f.vmcore" >/dev/null
done
/usr/bin/time -f "drgn paging.vmcore: %e s, %M KB" /usr/bin/python3 "$OUT/drgn_ps.py" "$K/vmlinux" "$D/paging.vmcore" >/dev/null
/usr/bin/time -f "crash paging.vmcore: %e s, %M KB" crash -s -i "$OUT/crash.cmd" "$K/vmlinux" "$D/paging.vmcore" >/dev/null 2>&1 || true

echo "== hyperfine"
hyperfine -N --warmup 1 --runs "$RUNS" --export-markdown "$OUT/fast.md" \
	-n "lsproc elf.vmcore" "$OUT/lsproc -kernel $K/vmlinux -core $D/elf.vmcore" \
	-n "lsproc paging.vmcore" "$OUT/lsproc -kernel $K/vmlinux -core $D/paging.vmcore" \
	-n "lsproc kdump-zlib.vmcore" "$OUT/lsproc -kernel $K/vmlinux -core $D/kdump-zlib.vmcore" \
	-n "drgn paging.vmcore" "/usr/bin/python3 $OUT/drgn_ps.py $K/vmlinux $D/paging.vmcore"
hyperfine -N --runs 3 --export-markdown "$OUT/crash.md" \
	-n "crash paging.vmcore (ps)" "crash -s -i $OUT/crash.cmd $K/vmlinux $D/paging.vmcore"
cat "$OUT/fast.md" "$OUT/crash.md"
