"""How handling a message fails, and when a failed attempt is tried again.

* :class:`FailureModel` decides whether an attempt fails (transient failures, poison messages
  that always fail, a downstream outage, processing timeouts) and whether the worker crashes
  *after* applying the side effect but *before* acknowledging — the classic source of
  duplicate effects under at-least-once delivery;
* :class:`RetryPolicy` decides what happens after a failed attempt: retry at once, after a
  fixed delay, or with exponential backoff (with full, equal or no jitter), up to
  ``max_attempts``. Without jitter, workers that failed together retry together (a retry
  storm); jitter spreads them out.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

from labsim.amqp.message import Message
from labsim.errors import (
    ConfigError,
    check_choice,
    check_int,
    check_non_negative,
    check_probability,
)

__all__ = ["JITTER", "RETRY_KINDS", "FailureModel", "RetryPolicy"]

#: When to retry: never, at once, after a fixed delay, or after a doubling delay.
RETRY_KINDS = ("none", "immediate", "fixed", "exponential")
#: How a retry delay is spread out: not at all, over [0, d], or over [d/2, d].
JITTER = ("none", "full", "equal")


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry a failed attempt.

    Attributes:
        kind: ``"none"``, ``"immediate"``, ``"fixed"`` or ``"exponential"``.
        base_delay: Delay after the first failure (fixed / exponential), seconds.
        max_delay: Cap on the exponential delay, seconds.
        jitter: ``"none"``, ``"full"`` (uniform in [0, d]) or ``"equal"`` (d/2 + uniform
            in [0, d/2]).
        max_attempts: Attempts in all, the first included (>= 1).
    """

    kind: str = "exponential"
    base_delay: float = 0.1
    max_delay: float = 10.0
    jitter: str = "full"
    max_attempts: int = 5

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, RETRY_KINDS, "RetryPolicy")
        check_non_negative("base_delay", self.base_delay, "RetryPolicy")
        check_non_negative("max_delay", self.max_delay, "RetryPolicy")
        check_choice("jitter", self.jitter, JITTER, "RetryPolicy")
        check_int("max_attempts", self.max_attempts, 1, "RetryPolicy")

    def delay(self, attempt: int, rng: random.Random) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); ``None`` = give up."""
        if self.kind == "none" or attempt >= self.max_attempts:
            return None
        if self.kind == "immediate":
            return 0.0
        d = (
            self.base_delay
            if self.kind == "fixed"
            else min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        )
        if self.jitter == "full":
            return rng.uniform(0, d)
        if self.jitter == "equal":
            return d / 2 + rng.uniform(0, d / 2)
        return d


@dataclass(frozen=True)
class FailureModel:
    """How handling a message can go wrong.

    Attributes:
        transient: Probability an attempt fails for a passing reason.
        poison: Message ids that always fail (or a predicate ``msg -> bool``).
        outage: ``(start, end)``: every attempt fails in this interval (a downstream outage).
        timeout: Attempts longer than this fail (seconds; ``None``: no limit).
        crash_after_effect: Probability the worker's node crashes after the side effect,
            before the acknowledgement.
        restart_after: Seconds until a supervisor restarts a node crashed that way.
    """

    transient: float = 0.0
    poison: Container[Any] | Callable[[Message], bool] = frozenset()
    outage: tuple[float, float] | None = None
    timeout: float | None = None
    crash_after_effect: float = 0.0
    restart_after: float = 1.0

    def __post_init__(self) -> None:
        check_non_negative("restart_after", self.restart_after, "FailureModel")
        check_probability("transient", self.transient, "FailureModel")
        check_probability("crash_after_effect", self.crash_after_effect, "FailureModel")
        if self.timeout is not None:
            check_non_negative("timeout", self.timeout, "FailureModel")
        if self.outage is not None and not (
            len(self.outage) == 2 and self.outage[0] <= self.outage[1]
        ):
            raise ConfigError(
                "outage", self.outage, "(start, end) with start <= end", "FailureModel"
            )

    def is_poison(self, msg: Message) -> bool:
        """Whether ``msg`` always fails."""
        if callable(self.poison):
            return bool(self.poison(msg))
        return msg.msg_id in self.poison
