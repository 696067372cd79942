"""Exercises of lessons 01, 02 and 12: partitioning, idle consumers, sizing a consumer pool."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from labsim.exercises.base import ExerciseResult, diagnose
from labsim.kafka.partitioner import kafka_partition, murmur2

__all__ = [
    "check_idle_consumers",
    "check_moved_partitions",
    "check_partition_function",
    "check_pubsub_counts",
]


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


def check_pubsub_counts(answer: Callable[[int, int, str], int]) -> ExerciseResult:
    """``answer(messages, consumers, setup)``: records received in total by all consumers,
    ``setup`` being ``"one group"`` or ``"group per consumer"``."""
    return diagnose(
        "queue versus pub/sub",
        answer,
        [
            (100, 3, "one group"),
            (100, 3, "group per consumer"),
            (50, 1, "one group"),
            (40, 4, "group per consumer"),
        ],
        lambda m, c, s: m if s == "one group" else m * c,
        [
            (
                lambda m, c, s: m * c if s == "one group" else m,
                "swapped: within one group each record goes to one member",
            ),
            (lambda m, c, s: m, "every group receives every record: multiply by the groups"),
            (lambda m, c, s: m // c, "the question is the total over all consumers"),
        ],
        "a group shares the records; separate groups each get all of them",
        "one group shares, one group per consumer copies",
    )


def check_moved_partitions(
    answer: Callable[[Mapping[str, list], Mapping[str, list]], int],
) -> ExerciseResult:
    """``answer(before, after)``: partitions whose owner changed (new ones excluded)."""

    def owners(a: Mapping[str, list]) -> dict[Any, str]:
        return {tuple(tp): m for m, tps in a.items() for tp in tps}

    def right(before: Mapping[str, list], after: Mapping[str, list]) -> int:
        b = owners(before)
        return sum(1 for tp, m in owners(after).items() if tp in b and b[tp] != m)

    cases = [
        (
            {"a": [("t", 0), ("t", 1)], "b": [("t", 2)]},
            {"a": [("t", 0)], "b": [("t", 1), ("t", 2)]},
        ),
        ({"a": [("t", 0)], "b": [("t", 1)]}, {"a": [("t", 0), ("t", 1)]}),
        ({"a": [("t", 0), ("t", 1)]}, {"a": [("t", 0)], "b": [("t", 1)], "c": [("t", 2)]}),
    ]
    return diagnose(
        "moved partitions",
        answer,
        cases,
        right,
        [
            (
                lambda b, a: sum(1 for tp, m in owners(a).items() if owners(b).get(tp) != m),
                "a partition that did not exist before has not moved: leave new ones out",
            ),
            (lambda b, a: abs(len(a) - len(b)), "count partitions, not members"),
        ],
        "compare the owner of each partition before and after",
        "counts only partitions that changed owner",
    )
