"""Second exercises of each lesson: small formulas and quizzes with explanations."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from labsim.exercises.base import ExerciseResult, diagnose

__all__ = [
    "QUIZZES",
    "check_lww_winner",
    "check_moved_partitions",
    "check_pending_events",
    "check_pubsub_counts",
    "check_quiz",
    "check_sends_needed",
    "check_upcaster",
    "check_utilisation",
]


def _close(a: Any, b: Any) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError):
        return False


def check_sends_needed(answer: Callable[[float, float], int]) -> ExerciseResult:
    """``answer(loss, confidence)``: fewest independent sends so that at least one arrives
    with probability ``confidence``: the smallest n with ``1 - loss**n >= confidence``."""

    def right(loss: float, confidence: float) -> int:
        return max(1, math.ceil(math.log(1 - confidence) / math.log(loss) - 1e-12))

    return diagnose(
        "sends needed",
        answer,
        [(0.1, 0.99), (0.5, 0.99), (0.3, 0.999), (0.05, 0.9)],
        right,
        [
            (
                lambda p, c: math.ceil(math.log(1 - c) / math.log(1 - p)),
                "use the loss probability: all n copies must be lost for the message to be lost",
            ),
            (
                lambda p, c: math.floor(math.log(1 - c) / math.log(p)),
                "round up: n must make the loss probability at most 1 - confidence",
            ),
        ],
        "P(all n lost) = loss ** n; find the smallest n with loss ** n <= 1 - confidence",
        "the smallest n with loss ** n <= 1 - confidence",
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


def check_upcaster(answer: Callable[[dict], dict]) -> ExerciseResult:
    """``answer(data_v1)`` -> v2: add ``"currency": "EUR"``, keep every other field, do not
    modify the input (stored events are immutable)."""
    cases = [({"amount": 10},), ({"amount": 2.5, "note": "gift"},), ({"amount": 0},)]
    for (data,) in cases:
        original = dict(data)
        try:
            got = answer(data)
        except Exception as exc:  # the learner's code: report, don't crash the notebook
            return ExerciseResult("upcaster v1 → v2", False, f"answer({original}) raised {exc!r}")
        if data != original:
            return ExerciseResult(
                "upcaster v1 → v2",
                False,
                "you changed the stored event's data in place: return a new dict ({**data, ...})",
            )
        if got is None:
            return ExerciseResult(
                "upcaster v1 → v2", False, "your function returns None: finish the `return`"
            )
        want = {**original, "currency": "EUR"}
        if got != want:
            missing = sorted(set(want) - set(got or {}))
            hint = (
                f"fields {missing} went missing: keep everything v1 had"
                if missing
                else f"expected {want}"
            )
            return ExerciseResult(
                "upcaster v1 → v2", False, f"for {original} you gave {got}; {hint}"
            )
    return ExerciseResult(
        "upcaster v1 → v2", True, "adds the currency, keeps the rest, leaves the stored event alone"
    )


def check_pending_events(answer: Callable[[float, float], float]) -> ExerciseResult:
    """``answer(event_rate, mean_lag)``: events appended but not yet visible, on average
    (Little's law: L = λ W)."""
    return diagnose(
        "events in flight",
        answer,
        [(100.0, 0.5), (20.0, 2.0), (1.0, 0.1)],
        lambda lam, w: lam * w,
        [
            (lambda lam, w: lam / w, "Little's law multiplies: L = λ × W"),
            (lambda lam, w: w / lam, "Little's law multiplies: L = λ × W"),
        ],
        "events in flight = arrival rate × time each spends in flight",
        "Little's law: L = λ W",
        equal=_close,
    )


def check_utilisation(answer: Callable[[float, float, int], float]) -> ExerciseResult:
    """``answer(arrival_rate, service_rate, consumers)``: utilisation ρ = λ / (c μ)."""
    return diagnose(
        "utilisation",
        answer,
        [(8.0, 1.0, 10), (3.0, 2.0, 2), (1.0, 4.0, 1)],
        lambda lam, mu, c: lam / (c * mu),
        [
            (lambda lam, mu, c: lam / mu, "divide by the number of consumers too: ρ = λ / (c μ)"),
            (lambda lam, mu, c: mu * c / lam, "upside down: ρ = λ / (c μ)"),
        ],
        "ρ = arrival rate / (consumers × service rate)",
        "ρ = λ / (c μ)",
        equal=_close,
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


#: Quizzes: question -> (right answer, hint per wrong answer).
QUIZZES: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "semantics": {
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
    "checkers": {
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
    "step kinds": {
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
    "publishing": {
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
}


def check_quiz(topic: str, answers: Mapping[str, str]) -> ExerciseResult:
    """Check quiz ``answers`` (question -> answer) for one of :data:`QUIZZES`."""
    quiz = QUIZZES.get(topic)
    if quiz is None:
        return ExerciseResult(f"quiz {topic!r}", False, f"no such quiz; topics: {list(QUIZZES)}")
    missing = [q for q in quiz if not answers.get(q)]
    if missing:
        return ExerciseResult(f"quiz {topic}", False, f"no answer yet for: {missing[0]!r}")
    for question, (right, hints) in quiz.items():
        given = str(answers[question]).strip()
        if given != right:
            hint = hints.get(given, f"not {given!r}")
            return ExerciseResult(f"quiz {topic}", False, f"{question!r}: {hint}")
    return ExerciseResult(f"quiz {topic}", True, f"all {len(quiz)} answers right")
