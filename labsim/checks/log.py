"""Log checker, in the spirit of Jepsen's and Maelstrom's Kafka workloads.

A run of the Kafka-style model becomes a Jepsen history (:func:`kafka_history`): each record
sent is a ``send`` operation of its producer (invoked when sent, ``ok`` with its partition and
offset when acknowledged, ``info`` when the producer gave up: it may be in the log or not),
and each record a consumer processed is a ``poll`` operation of that group member (its
``process``: a restarted consumer is a new member). :func:`check_kafka` reads such a history
(however it was made) and reports, with Jepsen's names:

* ``lost-write`` — acknowledged, never polled by anyone;
* ``duplicate`` — one value (message id) stored at two offsets (a producer retry without
  idempotence);
* ``inconsistent-offsets`` — one offset of a partition seen holding two different values;
* ``poll-skip`` — a member's successive polls of a partition, in one generation (no rebalance
  between them), jump over offsets known to exist;
* ``nonmonotonic-poll`` — a member's successive polls of a partition, in one generation, go
  back to an offset at or below one already polled;
* ``nonmonotonic-send`` — a producer's later send to a partition stored at a lower offset than
  an earlier one (retries reordering a partition);

and one of the lab's own:

* ``duplicate-delivery`` — one offset processed more than once by the same group (what
  at-least-once costs after a rebalance).

:func:`check_log` runs both steps on the recorded frames, adding the broker's own ``log`` as
knowledge of which offsets exist and what they hold.
"""

from __future__ import annotations

from itertools import pairwise

import pandas as pd

from labsim.checks.base import CheckResult
from labsim.errors import ConfigError
from labsim.history import as_history, pair

__all__ = ["ANOMALIES", "KAFKA_FIELDS", "check_kafka", "check_log", "kafka_history"]

ANOMALIES = (
    "lost-write",
    "duplicate",
    "inconsistent-offsets",
    "poll-skip",
    "nonmonotonic-poll",
    "nonmonotonic-send",
    "duplicate-delivery",
)
#: Value fields of a Kafka history, after the operation columns.
KAFKA_FIELDS = ("group", "generation", "topic", "partition", "offset", "key", "msg_id")
_COLUMNS = ["anomaly", "process", "topic", "partition", "offset", "key", "msg_id", "detail"]
_TPO = ["topic", "partition", "offset"]


def _need(frame: pd.DataFrame, name: str, columns: set[str], checker: str) -> None:
    missing = columns - set(frame.columns)
    if missing:
        raise ConfigError(
            name, sorted(frame.columns), f"a frame with columns {sorted(missing)}", checker
        )


def _ops(frame: pd.DataFrame, process: str, type_: object, f: str) -> pd.DataFrame:
    """Operation rows from a recorded frame: its fields, and the operation columns."""
    fields = [c for c in KAFKA_FIELDS if c in frame.columns]
    ops = frame[fields].assign(
        time=frame["time"] if "time" in frame.columns else float("nan"),
        process=frame[process] if process in frame.columns else None,
        type=type_,
        f=f,
    )
    return ops.reindex(columns=["time", "process", "type", "f", *KAFKA_FIELDS])


def kafka_history(
    consumed: pd.DataFrame, acks: pd.DataFrame | None = None, sends: pd.DataFrame | None = None
) -> pd.DataFrame:
    """A run's Kafka tables as one Jepsen history of ``send`` and ``poll`` operations.

    Args:
        consumed: Processed records: member, generation, topic, partition, offset (and time,
            group, key, msg_id when recorded).
        acks: Producer outcomes: msg_id, topic, partition, offset, outcome (``ok`` sends).
        sends: Producer sends: producer, msg_id, topic, key (send invocations, in order).

    Returns:
        A history (:data:`labsim.history.OP_COLUMNS`, then :data:`KAFKA_FIELDS`).
    """
    columns = {"member", "generation", "topic", "partition", "offset"}
    _need(consumed, "consumed", columns, "kafka_history")
    parts = []
    if sends is not None:
        _need(sends, "sends", {"producer", "msg_id", "topic", "key"}, "kafka_history")
        parts.append(_ops(sends, "producer", "invoke", "send"))
    if acks is not None:
        _need(acks, "acks", {"msg_id", "topic", "partition", "offset", "outcome"}, "kafka_history")
        # A send the producer gave up on may be in the log or not: its outcome is unknown.
        outcome = acks["outcome"].where(acks["outcome"] == "ok", "info")
        parts.append(_ops(acks, "producer", outcome, "send"))
    # A processed record is a poll that returned it (invoked and completed at once).
    parts.append(_ops(consumed, "member", "invoke", "poll").drop(columns=list(KAFKA_FIELDS)))
    parts.append(_ops(consumed, "member", "ok", "poll"))
    filled = [p for p in parts if len(p)]
    rows = pd.concat(filled, ignore_index=True) if filled else parts[-1]
    return as_history(_whole(rows))


