"""Alert rules as data, evaluated on a run's dashboard signals.

A rule is a small frozen record that reads like a line of an alerting config (and round-trips
through a dict, so YAML holds a list of them)::

    AlertRule("lag rising", metric="lag_total", op="rising", threshold=0, window_s=10, for_s=10)
    AlertRule.from_dict({"name": "DLQ not empty", "metric": "dlq_depth", "op": "above",
                         "threshold": 5})

``op`` is one of :data:`OPS`:

* ``"above"`` / ``"below"``: the signal is above (below) ``threshold``;
* ``"rising"``: the signal grew by more than ``threshold`` over the last ``window_s`` seconds.

A ``metric`` ending in ``*`` covers every signal with that prefix (``"lag_p*"``: any partition;
``"util_c*"``: any consumer): ``above`` and ``rising`` take the largest of them, ``below`` the
smallest. A missing value (NaN: nothing measured) never meets a condition.

As in Prometheus, a rule whose condition starts to hold at ``t0`` is *pending*; it **fires**
at the first sample ``t`` with ``t - t0 >= for_s`` while the condition still holds, and
**resolves** at the first sample where it no longer holds. :func:`evaluate` lists the firings;
:func:`score_alerts` compares them with the faults that really happened.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from labsim.errors import ConfigError, is_real

__all__ = ["FIRING_COLUMNS", "OPS", "SCORE_COLUMNS", "AlertRule", "evaluate", "score_alerts"]

#: The comparisons a rule can make.
OPS = ("above", "below", "rising")
#: Columns of :func:`evaluate`'s result.
FIRING_COLUMNS = ("rule", "fired_at", "resolved_at")
#: Columns of :func:`score_alerts`' result.
SCORE_COLUMNS = ("rule", "firings", "first_fired_at", "detection_delay_s", "false_alarms")


def _number(name: str, value: Any, accepted: str, rule: str, low: float, strict: bool) -> float:
    ok = is_real(value) and math.isfinite(float(value))
    ok = ok and (float(value) > low if strict else float(value) >= low)
    if not ok:
        raise ConfigError(name, value, accepted, f"alert rule {rule!r}")
    return float(value)


@dataclass(frozen=True)
class AlertRule:
    """An alert: fire when ``metric`` is ``op`` ``threshold`` for ``for_s`` seconds.

    Attributes:
        name: What the on-call engineer reads.
        metric: A column of :func:`~labsim.observability.dashboard_metrics`, or a prefix ending
            in ``*`` (every column that starts with it).
        op: ``"above"``, ``"below"`` or ``"rising"`` (:data:`OPS`).
        threshold: The limit (for ``rising``: the growth over ``window_s``).
        for_s: Seconds the condition must hold before the alert fires (0: at once).
        window_s: ``rising`` only: how far back the growth is measured.
    """

    name: str
    metric: str
    op: str
    threshold: float
    for_s: float = 0.0
    window_s: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("name", self.name, "a non-empty string", "alert rule")
        if not isinstance(self.metric, str) or not self.metric.strip("*"):
            raise ConfigError("metric", self.metric, "a signal name", f"alert rule {self.name!r}")
        if self.op not in OPS:
            raise ConfigError(
                "op", self.op, f"one of {', '.join(OPS)}", f"alert rule {self.name!r}"
            )
        _number("threshold", self.threshold, "a finite number", self.name, -math.inf, True)
        _number("for_s", self.for_s, "seconds >= 0", self.name, 0.0, False)
        _number("window_s", self.window_s, "seconds > 0", self.name, 0.0, True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertRule:
        """A rule from a mapping (one entry of a YAML list); unknown or missing keys raise."""
        if not isinstance(data, Mapping):
            raise ConfigError("alert rule", data, "a mapping of rule fields", "AlertRule")
        fields = ("name", "metric", "op", "threshold", "for_s", "window_s")
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(
                unknown[0], data[unknown[0]], f"one of {', '.join(fields)}", "AlertRule"
            )
        missing = [f for f in fields[:4] if f not in data]
        if missing:
            raise ConfigError(
                missing[0], None, "a value (name, metric, op, threshold are required)", "AlertRule"
            )
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The rule as a plain dict (``from_dict(rule.to_dict()) == rule``)."""
        return asdict(self)

    def describe(self) -> str:
        """The rule as one line: ``lag_total rising by > 0 in 10 s, for 10 s``."""
        what = (
            f"rising by > {self.threshold:g} in {self.window_s:g} s"
            if self.op == "rising"
            else f"{self.op} {self.threshold:g}"
        )
        return f"{self.metric} {what}" + (f", for {self.for_s:g} s" if self.for_s else "")

    def signal(self, metrics: pd.DataFrame) -> pd.Series:
        """The series the rule watches (the largest or smallest of a ``*`` family)."""
        if self.metric.endswith("*"):
            columns = [c for c in metrics.columns if c.startswith(self.metric[:-1]) and c != "time"]
        else:
            columns = [self.metric] if self.metric in metrics.columns else []
        if not columns:
            signals = ", ".join(c for c in metrics.columns if c != "time")
            raise ConfigError(
                "metric", self.metric, f"one of {signals}", f"alert rule {self.name!r}"
            )
        block = metrics[columns].astype(float)
        return block.min(axis=1) if self.op == "below" else block.max(axis=1)

    def condition(self, metrics: pd.DataFrame) -> np.ndarray:
        """Whether the condition holds at each sample (NaN never does)."""
        value = self.signal(metrics).to_numpy(dtype=float)
        times = metrics["time"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            if self.op == "above":
                return value > self.threshold
            if self.op == "below":
                return value < self.threshold
            # the latest sample at or before t - window_s (none yet: the rule cannot tell)
            back = np.searchsorted(times, times - self.window_s + 1e-9, side="right") - 1
            earlier = np.where(back >= 0, value[np.clip(back, 0, None)], np.nan)
            return (value - earlier) > self.threshold


def evaluate(rule: AlertRule, metrics: pd.DataFrame) -> pd.DataFrame:
    """When ``rule`` fired and resolved over the sampled ``metrics`` (one row per firing).

    ``resolved_at`` is NaN for an alert still firing at the last sample.
    """
    if "time" not in metrics.columns:
        raise ConfigError(
            "metrics", sorted(metrics.columns), "a frame with a 'time' column", rule.name
        )
    times = metrics["time"].to_numpy(dtype=float)
    holds = rule.condition(metrics)
    rows, pending_since, firing_since = [], None, None
    for t, ok in zip(times, holds, strict=True):
        if not ok:
            if firing_since is not None:
                rows.append((rule.name, firing_since, t))
            pending_since = firing_since = None
            continue
        if pending_since is None:
            pending_since = t
        if firing_since is None and t - pending_since >= rule.for_s - 1e-9:
            firing_since = t
    if firing_since is not None:
        rows.append((rule.name, firing_since, math.nan))
    return pd.DataFrame(rows, columns=list(FIRING_COLUMNS))


def score_alerts(
    rules: Iterable[AlertRule],
    metrics: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    grace_s: float = 15.0,
    baseline: pd.DataFrame | None = None,
    match_s: float = 2.0,
) -> pd.DataFrame:
    """How well each rule did against the faults that really happened.

    Args:
        rules: The alert rules.
        metrics: The sampled signals (:func:`~labsim.observability.dashboard_metrics`).
        incidents: Fault intervals with ``start`` and ``end`` (``labsim.metrics.fault_intervals``
            of the run's ``faults`` frame); empty for a run without faults.
        grace_s: A firing up to this long after a fault ended still counts as caused by it (the
            backlog the fault left takes a while to drain).
        baseline: The signals of the same run without the fault (same seed: the lab's random
            streams make it the same run but for the fault). A firing within ``match_s`` seconds
            of one of the rule's firings there happened anyway: it is a false alarm, not a
            detection, even during the fault.
        match_s: How close two firings must be to count as the same.

    Returns:
        One row per rule: ``firings``, ``first_fired_at``, ``detection_delay_s`` (first firing
        within a fault's window minus the fault's start, NaN: the fault was missed),
        ``false_alarms`` (firings with no fault active or recently ended, or that the baseline
        has too).
    """
    for name, value in (("grace_s", grace_s), ("match_s", match_s)):
        if not is_real(value) or value < 0:
            raise ConfigError(name, value, "seconds >= 0", "score_alerts")
    spans = [
        (float(s), float(e) + grace_s)
        for s, e in zip(incidents["start"], incidents["end"], strict=True)
    ]
    rows = []
    for rule in rules:
        fired = evaluate(rule, metrics)["fired_at"].to_numpy(dtype=float)
        anyway = (
            evaluate(rule, baseline)["fired_at"].to_numpy(dtype=float)
            if baseline is not None
            else np.array([])
        )
        fired_anyway = [bool(np.any(np.abs(anyway - t) <= match_s)) for t in fired]
        caused = [
            not a and any(s <= t <= e for s, e in spans)
            for t, a in zip(fired, fired_anyway, strict=True)
        ]
        delays = [
            t - s for s, e in spans for t, c in zip(fired, caused, strict=True) if c and s <= t <= e
        ]
        rows.append(
            {
                "rule": rule.name,
                "firings": len(fired),
                "first_fired_at": float(fired[0]) if len(fired) else math.nan,
                "detection_delay_s": float(min(delays)) if delays else math.nan,
                "false_alarms": int(len(fired) - sum(caused)),
            }
        )
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
