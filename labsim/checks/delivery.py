"""Delivery checkers: lost, duplicated and reordered messages."""

from __future__ import annotations

import pandas as pd

from labsim.checks.base import CheckResult
from labsim.errors import ConfigError

__all__ = ["check_delivery", "check_order"]


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


def check_order(
    received: pd.DataFrame,
    *,
    seq: str = "msg_id",
    channel: tuple[str, ...] = ("src", "dst"),
    time: str = "time",
) -> CheckResult:
    """FIFO per channel: within each (src, dst), messages must arrive in the order sent.

    Args:
        received: One row per arrival with the ``channel`` columns, ``seq`` (increasing in
            send order, like the network's ``msg_id``) and ``time``.

    Returns:
        Anomalies: arrivals whose ``seq`` is lower than one already received on the channel
        (a repeat of the same ``seq`` is a duplicate, not a reordering).
    """
    missing = {seq, time, *channel} - set(received.columns)
    if missing:
        raise ConfigError(
            "received", list(received.columns), f"columns {sorted(missing)}", "check_order"
        )
    rows = []
    ordered = received.sort_values(time, kind="stable")
    for key, group in ordered.groupby(list(channel), sort=True):
        highest = None
        for t, s in zip(group[time], group[seq], strict=True):
            if highest is not None and s < highest:
                rows.append({"channel": key, "seq": s, "after": highest, "time": t})
            highest = s if highest is None else max(highest, s)
    anomalies = pd.DataFrame(rows, columns=["channel", "seq", "after", "time"])
    return CheckResult(
        "order",
        anomalies.empty,
        anomalies,
        f"{len(received)} arrivals; {len(anomalies)} arrived before an earlier "
        "message on their channel",
    )
