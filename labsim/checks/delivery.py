"""Delivery checker: lost and duplicated messages between what was sent and what arrived."""

from __future__ import annotations

import pandas as pd

from labsim.checks.base import CheckResult
from labsim.errors import ConfigError

__all__ = ["check_delivery"]


def check_delivery(
    sent: pd.DataFrame,
    received: pd.DataFrame,
    key: str = "msg_id",
    *,
    allow_duplicates: bool = False,
) -> CheckResult:
    """Compare sent and received messages by ``key``.

    Args:
        sent: One row per message sent (``key`` column required; duplicated keys count once).
        received: One row per arrival (``key`` column required).
        key: Column identifying a message.
        allow_duplicates: When ``True`` duplicates are listed but do not make the result invalid
            (at-least-once delivery promises no loss, not no duplicates).

    Returns:
        A :class:`CheckResult`; anomalies have columns ``key``, ``anomaly`` (``"lost"``,
        ``"duplicated"`` or ``"unexpected"`` for an arrival that was never sent) and ``count``
        (times received).
    """
    for name, frame in (("sent", sent), ("received", received)):
        if key not in frame.columns:
            raise ConfigError(
                name, list(frame.columns), f"a frame with a {key!r} column", "check_delivery"
            )
    sent_keys = pd.Index(sent[key].unique())
    counts = received[key].value_counts()
    lost = sent_keys.difference(counts.index)
    dup = counts[counts > 1]
    unexpected = counts.index.difference(sent_keys)
    rows = (
        [{"key": k, "anomaly": "lost", "count": 0} for k in sorted(lost)]
        + [{"key": k, "anomaly": "duplicated", "count": int(c)} for k, c in sorted(dup.items())]
        + [{"key": k, "anomaly": "unexpected", "count": int(counts[k])} for k in sorted(unexpected)]
    )
    anomalies = pd.DataFrame(rows, columns=["key", "anomaly", "count"])
    valid = len(lost) == 0 and len(unexpected) == 0 and (allow_duplicates or len(dup) == 0)
    summary = (
        f"{len(sent_keys)} sent, {int(counts.reindex(sent_keys).notna().sum())} received; "
        f"{len(lost)} lost, {len(dup)} duplicated, {len(unexpected)} unexpected"
    )
    return CheckResult("delivery", valid, anomalies, summary)
