"""Choosing a partition for a record, as the Java Kafka client does.

Keyed records go to ``murmur2(key) & 0x7fffffff % num_partitions`` — so records with one key
always land in one partition (and keep their order there), until the partition count changes.
Records without a key are spread either round-robin or in *sticky batches* (KIP-480): the
producer sticks to one partition until a batch is complete, then picks another at random,
which fills batches faster than strict round-robin.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from labsim.errors import ConfigError, check_int

__all__ = [
    "Partitioner",
    "RoundRobinPartitioner",
    "StickyPartitioner",
    "kafka_partition",
    "key_bytes",
    "murmur2",
]

#: Most string keys whose partition a :class:`Partitioner` remembers (then it starts over).
_KEY_CACHE = 65_536

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def key_bytes(key: bytes | str) -> bytes:
    """The bytes Kafka hashes: UTF-8 for a str (the StringSerializer), as-is for bytes."""
    if isinstance(key, bytes | bytearray):
        return bytes(key)
    if isinstance(key, str):
        return key.encode("utf-8")
    raise ConfigError("key", key, "bytes or str (serialise other keys first)", "kafka_partition")


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit murmur2 hash (``org.apache.kafka.common.utils.Utils.murmur2``).

    Returns the signed 32-bit value Java computes, e.g. ``murmur2(b"21") == -973932308``.
    """
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    n4 = length // 4
    for i in range(n4):
        i4 = i * 4
        k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    rest = length % 4
    tail = length & ~3
    # Java's switch falls through: case 3 does all three steps, case 2 the last two, ...
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def kafka_partition(key: bytes | str, num_partitions: int) -> int:
    """The partition the Java Kafka client's default partitioner picks for a keyed record.

    ``toPositive(murmur2(key bytes)) % num_partitions``, with ``toPositive(n) = n & 0x7fffffff``.
    """
    check_int("num_partitions", num_partitions, 1, "kafka_partition")
    return (murmur2(key_bytes(key)) & 0x7FFFFFFF) % num_partitions


class Partitioner:
    """Picks a partition per record: keyed records by :func:`kafka_partition`, others by policy.

    Args:
        null_key: ``"sticky"`` (KIP-480, default) or ``"round-robin"`` for records without a key.
        rng: Random stream for the sticky choice.
        batch_size: Records per sticky batch before switching partition.
        custom: Optional ``custom(key, value, num_partitions) -> int`` overriding everything.
    """

    def __init__(
        self,
        null_key: str = "sticky",
        rng: random.Random | None = None,
        batch_size: int = 16,
        custom: Callable[[Any, Any, int], int] | None = None,
    ):
        if null_key not in ("sticky", "round-robin"):
            raise ConfigError("null_key", null_key, "'sticky' or 'round-robin'", "Partitioner")
        self.null_key = null_key
        self.rng = rng or random.Random(0)
        self.batch_size = check_int("batch_size", batch_size, 1, "Partitioner")
        self.custom = custom
        self._next: dict[str, int] = {}
        self._sticky: dict[str, tuple[int, int]] = {}  # topic -> (partition, records in batch)
        self._keyed: dict[tuple[str, int], int] = {}  # (key, partitions) -> partition

    def partition(self, topic: str, key: Any, value: Any, num_partitions: int) -> int:
        """Return the partition for one record of ``topic``."""
        if self.custom is not None:
            p = self.custom(key, value, num_partitions)
            if not isinstance(p, int) or not 0 <= p < num_partitions:
                raise ConfigError(
                    "custom partitioner result", p, f"an int in [0, {num_partitions - 1}]", topic
                )
            return p
        if key is not None:
            if type(key) is not str:
                return kafka_partition(key, num_partitions)
            # Hashing is pure Python: remember the partition of recent string keys.
            cached = self._keyed.get((key, num_partitions))
            if cached is None:
                if len(self._keyed) >= _KEY_CACHE:
                    self._keyed.clear()
                cached = self._keyed[(key, num_partitions)] = kafka_partition(key, num_partitions)
            return cached
        if self.null_key == "round-robin":
            p = self._next.get(topic, 0) % num_partitions
            self._next[topic] = p + 1
            return p
        current, count = self._sticky.get(topic, (-1, self.batch_size))
        if count >= self.batch_size or current >= num_partitions:
            # Batch complete: switch to a different partition chosen at random.
            choices = [p for p in range(num_partitions) if p != current] or [0]
            current, count = self.rng.choice(choices), 0
        self._sticky[topic] = (current, count + 1)
        return current


class RoundRobinPartitioner(Partitioner):
    """A :class:`Partitioner` spreading key-less records round-robin."""

    def __init__(self, **kwargs: Any):
        super().__init__(null_key="round-robin", **kwargs)


class StickyPartitioner(Partitioner):
    """A :class:`Partitioner` spreading key-less records in sticky batches (KIP-480)."""

    def __init__(self, **kwargs: Any):
        super().__init__(null_key="sticky", **kwargs)
