# scripts/bench_rounds.py: reads what bench_rounds (scripts/bench-rounds.sh)
# writes, for the summaries of maps-bench.sh and scaling-bench.sh.
import statistics as st


def load(runs_tsv, names_txt):
    """The timed runs by command name, in the rounds' order: {name: {"size",
    "wall", "cpu", "rss"}}, and each command's median wall time. Prints the
    load average the rounds ran under."""
    rows = {name: None for name in open(names_txt).read().splitlines()}
    loads = []
    for line in open(runs_tsv):
        name, size, t0, t1, user, sys_, rss, load = line.rstrip("\n").split("\t")
        r = rows[name] = rows[name] or {"size": int(size), "wall": [], "cpu": [], "rss": []}
        r["wall"].append(float(t1) - float(t0))
        r["cpu"].append(float(user) + float(sys_))
        r["rss"].append(int(rss))
        loads.append(float(load))
    med = {k: st.median(v["wall"]) for k, v in rows.items()}
    print("load average (1 min) during the rounds: median %.1f, %.1f-%.1f" % (st.median(loads), min(loads), max(loads)))
    return rows, med
