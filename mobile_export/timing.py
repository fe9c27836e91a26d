"""The one timing harness: wall time of every ``run_chunk`` call, summarised as a real-time factor."""
from __future__ import annotations

import statistics
import time

from .host import host_line

WARMUP_CHUNKS = 10


class TimedRunner:
    """Wraps ``run_chunk`` and keeps each call's wall time and thread CPU time (the RTF figure).

    Wall time is what a real-time player sees; on a shared build host other processes
    inflate it, so the calling thread's CPU time is kept too (the uncontended estimate).
    """

    def __init__(self, run_chunk):
        self._run, self.times, self.cpu_times = run_chunk, [], []

    def __call__(self, codes, state):
        t, c = time.perf_counter(), time.thread_time()
        result = self._run(codes, state)
        self.times.append(time.perf_counter() - t)
        self.cpu_times.append(time.thread_time() - c)
        return result

    def summary(self, chunk_seconds: float, threads: int, runtime: str, warmup: int = WARMUP_CHUNKS) -> dict:
        """Median and p95 per chunk (the first ``warmup`` chunks excluded), as ms and real-time factor."""
        if not self.times:
            raise ValueError("no chunk was timed")
        excluded = warmup if len(self.times) > warmup else 0
        times, cpu = self.times[excluded:], self.cpu_times[excluded:]
        median, median_cpu = statistics.median(times), statistics.median(cpu)
        p95 = sorted(times)[min(len(times) - 1, int(0.95 * len(times)))]
        return {
            "threads": threads,
            "chunks_timed": len(times),
            "warmup_chunks_excluded": excluded,
            "ms_per_chunk_median": round(1e3 * median, 4),
            "ms_per_chunk_p95": round(1e3 * p95, 4),
            "cpu_ms_per_chunk_median": round(1e3 * median_cpu, 4),
            "chunk_ms": round(1e3 * chunk_seconds, 4),
            "real_time_factor_median": round(median / chunk_seconds, 5),
            "real_time_factor_cpu": round(median_cpu / chunk_seconds, 5),
            "host": host_line(),
            "method": f"{runtime} on this host, Python call overhead included; time per chunk / chunk "
                      "duration (below 1 = faster than real time)",
        }
