#!/bin/sh
# volatility-check.sh: run Volatility 3's linux.pslist, linux.psaux and
# linux.lsmod on a fixture dump with the ISF `kvmgen isf` writes, from the
# vmlinux's DWARF (-kernel) and from the dump alone (-core), and compare
# what they print with the guest's own /proc, saved when the dump was
# taken (DIR/dumps/truth). Outside CI: it needs a volatility3 checkout and
# takes a minute or two (Volatility scans the dump for the banner).
#
# usage: scripts/volatility-check.sh VOLATILITY3_DIR [FIXTURE_DIR [DUMP]]
#   VOLATILITY3_DIR  a volatility3 checkout (vol.py runs with Python 3
#                    alone for these plugins)
#   FIXTURE_DIR      default ~/.cache/kvmgen/linux-amd64
#   DUMP             default elf.vmcore (Volatility reads ELF cores, not
#                    kdump-compressed ones; QEMU's paging dump is not found
#                    either, see docs/isf.md)
#
# The ISF is put in VOLATILITY3_DIR/volatility3/symbols/linux/ as
# kvmgen-check.json.xz and removed afterwards; Volatility's cache goes to
# a temporary directory. Exit status 0 when every check passes.
set -eu

vol=${1:?usage: $0 VOLATILITY3_DIR [FIXTURE_DIR [DUMP]]}
fix=${2:-$HOME/.cache/kvmgen/linux-amd64}
dump=$fix/dumps/${3:-elf.vmcore}
truth=$fix/dumps/truth
here=$(cd "$(dirname "$0")/.." && pwd)

[ -f "$vol/vol.py" ] || { echo "$vol: no vol.py (want a volatility3 checkout)" >&2; exit 2; }
[ -f "$dump" ] || { echo "$dump: no such dump" >&2; exit 2; }
[ -d "$truth" ] || { echo "$truth: no guest truth" >&2; exit 2; }

tmp=$(mktemp -d)
isf=$vol/volatility3/symbols/linux/kvmgen-check.json.xz
trap 'rm -rf "$tmp" "$isf"' EXIT INT TERM
mkdir -p "$vol/volatility3/symbols/linux"

PATH=/usr/local/go/bin:$PATH
kvmgen=${KVMGEN:-$tmp/kvmgen}
[ -n "${KVMGEN:-}" ] || (cd "$here" && go build -o "$kvmgen" ./cmd/kvmgen)

status=0
for src in kernel core; do
	if [ $src = kernel ]; then
		"$kvmgen" isf -kernel "$fix/vmlinux" -o "$isf"
	else
		"$kvmgen" isf -core "$dump" -o "$isf"
	fi
	cache=$tmp/cache-$src
	mkdir -p "$cache"
	for plugin in linux.pslist linux.psaux linux.lsmod; do
		start=$(date +%s)
		if ! python3 "$vol/vol.py" --offline --cache-path "$cache" -q -r json -f "$dump" $plugin \
			>"$tmp/$src-$plugin.json" 2>"$tmp/$src-$plugin.err"; then
			echo "FAIL $src $plugin: vol.py failed:" >&2
			grep -v -e '^volatility3\.' -e 'ModuleNotFoundError' "$tmp/$src-$plugin.err" | tail -15 >&2
			status=1
			continue
		fi
		echo "ran $plugin with the ISF from -$src in $(($(date +%s) - start)) s"
	done
	python3 - "$tmp" "$src" "$truth" <<'EOF' || status=1
import json, os, sys
tmp, src, truth = sys.argv[1:]
def load(plugin):
    p = os.path.join(tmp, f"{src}-{plugin}.json")
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        return None
    return json.load(open(p))
ok = True
def check(name, got, want):
    global ok
    if got == want:
        print(f"ok   {src} {name}: {len(got)} entries equal the guest's")
        return
    ok = False
    print(f"FAIL {src} {name}: {len(got)} entries, guest {len(want)}")
    for x in sorted(got - want)[:10]:
        print("  only in Volatility:", str(x)[:160])
    for x in sorted(want - got)[:10]:
        print("  only in the guest: ", str(x)[:160])

# pslist: (PID, PPID, COMM) of every process; truth/tasks.txt: PID PPID
# STATE COMM. The guest's /proc shows a workqueue worker's comm with what
# it works for ("kworker/0:0-rcu_gp", wq_worker_comm); task_struct.comm,
# which Volatility prints, has not that suffix.
want = set()
for line in open(os.path.join(truth, "tasks.txt")).read().splitlines()[1:]:
    f = line.split(None, 3)
    comm = f[3]
    if comm.startswith("kworker/") and "-" in comm:
        comm = comm.split("-", 1)[0]
    want.add((int(f[0]), int(f[1]), comm[:15]))
rows = load("linux.pslist")
if rows is None:
    ok = False
else:
    check("pslist", {(r["PID"], r["PPID"], r["COMM"]) for r in rows}, want)

# psaux: the command line of every user process with one
# (truth/proc/PID/cmdline, NULs as spaces).
want = set()
for pid in os.listdir(os.path.join(truth, "proc")):
    try:
        b = open(os.path.join(truth, "proc", pid, "cmdline"), "rb").read()
    except OSError:
        continue
    if b:
        want.add((int(pid), b.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")))
rows = load("linux.psaux")
if rows is None:
    ok = False
else:
    # Volatility prints no ARGS (null) when it cannot read the whole
    # argument area or it is over 4096 bytes (psaux's limit: the fixture's
    # marker processes have longer ones); those are listed, not compared.
    unread = {r["PID"] for r in rows if r["ARGS"] is None}
    if unread:
        print(f"note {src} psaux: Volatility read no ARGS for PIDs {sorted(unread)}")
    got = {(r["PID"], r["ARGS"]) for r in rows if r["ARGS"] and not r["ARGS"].startswith("[")}
    check("psaux", got, {w for w in want if w[0] not in unread})

# lsmod: module names and sizes; truth/modules is /proc/modules.
want = set()
for line in open(os.path.join(truth, "modules")):
    f = line.split()
    want.add((f[0], int(f[1])))
rows = load("linux.lsmod")
if rows is None:
    ok = False
else:
    check("lsmod", {(r["Name"], r["Size"]) for r in rows}, want)
sys.exit(0 if ok else 1)
EOF
	rm -f "$isf"
done
exit $status