def _whole(history: pd.DataFrame) -> pd.DataFrame:
    # Whole numbers stay whole where a row has none (an invocation, a send not yet stored).
    return history.astype(dict.fromkeys(("generation", "partition", "offset"), "Int64"))


def _row(anomaly: str, detail: str, **where: object) -> dict[str, object]:
    return {"anomaly": anomaly, "detail": detail, **where}


def _observations(
    acked: pd.DataFrame, polls: pd.DataFrame, log: pd.DataFrame | None
) -> pd.DataFrame:
    """Every (topic, partition, offset, msg_id) anyone saw: acknowledgements, polls, the log."""
    seen = [acked.dropna(subset=["offset"])[[*_TPO, "msg_id"]], polls[[*_TPO, "msg_id"]]]
    if log is not None:
        seen.append(log[[*_TPO, "msg_id"]])
    frame = pd.concat(seen, ignore_index=True).dropna(subset=["offset"])
    return frame.astype({"offset": "int64"}).drop_duplicates(ignore_index=True)


def _columns(frame: pd.DataFrame, *names: str) -> zip:
    """The rows of some columns as tuples of Python values (far faster than ``itertuples``
    over nullable integer columns)."""
    return zip(*(frame[name].tolist() for name in names), strict=True)


def _lost_writes(acked: pd.DataFrame, polls: pd.DataFrame) -> list[dict[str, object]]:
    polled = set(_columns(polls, *_TPO))
    polled_msgs = set(polls["msg_id"].dropna())
    rows = []
    for process, topic, partition, offset, msg_id in _columns(
        acked, "process", "topic", "partition", "offset", "msg_id"
    ):
        if pd.isna(offset):  # acknowledged as already stored: look for the message itself
            seen = msg_id in polled_msgs
        else:
            seen = (topic, partition, int(offset)) in polled
        if not seen:
            rows.append(
                _row(
                    "lost-write",
                    "acknowledged, never polled",
                    process=process,
                    topic=topic,
                    partition=partition,
                    offset=offset,
                    msg_id=msg_id,
                )
            )
    return rows


def _value_anomalies(seen: pd.DataFrame) -> list[dict[str, object]]:
    rows = []
    values = seen.dropna(subset=["msg_id"])
    twice = values[values.duplicated("msg_id", keep=False)]
    for msg_id, where in twice.groupby("msg_id", sort=True):
        first = where.iloc[0]
        offsets = sorted(where["offset"])
        rows.append(
            _row(
                "duplicate",
                f"stored at offsets {offsets}",
                topic=first["topic"],
                partition=first["partition"],
                offset=offsets[1],
                msg_id=msg_id,
            )
        )
    mixed = values[values.duplicated(_TPO, keep=False)]
    for (topic, partition, offset), what in mixed.groupby(_TPO, sort=True):
        detail = f"holds {sorted(what['msg_id'])}"
        rows.append(
            _row("inconsistent-offsets", detail, topic=topic, partition=partition, offset=offset)
        )
    return rows


def _poll_anomalies(
    polls: pd.DataFrame, known: dict[tuple[str, int], set[int]], gaps_allowed: tuple[str, ...]
) -> list[dict[str, object]]:
    rows = []
    session = ["process", "generation", "topic", "partition"]
    for (process, generation, topic, partition), grp in polls.groupby(
        session, sort=False, dropna=False
    ):
        stored = known.get((topic, partition), set())
        where = {"process": process, "topic": topic, "partition": partition}
        for prev, cur in pairwise(grp["offset"].tolist()):
            if cur <= prev:
                detail = f"gen {generation}: {cur} after {prev}"
                rows.append(_row("nonmonotonic-poll", detail, offset=cur, **where))
            elif cur > prev + 1 and topic not in gaps_allowed:
                missing = [o for o in range(prev + 1, cur) if o in stored]
                if missing:
                    detail = f"gen {generation}: {prev} -> {cur}"
                    rows.append(_row("poll-skip", detail, offset=missing[0], **where))
    return rows


