"""librdkafka's default partitioner, ``consistent_random``, beside the Java client's.

librdkafka (the C client under confluent-kafka for Python, Go, .NET, ...) does not hash keys
the way the Java client does. Its default ``partitioner=consistent_random`` takes the CRC-32 of
the key bytes modulo the partition count, and spreads records with a null *or empty* key at
random. The Java client (:func:`labsim.broker.kafka_partition`) uses murmur2. So one key can
land on different partitions depending on which client produced it — two services writing the
same topic with different clients break per-key ordering unless one of them is configured
with the other's partitioner (librdkafka offers ``murmur2_random``).

Python's :func:`zlib.crc32` is the same CRC-32 (IEEE 802.3, reflected, initial and final XOR
``0xFFFFFFFF``) as librdkafka's ``rd_crc32``: ``crc32(b"123456789") == 0xCBF43926``.
"""

from __future__ import annotations

import random
import zlib

from labsim.errors import ConfigError, check_int
from labsim.kafka.partitioner import kafka_partition, key_bytes

__all__ = ["compare_clients", "consistent_partition", "crc32"]


def crc32(data: bytes) -> int:
    """The unsigned 32-bit CRC-32 of ``data`` (librdkafka's ``rd_crc32``)."""
    return zlib.crc32(data) & 0xFFFFFFFF


def consistent_partition(
    key: bytes | str | None, num_partitions: int, rng: random.Random | None = None
) -> int:
    """The partition librdkafka's default ``consistent_random`` partitioner picks.

    Args:
        key: The record key: bytes, or a str (hashed as UTF-8). ``None`` or empty: random.
        num_partitions: Partitions of the topic.
        rng: The random stream used for a null or empty key (e.g. ``world.rng("producer")``).

    Returns:
        ``crc32(key) % num_partitions`` for a non-empty key, else a random partition.

    Raises:
        ConfigError: for a bad partition count, a key of another type, or a null/empty key
            without ``rng``.
    """
    check_int("num_partitions", num_partitions, 1, "consistent_partition")
    data = b"" if key is None else key_bytes(key)
    if not data:
        if rng is None:
            raise ConfigError(
                "rng", rng, "a random stream for a null or empty key", "consistent_partition"
            )
        return rng.randrange(num_partitions)
    return crc32(data) % num_partitions


def compare_clients(keys: list[str], num_partitions: int) -> list[tuple[str, int, int]]:
    """``(key, Java client's partition, librdkafka's partition)`` for each key."""
    return [
        (k, kafka_partition(k, num_partitions), consistent_partition(k, num_partitions))
        for k in keys
    ]
