"""The commit-order gap: concurrent writers, a global log, and readers that may skip.

Many SQL event stores number events with a sequence taken when the *transaction begins*;
the event becomes visible only when the transaction *commits*. Two writers in flight at once
can commit in the other order: position 7 is visible while position 6 is still in flight,
and 6 appears a moment later (or never, if its transaction aborts). A reader that follows the
log by position and keeps "the highest position I saw" as its checkpoint has already moved
past 6 when it appears, and skips it for ever. That is requirement 11 of
``docs/eventstore-requirements.md`` ("insert order equals commit order"), broken.

:class:`CommitLog` is that log (the same semantics the ``projection-checkpoint`` challenge
runs, which reuses it). Three readers poll it:

* :class:`NaiveReader`: checkpoint = highest position seen. Skips late commits.
* :class:`HighWaterReader`: reads only up to the log's **high-water mark**, the highest
  position below which nothing is still in flight (the store knows its open transactions,
  as ``pg_snapshot_xmin`` tells PostgreSQL's readers). Never skips, never waits for ever.
* :class:`GapTimeoutReader`: advances only over a contiguous run of positions and waits at a
  hole; after ``timeout`` seconds it gives the hole up as aborted and moves on. Needs no help
  from the store, but a commit slower than the timeout is skipped.

:func:`simulate` runs writers and readers inside a :class:`~labsim.World` and records rows:
``gap.commits`` (one per transaction) and ``gap.applied`` (one per event a reader applied).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from labsim.dists import Distribution, as_distribution
from labsim.errors import ConfigError, check_int, check_positive, check_probability
from labsim.world import World

__all__ = [
    "APPLIED_COLUMNS",
    "COMMIT_COLUMNS",
    "READERS",
    "CommitLog",
    "GapTimeoutReader",
    "HighWaterReader",
    "NaiveReader",
    "StoredEvent",
    "make_reader",
    "missed_events",
    "simulate",
]

#: Columns of ``gap.commits``: one row per transaction (outcome ``"committed"``/``"aborted"``).
COMMIT_COLUMNS = ("position", "writer", "begun_at", "ended_at", "outcome")
#: Columns of ``gap.applied``: one row per event a reader applied.
APPLIED_COLUMNS = ("reader", "position", "time")


@dataclass(frozen=True)
class StoredEvent:
    """An event as a reader of the global log sees it.

    Attributes:
        position: Its global position (1, 2, 3, ... taken when its transaction began).
        data: Its payload.
    """

    position: int
    data: dict[str, Any] = field(default_factory=dict)


class CommitLog:
    """A global log whose positions are allocated at begin and become visible at commit.

    Attributes:
        visible: Position -> committed event (what a reader can see now).
        in_flight: Positions whose transaction has begun and not yet ended.
        aborted: Positions whose transaction rolled back (holes for ever).
    """

    def __init__(self) -> None:
        self.visible: dict[int, StoredEvent] = {}
        self.in_flight: set[int] = set()
        self.aborted: set[int] = set()
        self.allocated = 0  # the highest position handed out

    def begin(self) -> int:
        """Start a transaction: take the next position (not visible yet)."""
        self.allocated += 1
        self.in_flight.add(self.allocated)
        return self.allocated

    def _end(self, position: int) -> None:
        if position not in self.in_flight:
            raise ConfigError("position", position, "a position begun and not yet ended", "log")
        self.in_flight.discard(position)

    def commit(self, position: int, data: dict[str, Any] | None = None) -> StoredEvent:
        """Commit the transaction holding ``position``: its event becomes visible."""
        self._end(position)
        event = StoredEvent(position, dict(data or {}))
        self.visible[position] = event
        return event

    def abort(self, position: int) -> None:
        """Roll back the transaction holding ``position``: it stays a hole."""
        self._end(position)
        self.aborted.add(position)

    def read(self, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Visible events with position > ``after``, by position (at most ``limit``)."""
        found = sorted(p for p in self.visible if p > after)
        if limit is not None:
            found = found[: max(int(limit), 0)]
        return [self.visible[p] for p in found]

    @property
    def high_water(self) -> int:
        """The highest position ``h`` such that no position ``<= h`` is still in flight."""
        return min(self.in_flight) - 1 if self.in_flight else self.allocated


class NaiveReader:
    """Checkpoint = the highest position applied; reads everything visible after it."""

    name = "naive"

    def __init__(self) -> None:
        self.checkpoint = 0

    def poll(self, log: CommitLog, now: float = 0.0) -> list[StoredEvent]:
        """Apply what is new; return the events applied, in order."""
        events = log.read(self.checkpoint)
        if events:
            self.checkpoint = events[-1].position
        return events


class HighWaterReader:
    """Reads only up to the log's high-water mark, so a late commit is never behind it."""

    name = "high-water mark"

    def __init__(self) -> None:
        self.checkpoint = 0

    def poll(self, log: CommitLog, now: float = 0.0) -> list[StoredEvent]:
        """Apply the visible events in ``(checkpoint, high_water]``."""
        mark = log.high_water  # taken first: nothing at or below it can still appear
        events = [e for e in log.read(self.checkpoint) if e.position <= mark]
        self.checkpoint = max(self.checkpoint, mark)
        return events


