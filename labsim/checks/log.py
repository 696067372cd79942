"""Log checker, in the spirit of Maelstrom's Kafka workload.

Reads the broker's ``log`` table (appends), the producer's ``sends`` and ``acks`` tables and
the consumers' ``consumed`` table, and reports:

* ``lost`` — acknowledged by the broker, never consumed by the group;
* ``duplicate-append`` — one message appended at two offsets (a producer retry without
  idempotence);
* ``duplicate-delivery`` — one offset processed more than once by the group;
* ``non-monotonic`` — within one consumer session (member and generation), an offset of a
  partition processed after a higher one;
* ``skipped`` — within one session, an offset that exists in the log jumped over;
* ``key-order`` — for one producer and key, a later send stored at a lower offset.
"""

from __future__ import annotations

from itertools import pairwise

import pandas as pd

from labsim.checks.base import CheckResult
from labsim.errors import ConfigError

__all__ = ["ANOMALIES", "check_log"]

ANOMALIES = (
    "lost",
    "duplicate-append",
    "duplicate-delivery",
    "non-monotonic",
    "skipped",
    "key-order",
)
_COLUMNS = ["anomaly", "topic", "partition", "offset", "key", "msg_id", "detail"]


def _need(frame: pd.DataFrame, name: str, columns: set[str]) -> None:
    missing = columns - set(frame.columns)
    if missing:
        raise ConfigError(
            name, sorted(frame.columns), f"a frame with columns {sorted(missing)}", "check_log"
        )


def check_log(
    log: pd.DataFrame,
    consumed: pd.DataFrame,
    acks: pd.DataFrame | None = None,
    sends: pd.DataFrame | None = None,
    *,
    allow: tuple[str, ...] = (),
    gaps_allowed: tuple[str, ...] = (),
) -> CheckResult:
    """Check a run's log, acknowledgements and consumption for anomalies.

    Args:
        log: Appends: topic, partition, offset, key, msg_id.
        consumed: Processed records: consumer, member, generation, topic, partition, offset.
        acks: Producer outcomes: msg_id, topic, partition, offset, outcome (for ``lost``).
        sends: Producer sends: producer, msg_id, topic, key (for ``key-order``).
        allow: Anomaly kinds that are listed but do not make the result invalid (e.g.
            ``("duplicate-delivery",)`` for at-least-once).
        gaps_allowed: Topics where offset gaps are expected (compaction, retention).
    """
    _need(log, "log", {"topic", "partition", "offset", "msg_id"})
    _need(consumed, "consumed", {"member", "generation", "topic", "partition", "offset"})
    for kind in allow:
        if kind not in ANOMALIES:
            raise ConfigError("allow", kind, f"anomaly kinds {ANOMALIES}", "check_log")
    rows: list[dict] = []
    tpo = ["topic", "partition", "offset"]
    consumed_keys = set(map(tuple, consumed[tpo].itertuples(index=False, name=None)))

    if acks is not None and len(acks):
        _need(acks, "acks", {"msg_id", "topic", "partition", "offset", "outcome"})
        ok = acks[acks["outcome"] == "ok"]
        consumed_msgs = set()
        if "msg_id" in consumed.columns:
            consumed_msgs = set(consumed["msg_id"])
        for r in ok.itertuples(index=False):
            if pd.isna(r.offset):
                seen = r.msg_id in consumed_msgs
            else:
                seen = (r.topic, r.partition, int(r.offset)) in consumed_keys
            if not seen:
                rows.append(
                    {
                        "anomaly": "lost",
                        "topic": r.topic,
                        "partition": r.partition,
                        "offset": r.offset,
                        "msg_id": r.msg_id,
                        "detail": "acknowledged, never consumed",
                    }
                )

    appended = log.dropna(subset=["msg_id"]).groupby("msg_id")["offset"].agg(list)
    for msg_id, offsets in appended.items():
        if len(offsets) > 1:
            first = log[log["msg_id"] == msg_id].iloc[0]
            rows.append(
                {
                    "anomaly": "duplicate-append",
                    "topic": first["topic"],
                    "partition": first["partition"],
                    "offset": offsets[1],
                    "msg_id": msg_id,
                    "detail": f"appended at offsets {offsets}",
                }
            )

    counts = consumed.groupby(tpo).size()
    for (topic, partition, offset), n in counts[counts > 1].items():
        rows.append(
            {
                "anomaly": "duplicate-delivery",
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "detail": f"processed {n} times",
            }
        )

    present = {}
    for (topic, partition), offs in log.groupby(["topic", "partition"])["offset"]:
        present[(topic, partition)] = set(offs)
    session = ["member", "generation", "topic", "partition"]
    for (member, generation, topic, partition), grp in consumed.groupby(session, sort=False):
        offsets = grp["offset"].tolist()
        stored = present.get((topic, partition), set())
        for prev, cur in pairwise(offsets):
            if cur <= prev:
                rows.append(
                    {
                        "anomaly": "non-monotonic",
                        "topic": topic,
                        "partition": partition,
                        "offset": cur,
                        "detail": f"{member} gen {generation}: {cur} after {prev}",
                    }
                )
            elif cur > prev + 1 and topic not in gaps_allowed:
                missing = [o for o in range(prev + 1, cur) if o in stored]
                if missing:
                    rows.append(
                        {
                            "anomaly": "skipped",
                            "topic": topic,
                            "partition": partition,
                            "offset": missing[0],
                            "detail": f"{member} gen {generation}: {prev} -> {cur}",
                        }
                    )

    if sends is not None and acks is not None and len(sends):
        _need(sends, "sends", {"producer", "msg_id", "topic", "key"})
        first_ack = acks.dropna(subset=["offset"]).drop_duplicates("msg_id")
        merged = (
            sends[["producer", "msg_id", "topic", "key"]]
            .dropna(subset=["key"])
            .merge(first_ack[["msg_id", "partition", "offset"]], on="msg_id", how="inner")
        )
        for (producer, topic, key), grp in merged.groupby(["producer", "topic", "key"], sort=False):
            offsets = grp["offset"].tolist()  # in send order
            best = -1
            for msg_id, off in zip(grp["msg_id"], offsets, strict=True):
                if off < best:
                    rows.append(
                        {
                            "anomaly": "key-order",
                            "topic": topic,
                            "partition": grp["partition"].iloc[0],
                            "offset": off,
                            "key": key,
                            "msg_id": msg_id,
                            "detail": f"{producer}: sent later, stored before offset {best}",
                        }
                    )
                best = max(best, off)

    anomalies = pd.DataFrame(rows, columns=_COLUMNS)
    kinds = anomalies["anomaly"].value_counts()
    valid = all(k in allow for k in kinds.index)
    summary = ", ".join(f"{kinds.get(k, 0)} {k}" for k in ANOMALIES)
    return CheckResult("log", valid, anomalies, f"{len(consumed)} processed; {summary}")
