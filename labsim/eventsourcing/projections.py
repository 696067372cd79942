"""The read side of CQRS: projections that follow the event store and build read models.

A projection reads the store's global log in order (``read_all`` from its checkpoint) and
applies each event to a read model. Run by a :class:`ProjectionWorker` inside a simulation, it
becomes visible *later* than the write: the **lag** (append → visible) is recorded for every
event in the ``projected`` table.

The checkpoint and the read model change together when ``checkpoint_every=1`` (as if both were
in one database transaction): after a crash the worker resumes exactly where it stopped. With a
larger ``checkpoint_every`` the checkpoint lags the model, so after a crash the events since the
last checkpoint are applied a second time — harmless for an idempotent model (order statuses),
wrong for a counter (customer totals). The ``again`` column of ``projected`` marks them.

Everything a run's summary needs is written as rows, so it can be recomputed from frames:
``projected`` (one row per applied event), :func:`record_event_log` (the store's global log at
the end, the truth a read model is checked against) and :meth:`Projection.record_state` (a
read model's end state); :func:`replay_rows` rebuilds a read model from a recorded log.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any, ClassVar

import pandas as pd

from labsim.dists import Distribution, as_distribution
from labsim.errors import check_int, check_positive
from labsim.eventsourcing.store import EventStore, RecordedEvent
from labsim.network import Node
from labsim.record import Table
from labsim.world import World

__all__ = [
    "EVENT_LOG_COLUMNS",
    "PROJECTED_COLUMNS",
    "CustomerTotals",
    "OrderSummaries",
    "Projection",
    "ProjectionWorker",
    "projected_table",
    "record_event_log",
    "replay",
    "replay_rows",
]

#: Columns of the ``projected`` table: one row per event a worker applied (``again``: the
#: worker had applied it before, after resuming from a lagging checkpoint).
PROJECTED_COLUMNS = (
    "projection",
    "position",
    "event_type",
    "appended_at",
    "visible_at",
    "lag",
    "again",
)
#: Columns of the event-log table written by :func:`record_event_log`.
EVENT_LOG_COLUMNS = ("position", "stream_id", "stream_version", "event_type", "timestamp", "data")


def projected_table(world: World) -> Table:
    """The ``projected`` table of ``world`` (declared here so a run without workers has it)."""
    return world.table("projected", PROJECTED_COLUMNS)


def record_event_log(world: World, store: EventStore, name: str = "event_log") -> None:
    """Write the store's global log as table ``name`` (one row per event, in position order).

    A run's summary replays these rows (:func:`replay_rows`) instead of the live store.
    """
    add = world.table(name, EVENT_LOG_COLUMNS).add
    for e in store.read_all(0):
        add(e.position, e.stream_id, e.stream_version, e.event_type, e.timestamp, e.data)


class Projection:
    """A read model built from events; subclasses implement :meth:`handle`."""

    name = "projection"
    #: Columns of the end-state table written by :meth:`record_state`.
    columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.checkpoint = 0  # the next global position to apply
        self.applied = 0

    def handle(self, event: RecordedEvent) -> None:  # pragma: no cover - abstract
        """Apply one event to the read model."""
        raise NotImplementedError

    def apply(self, event: RecordedEvent) -> None:
        """Handle ``event`` and count it."""
        self.handle(event)
        self.applied += 1

    def state(self) -> Any:  # pragma: no cover - abstract
        """The read model (for comparisons)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget everything (before a rebuild)."""
        self.__init__()  # type: ignore[misc]

    def rows(self) -> list[tuple[Any, ...]]:  # pragma: no cover - abstract
        """The read model as rows, in the order of :attr:`columns`."""
        raise NotImplementedError

    def record_state(self, world: World) -> None:
        """Write the read model's end state as table :attr:`name` (columns :attr:`columns`)."""
        add = world.table(self.name, self.columns).add
        for row in self.rows():
            add(*row)


class OrderSummaries(Projection):
    """order id -> {status, customer, total, version}; idempotent: re-applying is a no-op."""

    name = "order_summaries"
    columns = ("order_id", "status", "customer", "total", "version")

    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, dict[str, Any]] = {}

    def handle(self, event: RecordedEvent) -> None:
        if not event.stream_id.startswith("order-"):
            return
        order_id = event.stream_id.removeprefix("order-")
        row = self.orders.setdefault(
            order_id, {"status": "new", "customer": None, "total": 0.0, "version": -1}
        )
        if event.stream_version <= row["version"]:
            return  # already applied: the version makes this projection idempotent
        status = event.event_type.split(".", 1)[1]
        row.update(status=status, version=event.stream_version)
        if event.event_type == "order.created":
            row.update(customer=event.data["customer"], total=event.data["total"])

    def state(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in sorted(self.orders.items())}

    def rows(self) -> list[tuple[Any, ...]]:
        return [
            (k, v["status"], v["customer"], v["total"], v["version"])
            for k, v in sorted(self.orders.items())
        ]


