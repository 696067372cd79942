"""Event store throughput: appends/s and read_all events/s, both backends, batch 1 and 100.

The floor is a plain ``sqlite3`` INSERT loop into the same schema with the same transaction
size (one transaction per batch), run in the same process. Target: the SQLite store >= 0.5 x
the plain loop. Prints one JSON line (median of 3 runs each).

Run: ``.venv/bin/python benchmarks/eventstore.py [events]``
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import emit

from labsim import Event
from labsim.eventsourcing import ANY, InMemoryEventStore, SqliteEventStore
from labsim.eventsourcing.sqlite import _SCHEMA

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def make_events(n: int) -> list[Event]:
    return [
        Event("item.added", {"i": i, "sku": f"sku-{i % 97}"}, event_id=f"e{i}", timestamp=float(i))
        for i in range(n)
    ]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def store_rates(store, batch: int, data: list[Event]) -> tuple[float, float]:
    def write() -> None:
        for start in range(0, len(data), batch):
            store.append(f"s{(start // batch) % 100}", data[start : start + batch], ANY)

    append_s = timed(write)
    read_s = timed(lambda: store.read_all(0))
    return len(data) / append_s, len(data) / read_s


def plain_sqlite(path: Path, batch: int, data: list[Event]) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    versions: dict[str, int] = {}

    def write() -> None:
        for start in range(0, len(data), batch):
            stream = f"s{(start // batch) % 100}"
            rows = []
            for e in data[start : start + batch]:
                v = versions.get(stream, -1) + 1
                versions[stream] = v
                rows.append(
                    (
                        stream,
                        v,
                        e.event_id,
                        e.event_type,
                        e.event_version,
                        e.timestamp,
                        e.source,
                        e.correlation_id,
                        e.causation_id,
                        json.dumps(dict(e.data), sort_keys=True),
                        "{}",
                    )
                )
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO events (stream_id, stream_version, event_id, event_type, "
                "event_version, timestamp, source, correlation_id, causation_id, data, metadata)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            db.execute("COMMIT")

    rate = len(data) / timed(write)
    db.close()
    return rate


def main() -> None:
    figures: dict[str, object] = {"benchmark": "eventstore", "events": EVENTS}
    for batch in (1, 100):
        # Batch 1 means one transaction per event: far slower, so measure a tenth as many.
        n = EVENTS // 10 if batch == 1 else EVENTS
        data = make_events(n)
        runs: dict[str, list[float]] = {}
        for _ in range(3):
            with tempfile.TemporaryDirectory() as tmp:
                tmpdir = Path(tmp)
                mem = store_rates(InMemoryEventStore(), batch, data)
                with SqliteEventStore(tmpdir / "store.db") as sqlite_store:
                    sql = store_rates(sqlite_store, batch, data)
                plain = plain_sqlite(tmpdir / "plain.db", batch, data)
            for key, value in (
                ("memory_append", mem[0]),
                ("memory_read_all", mem[1]),
                ("sqlite_append", sql[0]),
                ("sqlite_read_all", sql[1]),
                ("plain_sqlite_insert", plain),
            ):
                runs.setdefault(key, []).append(value)
        for key, values in runs.items():
            figures[f"{key}_per_s_batch{batch}"] = statistics.median(values)
        figures[f"sqlite_vs_plain_batch{batch}"] = (
            figures[f"sqlite_append_per_s_batch{batch}"]
            / figures[f"plain_sqlite_insert_per_s_batch{batch}"]
        )
        figures[f"events_measured_batch{batch}"] = n
    emit(figures)


if __name__ == "__main__":
    main()
