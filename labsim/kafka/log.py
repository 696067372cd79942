"""Append-only partition logs with offsets, retention and compaction.

A :class:`Topic` has ``partitions`` :class:`PartitionLog` objects. Each record gets the next
offset of its partition; offsets never change. Retention deletes whole records from the head
(by age or by count), which raises the *log start offset*. Compaction keeps only the latest
record per key (offsets keep their gaps) and, after ``delete_retention``, drops tombstones
(records whose value is ``None``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labsim.errors import ConfigError, check_int, check_positive

__all__ = ["PartitionLog", "Record", "Topic", "TopicConfig"]


class Record:
    """One record in a partition log."""

    __slots__ = ("key", "msg_id", "offset", "producer", "timestamp", "value")

    def __init__(
        self,
        offset: int,
        key: Any,
        value: Any,
        timestamp: float,
        msg_id: Any = None,
        producer: Any = None,
    ):
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.msg_id = msg_id
        self.producer = producer

    def __repr__(self) -> str:
        return f"Record(offset={self.offset}, key={self.key!r}, value={self.value!r})"


@dataclass(frozen=True)
class TopicConfig:
    """Settings of a topic.

    Attributes:
        partitions: Number of partitions (>= 1).
        retention_time: Delete records older than this many seconds (``None``: keep).
        retention_records: Keep at most this many records per partition (``None``: no limit).
        compacted: Keep only the latest record per key (``cleanup.policy=compact``).
        delete_retention: How long a tombstone survives compaction (seconds).
    """

    partitions: int = 1
    retention_time: float | None = None
    retention_records: int | None = None
    compacted: bool = False
    delete_retention: float = 1.0

    def __post_init__(self) -> None:
        check_int("partitions", self.partitions, 1, "topic")
        if self.retention_time is not None:
            check_positive("retention_time", self.retention_time, "topic")
        if self.retention_records is not None:
            check_int("retention_records", self.retention_records, 1, "topic")
        if self.delete_retention < 0:
            raise ConfigError("delete_retention", self.delete_retention, "a number >= 0", "topic")


class PartitionLog:
    """One partition: records in offset order, a start offset and an end offset."""

    __slots__ = ("_offsets", "end_offset", "records", "start_offset")

    def __init__(self) -> None:
        self.records: list[Record] = []
        self._offsets: list[int] = []  # parallel to records, for bisect after compaction
        self.start_offset = 0
        self.end_offset = 0  # the offset the next record will get ("log end offset")

    def __len__(self) -> int:
        return len(self.records)

    def append(
        self, key: Any, value: Any, timestamp: float, msg_id: Any = None, producer: Any = None
    ) -> int:
        """Append a record and return its offset."""
        offset = self.end_offset
        self.records.append(Record(offset, key, value, timestamp, msg_id, producer))
        self._offsets.append(offset)
        self.end_offset = offset + 1
        return offset

    def read(self, offset: int, max_records: int) -> list[Record]:
        """Records with offset >= ``offset``, at most ``max_records`` of them."""
        i = bisect_left(self._offsets, offset)
        return self.records[i : i + max_records]

    def _keep(self, keep: list[Record]) -> int:
        removed = len(self.records) - len(keep)
        self.records = keep
        self._offsets = [r.offset for r in keep]
        return removed

    def truncate_head(self, before_offset: int) -> int:
        """Delete records with offset < ``before_offset``; returns how many were deleted."""
        i = bisect_left(self._offsets, before_offset)
        if i == 0:
            return 0
        self.start_offset = max(self.start_offset, before_offset)
        return self._keep(self.records[i:])

    def compact(self, now: float, delete_retention: float) -> int:
        """Keep the latest record per key; drop tombstones older than ``delete_retention``.

        Records without a key are kept. Returns how many records were removed.
        """
        latest: dict[Any, int] = {}
        for r in self.records:
            if r.key is not None:
                latest[r.key] = r.offset
        keep = [
            r
            for r in self.records
            if r.key is None
            or (
                latest[r.key] == r.offset
                and not (r.value is None and now - r.timestamp >= delete_retention)
            )
        ]
        return self._keep(keep)


class Topic:
    """A named topic: a config and its partition logs."""

    def __init__(self, name: str, config: TopicConfig, on_grow: Callable[[], Any] | None = None):
        if not isinstance(name, str) or not name:
            raise ConfigError("topic", name, "a non-empty topic name")
        self.name = name
        self.config = config
        self.partitions = [PartitionLog() for _ in range(config.partitions)]
        # Called after partitions are added (the broker's lag sampler samples them from then).
        self._on_grow = on_grow

    def __repr__(self) -> str:
        return f"Topic({self.name!r}, partitions={len(self.partitions)})"

    def add_partitions(self, count: int) -> None:
        """Grow the topic to ``count`` partitions (Kafka never shrinks a topic)."""
        if not isinstance(count, int) or count <= len(self.partitions):
            raise ConfigError(
                "partitions",
                count,
                f"an int > the current {len(self.partitions)} (topics only grow)",
                self.name,
            )
        self.partitions.extend(PartitionLog() for _ in range(count - len(self.partitions)))
        self.config = TopicConfig(**{**self.config.__dict__, "partitions": count})
        if self._on_grow is not None:
            self._on_grow()

    def apply_retention(self, now: float) -> int:
        """Apply retention and compaction at time ``now``; returns records removed."""
        removed = 0
        cfg = self.config
        for log in self.partitions:
            if cfg.retention_time is not None:
                cutoff = now - cfg.retention_time
                old = 0
                for r in log.records:
                    if r.timestamp >= cutoff:
                        break
                    old += 1
                if old:
                    removed += log.truncate_head(log.records[old - 1].offset + 1)
            if cfg.retention_records is not None and len(log) > cfg.retention_records:
                first_kept = log.records[len(log) - cfg.retention_records].offset
                removed += log.truncate_head(first_kept)
            if cfg.compacted:
                removed += log.compact(now, cfg.delete_retention)
        return removed
