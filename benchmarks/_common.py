"""Helpers shared by the benchmark scripts: timing, medians, one JSON line out."""

from __future__ import annotations

import json
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
