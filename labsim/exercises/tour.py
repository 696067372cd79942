"""Exercise of the tour notebook: predict the delivered fraction under loss and a partition."""

from __future__ import annotations

import math
from collections.abc import Callable

from labsim.errors import ConfigError
from labsim.exercises.base import ExerciseResult

__all__ = ["check_delivered_fraction", "expected_delivered_fraction"]

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


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def check_delivered_fraction(answer: Callable[[float, float], float]) -> ExerciseResult:
    """Check a function ``answer(loss, partition_share) -> fraction`` for the 4-node tour network.

    ``partition_share`` is the fraction of the run during which the network is cut into two
    halves of two nodes; each node sends to one of the three others at random.
    """
    name = "delivered fraction"
    for loss, share in _CASES:
        try:
            got = answer(loss, share)
        except Exception as exc:  # the learner's code: report, don't crash the notebook
            return ExerciseResult(name, False, f"answer({loss}, {share}) raised {exc!r}")
        if got is None:
            return ExerciseResult(name, False, "your function returns None: finish the `return`")
        want = expected_delivered_fraction(loss, share)
        if _close(got, want):
            continue
        if _close(got, 1 - loss):
            hint = "you left out the partition: messages sent while it lasts can be dropped too"
        elif _close(got, (1 - loss) * (1 - share)):
            hint = (
                "not every message sent during the partition crosses it: only those whose "
                "destination is on the other side (2 of a node's 3 peers)"
            )
        elif _close(got, 1 - loss - share * 2 / 3):
            hint = (
                "the two effects multiply rather than add: a message must survive the "
                "partition AND the loss"
            )
        elif _close(got, loss * (1 - share * 2 / 3)) or _close(got, 1 - want):
            hint = "you computed the fraction lost, not delivered"
        else:
            hint = "compare with a simulation run: what fraction crosses the cut, and when?"
        return ExerciseResult(
            name, False, f"for loss={loss}, partition_share={share} you gave {got:.4f}; {hint}"
        )
    return ExerciseResult(name, True, f"matches the model on {len(_CASES)} cases")
