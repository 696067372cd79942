"""Exercises of lessons 06 and 08: folding events into state, and reading freshness from lag."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

from labsim.exercises.base import ExerciseResult, close, diagnose

__all__ = [
    "check_balance_fold",
    "check_fresh_probability",
    "check_pending_events",
    "check_upcaster",
]


def _events(spec: Sequence[tuple[str, float]]) -> list[Any]:
    return [
        SimpleNamespace(
            event_type=t, data={"amount": a} if a else {"owner": "ada"}, stream_version=i
        )
        for i, (t, a) in enumerate(spec)
    ]


_HISTORIES = [
    [("account.opened", 0), ("money.deposited", 100), ("money.withdrawn", 30)],
    [("account.opened", 0)],
    [
        ("account.opened", 0),
        ("money.deposited", 5),
        ("money.deposited", 7),
        ("money.withdrawn", 2),
        ("money.withdrawn", 1),
    ],
]


def _fold(events: list[Any], withdraw_sign: int = -1) -> float:
    total = 0.0
    for e in events:
        if e.event_type == "money.deposited":
            total += e.data["amount"]
        elif e.event_type == "money.withdrawn":
            total += withdraw_sign * e.data["amount"]
    return total


def check_balance_fold(answer: Callable[[list[Any]], float]) -> ExerciseResult:
    """Check ``answer(events) -> balance`` folding account events in order."""
    return diagnose(
        "balance from events",
        answer,
        [(_events(h),) for h in _HISTORIES],
        lambda events: _fold(events),
        [
            (
                lambda events: _fold(events, +1),
                "withdrawals must be subtracted: the event type tells you the direction",
            ),
            (
                lambda events: sum(
                    e.data.get("amount", 0) for e in events if e.event_type == "money.deposited"
                ),
                "you left out money.withdrawn events",
            ),
            (
                lambda events: events[-1].data.get("amount", 0),
                "state is the fold of *all* events, not the last one",
            ),
        ],
        "start from 0 and apply each event in order: deposits add, withdrawals subtract",
        "the balance is the left fold of the account's events",
        equal=lambda a, b: isinstance(a, (int, float)) and math.isclose(a, b),
    )


_LAGS = [0.1, 0.2, 0.2, 0.5, 1.0, 2.0, 3.5, 0.05]


def check_fresh_probability(answer: Callable[[Sequence[float], float], float]) -> ExerciseResult:
    """Check ``answer(lags, t)``: the fraction of events visible within ``t`` seconds."""
    cases = [(list(_LAGS), t) for t in (0.0, 0.2, 0.75, 5.0)]
    return diagnose(
        "probability of a fresh read",
        answer,
        cases,
        lambda lags, t: sum(lag <= t for lag in lags) / len(lags),
        [
            (
                lambda lags, t: sum(lag > t for lag in lags) / len(lags),
                "that is the probability of a *stale* read: count the lags that are <= t",
            ),
            (
                lambda lags, t: sum(lag < t for lag in lags) / len(lags),
                "an event whose lag equals t is already visible at t: use <=",
            ),
            (
                lambda lags, t: sum(lag <= t for lag in lags),
                "divide by the number of events to get a probability",
            ),
        ],
        "a read t seconds after a write is fresh when the write's lag is at most t",
        "the empirical CDF of the lag — the PBS freshness curve",
        equal=lambda a, b: isinstance(a, (int, float)) and math.isclose(a, b, abs_tol=1e-9),
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
        equal=close,
    )
