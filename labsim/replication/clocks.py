"""Logical and hybrid clocks.

Physical clocks live on network nodes (``node.clock()``, with skew and drift). Here:

* :class:`LamportClock` — a counter that ticks on every event and jumps past any timestamp it
  receives: if *a* happened before *b*, then ``L(a) < L(b)`` (not the converse).
* :class:`HybridClock` — a hybrid logical clock (HLC): a pair ``(l, c)`` where ``l`` follows the
  largest physical time seen and ``c`` orders events within one ``l``. It stays close to
  physical time yet never runs backwards and respects causality, even when node clocks are
  skewed.
"""

from __future__ import annotations

from collections.abc import Callable

from labsim.errors import ConfigError

__all__ = ["HybridClock", "LamportClock"]


class LamportClock:
    """A Lamport clock."""

    __slots__ = ("time",)

    def __init__(self) -> None:
        self.time = 0

    def tick(self) -> int:
        """A local or send event: advance and return the new time."""
        self.time += 1
        return self.time

    def observe(self, received: int) -> int:
        """A receive event carrying ``received``: jump past it."""
        if not isinstance(received, int) or received < 0:
            raise ConfigError("received", received, "a Lamport time (int >= 0)", "LamportClock")
        self.time = max(self.time, received) + 1
        return self.time


class HybridClock:
    """A hybrid logical clock reading the physical clock ``physical()``.

    Timestamps are tuples ``(l, c)`` compared lexicographically.
    """

    __slots__ = ("c", "l", "physical")

    def __init__(self, physical: Callable[[], float]):
        self.physical = physical
        self.l = float("-inf")
        self.c = 0

    def now(self) -> tuple[float, int]:
        """A local or send event: the new timestamp."""
        pt = self.physical()
        if pt > self.l:
            self.l, self.c = pt, 0
        else:
            self.c += 1
        return (self.l, self.c)

    def observe(self, received: tuple[float, int]) -> tuple[float, int]:
        """A receive event carrying ``received = (l, c)``: the new timestamp."""
        if not (isinstance(received, tuple) and len(received) == 2):
            raise ConfigError("received", received, "an HLC timestamp (l, c)", "HybridClock")
        lm, cm = received
        pt = self.physical()
        new_l = max(self.l, lm, pt)
        if new_l == self.l == lm:
            self.c = max(self.c, cm) + 1
        elif new_l == self.l:
            self.c += 1
        elif new_l == lm:
            self.c = cm + 1
        else:
            self.c = 0
        self.l = new_l
        return (self.l, self.c)
