"""Exercises of lessons 09 and 10: what to compensate, and zombies versus ghosts."""

from __future__ import annotations

from collections.abc import Callable

from labsim.exercises.base import ExerciseResult, add_quiz, diagnose
from labsim.sagas.definition import Step

__all__ = ["check_compensation_plan", "check_zombies_and_ghosts"]

_STEPS = [
    Step("create_order", "order", "create", "cancel"),
    Step("reserve_stock", "inventory", "reserve", "release"),
    Step("reserve_seat", "booking", "hold", "free"),
    Step("charge_payment", "payment", "charge", kind="pivot"),
    Step("schedule_shipping", "shipping", "schedule", kind="retriable"),
]


def _plan(steps: list[Step], failed: int) -> list[str]:
    return [s.compensation for s in reversed(steps[:failed]) if s.compensation]


def check_compensation_plan(answer: Callable[[list[Step], int], list[str]]) -> ExerciseResult:
    """Check ``answer(steps, failed_index)``: compensating commands to run, in order."""
    cases = [(list(_STEPS), i) for i in (0, 1, 2, 3)]
    return diagnose(
        "compensation plan",
        answer,
        cases,
        _plan,
        [
            (
                lambda steps, f: [s.compensation for s in steps[:f] if s.compensation],
                "compensate in reverse order: undo the most recent step first",
            ),
            (
                lambda steps, f: [
                    s.compensation for s in reversed(steps[: f + 1]) if s.compensation
                ],
                "the failed step did not happen: only the steps before it need undoing",
            ),
            (
                lambda steps, f: [s.compensation for s in reversed(steps) if s.compensation],
                "only completed steps (those before the failure) are compensated",
            ),
        ],
        "walk back from the step before the failure to the first, running each compensation",
        "reverse order, completed compensatable steps only",
        equal=lambda a, b: list(a) == list(b) if isinstance(a, (list, tuple)) else False,
    )


def check_zombies_and_ghosts(
    answer: Callable[[set[str], set[str]], tuple[set[str], set[str]]],
) -> ExerciseResult:
    """Check ``answer(committed, published) -> (zombies, ghosts)``."""
    cases = [
        ({"o1", "o2", "o3"}, {"o1", "o2", "o3"}),
        ({"o1", "o2", "o3"}, {"o1", "o3"}),
        ({"o1"}, {"o1", "o9"}),
        ({"o1", "o2"}, {"o2", "o7"}),
    ]
    return diagnose(
        "zombies and ghosts",
        answer,
        cases,
        lambda c, p: (c - p, p - c),
        [
            (
                lambda c, p: (p - c, c - p),
                "swapped: a zombie is committed but never published; a ghost the reverse",
            ),
            (lambda c, p: (c ^ p, c ^ p), "split the difference by direction"),
        ],
        "zombies = committed - published; ghosts = published - committed",
        "zombies are committed-only, ghosts are published-only",
        equal=lambda a, b: isinstance(a, tuple) and len(a) == 2 and (set(a[0]), set(a[1])) == b,
    )


add_quiz(
    "step kinds",
    {
        "reserve stock": ("compensatable", {"pivot": "stock can be released again"}),
        "charge the card": (
            "pivot",
            {"compensatable": "in this flow, once paid we deliver rather than refund"},
        ),
        "send the confirmation email": (
            "retriable",
            {"compensatable": "you cannot unsend an email; retry it until it goes"},
        ),
    },
)
add_quiz(
    "publishing",
    {
        "crash after commit, before publish": (
            "zombie",
            {"ghost": "the order exists; the event does not"},
        ),
        "publish arrives, the service thinks it failed and undoes the order": (
            "ghost",
            {"zombie": "the event exists; the order does not"},
        ),
        "outbox relay crashes after publishing, before marking sent": (
            "duplicate",
            {"ghost": "the order is committed: the event is merely sent twice"},
        ),
    },
)
