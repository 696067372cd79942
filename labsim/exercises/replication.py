"""Exercise of lesson 09: write the merge of a grow-only counter."""

from __future__ import annotations

from collections.abc import Callable

from labsim.exercises.base import ExerciseResult, diagnose

__all__ = ["check_gcounter_merge"]

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
