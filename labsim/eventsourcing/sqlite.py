"""The event store in a SQLite file: the same contract as the in-memory store, on disk.

See :mod:`labsim.eventsourcing.store` for the semantics both stores share.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from labsim.events import Event
from labsim.eventsourcing.store import (
    ANY,
    ConcurrencyError,
    EventStore,
    EventStoreError,
    RecordedEvent,
    _check_expected,
    _check_limit,
    _check_stream_id,
    _check_version,
    _idempotent,
    _prepare,
)

__all__ = ["SqliteEventStore"]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position        INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    event_id        TEXT    NOT NULL UNIQUE,
    event_type      TEXT    NOT NULL,
    event_version   INTEGER NOT NULL,
    timestamp       REAL    NOT NULL,
    source          TEXT    NOT NULL,
    correlation_id  TEXT    NOT NULL,
    causation_id    TEXT,
    data            TEXT    NOT NULL,
    metadata        TEXT    NOT NULL,
    UNIQUE (stream_id, stream_version)
);
"""

T = TypeVar("T")


class SqliteEventStore(EventStore):
    """An event store in a SQLite file (standard library ``sqlite3``, WAL mode).

    One append-only table; positions are 0-based (``rowid - 1``); a uniqueness constraint on
    (stream id, stream version) backs the version check even across processes. Each append is
    one ``BEGIN IMMEDIATE`` transaction, so a batch is stored entirely or not at all, and
    concurrent writers in other processes are serialised.

    Args:
        path: The database file (created if missing).
        timeout: Seconds to wait for a lock held by another writer before giving up.
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float = 10.0):
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise EventStoreError(f"{self.path}: cannot open as an event store ({exc})") from None

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> SqliteEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return work(self._db)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise EventStoreError(
                    f"{self.path}: database is locked by another writer ({exc})"
                ) from None
            raise EventStoreError(f"{self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise EventStoreError(f"{self.path}: {exc}") from None

    def append(
        self, stream_id: str, events: Sequence[Event] | Event, expected_version: Any = ANY
    ) -> int:
        expected_version = _check_expected(expected_version)
        prepared = _prepare(stream_id, events)

        def work(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                marks = ",".join("?" * len(prepared))
                rows = dict(
                    db.execute(
                        f"SELECT event_id, stream_id || char(31) || stream_version FROM events "
                        f"WHERE event_id IN ({marks})",
                        [e.event_id for e, _, _ in prepared],
                    )
                )
                if rows:
                    known = []
                    for e, _, _ in prepared:
                        found = rows.get(e.event_id)
                        if found is None:
                            known.append(None)
                        else:
                            s, v = found.rsplit(chr(31), 1)
                            known.append((s, int(v)))
                    db.execute("ROLLBACK")
                    return _idempotent(stream_id, prepared, known)
                (actual,) = db.execute(
                    "SELECT MAX(stream_version) FROM events WHERE stream_id = ?", (stream_id,)
                ).fetchone()
                version = _check_version(stream_id, expected_version, actual)
                params = []
                for event, data, metadata in prepared:
                    version += 1
                    params.append(
                        (
                            stream_id,
                            version,
                            event.event_id,
                            event.event_type,
                            event.event_version,
                            float(event.timestamp),
                            event.source,
                            event.correlation_id,
                            event.causation_id,
                            data,
                            metadata,
                        )
                    )
                db.executemany(
                    "INSERT INTO events (stream_id, stream_version, event_id, event_type, "
                    "event_version, timestamp, source, correlation_id, causation_id, data, "
                    "metadata) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    params,
                )
                db.execute("COMMIT")
                return version
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

        try:
            return self._run(work)
        except EventStoreError:
            raise
        except sqlite3.IntegrityError as exc:  # pragma: no cover - guarded by the checks above
            raise ConcurrencyError(
                stream_id, expected_version, self.stream_version(stream_id)
            ) from exc

    _COLUMNS = (
        "stream_id, stream_version, position - 1, event_id, event_type, event_version, "
        "timestamp, source, correlation_id, causation_id, data, metadata"
    )

    @staticmethod
    def _record(row: tuple[Any, ...]) -> RecordedEvent:
        return RecordedEvent(*row[:10], json.loads(row[10]), json.loads(row[11]))

    def read_stream(self, stream_id: str, from_version: int = 0) -> list[RecordedEvent]:
        _check_stream_id(stream_id, "EventStore.read_stream")
        from_version = self._check_read(from_version, "from_version")
        rows = self._run(
            lambda db: db.execute(
                f"SELECT {self._COLUMNS} FROM events WHERE stream_id = ? AND stream_version >= ? "
                "ORDER BY stream_version",
                (stream_id, from_version),
            ).fetchall()
        )
        return [self._record(r) for r in rows]

    def read_all(self, from_position: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        from_position = self._check_read(from_position, "from_position")
        count = -1 if limit is None else _check_limit(limit)
        rows = self._run(
            lambda db: db.execute(
                f"SELECT {self._COLUMNS} FROM events WHERE position >= ? ORDER BY position LIMIT ?",
                (from_position + 1, count),
            ).fetchall()
        )
        return [self._record(r) for r in rows]

    def stream_version(self, stream_id: str) -> int | None:
        _check_stream_id(stream_id, "EventStore.stream_version")
        (v,) = self._run(
            lambda db: db.execute(
                "SELECT MAX(stream_version) FROM events WHERE stream_id = ?", (stream_id,)
            ).fetchone()
        )
        return v

    @property
    def head(self) -> int:
        (n,) = self._run(
            lambda db: db.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()
        )
        return int(n)
