"""Exercises of lessons 01, 02 and 10: partitioning, idle consumers, sizing a consumer pool."""

from __future__ import annotations

import math
from collections.abc import Callable

from labsim.exercises.base import ExerciseResult, diagnose
from labsim.kafka.partitioner import kafka_partition, murmur2

__all__ = ["check_consumers_needed", "check_idle_consumers", "check_partition_function"]


_KEYS = ["21", "foobar", "abc", "customer-1", "customer-42", "order-7", "héllo", "x"]


def check_partition_function(answer: Callable[[str, int], int]) -> ExerciseResult:
    """Check ``answer(key, num_partitions)`` against the Java client's keyed partitioner."""
    cases = [(k, n) for k in _KEYS for n in (3, 6, 10)]
    return diagnose(
        "keyed partitioner",
        answer,
        cases,
        kafka_partition,
        [
            (
                lambda k, n: abs(murmur2(k.encode())) % n,
                "Kafka clears the sign bit (h & 0x7fffffff) instead of taking abs()",
            ),
            (
                lambda k, n: murmur2(k.encode()) % n,
                "Python's % of a negative hash differs from Kafka's: mask first "
                "(h & 0x7fffffff), then take % n",
            ),
            (
                lambda k, n: hash(k) % n,
                "Python's hash() is salted per process; Kafka uses murmur2 of the UTF-8 bytes",
            ),
        ],
        "use murmur2(key.encode('utf-8')), mask with 0x7fffffff, then % n",
        f"matches Kafka on {len(cases)} key/partition pairs",
    )


def check_idle_consumers(answer: Callable[[int, int], int]) -> ExerciseResult:
    """Check ``answer(partitions, consumers)``: members of a group left without a partition."""
    return diagnose(
        "idle consumers",
        answer,
        [(6, 3), (6, 6), (6, 8), (1, 4), (12, 5)],
        lambda p, c: max(0, c - p),
        [
            (
                lambda p, c: c - p,
                "with more partitions than consumers nobody is idle (the answer is not negative)",
            ),
            (
                lambda p, c: max(0, p - c),
                "swap them: idle members appear when consumers outnumber partitions",
            ),
            (lambda p, c: c % p, "a partition goes to one member only: extra members get nothing"),
        ],
        "each partition is read by exactly one member of the group",
        "right for fewer, equal and more consumers than partitions",
    )


def check_consumers_needed(answer: Callable[[float, float, float], int]) -> ExerciseResult:
    """Check ``answer(arrival_rate, service_rate, max_utilisation)``: the smallest pool size."""
    return diagnose(
        "consumers needed",
        answer,
        [(8.0, 1.0, 0.8), (10.0, 2.0, 0.5), (3.0, 1.0, 0.9), (100.0, 7.0, 0.7), (5.0, 2.0, 0.6)],
        lambda lam, mu, t: math.ceil(lam / (t * mu) - 1e-9),
        [
            (
                lambda lam, mu, t: math.ceil(lam / mu - 1e-9),
                "that keeps utilisation under 1, not under the target: divide by the target too",
            ),
            (
                lambda lam, mu, t: math.floor(lam / (t * mu) + 1e-9),
                "round up: a fraction of a consumer is still a whole consumer",
            ),
            (
                lambda lam, mu, t: lam / (t * mu),
                "the answer is a whole number of consumers: round up",
            ),
        ],
        "utilisation is rho = lambda / (c * mu); solve rho <= target for c",
        "the smallest c with lambda / (c mu) <= target, every time",
    )
