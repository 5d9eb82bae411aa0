# scripts/bench-rounds.sh: the interleaved timed runs of the benchmark
# scripts (maps-bench.sh, scaling-bench.sh), sourced by them.
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
