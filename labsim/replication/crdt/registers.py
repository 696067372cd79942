"""Last-writer-wins and multi-value registers."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from labsim.errors import ConfigError, is_integer, is_real
from labsim.replication.crdt.base import (
    CRDT,
    VersionVector,
    _check_hashable,
    _check_replica,
    canonical,
)

__all__ = ["LWWRegister", "MVRegister"]


def _lww_key(timestamp: Any, replica: Hashable, value: Any) -> tuple[Any, ...]:
    # Ties on timestamp are broken by replica id, then by the value, so merge stays
    # commutative even if two replicas share an id. An empty register sorts first.
    return (timestamp is not None, timestamp, canonical(replica), canonical(value))


_STAMP_ACCEPTED = "a finite number or a tuple of finite numbers such as an HLC (l, c)"


def _finite_number(value: Any) -> int | float | None:
    """``value`` as a Python int or float if it is a finite real number, else ``None``."""
    if type(value) is int:
        return value
    if type(value) is float:
        return value if value - value == 0.0 else None  # NaN and inf fail x - x == 0
    if is_integer(value):
        return int(value)
    if is_real(value):
        number = float(value)
        return number if number - number == 0.0 else None
    return None


def _check_stamp(timestamp: Any, context: str) -> int | float | tuple[int | float, ...]:
    """A finite number, or a non-empty tuple of them (NumPy numbers become Python ones)."""
    number = _finite_number(timestamp)
    if number is not None:
        return number
    if isinstance(timestamp, tuple) and timestamp:
        parts = tuple(_finite_number(p) for p in timestamp)
        if None not in parts:
            return parts  # type: ignore[return-value]
    raise ConfigError("timestamp", timestamp, _STAMP_ACCEPTED, context)


def _stamp_kind(timestamp: Any) -> str:
    return f"a tuple of {len(timestamp)} numbers" if isinstance(timestamp, tuple) else "a number"


@dataclass(frozen=True, slots=True)
class LWWRegister(CRDT):
    """Last-writer-wins register: keeps the value with the greatest (timestamp, replica).

    A timestamp is a finite number (physical time) or a tuple of finite numbers (an HLC
    ``(l, c)``); NaN is refused, since it compares neither greater nor smaller and would make
    ``merge`` depend on its argument order. The two kinds never mix: merging a register
    stamped with numbers and one stamped with tuples raises :class:`~labsim.ConfigError`.
    """

    stored: Any = None
    timestamp: Any = None  # a number or a tuple (HLC); None before the first write
    replica: Hashable = None

    def __post_init__(self) -> None:
        if self.timestamp is None:
            return  # the empty register
        stamp = _check_stamp(self.timestamp, "LWWRegister")
        if stamp is not self.timestamp:
            object.__setattr__(self, "timestamp", stamp)
        replica = _check_replica(self.replica, "LWWRegister")
        if replica is not self.replica:
            object.__setattr__(self, "replica", replica)

    def assign(self, value: Any, timestamp: float, replica: Hashable) -> LWWRegister:
        """Write ``value`` stamped ``timestamp`` at ``replica``; an older stamp loses silently."""
        stamp = _check_stamp(timestamp, "LWWRegister.assign")
        replica = _check_replica(replica, "LWWRegister.assign")
        return self._merge(LWWRegister(value, stamp, replica), "LWWRegister.assign")

    def merge(self, other: LWWRegister) -> LWWRegister:
        self._same_type(other)
        return self._merge(other, "LWWRegister.merge")

    def _merge(self, other: LWWRegister, context: str) -> LWWRegister:
        if self.timestamp is not None and other.timestamp is not None:
            kind = _stamp_kind(self.timestamp)
            if _stamp_kind(other.timestamp) != kind:
                raise ConfigError(
                    "timestamp",
                    other.timestamp,
                    f"{kind}, like the register it meets (stamped {self.timestamp!r}); "
                    "physical and HLC timestamps do not compare",
                    context,
                )
        mine = _lww_key(self.timestamp, self.replica, self.stored)
        theirs = _lww_key(other.timestamp, other.replica, other.stored)
        return other if theirs > mine else self

    @property
    def value(self) -> Any:
        return self.stored

    @property
    def metadata_size(self) -> int:
        return 2  # timestamp and replica id


@dataclass(frozen=True, slots=True)
class MVRegister(CRDT):
    """Multi-value register: concurrent writes are all kept as siblings.

    Each entry is ``(value, version vector)``; a write supersedes every entry it has seen.
    ``value`` is the frozenset of the surviving (concurrent) values.
    """

    entries: frozenset[tuple[Any, VersionVector]] = frozenset()

    def assign(self, value: Any, replica: Hashable) -> MVRegister:
        """Write ``value`` at ``replica``, superseding everything this state has seen."""
        _check_hashable("value", value, "MVRegister.assign")
        replica = _check_replica(replica, "MVRegister.assign")
        clock = VersionVector()
        for _, vv in self.entries:
            clock = clock.merge(vv)
        return MVRegister(frozenset({(value, clock.increment(replica))}))

    def merge(self, other: MVRegister) -> MVRegister:
        self._same_type(other)
        both = self.entries | other.entries
        keep = frozenset(e for e in both if not any(e[1] < f[1] for f in both))
        return MVRegister(keep)

    @property
    def value(self) -> frozenset[Any]:
        return frozenset(v for v, _ in self.entries)

    @property
    def metadata_size(self) -> int:
        return sum(len(vv.counts) for _, vv in self.entries)
