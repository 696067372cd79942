"""Exercises of lessons 03 and 04: a backoff schedule, and counting reordered arrivals."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

from labsim.exercises.base import ExerciseResult, add_quiz, diagnose

__all__ = ["check_backoff", "check_reordered_count"]


def check_backoff(answer: Callable[[int, float, float], float]) -> ExerciseResult:
    """Check ``answer(attempt, base, cap)``: exponential backoff without jitter.

    The delay after failed attempt number ``attempt`` (1 for the first failure) is
    ``min(cap, base * 2 ** (attempt - 1))``.
    """
    cases = [(1, 0.1, 10.0), (2, 0.1, 10.0), (4, 0.1, 10.0), (10, 0.1, 10.0), (3, 1.0, 3.0)]
    return diagnose(
        "exponential backoff",
        answer,
        cases,
        lambda a, b, c: min(c, b * 2 ** (a - 1)),
        [
            (
                lambda a, b, c: min(c, b * 2**a),
                "off by one: the first retry waits the base delay itself (2 ** 0 = 1)",
            ),
            (
                lambda a, b, c: b * 2 ** (a - 1),
                "without the cap, the tenth retry would wait 51 s: take min(cap, ...)",
            ),
            (lambda a, b, c: b * a, "that grows linearly; exponential backoff doubles each time"),
            (lambda a, b, c: b, "that is a fixed delay; exponential backoff doubles each time"),
        ],
        "delay = min(cap, base * 2 ** (attempt - 1))",
        "doubles from the base delay and stops at the cap",
        equal=lambda x, y: isinstance(x, (int, float)) and math.isclose(x, y, rel_tol=1e-9),
    )


def _reordered(seqs: Sequence[int]) -> int:
    highest = None
    count = 0
    for s in seqs:
        if highest is not None and s < highest:
            count += 1
        highest = s if highest is None else max(highest, s)
    return count


def check_reordered_count(answer: Callable[[list[int]], int]) -> ExerciseResult:
    """Check ``answer(seqs)``: arrivals with a lower sequence number than one seen before."""
    cases = [([1, 2, 3],), ([1, 3, 2],), ([3, 1, 2],), ([1, 2, 2, 3],), ([5, 1, 2, 3, 4, 6],)]
    return diagnose(
        "reordered arrivals",
        answer,
        cases,
        _reordered,
        [
            (
                lambda seqs: sum(b < a for a, b in itertools.pairwise(seqs)),
                "comparing only with the previous arrival misses messages overtaken by several: "
                "compare with the highest seen so far",
            ),
            (
                lambda seqs: sum(b <= a for a, b in itertools.pairwise(seqs)),
                "a repeated number is a duplicate, not a reordering: use <, against the highest",
            ),
            (lambda seqs: len(seqs) - len(set(seqs)), "that counts duplicates, not reorderings"),
        ],
        "walk the arrivals keeping the highest number seen; count those below it",
        "counts arrivals that came after a later-sent message",
    )


add_quiz(
    "semantics",
    {
        "a worker crashes after charging the card, before acking": (
            "at-least-once+inbox",
            {
                "at-least-once": "the broker redelivers and the card is charged again",
                "at-most-once": "at-most-once never charges twice but loses other orders",
            },
        ),
        "the producer's publish is lost on the network": (
            "at-least-once",
            {"at-most-once": "fire-and-forget never learns the publish was lost"},
        ),
        "a worker crashes in the middle of processing, before charging": (
            "at-least-once",
            {"at-most-once": "the message was acked on delivery: it is gone"},
        ),
    },
)
add_quiz(
    "checkers",
    {
        "a message never arrives": (
            "check_delivery",
            {"check_order": "ordering is fine; the message is missing"},
        ),
        "a message arrives twice": (
            "check_delivery",
            {"check_order": "a repeat is not a reordering"},
        ),
        "a later message arrives first": (
            "check_order",
            {"check_delivery": "every message arrived once; the order is wrong"},
        ),
    },
)
