"""The base of the lab's CRDTs, their input checks, version vectors and canonical forms."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from labsim.errors import ConfigError, is_integer

__all__ = ["CRDT", "VersionVector", "canonical"]

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
