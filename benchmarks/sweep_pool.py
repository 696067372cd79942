"""A 20-run sweep of the consumer-group scenario (the Kafka-style path), serial against a
process pool on every core of this machine.

Grid: ``consumers`` in 2, 3, 4, 6, 8 (6 partitions, 300 records/s for 10 s, a member crash)
x 4 seeds = 20 runs of ``groups.figures`` (``record_level="summary"``). The sweeps run in
turns — serial, :func:`labsim.sweep.process_pool` (workers forked with labsim imported), and
a pool of fresh interpreters (``spawn``, each worker importing labsim itself: the start-up
cost process_pool avoids) — median of 3 each; each pooled time includes starting and stopping
the pool. Prints one JSON line: the three medians (seconds), the
speed-ups against serial (target >= 1.7 on 2 cores), whether the frames are equal, the CPU
seconds of the serial and pooled sweeps (workers included) and the load average: on a shared
machine the wall-clock speed-up is bounded by the cores the other users leave free, so
``speedup_if_cores_free`` (serial CPU / pooled CPU per worker) says what the pool itself costs.

Run: ``.venv/bin/python benchmarks/sweep_pool.py [repeats] [--seeds N] [--duration S]``;
``--seeds 10 --duration 33.4`` makes it 50 runs of about 10,000 records each (the size of a
sweep a learner runs in lesson 02 or 12).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
from _common import emit

from labsim.scenarios import groups
from labsim.sweep import process_pool

_ARGS = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_ARGS.add_argument("repeats", nargs="?", type=int, default=3, help="sweeps of each kind")
_ARGS.add_argument("--seeds", type=int, default=4, help="seeds per grid point")
_ARGS.add_argument("--duration", type=float, default=10.0, help="seconds of producing a run")
ARGS = _ARGS.parse_args()
GRID = {"consumers": [2, 3, 4, 6, 8], "duration": [ARGS.duration]}
SEEDS = ARGS.seeds
REPEATS = ARGS.repeats
WORKERS = os.cpu_count() or 1


def serial() -> pd.DataFrame:
    return groups.SCENARIO.sweep(GRID, SEEDS, progress=False)


def warm_pool() -> pd.DataFrame:
    with process_pool(WORKERS) as pool:
        return groups.SCENARIO.sweep(GRID, SEEDS, pool, progress=False)


def spawn_pool() -> pd.DataFrame:
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        return groups.SCENARIO.sweep(GRID, SEEDS, pool, progress=False)


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    runs = {"serial_s": serial, "process_pool_s": warm_pool, "spawn_pool_s": spawn_pool}
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    frames = {}
    load_before = os.getloadavg()[0]
    for _ in range(REPEATS):
        for name, run in runs.items():
            cpu_start = _cpu_seconds()
            start = time.perf_counter()
            frames[name] = run()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(_cpu_seconds() - cpu_start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_serial = statistics.median(cpu["serial_s"])
    cpu_pool = statistics.median(cpu["process_pool_s"])
    emit(
        {
            "benchmark": "sweep_pool",
            "runs": len(frames["serial_s"]),
            "records_per_run": round(groups.SCENARIO.params({}).rate * ARGS.duration),
            "workers": WORKERS,
            **medians,
            "speedup": medians["serial_s"] / medians["process_pool_s"],
            "speedup_spawn_pool": medians["serial_s"] / medians["spawn_pool_s"],
            "same_frames": all(f.equals(frames["serial_s"]) for f in frames.values()),
            # CPU seconds (this process and its workers): what the pool costs beyond the runs.
            "serial_cpu_s": cpu_serial,
            "process_pool_cpu_s": cpu_pool,
            # The speed-up if both cores were ours: serial CPU over the pool's CPU per core.
            "speedup_if_cores_free": cpu_serial / (cpu_pool / WORKERS),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "target_speedup": 1.7,
        }
    )


if __name__ == "__main__":
    main()
