# Peer figure for docs/BENCHMARKS.md: drgn reading 200000 random 8-byte direct-map
# addresses (4096 pages, as BenchmarkReadELFCached) from a dump.
# Usage: /usr/bin/python3 drgn_bench.py CORE VMLINUX
import random, sys, time, drgn
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]])
base = prog["page_offset_base"].value_()
rng = random.Random(1)
pages = [base + ((1 << 20) + rng.randrange(499 << 20)) & ~0xfff for _ in range(4096)]
addrs = [rng.choice(pages) + rng.randrange(512) * 8 for _ in range(200000)]
t = time.perf_counter()
for a in addrs:
    prog.read(a, 8)
el = time.perf_counter() - t
print("drgn %s: %.0f ns/read, %.0f reads/s" % (sys.argv[1], el / len(addrs) * 1e9, len(addrs) / el))
