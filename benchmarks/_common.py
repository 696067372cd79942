"""Helpers shared by the benchmark scripts: timing, medians, one JSON line out."""

from __future__ import annotations

import json
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any


def rate(run: Callable[[], int], repeats: int = 3) -> float:
    """Median messages per second of ``run()`` (which returns how many messages it handled)."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        handled = run()
        rates.append(handled / (time.perf_counter() - start))
    return statistics.median(rates)


def emit(figures: dict[str, Any]) -> None:
    """Print the figures as one JSON line (floats rounded for reading)."""
    rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
    print(json.dumps(rounded, sort_keys=False))


def rates_interleaved(runs: dict[str, Callable[[], int]], repeats: int = 3) -> dict[str, float]:
    """Median rate of each run, measured in turns (A, B, A, B, ...) so that a slow patch of the
    shared machine hits every contestant rather than one."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            handled = run()
            samples[name].append(handled / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in samples.items()}


def peak_rss_kib() -> int:
    """This process's own peak resident memory (KiB).

    Reads ``VmHWM`` (the high-water mark of this process's memory map) where Linux provides it:
    ``getrusage``'s ``ru_maxrss`` survives ``exec``, so in a child started by a large parent it
    reports at least the parent's size at the fork, not what the child itself needed.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
