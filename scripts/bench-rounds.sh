# scripts/bench-rounds.sh: what the benchmark scripts (maps-bench.sh,
# scaling-bench.sh) share, sourced by them: the set-up, the interleaved
# timed runs, drgn's in-process walk and the Go benchmarks. The runs.tsv
# the rounds write is read by scripts/bench_rounds.py.
BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bench_setup NAME [OUTDIR]: sets CACHE, K (the 6.1 fixture kernel), V (its
# vmlinux), S (dumps/elf.vmcore), P (its -p twin paging.vmcore), M (the
# 10,000-task dump), REPO, OUT (OUTDIR or a new temporary directory), RUNS
# (default 10), BENCH_COUNT (5), PY (python3 with drgn), KV (a kvmgen built
# into OUT) and L (a layout cache of this run's own: other builds of kvmgen
# may rewrite the user's); makes the fixtures (each a no-op when cached).
bench_setup() {
	local name=$1
	CACHE=${KVMGEN_CACHE:-$HOME/.cache/kvmgen}
	K=$CACHE/linux-amd64
	V=$K/vmlinux
	S=$K/dumps/elf.vmcore
	P=$K/dumps/paging.vmcore
	M=$K/dumps/many/elf.vmcore
	REPO=$BENCH_REPO
	OUT=${2:-$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")}
	RUNS=${RUNS:-10}
	BENCH_COUNT=${BENCH_COUNT:-5}
	PY=/usr/bin/python3
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd)
	echo "== fixtures"
	KVMGEN_NO_PANIC=1 bash "$REPO/scripts/fixtures.sh" dumps
	if ! bash "$REPO/scripts/fixtures.sh" many; then
		[ -s "$M" ] && [ -s "$K/dumps/many/truth/many.txt" ] ||
			{ echo "$name: fixtures.sh many failed and there is no many dump" >&2; exit 1; }
		echo "WARNING: fixtures.sh many failed; measuring the many dump already in $K/dumps/many" >&2
	fi
	(cd "$REPO" && go build -o "$OUT/kvmgen" ./cmd/kvmgen)
	KV=$OUT/kvmgen
	L="-layout-cache $OUT/layouts"
	export KVMGEN_KERNEL=
	echo "== load average before: $(cat /proc/loadavg)"
}

# bench_drgn_walk SCRIPT WHAT UNIT: drgn's walk alone, in process (SCRIPT
# VMLINUX DUMP bench K prints "walk SECONDS ... COUNT" per timed pass, after
# one warm-up) on the small dump, its -p twin and the many dump.
bench_drgn_walk() {
	local script=$1 what=$2 unit=$3 d
	echo "== in process: the walk alone, drgn ($(basename "$script") bench K: 1 warm-up pass, K timed)"
	for d in "small $S 30" "small-paging $P 30" "many $M 5"; do
		# shellcheck disable=SC2086
		set -- $d
		echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
		"$PY" "$script" "$V" "$2" bench "$3" > "$OUT/drgn-bench-$1.txt"
		"$PY" - "$1" "$OUT/drgn-bench-$1.txt" "$what" "$unit" <<'PY'
import statistics as st, sys
w = [(float(l.split()[1]), int(l.split()[-1])) for l in open(sys.argv[2])]
t = [x for x, _ in w]
n = w[0][1]
print("drgn %s, %s: median %.2f ms (%.2f-%.2f, n=%d) for %d %ss: %.1f µs/%s (min %.1f)" % (
    sys.argv[3], sys.argv[1], st.median(t) * 1e3, min(t) * 1e3, max(t) * 1e3, len(t), n, sys.argv[4],
    st.median(t) / n * 1e6, sys.argv[4], min(t) / n * 1e6))
PY
	done
}

# bench_go PATTERN: the in-process Go benchmarks of cmd/kvmgen matching
# PATTERN, BENCH_COUNT times, then benchstat; skipped with GO_BENCH=0.
bench_go() {
	[ "${GO_BENCH:-1}" != 0 ] || return 0
	echo "== in process: go test -bench '$1' -count $BENCH_COUNT"
	(cd "$REPO" && go test ./cmd/kvmgen -run '^$' -bench "$1" -benchmem -count "$BENCH_COUNT") | tee "$OUT/gobench.txt"
	(cd "$REPO" && go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da "$OUT/gobench.txt")
	echo "== load average after the Go benchmarks: $(cat /proc/loadavg)"
}

#
# bench_rounds RUNS OUT CMD...: each CMD is "NAME|SIZE|COMMAND"; one warm-up
# round, then RUNS rounds, each running every command once, rotated by one
# each round so that no command always follows the same one. COMMAND runs
# under bash (exec'd unless NAME contains "loop") and /usr/bin/time. Writes
# OUT/names.txt (the names, in order) and OUT/runs.tsv: NAME SIZE T0 T1
# USER SYS MAXRSS_KIB LOAD1 per timed run.
bench_rounds() {
	local runs=$1 out=$2
	shift 2
	local cmds=("$@") n=$# r j load name size cmd t0 t1
	: > "$out/runs.tsv"
	printf '%s\n' "${cmds[@]}" | cut -d'|' -f1 > "$out/names.txt"
	for ((r = 0; r <= runs; r++)); do
		load=$(cut -d' ' -f1 /proc/loadavg)
		for ((j = 0; j < n; j++)); do
			IFS='|' read -r name size cmd <<< "${cmds[$(((j + r) % n))]}"
			case $name in *loop*) ;; *) cmd="exec $cmd" ;; esac
			t0=$(date +%s.%N)
			/usr/bin/time -o "$out/time.txt" -f "%U %S %M" bash -c "$cmd" > /dev/null
			t1=$(date +%s.%N)
			[ "$r" = 0 ] && continue # warm-up
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$size" "$t0" "$t1" "$(tail -1 "$out/time.txt" | tr ' ' '\t')" "$load" >> "$out/runs.tsv"
		done
		[ "$r" = 0 ] || echo "round $r/$runs done (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	done
	echo "== load average after: $(cat /proc/loadavg)"
}
