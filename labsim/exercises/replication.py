"""Exercise of lesson 11: write the merge of a grow-only counter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labsim.exercises.base import ExerciseResult, diagnose

__all__ = ["check_gcounter_merge", "check_lww_winner"]

_CASES = [
    ({"a": 3}, {"a": 3}),
    ({"a": 3, "b": 1}, {"a": 1, "c": 2}),
    ({}, {"b": 4}),
    ({"a": 5}, {"a": 2, "b": 2}),
]


def _pointwise(a: dict, b: dict, pick: Callable[[int, int], int]) -> dict:
    return {k: pick(a.get(k, 0), b.get(k, 0)) for k in sorted(set(a) | set(b))}


def _normal(d: object) -> object:
    if isinstance(d, dict):
        return {k: v for k, v in d.items() if v}
    return d


def check_gcounter_merge(answer: Callable[[dict, dict], dict]) -> ExerciseResult:
    """Check ``answer(a, b)`` merging two G-counter states (replica -> count dicts)."""
    return diagnose(
        "G-counter merge",
        answer,
        [(dict(a), dict(b)) for a, b in _CASES],
        lambda a, b: _pointwise(a, b, max),
        [
            (
                lambda a, b: _pointwise(a, b, lambda x, y: x + y),
                "adding counts is not idempotent: merging the same state twice would double it. "
                "Each replica's count only grows, so keep the larger one",
            ),
            (
                lambda a, b: _pointwise(a, b, min),
                "min forgets increments one side has seen: keep the larger count per replica",
            ),
            (
                lambda a, b: {**a, **b},
                "letting one side overwrite the other loses increments: compare per replica",
            ),
            (lambda a, b: dict(b), "merging must keep what both sides know, not just one"),
        ],
        "merge replica by replica, keeping each replica's highest count",
        "pointwise maximum: commutative, associative and idempotent",
        equal=lambda x, y: _normal(x) == _normal(y),
    )


def check_lww_winner(answer: Callable[[list[tuple[Any, float, str]]], Any]) -> ExerciseResult:
    """``answer(writes)`` with writes ``(value, timestamp, replica)`` in *arrival* order: the
    value last-writer-wins keeps (greatest timestamp; ties broken by the greater replica id)."""
    cases = [
        ([("a", 1.0, "r1"), ("b", 2.0, "r2")],),
        ([("late", 5.0, "r1"), ("early", 3.0, "r2")],),
        ([("x", 4.0, "r1"), ("y", 4.0, "r3"), ("z", 4.0, "r2")],),
    ]
    return diagnose(
        "LWW winner",
        answer,
        cases,
        lambda writes: max(writes, key=lambda w: (w[1], w[2]))[0],
        [
            (
                lambda writes: writes[-1][0],
                "LWW keeps the greatest timestamp, not the write that arrived last",
            ),
            (
                lambda writes: max(writes, key=lambda w: w[1])[0],
                "equal timestamps need a deterministic tie-break (the replica id), or replicas "
                "disagree",
            ),
        ],
        "keep the write with the greatest (timestamp, replica)",
        "greatest timestamp wins; replica id breaks ties",
    )