class CustomerTotals(Projection):
    """customer -> money paid minus refunded: a counter, *not* idempotent."""

    name = "customer_totals"
    columns = ("customer", "total")

    def __init__(self) -> None:
        super().__init__()
        self.customers: dict[str, float] = {}
        self._owner: dict[str, str] = {}

    def handle(self, event: RecordedEvent) -> None:
        if event.event_type == "order.created":
            self._owner[event.stream_id] = event.data["customer"]
        elif event.event_type == "order.paid":
            who = self._owner.get(event.stream_id, "?")
            self.customers[who] = round(self.customers.get(who, 0.0) + event.data["amount"], 2)
        elif event.event_type == "order.cancelled":
            who = self._owner.get(event.stream_id, "?")
            self.customers[who] = round(
                self.customers.get(who, 0.0) - event.data.get("refund", 0.0), 2
            )

    def state(self) -> dict[str, float]:
        return dict(sorted(self.customers.items()))

    def rows(self) -> list[tuple[Any, ...]]:
        return list(self.state().items())


def _rebuild(projection: Projection, events: Iterable[Any], head: int) -> Projection:
    projection.reset()
    for event in events:
        projection.apply(event)
    projection.checkpoint = head
    return projection


def replay(store: EventStore, projection: Projection) -> Projection:
    """Rebuild ``projection`` from scratch by replaying the whole store."""
    return _rebuild(projection, store.read_all(0), store.head)


def replay_rows(log: pd.DataFrame, projection: Projection) -> Projection:
    """Rebuild ``projection`` from a recorded event log (:func:`record_event_log`).

    Each row is read as an event through its columns (``stream_id``, ``event_type``,
    ``data``...), so a summary can check a read model against the recorded truth.
    """
    return _rebuild(projection, log.itertuples(index=False), len(log))


class ProjectionWorker:
    """Runs a projection in a simulation: poll the store, apply events, checkpoint.

    Args:
        world: The world.
        store: The event store (its events' ``timestamp`` is their append time).
        projection: The read model to maintain.
        node: Node the worker runs on (a crash stops it; a restart resumes from the
            checkpoint). ``None`` runs it without a node.
        poll_interval: Seconds between polls when there is nothing new.
        batch_size: Events read per poll.
        processing: Time to apply one event (distribution or seconds).
        checkpoint_every: Events between checkpoint commits (1 = atomic with the model).
    """

    def __init__(
        self,
        world: World,
        store: EventStore,
        projection: Projection,
        *,
        node: Node | None = None,
        poll_interval: float = 0.05,
        batch_size: int = 100,
        processing: Distribution | float = 0.001,
        checkpoint_every: int = 1,
    ):
        self.world = world
        self.store = store
        self.projection = projection
        self.node = node
        self.poll_interval = check_positive("poll_interval", poll_interval, "ProjectionWorker")
        self.batch_size = check_int("batch_size", batch_size, 1, "ProjectionWorker")
        self.processing = as_distribution(processing, "processing")
        self.checkpoint_every = check_int(
            "checkpoint_every", checkpoint_every, 1, "ProjectionWorker"
        )
        self.saved_checkpoint = projection.checkpoint  # what survives a crash
        self._seen: set[int] = set()
        self.double_applied = 0
        self._rng = world.rng(f"projection-{projection.name}")
        self._projected = projected_table(world).add
        if node is not None:
            node.process(self._run())
            node.on_restart(self._restart)
        else:
            world.process(self._run())

    def _restart(self, node: Node) -> None:
        # The read model survived (it is durable); the in-memory position did not.
        self.projection.checkpoint = self.saved_checkpoint
        node.process(self._run())

    def _run(self) -> Generator[Any, Any, None]:
        env = self.world.env
        proj = self.projection
        while True:
            batch = self.store.read_all(proj.checkpoint, self.batch_size)
            if not batch:
                yield env.timeout(self.poll_interval)
                continue
            for event in batch:
                yield env.timeout(self.processing.sample(self._rng))
                proj.apply(event)
                proj.checkpoint = event.position + 1
                again = event.position in self._seen
                if again:
                    self.double_applied += 1
                self._seen.add(event.position)
                if proj.checkpoint - self.saved_checkpoint >= self.checkpoint_every:
                    self.saved_checkpoint = proj.checkpoint
                self._projected(
                    proj.name,
                    event.position,
                    event.event_type,
                    event.timestamp,
                    env.now,
                    env.now - event.timestamp,
                    again,
                )
