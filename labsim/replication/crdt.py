"""State-based CRDTs with value semantics.

Every operation and every ``merge`` returns a **new** object; ``==`` compares state; ``.value``
reads it. ``merge`` is commutative, associative and idempotent, so replicas that have seen the
same updates — in any order, any number of times — hold equal states (strong eventual
consistency). Merging two different CRDT types raises :class:`~labsim.ConfigError`.

Bad input to an operation raises :class:`~labsim.ConfigError` naming the operation: a replica
id is a non-empty string or an integer; an amount is an integer >= 0 (NumPy integers are
accepted, ``bool``, floats and NaN are not); set elements and register values must be
hashable (and not NaN, which is not equal to itself); an LWW timestamp is a finite number or
a tuple of finite numbers (an HLC ``(l, c)``), and registers stamped one way never merge with
registers stamped the other way (or with tuples of another length).

=============== ============================ =============================================
type            operations                   value
=============== ============================ =============================================
GCounter        increment(replica, amount)   sum of per-replica counts
PNCounter       increment / decrement        increments minus decrements
GSet            add(element)                 elements ever added
TwoPSet         add / remove                 added minus removed (removal is final)
LWWRegister     assign(value, ts, replica)   value of the greatest (timestamp, replica)
MVRegister      assign(value, replica)       frozenset of concurrent values (siblings)
ORSet           add(element, replica),       elements with an add not covered by a remove
                remove(element)              (add wins over a concurrent remove)
=============== ============================ =============================================
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from labsim.errors import ConfigError, is_integer, is_real

__all__ = [
    "CRDT",
    "GCounter",
    "GSet",
    "LWWRegister",
    "MVRegister",
    "ORSet",
    "PNCounter",
    "TwoPSet",
    "VersionVector",
    "canonical",
]

T = TypeVar("T", bound="CRDT")


def _frozen_counts(
    counts: Mapping[Hashable, int] | Iterable[tuple[Hashable, int]],
) -> tuple[tuple[Hashable, int], ...]:
    items = counts.items() if isinstance(counts, Mapping) else counts
    return tuple(sorted(((r, c) for r, c in items if c), key=lambda rc: canonical(rc[0])))


def _check_amount(amount: Any, context: str) -> int:
    if type(amount) is int and amount >= 0:
        return amount
    if not is_integer(amount) or amount < 0:
        raise ConfigError("amount", amount, "an integer >= 0", context)
    return int(amount)


def _check_replica(replica: Any, context: str) -> Hashable:
    """A replica id: a non-empty string or an integer (NumPy integers become Python ints)."""
    if type(replica) is str and replica:
        return replica
    if isinstance(replica, str) and replica:
        return str(replica)
    if is_integer(replica):
        return int(replica)
    raise ConfigError("replica", replica, "a replica id: a non-empty string or an integer", context)


def _check_hashable(name: str, value: Any, context: str) -> Any:
    """A set element or register value: hashable, and equal to itself (not NaN)."""
    try:
        hash(value)
    except TypeError:
        raise ConfigError(
            name, value, "a hashable value (a str, number or tuple, not a list or dict)", context
        ) from None
    if isinstance(value, float) and value != value:
        raise ConfigError(name, value, "a value equal to itself (NaN never is)", context)
    return value


class CRDT:
    """Base of the state-based CRDTs: type-checked ``merge``."""

    __slots__ = ()

    def _same_type(self: T, other: Any) -> T:
        if type(other) is not type(self):
            raise ConfigError(
                "other",
                type(other).__name__,
                f"a {type(self).__name__} (only equal CRDT types merge)",
                f"{type(self).__name__}.merge",
            )
        return other

    def merge(self: T, other: T) -> T:  # pragma: no cover - abstract
        """Least upper bound of two states of the same CRDT type."""
        raise NotImplementedError

    @property
    def value(self) -> Any:  # pragma: no cover - abstract
        """The value the state represents."""
        raise NotImplementedError

    @property
    def metadata_size(self) -> int:  # pragma: no cover - abstract
        """Entries of bookkeeping the state carries (for comparing overheads)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class VersionVector:
    """A version vector: replica -> number of events seen from it."""

    counts: tuple[tuple[Hashable, int], ...] = ()

    @classmethod
    def of(cls, counts: Mapping[Hashable, int]) -> VersionVector:
        """Build from a mapping replica -> count (an integer >= 0)."""
        if not isinstance(counts, Mapping):
            raise ConfigError("counts", counts, "a mapping replica -> count", "VersionVector.of")
        checked = {
            _check_replica(r, "VersionVector.of"): _check_amount(c, "VersionVector.of")
            for r, c in counts.items()
        }
        return cls(_frozen_counts(checked))

    def get(self, replica: Hashable) -> int:
        """Events seen from ``replica``."""
        return dict(self.counts).get(replica, 0)

    def increment(self, replica: Hashable) -> VersionVector:
        """This vector with one more event from ``replica``."""
        replica = _check_replica(replica, "VersionVector.increment")
        d = dict(self.counts)
        d[replica] = d.get(replica, 0) + 1
        return VersionVector(_frozen_counts(d))

    def merge(self, other: VersionVector) -> VersionVector:
        """Pointwise maximum."""
        if type(other) is not VersionVector:
            raise ConfigError(
                "other", type(other).__name__, "a VersionVector", "VersionVector.merge"
            )
        d = dict(self.counts)
        for r, c in other.counts:
            d[r] = max(d.get(r, 0), c)
        return VersionVector(_frozen_counts(d))

    def __le__(self, other: VersionVector) -> bool:
        o = dict(other.counts)
        return all(c <= o.get(r, 0) for r, c in self.counts)

    def __lt__(self, other: VersionVector) -> bool:
        return self <= other and self != other

    def concurrent(self, other: VersionVector) -> bool:
        """Neither happened before the other."""
        return not self <= other and not other <= self


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


def canonical(value: Any) -> str:
    """A text form of ``value`` that is the same in every process.

    ``repr`` of a set depends on iteration order, which depends on string hashing, which
    Python salts per process; sorting the elements' canonical forms removes that.
    """
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(canonical(v) for v in value)) + "}"
    if isinstance(value, dict):
        items = sorted((canonical(k), canonical(v)) for k, v in value.items())
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(canonical(v) for v in value) + ")"
    return repr(value)


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
