# avenrun and the timekeeper (procs' load-average and time tests):
# "avenrun A B C" and "tk XTIME_SEC MONO_BASE MONO_XTIME_NSEC MONO_SHIFT OFFS_BOOT".
print("avenrun", *[int(x) for x in prog["avenrun"]])
tk = prog["tk_core"].timekeeper
print("tk", int(tk.xtime_sec), int(tk.tkr_mono.base), int(tk.tkr_mono.xtime_nsec), int(tk.tkr_mono.shift), int(tk.offs_boot))
