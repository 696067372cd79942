"""Grow-only, two-phase and observed-remove sets."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from labsim.replication.crdt.base import (
    CRDT,
    _check_hashable,
    _check_replica,
    _frozen_counts,
)

__all__ = ["GSet", "ORSet", "TwoPSet"]


@dataclass(frozen=True, slots=True)
class GSet(CRDT):
    """Grow-only set: add, never remove; merge is union."""

    elements: frozenset[Hashable] = frozenset()

    def add(self, element: Hashable) -> GSet:
        """Add ``element``."""
        _check_hashable("element", element, "GSet.add")
        return GSet(self.elements | {element})

    def merge(self, other: GSet) -> GSet:
        self._same_type(other)
        return GSet(self.elements | other.elements)

    @property
    def value(self) -> frozenset[Hashable]:
        return self.elements

    @property
    def metadata_size(self) -> int:
        return len(self.elements)


@dataclass(frozen=True, slots=True)
class TwoPSet(CRDT):
    """Two-phase set: a grow-only set of adds and one of removes (tombstones).

    Once removed, an element can never come back: a later ``add`` is hidden by the tombstone.
    """

    added: frozenset[Hashable] = frozenset()
    removed: frozenset[Hashable] = frozenset()

    def add(self, element: Hashable) -> TwoPSet:
        """Add ``element`` (has no visible effect if it was ever removed)."""
        _check_hashable("element", element, "TwoPSet.add")
        return TwoPSet(self.added | {element}, self.removed)

    def remove(self, element: Hashable) -> TwoPSet:
        """Remove ``element`` for good."""
        _check_hashable("element", element, "TwoPSet.remove")
        return TwoPSet(self.added, self.removed | {element})

    def merge(self, other: TwoPSet) -> TwoPSet:
        self._same_type(other)
        return TwoPSet(self.added | other.added, self.removed | other.removed)

    @property
    def value(self) -> frozenset[Hashable]:
        return self.added - self.removed

    @property
    def metadata_size(self) -> int:
        return len(self.added) + len(self.removed)


@dataclass(frozen=True, slots=True)
class ORSet(CRDT):
    """Observed-remove set (add wins).

    Each ``add`` creates a unique tag ``(replica, n)``; ``remove`` tombstones the tags it has
    observed for the element. An add concurrent with a remove carries a tag the remove never
    saw, so the element survives the merge.
    """

    adds: frozenset[tuple[Hashable, tuple[Hashable, int]]] = frozenset()
    removed: frozenset[tuple[Hashable, int]] = frozenset()
    clock: tuple[tuple[Hashable, int], ...] = ()

    def add(self, element: Hashable, replica: Hashable) -> ORSet:
        """Add ``element`` at ``replica`` (with a fresh tag)."""
        _check_hashable("element", element, "ORSet.add")
        replica = _check_replica(replica, "ORSet.add")
        counts = dict(self.clock)
        n = counts.get(replica, 0) + 1
        counts[replica] = n
        return ORSet(self.adds | {(element, (replica, n))}, self.removed, _frozen_counts(counts))

    def remove(self, element: Hashable) -> ORSet:
        """Remove ``element``: tombstone every tag of it this state has observed."""
        _check_hashable("element", element, "ORSet.remove")
        tags = {tag for e, tag in self.adds if e == element}
        return ORSet(self.adds, self.removed | tags, self.clock)

    def merge(self, other: ORSet) -> ORSet:
        self._same_type(other)
        counts = dict(self.clock)
        for r, c in other.clock:
            counts[r] = max(counts.get(r, 0), c)
        return ORSet(self.adds | other.adds, self.removed | other.removed, _frozen_counts(counts))

    @property
    def value(self) -> frozenset[Hashable]:
        return frozenset(e for e, tag in self.adds if tag not in self.removed)

    @property
    def metadata_size(self) -> int:
        return len(self.adds) + len(self.removed) + len(self.clock)
