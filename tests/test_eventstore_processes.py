"""The SQLite store across OS processes: concurrent writers, a writer killed mid-run, locks."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from labsim import Event
from labsim.eventsourcing import EventStoreError, SqliteEventStore

WRITER = """
import sys
from labsim import Event
from labsim.eventsourcing import ConcurrencyError, NO_STREAM, SqliteEventStore
path, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = SqliteEventStore(path, timeout=30)
won = 0
conflicts = 0
while won < n:
    version = store.stream_version("shared")
    expected = NO_STREAM if version is None else version
    event = Event("counter.incremented", {"by": name}, event_id=f"{name}-{won}")
    try:
        store.append("shared", [event], expected)
    except ConcurrencyError:
        conflicts += 1
        continue
    won += 1
print(won, conflicts)
"""

KILLED_WRITER = """
import sys
from labsim import Event
from labsim.eventsourcing import SqliteEventStore
store = SqliteEventStore(sys.argv[1], timeout=30)
batch = 0
while True:
    events = [Event("item.added", {"batch": batch, "i": i}, event_id=f"b{batch}-{i}")
              for i in range(10)]
    store.append(f"stream-{batch % 7}", events)
    print(batch, flush=True)  # acknowledged: the append returned
    batch += 1
"""


@pytest.mark.slow
def test_two_processes_appending_with_expected_versions_lose_nothing(tmp_path):
    path = tmp_path / "shared.db"
    SqliteEventStore(path).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, "150"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    results = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    with SqliteEventStore(path) as store:
        events = store.read_stream("shared")
    assert len(events) == 300  # every acknowledged append is there, nothing more
    assert [e.stream_version for e in events] == list(range(300))  # one winner per version
    assert sorted(e.event_id for e in events) == sorted(
        [f"p1-{i}" for i in range(150)] + [f"p2-{i}" for i in range(150)]
    )
    assert sum(int(r[0]) for r in results) == 300


@pytest.mark.slow
def test_writer_killed_mid_run_leaves_no_partial_batch_and_loses_no_ack(tmp_path):
    path = tmp_path / "killed.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    acked = []
    deadline = time.monotonic() + 60
    while len(acked) < 40 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            acked.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(acked) >= 40
    with SqliteEventStore(path) as store:
        events = store.read_all()
    batches: dict[int, int] = {}
    for e in events:
        batches[e.data["batch"]] = batches.get(e.data["batch"], 0) + 1
    assert set(acked) <= set(batches)  # no acknowledged append lost
    assert all(n == 10 for n in batches.values())  # no batch half-written
    assert [e.position for e in events] == list(range(len(events)))


def test_locked_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "locked.db"
    SqliteEventStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        store = SqliteEventStore(path, timeout=0.1)
        with pytest.raises(EventStoreError, match=r"locked\.db.*locked"):
            store.append("s", [Event("x.y", event_id="only")])
        store.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with SqliteEventStore(path) as store:
        assert store.read_all() == []  # nothing half-written
