"""Small figures computed from recorded frames: rates over time, percentiles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from labsim.errors import check_positive

__all__ = ["percentiles", "rate_over_time"]


def rate_over_time(
    times: Iterable[float], bin_width: float, end: float, start: float = 0.0
) -> pd.DataFrame:
    """Count events per ``bin_width`` seconds between ``start`` and ``end``.

    Returns:
        A frame with ``time`` (bin start), ``count`` and ``rate`` (count per second), one row per
        bin, including empty bins.
    """
    bin_width = check_positive("bin_width", bin_width, "rate_over_time")
    check_positive("end - start", end - start, "rate_over_time")
    n_bins = int(np.ceil((end - start) / bin_width - 1e-9))
    edges = start + bin_width * np.arange(n_bins + 1)
    values = np.asarray(list(times), dtype=float)
    counts, _ = np.histogram(values, bins=edges)
    return pd.DataFrame({"time": edges[:-1], "count": counts, "rate": counts / bin_width})


def percentiles(values: Iterable[float], qs: Sequence[float] = (50, 90, 99)) -> dict[str, float]:
    """Percentiles ``qs`` of ``values`` as ``{"p50": ..., "p99": ...}`` (NaN if empty)."""
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return {f"p{q:g}": float("nan") for q in qs}
    return {f"p{q:g}": float(np.percentile(data, q)) for q in qs}
