"""Grow-only and positive-negative counters."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from labsim.replication.crdt.base import (
    CRDT,
    _check_amount,
    _check_replica,
    _frozen_counts,
)

__all__ = ["GCounter", "PNCounter"]


@dataclass(frozen=True, slots=True)
class GCounter(CRDT):
    """Grow-only counter: one count per replica; value is their sum; merge takes maxima."""

    counts: tuple[tuple[Hashable, int], ...] = ()

    def increment(self, replica: Hashable, amount: int = 1) -> GCounter:
        """Add ``amount`` (>= 0) at ``replica``."""
        return self._add(
            _check_replica(replica, "GCounter.increment"),
            _check_amount(amount, "GCounter.increment"),
        )

    def _add(self, replica: Hashable, amount: int) -> GCounter:
        # Arguments already checked by the public operation.
        d = dict(self.counts)
        d[replica] = d.get(replica, 0) + amount
        return GCounter(_frozen_counts(d))

    def merge(self, other: GCounter) -> GCounter:
        self._same_type(other)
        d = dict(self.counts)
        for r, c in other.counts:
            d[r] = max(d.get(r, 0), c)
        return GCounter(_frozen_counts(d))

    @property
    def value(self) -> int:
        return sum(c for _, c in self.counts)

    @property
    def metadata_size(self) -> int:
        return len(self.counts)


@dataclass(frozen=True, slots=True)
class PNCounter(CRDT):
    """Counter that also decrements: two grow-only counters, increments minus decrements."""

    p: GCounter = field(default_factory=GCounter)
    n: GCounter = field(default_factory=GCounter)

    def increment(self, replica: Hashable, amount: int = 1) -> PNCounter:
        """Add ``amount`` (>= 0)."""
        replica = _check_replica(replica, "PNCounter.increment")
        amount = _check_amount(amount, "PNCounter.increment")
        return PNCounter(self.p._add(replica, amount), self.n)

    def decrement(self, replica: Hashable, amount: int = 1) -> PNCounter:
        """Subtract ``amount`` (>= 0; a negative amount is refused, not read as an increment)."""
        replica = _check_replica(replica, "PNCounter.decrement")
        amount = _check_amount(amount, "PNCounter.decrement")
        return PNCounter(self.p, self.n._add(replica, amount))

    def merge(self, other: PNCounter) -> PNCounter:
        self._same_type(other)
        return PNCounter(self.p.merge(other.p), self.n.merge(other.n))

    @property
    def value(self) -> int:
        return self.p.value - self.n.value

    @property
    def metadata_size(self) -> int:
        return self.p.metadata_size + self.n.metadata_size