class GapTimeoutReader:
    """Advances over contiguous positions; gives a hole up after ``timeout`` seconds."""

    name = "gap timeout"

    def __init__(self, timeout: float = 0.1) -> None:
        self.timeout = check_positive("gap_timeout", timeout, "GapTimeoutReader")
        self.checkpoint = 0
        self._hole_since: dict[int, float] = {}

    def poll(self, log: CommitLog, now: float = 0.0) -> list[StoredEvent]:
        """Apply the contiguous visible run after the checkpoint, skipping stale holes."""
        applied = []
        ahead = {e.position: e for e in log.read(self.checkpoint)}
        top = max(ahead, default=self.checkpoint)
        while self.checkpoint < top:
            nxt = self.checkpoint + 1
            if nxt in ahead:
                applied.append(ahead[nxt])
            else:
                since = self._hole_since.setdefault(nxt, now)
                if now - since < self.timeout:
                    break  # wait: the hole may still be filled
            self.checkpoint = nxt
        return applied


#: Reader kinds by name, as :func:`simulate` and the scenario accept them.
READERS = ("naive", "high-water mark", "gap timeout")


def make_reader(kind: str, gap_timeout: float = 0.1) -> Any:
    """A new reader of kind ``kind`` (one of :data:`READERS`)."""
    if kind == "naive":
        return NaiveReader()
    if kind == "high-water mark":
        return HighWaterReader()
    if kind == "gap timeout":
        return GapTimeoutReader(gap_timeout)
    raise ConfigError("reader", kind, f"one of {', '.join(READERS)}", "commit-order gap")


def simulate(
    world: World,
    *,
    writers: int = 4,
    events: int = 200,
    rate: float = 100.0,
    commit_time: Distribution | float = 0.02,
    abort_probability: float = 0.0,
    poll: float = 0.01,
    readers: Iterable[str] = READERS,
    gap_timeout: float = 0.1,
    quiet: float = 1.0,
) -> CommitLog:
    """Start concurrent writers and polling readers on one :class:`CommitLog`.

    Each of ``writers`` writers loops: wait (exponential, total rate ``rate``), begin a
    transaction (take a position), hold it open for a ``commit_time`` draw, then commit (or
    abort with ``abort_probability``). Each reader polls every ``poll`` seconds until the run
    ends: ``quiet`` seconds after the last transaction ended, when every writer is done (so
    ``world.run()`` without ``until`` ends by itself). Rows go to ``gap.commits`` and
    ``gap.applied``.

    Returns:
        The log (live; a summary should read the recorded rows).
    """
    check_int("writers", writers, 1, "commit-order gap")
    check_int("events", events, 1, "commit-order gap")
    check_positive("rate", rate, "commit-order gap")
    check_positive("poll", poll, "commit-order gap")
    check_probability("abort_probability", abort_probability, "commit-order gap")
    check_positive("quiet", quiet, "commit-order gap")
    hold = as_distribution(commit_time)
    log = CommitLog()
    commits = world.table("gap.commits", COMMIT_COLUMNS).add
    applied = world.table("gap.applied", APPLIED_COLUMNS).add
    share = [events // writers + (1 if i < events % writers else 0) for i in range(writers)]
    ended = [0, 0.0]  # transactions ended, time of the last end

    def writer(index: int) -> Generator[Any, Any, None]:
        name = f"w{index + 1}"
        rng = world.rng(f"writer-{index + 1}")
        for _ in range(share[index]):
            yield world.timeout(rng.expovariate(rate / writers))
            begun = world.now
            position = log.begin()
            yield world.timeout(hold.sample(rng))
            if rng.random() < abort_probability:
                log.abort(position)
                commits(position, name, begun, world.now, "aborted")
            else:
                log.commit(position, {"writer": name})
                commits(position, name, begun, world.now, "committed")
            ended[0], ended[1] = ended[0] + 1, world.now

    def reader(kind: str) -> Generator[Any, Any, None]:
        r = make_reader(kind, gap_timeout)
        while True:
            yield world.timeout(poll)
            for event in r.poll(log, world.now):
                applied(r.name, event.position, world.now)
            if ended[0] == events and world.now - ended[1] >= quiet:
                return

    for i in range(writers):
        world.process(writer(i))
    for kind in readers:
        world.process(reader(kind))
    return log


def missed_events(
    commits: pd.DataFrame, applied: pd.DataFrame, readers: Iterable[str] = READERS
) -> pd.DataFrame:
    """Per reader: committed events it applied, missed and applied twice (from the rows).

    Columns: ``reader``, ``committed``, ``applied``, ``missed``, ``duplicates``,
    ``delay_p50_s`` (commit → applied, median).
    """
    done = commits[commits["outcome"] == "committed"]
    committed = set(done["position"])
    ended = done.set_index("position")["ended_at"]
    rows = []
    for name in readers:
        group = applied[applied["reader"] == name]
        seen = set(group["position"])
        delay = group["time"].to_numpy() - ended.reindex(group["position"]).to_numpy()
        rows.append(
            {
                "reader": name,
                "committed": len(committed),
                "applied": len(seen & committed),
                "missed": len(committed - seen),
                "duplicates": int(len(group) - len(seen)),
                "delay_p50_s": round(float(pd.Series(delay).median()), 4) if len(group) else 0.0,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["reader", "committed", "applied", "missed", "duplicates", "delay_p50_s"],
    )
