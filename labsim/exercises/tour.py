"""Exercises of the tour (lesson 00): the delivered fraction under loss and a partition, and
how many copies to send."""

from __future__ import annotations

import math
from collections.abc import Callable

from labsim.errors import ConfigError
from labsim.exercises.base import ExerciseResult, close, diagnose

__all__ = ["check_delivered_fraction", "check_sends_needed", "expected_delivered_fraction"]

_CASES = [(0.0, 0.0), (0.1, 0.0), (0.0, 0.3), (0.2, 0.3), (0.5, 0.5)]


def expected_delivered_fraction(loss: float, partition_share: float, nodes: int = 4) -> float:
    """Model answer: ``(1 - loss) * (1 - partition_share * crossing)``.

    During a half/half partition of ``nodes`` (even) nodes, a sender has ``nodes/2`` of its
    ``nodes - 1`` peers on the other side, so a random destination crosses the cut with
    probability ``crossing = (nodes/2) / (nodes - 1)`` — 2/3 with 4 nodes.
    """
    if nodes < 2 or nodes % 2:
        raise ConfigError("nodes", nodes, "an even number >= 2", "expected_delivered_fraction")
    crossing = (nodes // 2) / (nodes - 1)
    return (1 - loss) * (1 - partition_share * crossing)


def check_delivered_fraction(answer: Callable[[float, float], float]) -> ExerciseResult:
    """Check ``answer(loss, partition_share) -> fraction`` for the 4-node tour network.

    ``partition_share`` is the fraction of the run during which the network is cut into two
    halves of two nodes; each node sends to one of the three others at random.
    """
    return diagnose(
        "delivered fraction",
        answer,
        [(0.0, 0.0), (0.1, 0.0), (0.0, 0.3), (0.2, 0.3), (0.5, 0.5)],
        expected_delivered_fraction,
        [
            (
                lambda loss, share: 1 - loss,
                "you left out the partition: messages sent while it lasts can be dropped too",
            ),
            (
                lambda loss, share: (1 - loss) * (1 - share),
                "not every message sent during the partition crosses it: only those whose "
                "destination is on the other side (2 of a node's 3 peers)",
            ),
            (
                lambda loss, share: 1 - loss - share * 2 / 3,
                "the two effects multiply rather than add: a message must survive the partition "
                "AND the loss",
            ),
            (
                lambda loss, share: 1 - expected_delivered_fraction(loss, share),
                "you computed the fraction lost, not delivered",
            ),
        ],
        "compare with a simulation run: what fraction crosses the cut, and when?",
        "matches the model on 5 cases",
        equal=close,
    )


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
