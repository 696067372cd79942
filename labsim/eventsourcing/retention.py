"""What a log keeps, and what that costs: fact versus delta events, and store retention.

**Fact versus delta.** A *fact* (state-carrying) event says what is true now
(``stock.level_set {sku, level: 17}``); a *delta* (change) event says what changed
(``stock.adjusted {sku, by: -3}``). A consumer that joins late reads the log from its start
offset and folds what it finds. :func:`late_joiner` runs both styles through the lab's Kafka
partition log (:class:`~labsim.kafka.log.PartitionLog`) under three keeping policies — the
whole history, time-or-size retention (the head deleted), compaction (latest record per key)
— and counts what the late joiner had to read and how many keys it gets wrong.

**Retention of an event store.** An event store never deletes, so it grows for ever.
:func:`store_growth` follows its size day by day for ``"keep everything"`` and for
``"snapshot + archive"``: once an order has been closed for ``archive_after`` days, its
events move to cheap archive storage and one snapshot of its final state stays hot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labsim.errors import ConfigError, check_int
from labsim.kafka.log import PartitionLog

__all__ = ["KEEPING", "RETENTION_POLICIES", "STYLES", "late_joiner", "store_growth"]

#: Event styles.
STYLES = ("fact", "delta")
#: What the log keeps for a late joiner.
KEEPING = ("whole history", "retention", "compacted")
#: Event-store retention policies.
RETENTION_POLICIES = ("keep everything", "snapshot + archive")


def late_joiner(
    style: str,
    keeping: str,
    *,
    keys: int = 20,
    changes: int = 400,
    keep_last: int = 100,
    seed: int = 0,
) -> dict[str, int]:
    """A consumer that joins after ``changes`` stock changes on ``keys`` SKUs.

    Args:
        style: ``"fact"`` (each event carries the new level) or ``"delta"`` (the change).
        keeping: ``"whole history"``, ``"retention"`` (only the last ``keep_last`` records
            are left) or ``"compacted"`` (the latest record per key).
        keys, changes, keep_last: Sizes.
        seed: Seed of the random changes.

    Returns:
        ``{"events_read", "keys_wrong", "keys"}``: records the late joiner folded and SKUs
        whose level it gets wrong.
    """
    if style not in STYLES:
        raise ConfigError("style", style, f"one of {', '.join(STYLES)}", "late joiner")
    if keeping not in KEEPING:
        raise ConfigError("keeping", keeping, f"one of {', '.join(KEEPING)}", "late joiner")
    check_int("keys", keys, 1, "late joiner")
    check_int("changes", changes, 1, "late joiner")
    check_int("keep_last", keep_last, 1, "late joiner")
    rng = np.random.default_rng(seed)
    log = PartitionLog()
    level = dict.fromkeys(range(keys), 0)
    for t, (key, delta) in enumerate(
        zip(rng.integers(0, keys, changes), rng.integers(-5, 11, changes), strict=True)
    ):
        key, delta = int(key), int(delta)
        level[key] += delta
        log.append(key, level[key] if style == "fact" else delta, float(t))
    if keeping == "retention":
        log.truncate_head(log.end_offset - keep_last)
    elif keeping == "compacted":
        log.compact(now=float(changes), delete_retention=1.0)
    seen: dict[int, int] = {}
    records = log.read(log.start_offset, len(log))
    for r in records:
        seen[r.key] = r.value if style == "fact" else seen.get(r.key, 0) + r.value
    wrong = sum(seen.get(k, 0) != v for k, v in level.items())
    return {"events_read": len(records), "keys_wrong": int(wrong), "keys": keys}


def store_growth(
    policy: str,
    *,
    days: int = 730,
    orders_per_day: float = 200.0,
    events_per_order: int = 6,
    event_bytes: int = 600,
    snapshot_bytes: int = 400,
    archive_after: int = 90,
    seed: int = 0,
) -> pd.DataFrame:
    """Day-by-day size of an order event store under a retention ``policy``.

    Orders arrive each day (Poisson, mean ``orders_per_day``); each stays open a random
    number of days (geometric, mean 10) and writes ``events_per_order`` events: half when it
    opens, the rest when it closes. Under ``"snapshot + archive"`` an order closed for
    ``archive_after`` days moves its events to the archive and leaves one snapshot hot.

    Returns:
        One row per day: ``day``, ``policy``, ``hot_events``, ``hot_mb``,
        ``archive_events``, ``archive_mb``, ``snapshots``.
    """
    if policy not in RETENTION_POLICIES:
        raise ConfigError(
            "policy", policy, f"one of {', '.join(RETENTION_POLICIES)}", "store retention"
        )
    check_int("days", days, 1, "store retention")
    check_int("events_per_order", events_per_order, 2, "store retention")
    check_int("archive_after", archive_after, 1, "store retention")
    rng = np.random.default_rng(seed)
    opened = np.repeat(np.arange(days), rng.poisson(orders_per_day, days))
    closed = opened + rng.geometric(0.1, len(opened))
    first = events_per_order // 2
    day = np.arange(days)
    # events written up to each day: `first` at opening, the rest at closing
    written = first * np.searchsorted(np.sort(opened), day, side="right") + (
        events_per_order - first
    ) * np.searchsorted(np.sort(closed), day, side="right")
    if policy == "keep everything":
        archived = np.zeros(days, dtype=np.int64)
    else:
        archived = np.searchsorted(np.sort(closed + archive_after), day, side="right")
    hot_events = written - events_per_order * archived
    mb = 1 / 1_000_000
    return pd.DataFrame(
        {
            "day": day,
            "policy": policy,
            "hot_events": hot_events,
            "hot_mb": np.round((hot_events * event_bytes + archived * snapshot_bytes) * mb, 3),
            "archive_events": archived * events_per_order,
            "archive_mb": np.round(archived * events_per_order * event_bytes * mb, 3),
            "snapshots": archived,
        }
    )