def _redeliveries(polls: pd.DataFrame) -> list[dict[str, object]]:
    counts = polls.groupby(["group", *_TPO], dropna=False).size()
    return [
        _row("duplicate-delivery", f"processed {n} times", topic=t, partition=p, offset=o)
        for (_, t, p, o), n in counts[counts > 1].items()
    ]


def _nonmonotonic_sends(history: pd.DataFrame) -> list[dict[str, object]]:
    # A producer has many sends in flight: its operations are told apart by message id.
    sends = pair(history[history["f"] == "send"], by=("msg_id",))
    stored = sends[(sends["type"] == "ok") & sends["offset"].notna() & sends["index"].notna()]
    rows = []
    for (process, topic, partition), grp in stored.groupby(
        ["process", "topic", "partition"], sort=False
    ):
        best = -1
        for offset, key, msg_id in _columns(grp, "offset", "key", "msg_id"):  # in send order
            if offset < best:
                detail = f"sent later, stored before offset {int(best)}"
                where = {"topic": topic, "partition": partition, "key": key}
                where |= {"process": process, "offset": offset, "msg_id": msg_id}
                rows.append(_row("nonmonotonic-send", detail, **where))
            best = max(best, offset)
    return rows


def check_kafka(
    history: pd.DataFrame,
    log: pd.DataFrame | None = None,
    *,
    allow: tuple[str, ...] = (),
    gaps_allowed: tuple[str, ...] = (),
) -> CheckResult:
    """Check a Kafka history (``send`` and ``poll`` operations) for Jepsen's anomalies.

    Args:
        history: A history with the fields :data:`KAFKA_FIELDS` (see :func:`kafka_history`).
        log: The broker's appends (topic, partition, offset, msg_id), when known: offsets and
            values nobody acknowledged or polled.
        allow: Anomaly kinds that are listed but do not make the result invalid (e.g.
            ``("duplicate-delivery",)`` for at-least-once).
        gaps_allowed: Topics where offset gaps are expected (compaction, retention).
    """
    _need(history, "history", {"type", "f", "process", *KAFKA_FIELDS}, "check_kafka")
    if log is not None:
        _need(log, "log", {"topic", "partition", "offset", "msg_id"}, "check_kafka")
    for kind in allow:
        if kind not in ANOMALIES:
            raise ConfigError("allow", kind, f"anomaly kinds {ANOMALIES}", "check_kafka")
    history = _whole(history)
    ok = history[history["type"] == "ok"]
    acked = ok[ok["f"] == "send"]
    polls = ok[ok["f"] == "poll"]
    seen = _observations(acked, polls, log)
    known = {tp: set(g) for tp, g in seen.groupby(["topic", "partition"])["offset"]}
    rows = [
        *_lost_writes(acked, polls),
        *_value_anomalies(seen),
        *_poll_anomalies(polls, known, gaps_allowed),
        *_nonmonotonic_sends(history),
        *_redeliveries(polls),
    ]
    anomalies = pd.DataFrame(rows, columns=_COLUMNS)
    kinds = anomalies["anomaly"].value_counts()
    valid = all(k in allow for k in kinds.index)
    summary = ", ".join(f"{kinds.get(k, 0)} {k}" for k in ANOMALIES)
    return CheckResult("kafka", valid, anomalies, f"{len(polls)} processed; {summary}")


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

    :func:`kafka_history` of the client tables, checked by :func:`check_kafka` with the
    broker's ``log``.

    Args:
        log: Appends: topic, partition, offset, key, msg_id.
        consumed: Processed records: member, generation, topic, partition, offset.
        acks: Producer outcomes: msg_id, topic, partition, offset, outcome (for
            ``lost-write``).
        sends: Producer sends: producer, msg_id, topic, key (for ``nonmonotonic-send``).
        allow: Anomaly kinds listed without making the result invalid.
        gaps_allowed: Topics where offset gaps are expected (compaction, retention).
    """
    _need(log, "log", {"topic", "partition", "offset", "msg_id"}, "check_log")
    history = kafka_history(consumed, acks, sends)
    result = check_kafka(history, log, allow=allow, gaps_allowed=gaps_allowed)
    return CheckResult("log", result.valid, result.anomalies, result.summary)
