#!/usr/bin/env bash
# scripts/selfdescribing-bench.sh: `kvmgen ps` on the 6.1 -p dump with no
# vmlinux (symbols from the dump's kallsyms, types from the dump's BTF),
# beside the same with the DWARF vmlinux and drgn's for_each_task with the
# DWARF vmlinux, in one run. Needs hyperfine and python3-drgn. Figures go
# to docs/BENCHMARKS.md, "## Self-describing targets".
#
#   bash scripts/selfdescribing-bench.sh [OUTDIR]
set -euo pipefail
CACHE=${KVMGEN_CACHE:-$HOME/.cache/kvmgen}
K=$CACHE/linux-amd64
D=$K/dumps/paging.vmcore
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/selfdesc-bench.XXXXXX")}
RUNS=${RUNS:-10}
mkdir -p "$OUT"
(cd "$REPO" && go build -o "$OUT/kvmgen" ./cmd/kvmgen)
cat > "$OUT/drgn_ps.py" <<'PY'
# The peer: every task's pid, parent, state and comm, as kvmgen ps lists.
import sys
import drgn
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import task_state_to_char
prog = drgn.Program()
prog.set_core_dump(sys.argv[2])
prog.load_debug_info([sys.argv[1]])
for t in for_each_task(prog):
    print(t.pid.value_(), t.real_parent.tgid.value_(), task_state_to_char(t), t.comm.string_().decode())
PY
export KVMGEN_KERNEL=
echo "== outputs"
"$OUT/kvmgen" ps -no-layout-cache -core "$D" > "$OUT/self.txt"
"$OUT/kvmgen" ps -no-layout-cache -kernel "$K/vmlinux" -core "$D" > "$OUT/dwarf.txt"
cmp "$OUT/self.txt" "$OUT/dwarf.txt" && echo "kvmgen ps: the same $(wc -l < "$OUT/self.txt") lines with and without the vmlinux"
/usr/bin/python3 "$OUT/drgn_ps.py" "$K/vmlinux" "$D" > "$OUT/drgn.txt"
echo "drgn: $(wc -l < "$OUT/drgn.txt") tasks"
echo "== peak RSS (/usr/bin/time -f %M)"
/usr/bin/time -f "kvmgen ps, no vmlinux: %e s, %M KB" "$OUT/kvmgen" ps -no-layout-cache -core "$D" >/dev/null
/usr/bin/time -f "kvmgen ps, DWARF vmlinux: %e s, %M KB" "$OUT/kvmgen" ps -no-layout-cache -kernel "$K/vmlinux" -core "$D" >/dev/null
/usr/bin/time -f "drgn for_each_task, DWARF vmlinux: %e s, %M KB" /usr/bin/python3 "$OUT/drgn_ps.py" "$K/vmlinux" "$D" >/dev/null
echo "== hyperfine"
hyperfine -N --warmup 1 --runs "$RUNS" --export-markdown "$OUT/ps.md" \
	-n "kvmgen ps -core (no vmlinux)" "$OUT/kvmgen ps -no-layout-cache -core $D" \
	-n "kvmgen ps -kernel vmlinux -core" "$OUT/kvmgen ps -no-layout-cache -kernel $K/vmlinux -core $D" \
	-n "drgn for_each_task (DWARF vmlinux)" "/usr/bin/python3 $OUT/drgn_ps.py $K/vmlinux $D"
cat "$OUT/ps.md"
