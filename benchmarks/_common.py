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
