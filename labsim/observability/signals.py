"""The dashboard's signals, computed from a run's recorded frames, one row per sample time.

:func:`dashboard_metrics` samples every ``interval`` seconds what an operator's dashboard of an
event-driven system shows. Each signal comes from the tables a model records, so a dashboard can
be recomputed from saved frames; a signal whose table is missing is left out.

====================== ============================= =========================================
column                 from table                    meaning at sample time ``t``
====================== ============================= =========================================
``lag_p0`` ...         ``lag`` (Kafka broker)        records behind, per partition (latest
                                                     broker sample at or before ``t``)
``lag_total``          ``lag``                       the group's total lag
``dlq_depth``          ``amqp`` (queue ``dlq``)      messages waiting in the dead-letter queue
``processing_p50_s``,  ``consumed``                  time from produce to processed, median
``processing_p99_s``                                 and 99th percentile over the last
                                                     ``window`` seconds (NaN: nothing processed)
``util_c1`` ...        ``processing``                fraction of the last ``window`` seconds
                                                     each consumer spent processing
``sagas_in_flight``    ``saga_messages``             sagas started (``order.created``), not yet
                                                     confirmed or cancelled
``sagas_done_per_s``   ``saga_messages``             sagas finished per second, last window
``read_model_age_s``   ``event_log``, ``projected``  age of the oldest event appended but not yet
                                                     visible in the read model (0: up to date)
====================== ============================= =========================================
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from labsim.errors import ConfigError, check_positive
from labsim.metrics import percentiles

__all__ = [
    "SAGA_END_EVENTS",
    "SAGA_START_EVENT",
    "dashboard_metrics",
    "saga_spans",
    "signal_summary",
]

#: The event that starts a saga and the events that end it (choreographed order saga).
SAGA_START_EVENT = "order.created"
SAGA_END_EVENTS = ("order.confirmed", "order.cancelled")


def _grid(end: float, interval: float) -> np.ndarray:
    n = int(np.floor(end / interval + 1e-9))
    return interval * np.arange(1, n + 1)


def _lag(lag: pd.DataFrame, times: np.ndarray) -> pd.DataFrame:
    wide = lag.pivot_table(index="time", columns="partition", values="lag", aggfunc="sum")
    wide = wide.reindex(wide.index.union(times)).sort_index().ffill().fillna(0).loc[times]
    out = pd.DataFrame({f"lag_p{int(c)}": wide[c].to_numpy(dtype=int) for c in wide.columns})
    out["lag_total"] = out.sum(axis=1).astype(int)
    return out


def _count_by(times_of_events: pd.Series, times: np.ndarray) -> np.ndarray:
    """How many of the events happened at or before each sample time."""
    return np.searchsorted(np.sort(times_of_events.to_numpy(dtype=float)), times, side="right")


def _dlq(amqp: pd.DataFrame, dlq: str, times: np.ndarray) -> np.ndarray:
    rows = amqp[amqp["queue"] == dlq]
    added = _count_by(rows.loc[rows["event"] == "published", "time"], times)
    gone = rows["event"].isin(["acked", "dead-lettered", "expired"])
    return added - _count_by(rows.loc[gone, "time"], times)


def _processing(consumed: pd.DataFrame, times: np.ndarray, window: float) -> pd.DataFrame:
    done = consumed["time"].to_numpy(dtype=float)
    took = (consumed["time"] - consumed["produced_at"]).to_numpy(dtype=float)
    order = np.argsort(done, kind="stable")
    done, took = done[order], took[order]
    lo = np.searchsorted(done, times - window, side="right")
    hi = np.searchsorted(done, times, side="right")
    windows = [percentiles(took[a:b], (50, 99)) for a, b in zip(lo, hi, strict=True)]
    return pd.DataFrame(
        {
            "processing_p50_s": [w["p50"] for w in windows],
            "processing_p99_s": [w["p99"] for w in windows],
        }
    )


def _utilisation(processing: pd.DataFrame, times: np.ndarray, window: float) -> pd.DataFrame:
    out = {}
    for consumer, rows in processing.groupby("consumer", sort=True):
        start = rows["time"].to_numpy(dtype=float)
        end = start + rows["duration"].to_numpy(dtype=float)
        busy = []
        for t in times:
            overlap = np.clip(np.minimum(end, t) - np.maximum(start, t - window), 0, None)
            busy.append(float(overlap.sum()) / min(window, t))
        out[f"util_{consumer}"] = busy
    return pd.DataFrame(out)


def saga_spans(saga_messages: pd.DataFrame) -> pd.DataFrame:
    """One row per saga (``correlation_id``): ``started``, ``ended`` (NaN: unfinished), ``outcome``.

    A saga starts with its first ``order.created`` and ends with its first ``order.confirmed``
    or ``order.cancelled``; ``outcome`` is ``"confirmed"``, ``"cancelled"`` or ``"in flight"``.
    """
    m = saga_messages
    started = m[m["event_type"] == SAGA_START_EVENT].groupby("correlation_id")["time"].min()
    last = m[m["event_type"].isin(SAGA_END_EVENTS)].sort_values("time")
    first_end = last.drop_duplicates("correlation_id").set_index("correlation_id")
    spans = pd.DataFrame({"started": started})
    spans["ended"] = first_end["time"].reindex(spans.index)
    kind = first_end["event_type"].reindex(spans.index)
    spans["outcome"] = kind.str.removeprefix("order.").fillna("in flight")
    return spans.rename_axis("saga").reset_index()


def _sagas(saga_messages: pd.DataFrame, times: np.ndarray, window: float) -> pd.DataFrame:
    spans = saga_spans(saga_messages)
    ended = spans["ended"].dropna()
    done = _count_by(ended, times)
    earlier = _count_by(ended, times - window)
    return pd.DataFrame(
        {
            "sagas_in_flight": _count_by(spans["started"], times) - done,
            "sagas_done_per_s": (done - earlier) / np.minimum(window, times),
        }
    )


def _read_model_age(
    event_log: pd.DataFrame, projected: pd.DataFrame, times: np.ndarray
) -> np.ndarray:
    visible = projected.groupby("position")["visible_at"].min()
    appended = event_log.set_index("position")["timestamp"].astype(float)
    seen = visible.reindex(appended.index).fillna(np.inf).to_numpy(dtype=float)
    app = appended.to_numpy(dtype=float)
    ages = []
    for t in times:
        pending = (app <= t) & (seen > t)
        ages.append(float(t - app[pending].min()) if pending.any() else 0.0)
    return np.asarray(ages)


def dashboard_metrics(
    frames: Mapping[str, pd.DataFrame],
    *,
    interval: float = 1.0,
    window: float = 5.0,
    end: float | None = None,
    dlq: str = "emails.dlq",
) -> pd.DataFrame:
    """Sample the dashboard's signals every ``interval`` seconds (see the module table).

    Args:
        frames: A run's frames (``result.frames``).
        interval: Seconds between samples (the first sample is at ``interval``).
        window: Trailing window of the percentile, utilisation and saga-rate signals.
        end: Time of the last sample (default: the latest time in the recorded tables).
        dlq: Name of the dead-letter queue in the ``amqp`` table.

    Returns:
        A frame with ``time`` and one column per signal, rounded to 4 decimals.
    """
    interval = check_positive("interval", interval, "dashboard_metrics")
    window = check_positive("window", window, "dashboard_metrics")
    if end is None:
        ends = [float(f["time"].max()) for f in frames.values() if "time" in f and len(f)]
        if not ends:
            raise ConfigError("frames", sorted(frames), "frames with a 'time' column", "dashboard")
        end = max(ends)
    times = _grid(check_positive("end", end, "dashboard_metrics"), interval)
    parts = [pd.DataFrame({"time": np.round(times, 6)})]
    if "lag" in frames and len(frames["lag"]):
        parts.append(_lag(frames["lag"], times))
    if "amqp" in frames:
        parts.append(pd.DataFrame({"dlq_depth": _dlq(frames["amqp"], dlq, times)}))
    if "consumed" in frames:
        parts.append(_processing(frames["consumed"], times, window))
    if "processing" in frames and len(frames["processing"]):
        parts.append(_utilisation(frames["processing"], times, window))
    if "saga_messages" in frames:
        parts.append(_sagas(frames["saga_messages"], times, window))
    if "event_log" in frames and "projected" in frames:
        age = _read_model_age(frames["event_log"], frames["projected"], times)
        parts.append(pd.DataFrame({"read_model_age_s": age}))
    return pd.concat(parts, axis=1).round(4)


def signal_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """The dashboard in numbers: per panel's headline signal, its median, its extreme and when.

    The extreme is the largest value, except for utilisation, where it is the smallest (an idle
    consumer is the news); for a family (``lag_p*``, ``util_*``) the row names the member.
    """
    rows = []
    lags = [c for c in metrics.columns if c.startswith("lag_p")]
    utils = [c for c in metrics.columns if c.startswith("util_")]
    picks = [
        ("lag (worst partition)", lags, "max"),
        ("dead-letter depth", ["dlq_depth"], "max"),
        ("processing p99 (s)", ["processing_p99_s"], "max"),
        ("utilisation (least busy)", utils, "min"),
        ("sagas in flight", ["sagas_in_flight"], "max"),
        ("read-model age (s)", ["read_model_age_s"], "max"),
    ]
    for label, columns, how in picks:
        columns = [c for c in columns if c in metrics.columns]
        if not columns:
            continue
        block = metrics[columns]
        series = block.max(axis=1) if how == "max" else block.min(axis=1)
        at = series.idxmax() if how == "max" else series.idxmin()
        member = block.loc[at].idxmax() if how == "max" else block.loc[at].idxmin()
        rows.append(
            {
                "signal": label,
                "median": round(float(series.median()), 3),
                "extreme": round(float(series[at]), 3),
                "at (s)": float(metrics.loc[at, "time"]),
                "where": member.removeprefix("lag_").removeprefix("util_")
                if len(columns) > 1
                else "",
            }
        )
    return pd.DataFrame(rows, columns=["signal", "median", "extreme", "at (s)", "where"])
