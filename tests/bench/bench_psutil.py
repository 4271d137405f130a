#!/usr/bin/python3
# bench_psutil.py: for bench_peers, one psutil process_iter pass per stdin line; prints "us procs".
import sys
import time

import psutil

ATTRS = ["name", "ppid", "num_threads", "memory_info", "cpu_times", "io_counters",
         "num_fds", "cmdline", "username", "create_time"]

for _ in sys.stdin:
    t0 = time.perf_counter()
    n = sum(1 for p in psutil.process_iter(ATTRS) if p.info is not None)
    print(f"{(time.perf_counter() - t0) * 1e6:.0f} {n}", flush=True)
