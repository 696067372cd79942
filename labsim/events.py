"""The event envelope shared by broker messages, stored events and saga messages.

An :class:`Event` is immutable, all the way down: ``data`` and ``metadata`` are
:class:`FrozenDict` mappings whose nested dicts and lists are themselves read-only
(:class:`FrozenDict`, :class:`FrozenList`), so no reader of an event can rewrite what
happened. ``correlation_id`` ties together everything that belongs to one business flow;
``causation_id`` names the event that directly caused this one. With both,
:func:`causal_graph` draws the causal graph of a run.

Inside a running :class:`~labsim.World` (or a ``with world:`` block) new events take their id
and timestamp from the world, so runs stay deterministic; outside, the id is a random UUID
and the timestamp ``0.0``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

import networkx as nx
import numpy as np
import pandas as pd
import yaml

from labsim.errors import ConfigError, is_integer, is_real
from labsim.world import current_world

__all__ = ["Event", "FrozenDict", "FrozenList", "causal_graph", "freeze", "thaw"]

_UNSET: Any = None

# Values that are immutable already: returned by :func:`freeze` unchanged.
_ATOMIC = (str, int, float, bool, type(None), bytes, complex)


def _read_only(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(
        f"{type(self).__name__} is read-only: event data cannot be changed after the event "
        "is created; build a new event instead (event.evolve(data={...}) or "
        "event.caused(...)), or take a mutable copy with labsim.events.thaw(...)"
    )


class FrozenDict(dict):  # type: ignore[type-arg]
    """A read-only dict: the type of :attr:`Event.data` and :attr:`Event.metadata`.

    It is a real ``dict`` subclass, so it compares equal to the equivalent dict, prints like
    one, and ``json.dumps``, ``pd.DataFrame([...])``, ``dict(...)`` and ``{**...}`` work as
    with a dict. Every method that would change it raises :class:`TypeError`. Nested dicts,
    lists and sets are frozen on construction (:func:`freeze`). ``dict(d)`` or ``d.copy()``
    gives a shallow mutable copy; :func:`thaw` a deep one (for YAML dumping, for example).
    """

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        dict.__init__(self, *args, **kwargs)
        nested = [k for k, v in dict.items(self) if type(v) not in _ATOMIC]
        for key in nested:
            dict.__setitem__(self, key, freeze(dict.__getitem__(self, key)))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle and copy from a plain dict: the default protocol would call __setitem__.
        return (type(self), (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __repr__(self) -> str:
        return dict.__repr__(self)

    __setitem__ = _read_only
    __delitem__ = _read_only
    __ior__ = _read_only  # type: ignore[assignment]
    clear = _read_only
    pop = _read_only
    popitem = _read_only
    setdefault = _read_only
    update = _read_only


class FrozenList(list):  # type: ignore[type-arg]
    """A read-only list (lists nested in event data become these).

    A ``list`` subclass: equal to the equivalent list, printed like one, JSON-serialisable;
    every method that would change it raises :class:`TypeError`.
    """

    __slots__ = ()

    def __init__(self, items: Iterable[Any] = ()) -> None:
        list.__init__(self, (freeze(v) for v in items))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __repr__(self) -> str:
        return list.__repr__(self)

    __setitem__ = _read_only
    __delitem__ = _read_only
    __iadd__ = _read_only  # type: ignore[assignment]
    __imul__ = _read_only  # type: ignore[assignment]
    append = _read_only
    extend = _read_only
    insert = _read_only
    pop = _read_only
    remove = _read_only
    clear = _read_only
    sort = _read_only
    reverse = _read_only


# yaml.safe_dump only knows exact dicts and lists: teach it (and yaml.dump) the frozen ones.
for _dumper in (yaml.SafeDumper, yaml.Dumper):
    _dumper.add_representer(FrozenDict, yaml.SafeDumper.represent_dict)
    _dumper.add_representer(FrozenList, yaml.SafeDumper.represent_list)


def freeze(value: Any) -> Any:
    """A deeply read-only form of ``value``.

    Mappings become :class:`FrozenDict`, lists :class:`FrozenList`, tuples tuples of frozen
    items, sets frozensets, bytearrays bytes and NumPy arrays read-only copies. Strings,
    numbers and other immutable values are returned as they are; objects of other classes
    are kept as given (their own classes decide whether they can change).
    """
    kind = type(value)
    if kind in _ATOMIC or kind is FrozenDict:
        return value
    if kind is FrozenList:
        return value
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, list):
        return FrozenList(value)
    if isinstance(value, tuple):
        if hasattr(value, "_fields"):  # a named tuple: keep its class
            return kind(*(freeze(v) for v in value))
        return tuple(freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(freeze(v) for v in value)
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, np.ndarray):
        if not value.flags.writeable and value.base is None:
            return value
        frozen = value.copy()
        frozen.flags.writeable = False
        return frozen
    return value


def thaw(value: Any) -> Any:
    """A deep, mutable, plain-Python copy of (frozen) event data: dicts and lists again.

    Use it to edit a copy of an event's data, or to hand it to a library that only accepts
    exact ``dict`` / ``list`` types (``yaml.safe_dump``).
    """
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(thaw(v) for v in value)
    return value


def _new_id() -> str:
    world = current_world()
    return world.next_id("evt") if world is not None else uuid.uuid4().hex


def _now() -> float:
    world = current_world()
    return float(world.now) if world is not None else 0.0


def _text_error(name: str, value: Any, optional: bool, empty_ok: bool = False) -> ConfigError:
    accepted = "a string" if empty_ok else "a non-empty string"
    return ConfigError(name, value, accepted + (" or None" if optional else ""), "Event")


#: The shared empty payload (read-only, so one instance serves every event).
_EMPTY = FrozenDict()


@dataclass(frozen=True, slots=True)
class Event:
    """An immutable event envelope.

    Every field is checked when the event is created; a bad one raises
    :class:`~labsim.ConfigError` naming it.

    Args:
        event_type: What happened, in dot notation and past tense (``"order.created"``).
        data: The payload (a mapping). Stored as a deeply read-only :class:`FrozenDict`.
        event_id: Unique non-empty string id; defaulted from the running world
            (``"evt-1"``, ...) or a UUID.
        event_version: Schema version of ``data`` (an integer >= 1; NumPy integers are
            stored as Python ints), used by upcasters.
        timestamp: Simulated time the event was created (a finite number, stored as a float).
        source: The node or service that emitted it (a string, may be empty).
        correlation_id: The business flow it belongs to (a non-empty string); ``None`` or
            left out means its own ``event_id``.
        causation_id: The ``event_id`` of the event that caused it (``None`` for a root).
        metadata: Free-form headers (a mapping), read-only like ``data``.
    """

    event_type: str
    data: Mapping[str, Any] = _EMPTY
    event_id: str = field(default_factory=_new_id)
    event_version: int = 1
    timestamp: float = field(default_factory=_now)
    source: str = ""
    correlation_id: str = _UNSET
    causation_id: str | None = None
    metadata: Mapping[str, Any] = _EMPTY

    def __post_init__(self) -> None:
        if not isinstance(self.event_type, str) or not self.event_type.strip():
            raise ConfigError(
                "event_type", self.event_type, "a non-empty string such as 'order.created'", "Event"
            )
        # Each check below starts with an exact-type test, so the common case stays cheap.
        setattr_ = object.__setattr__
        data = self.data
        if type(data) is not FrozenDict:
            if not isinstance(data, Mapping):
                raise ConfigError("data", data, "a mapping (dict) payload", "Event")
            setattr_(self, "data", FrozenDict(data))
        metadata = self.metadata
        if type(metadata) is not FrozenDict:
            if not isinstance(metadata, Mapping):
                raise ConfigError("metadata", metadata, "a mapping (dict) of headers", "Event")
            setattr_(self, "metadata", FrozenDict(metadata))
        if not isinstance(self.event_id, str) or not self.event_id:
            raise _text_error("event_id", self.event_id, optional=False)
        version = self.event_version
        if type(version) is not int or version < 1:
            if not is_integer(version) or version < 1:
                raise ConfigError("event_version", version, "an integer >= 1", "Event")
            setattr_(self, "event_version", int(version))
        stamp = self.timestamp
        if type(stamp) is not float or stamp - stamp != 0.0:  # NaN and inf fail x - x == 0
            try:
                finite = is_real(stamp) and math.isfinite(stamp)
            except OverflowError:  # an int too large for a float
                finite = False
            if not finite:
                raise ConfigError(
                    "timestamp", stamp, "a finite number (simulated seconds)", "Event"
                )
            setattr_(self, "timestamp", float(stamp))
        if not isinstance(self.source, str):
            raise _text_error("source", self.source, optional=False, empty_ok=True)
        for name in ("correlation_id", "causation_id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise _text_error(name, value, optional=True)
        if self.correlation_id is _UNSET:
            setattr_(self, "correlation_id", self.event_id)

    def caused(
        self, event_type: str, data: Mapping[str, Any] | None = None, **fields: Any
    ) -> Event:
        """Return a new event caused by this one.

        The new event keeps this event's ``correlation_id`` and takes this event's ``event_id``
        as its ``causation_id``.
        """
        return Event(
            event_type=event_type,
            data=_EMPTY if data is None else data,
            correlation_id=self.correlation_id,
            causation_id=self.event_id,
            **fields,
        )

    def evolve(self, **changes: Any) -> Event:
        """Return a copy with some envelope fields replaced (ids are kept)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The envelope as a plain dict (one row of a frame); ``data`` and ``metadata`` are
        deep mutable copies (plain dicts and lists)."""
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "event_version": self.event_version,
            "timestamp": self.timestamp,
            "source": self.source,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "data": thaw(self.data),
            "metadata": thaw(self.metadata),
        }


def causal_graph(events: Iterable[Event] | pd.DataFrame) -> nx.DiGraph:
    """Build the causal graph: one node per event, an edge from cause to effect.

    Args:
        events: Events, or a DataFrame with ``event_id``, ``causation_id`` and optionally
            ``event_type``, ``correlation_id``, ``timestamp`` and ``source`` columns.

    Returns:
        A :class:`networkx.DiGraph` whose nodes carry the envelope fields as attributes. A
        cause that is not among ``events`` still appears, as a node with no attributes.
    """
    if isinstance(events, pd.DataFrame):
        missing = {"event_id", "causation_id"} - set(events.columns)
        if missing:
            raise ConfigError(
                "events",
                sorted(events.columns),
                f"a frame with columns {sorted(missing)}",
                "causal_graph",
            )
        rows: Iterable[dict[str, Any]] = events.to_dict("records")
    else:
        rows = (e.to_dict() for e in events)
    graph = nx.DiGraph()
    for row in rows:
        attrs = {
            k: row[k] for k in ("event_type", "correlation_id", "timestamp", "source") if k in row
        }
        graph.add_node(row["event_id"], **attrs)
        cause = row.get("causation_id")
        if cause is not None and not (isinstance(cause, float) and pd.isna(cause)):
            graph.add_edge(cause, row["event_id"])
    return graph
