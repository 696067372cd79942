"""Exercises of lesson 12: utilisation and sizing a consumer pool."""

from __future__ import annotations

import math
from collections.abc import Callable

from labsim.exercises.base import ExerciseResult, close, diagnose

__all__ = ["check_consumers_needed", "check_utilisation"]


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
        equal=close,
    )
