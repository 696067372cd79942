"""Event stores: append-only streams with optimistic concurrency; the in-memory store.

The SQLite store, with the same contract, is :mod:`labsim.eventsourcing.sqlite`.

Semantics follow EventStoreDB:

* a stream's **version** is the 0-based number of its last event (the first event is version
  0); a stream that does not exist has no version;
* ``append(stream_id, events, expected_version)`` checks ``expected_version`` — an exact int,
  :data:`ANY`, :data:`NO_STREAM` or :data:`STREAM_EXISTS` — and appends all events or none,
  returning the stream's new version; a mismatch raises :class:`ConcurrencyError` naming the
  stream, the expected and the actual version;
* every event also gets a 0-based **global position**; ``read_all(from_position)`` returns
  events in that order, which is what catch-up readers (projections) follow;
* ``read_stream`` of an unknown stream returns an empty list;
* stored events are read-only all the way down (``data`` and ``metadata`` are
  :class:`~labsim.events.FrozenDict`), so a reader cannot rewrite history through them;
* both stores accept and refuse exactly the same input: a stream id is a non-empty string,
  ``events`` one :class:`~labsim.Event` or a non-empty sequence of them, whose ``data`` and
  ``metadata`` are JSON objects (string keys; no NaN or infinity; tuples come back as lists);
  anything else raises :class:`~labsim.ConfigError` before anything is written;
* **idempotent appends**: appending a batch whose events are *all* already stored in that
  stream (same event ids, in order) writes nothing and returns the version of the last of them
  — a retried append is safe. A batch mixing stored and new event ids, or reusing an id stored
  in another stream, raises :class:`DuplicateEventError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labsim.errors import ConfigError, check_int, is_integer
from labsim.events import Event, FrozenDict

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "ConcurrencyError",
    "DuplicateEventError",
    "EventStore",
    "EventStoreError",
    "InMemoryEventStore",
    "RecordedEvent",
    "append_with_retry",
]


class _Expected:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: Append whatever the stream's version.
ANY = _Expected("ANY")
#: Append only if the stream has no events yet.
NO_STREAM = _Expected("NO_STREAM")
#: Append only if the stream already has events.
STREAM_EXISTS = _Expected("STREAM_EXISTS")


class EventStoreError(RuntimeError):
    """The store cannot do what was asked (corrupt or locked file, ...)."""


class ConcurrencyError(EventStoreError):
    """The stream's version is not the expected one (someone else appended first)."""

    def __init__(self, stream_id: str, expected: Any, actual: int | None):
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        shown = "no stream" if actual is None else f"version {actual}"
        super().__init__(f"stream {stream_id!r}: expected version {expected!r}, but it has {shown}")


class DuplicateEventError(EventStoreError):
    """An event id is already stored (and the batch is not an idempotent retry)."""


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored: the envelope plus its stream, stream version and global position."""

    stream_id: str
    stream_version: int
    position: int
    event_id: str
    event_type: str
    event_version: int
    timestamp: float
    source: str
    correlation_id: str
    causation_id: str | None
    data: Mapping[str, Any] = field(default_factory=FrozenDict)
    metadata: Mapping[str, Any] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        # Whatever a backend decoded, hand out read-only payloads.
        if type(self.data) is not FrozenDict:
            object.__setattr__(self, "data", FrozenDict(self.data))
        if type(self.metadata) is not FrozenDict:
            object.__setattr__(self, "metadata", FrozenDict(self.metadata))

    @property
    def event(self) -> Event:
        """The envelope as an :class:`~labsim.Event`."""
        return Event(
            event_type=self.event_type,
            data=self.data,
            event_id=self.event_id,
            event_version=self.event_version,
            timestamp=self.timestamp,
            source=self.source,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            metadata=self.metadata,
        )


def _check_expected(expected: Any) -> Any:
    """Return ``expected`` (NumPy integers as Python ints) or raise ConfigError."""
    if expected is ANY or expected is NO_STREAM or expected is STREAM_EXISTS:
        return expected
    if not is_integer(expected) or expected < 0:
        raise ConfigError(
            "expected_version",
            expected,
            "an int >= 0 (the stream's current version), ANY, NO_STREAM or STREAM_EXISTS",
            "EventStore.append",
        )
    return int(expected)


def _check_stream_id(stream_id: Any, context: str) -> str:
    if not isinstance(stream_id, str) or not stream_id:
        raise ConfigError("stream_id", stream_id, "a non-empty string", context)
    return stream_id


def _bad_json_key(value: Any) -> Any:
    """The first mapping key in ``value`` that is not a string (JSON would turn it into one),
    or ``None``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return key
            bad = _bad_json_key(item)
            if bad is not None:
                return bad
    elif isinstance(value, (list, tuple)):
        for item in value:
            bad = _bad_json_key(item)
            if bad is not None:
                return bad
    return None


