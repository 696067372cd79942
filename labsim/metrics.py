"""Small figures computed from recorded frames: rates over time, percentiles, fault intervals.

Everything here reads DataFrames only, so plots and checkers can use it without importing a
model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from labsim.errors import check_positive

__all__ = ["POINT_FAULT_KINDS", "fault_intervals", "percentiles", "rate_over_time"]

#: Fault kinds that happen at an instant rather than over an interval.
POINT_FAULT_KINDS = ("heal", "restart")


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


def fault_intervals(
    faults: pd.DataFrame, end: float, point_kinds: Iterable[str] = POINT_FAULT_KINDS
) -> pd.DataFrame:
    """Turn the recorded ``faults`` table into intervals for shading plots.

    Each ``end`` row closes an open ``start`` of the same kind and target: the latest one with
    the same value, else the latest one. Stacked faults of one kind on one target thus come
    out nested (a loss of 0.5 over [1, 5) with a loss of 0.9 over [2, 3) gives exactly those
    two intervals); for faults that differ in nothing but their times, the count of
    intervals covering any instant is right whichever start an end closes.

    Args:
        faults: The ``faults`` frame (time, kind, action, target, value).
        end: Time used as the end of faults still active when the run stopped.

        point_kinds: Kinds that happen at an instant (``heal``, ``restart``): left out, since
            what they end has rows of its own. ``labsim.faults.KINDS`` marks the same kinds as
            not lasting (a test keeps the two in step).

    Returns:
        A frame with ``kind``, ``target``, ``start``, ``end``.
    """
    open_faults: dict[tuple[str, str], list[tuple[float, Any]]] = {}
    rows = []
    points = set(point_kinds)
    for row in faults.itertuples(index=False):
        if row.kind in points:
            continue
        key = (row.kind, row.target)
        if row.action == "start":
            open_faults.setdefault(key, []).append((row.time, row.value))
            continue
        starts = open_faults.get(key)
        if not starts:
            continue
        match = next(
            (i for i in range(len(starts) - 1, -1, -1) if _same(starts[i][1], row.value)),
            len(starts) - 1,
        )
        rows.append(
            {"kind": row.kind, "target": row.target, "start": starts.pop(match)[0], "end": row.time}
        )
    for (kind_name, target), starts in open_faults.items():
        rows.extend(
            {"kind": kind_name, "target": target, "start": s, "end": end} for s, _ in starts
        )
    frame = pd.DataFrame(rows, columns=["kind", "target", "start", "end"])
    return frame.sort_values(["start", "kind"], ignore_index=True)


def _same(a: Any, b: Any) -> bool:
    # A value column holding None for some kinds reads back as NaN: both mean "no value".
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    return bool(a == b)
