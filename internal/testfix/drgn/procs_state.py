# What moves in a guest between its /proc capture and the dump (procs'
# tests): for every task "task PID RSS RSS_SUM NAME" (get_mm_rss pages, and
# with the per-CPU deltas; a kworker's /proc name with its work
# description), and "swap INDEX INUSE_PAGES" for every swap area.
from drgn.helpers.linux.percpu import percpu_counter_sum
from drgn.helpers.linux.pid import for_each_task

for t in for_each_task(prog):
    rss = rsssum = 0
    if t.mm:
        for i in (0, 1, 3):
            try:
                v = vs = int(t.mm.rss_stat.count[i].counter)
            except (AttributeError, LookupError, TypeError):
                v = int(t.mm.rss_stat[i].count)
                vs = percpu_counter_sum(t.mm.rss_stat[i].address_of_())
            rss += v if v > 0 else 0
            rsssum += vs if vs > 0 else 0
    name = t.comm.string_().decode()
    if int(t.flags) & 0x20:
        w = drgn.cast("struct worker *", drgn.cast("struct kthread *", t.worker_private).data)
        d = w.desc.string_().decode()
        if w.pool and d:
            name += ("+" if w.current_work else "-") + d
    print("task", int(t.pid), rss, rsssum, name)
for i in range(int(prog["nr_swapfiles"])):
    s = prog["swap_info"][i]
    if s:
        print("swap", i, int(s.inuse_pages))