def _json_object(name: str, value: Mapping[str, Any], stream_id: str) -> str:
    """``value`` as JSON text, or ConfigError if JSON would refuse or change it."""
    bad_key = _bad_json_key(value)
    if bad_key is not None:
        raise ConfigError(
            name,
            value,
            f"a JSON object with string keys (key {bad_key!r} is not a string); "
            "nothing was written",
            f"EventStore.append to stream {stream_id!r}",
        )
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            name,
            value,
            f"a JSON-serialisable payload without NaN or infinity ({exc}); nothing was written",
            f"EventStore.append to stream {stream_id!r}",
        ) from None


def _matches(expected: Any, actual: int | None) -> bool:
    if expected is ANY:
        return True
    if expected is NO_STREAM:
        return actual is None
    if expected is STREAM_EXISTS:
        return actual is not None
    return actual == expected


def _check_version(stream_id: str, expected: Any, actual: int | None) -> int:
    """Raise :class:`ConcurrencyError` unless ``expected`` fits ``actual``; return the version
    the batch builds on (-1 for a new stream)."""
    if not _matches(expected, actual):
        raise ConcurrencyError(stream_id, expected, actual)
    return -1 if actual is None else actual


def _prepare(stream_id: str, events: Any) -> list[tuple[Event, str, str]]:
    """Check a whole batch before anything is written; return each event with its JSON."""
    _check_stream_id(stream_id, "EventStore.append")
    if isinstance(events, Event):
        events = [events]
    elif isinstance(events, (str, bytes, Mapping)) or not isinstance(events, Iterable):
        raise ConfigError(
            "events",
            events,
            "a labsim.Event or a non-empty list of them",
            f"EventStore.append to stream {stream_id!r}",
        )
    prepared = []
    for index, event in enumerate(events):
        if not isinstance(event, Event):
            raise ConfigError(
                "events",
                event,
                f"a labsim.Event envelope (item {index} of the batch is not; nothing was written)",
                f"EventStore.append to stream {stream_id!r}",
            )
        data = _json_object("data", event.data, stream_id)
        metadata = _json_object("metadata", event.metadata, stream_id)
        prepared.append((event, data, metadata))
    if not prepared:
        raise ConfigError(
            "events",
            events,
            "at least one event",
            f"EventStore.append to stream {stream_id!r}",
        )
    ids = [e.event_id for e, _, _ in prepared]
    if len(set(ids)) != len(ids):
        raise DuplicateEventError(f"stream {stream_id!r}: the batch repeats an event id")
    return prepared


class EventStore:
    """The contract both backends implement (see the module docs)."""

    def append(
        self, stream_id: str, events: Sequence[Event] | Event, expected_version: Any = ANY
    ) -> int:  # pragma: no cover - abstract
        """Append ``events`` atomically; return the stream's new version."""
        raise NotImplementedError

    def read_stream(self, stream_id: str, from_version: int = 0) -> list[RecordedEvent]:
        """Events of one stream with version >= ``from_version`` (empty if no such stream)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def read_all(self, from_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Events of all streams with position >= ``from_position``, in global order."""
        raise NotImplementedError  # pragma: no cover - abstract

    def stream_version(self, stream_id: str) -> int | None:
        """The stream's current version, or ``None`` if it has no events."""
        raise NotImplementedError  # pragma: no cover - abstract

    @property
    def head(self) -> int:
        """The next global position (= number of stored events)."""
        raise NotImplementedError  # pragma: no cover - abstract

    @staticmethod
    def _check_read(from_version: Any, name: str) -> int:
        if not is_integer(from_version) or from_version < 0:
            raise ConfigError(name, from_version, "an int >= 0", "EventStore")
        return int(from_version)


class InMemoryEventStore(EventStore):
    """An event store in memory (fast; for simulations and tests)."""

    def __init__(self) -> None:
        self._all: list[RecordedEvent] = []
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._ids: dict[str, tuple[str, int]] = {}

    def append(
        self, stream_id: str, events: Sequence[Event] | Event, expected_version: Any = ANY
    ) -> int:
        expected_version = _check_expected(expected_version)
        prepared = _prepare(stream_id, events)
        stream = self._streams.get(stream_id, [])
        known = [self._ids.get(e.event_id) for e, _, _ in prepared]
        if any(known):
            return _idempotent(stream_id, prepared, known)
        actual = len(stream) - 1 if stream else None
        version = _check_version(stream_id, expected_version, actual)
        new = []
        for event, data, metadata in prepared:
            version += 1
            new.append(
                RecordedEvent(
                    stream_id,
                    version,
                    len(self._all) + len(new),
                    event.event_id,
                    event.event_type,
                    event.event_version,
                    float(event.timestamp),
                    event.source,
                    event.correlation_id,
                    event.causation_id,
                    json.loads(data),
                    json.loads(metadata),
                )
            )
        # All checks passed: commit the whole batch at once.
        self._streams.setdefault(stream_id, []).extend(new)
        self._all.extend(new)
        for r in new:
            self._ids[r.event_id] = (stream_id, r.stream_version)
        return version

    def read_stream(self, stream_id: str, from_version: int = 0) -> list[RecordedEvent]:
        _check_stream_id(stream_id, "EventStore.read_stream")
        from_version = self._check_read(from_version, "from_version")
        return list(self._streams.get(stream_id, [])[from_version:])

    def read_all(self, from_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        from_position = self._check_read(from_position, "from_position")
        end = None if limit is None else from_position + _check_limit(limit)
        return self._all[from_position:end]

    def stream_version(self, stream_id: str) -> int | None:
        _check_stream_id(stream_id, "EventStore.stream_version")
        stream = self._streams.get(stream_id)
        return len(stream) - 1 if stream else None

    @property
    def head(self) -> int:
        return len(self._all)


def _check_limit(limit: Any) -> int:
    if not is_integer(limit) or limit < 0:
        raise ConfigError("limit", limit, "None or an int >= 0", "EventStore.read_all")
    return int(limit)


def _idempotent(
    stream_id: str, prepared: list[tuple[Event, str, str]], known: list[tuple[str, int] | None]
) -> int:
    if all(k is not None and k[0] == stream_id for k in known):
        versions = [k[1] for k in known]  # type: ignore[index]
        if versions == list(range(versions[0], versions[0] + len(versions))):
            return versions[-1]  # a retry of an append that already happened
    ids = [e.event_id for (e, _, _), k in zip(prepared, known, strict=True) if k is not None]
    raise DuplicateEventError(
        f"stream {stream_id!r}: event ids {ids} are already stored "
        "(a batch must be all new, or an exact retry)"
    )


def append_with_retry(
    store: EventStore,
    stream_id: str,
    decide: Callable[[list[RecordedEvent]], Iterable[Event]],
    attempts: int = 5,
) -> int:
    """Read the stream, ``decide`` the new events, append with the version read; on a
    :class:`ConcurrencyError` read again and retry (up to ``attempts`` times).

    Returns the new stream version. ``decide`` may return no events (nothing is appended; the
    current version is returned, ``-1`` for an empty stream).
    """
    attempts = check_int("attempts", attempts, 1, "append_with_retry")
    for attempt in range(attempts):
        history = store.read_stream(stream_id)
        new = list(decide(history))
        expected = history[-1].stream_version if history else NO_STREAM
        if not new:
            return history[-1].stream_version if history else -1
        try:
            return store.append(stream_id, new, expected)
        except ConcurrencyError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
