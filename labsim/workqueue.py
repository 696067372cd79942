"""A partitionless work queue with competing consumers.

Every message goes to exactly one of the consumers, whichever is free first — the
point-to-point queue of a message broker, and an M/M/c queue when arrivals are Poisson and
processing times exponential. (A Kafka topic with ``c`` partitions is instead ``c`` separate
queues: a slow partition cannot borrow an idle consumer.)

Recorded tables: ``{name}.processed`` (msg_id, consumer, published, started, finished), and on
request ``{name}.totals`` (running totals per phase, see :class:`WorkQueue`),
``{name}.length`` (the number waiting, sampled: :meth:`WorkQueue.sample_length`) and
``{name}.state`` (the end state: :meth:`WorkQueue.record_state`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import simpy

from labsim.dists import Distribution, as_distribution
from labsim.errors import ConfigError, check_int, check_positive
from labsim.world import World

__all__ = ["LENGTH_COLUMNS", "STATE_COLUMNS", "Waiting", "WorkQueue"]

#: Columns of ``{name}.length``: one row per sample of the messages waiting.
LENGTH_COLUMNS = ("time", "waiting")
#: Columns of ``{name}.state``: counters at the end of a run (published counts every message
#: handed to ``publish``/``put`` and every accepted ``offer``).
STATE_COLUMNS = ("time", "published", "completed", "waiting")


@dataclass(slots=True)
class Waiting:
    """A message in the queue.

    Attributes:
        msg_id: The message id.
        published: When the queue accepted it (``None`` while a :meth:`WorkQueue.put` waits
            for room).
        payload: The message's payload, handed to the consumer's handler.
    """

    msg_id: Any
    published: float | None
    payload: Any = None


class WorkQueue:
    """A FIFO queue shared by competing consumers.

    Args:
        world: The world.
        name: Queue name (prefix of its table and random streams).
        capacity: Maximum messages waiting (``None``: unbounded). A full queue makes
            :meth:`put` wait (backpressure) and :meth:`offer` refuse (load shedding).
        record_level: Level of the per-message table (``"full"`` or ``"summary"``).
        phase: When given, ``phase(msg_id)`` names the phase of each processed message
            (such as ``"warm-up"`` or ``"steady"``) and the summary-level :class:`Totals`
            table ``{name}.totals`` keeps, per phase, the count and the sum, minimum and
            maximum of ``wait`` (publish to start), ``sojourn`` (publish to end) and
            ``published`` — the figures of a million-message run in bounded memory.
    """

    def __init__(
        self,
        world: World,
        name: str = "queue",
        *,
        capacity: int | None = None,
        record_level: str = "full",
        phase: Callable[[Any], Any] | None = None,
    ):
        if not isinstance(name, str) or not name:
            raise ConfigError("name", name, "a non-empty queue name", "WorkQueue")
        if capacity is not None:
            check_int("capacity", capacity, 1, "WorkQueue")
        self.world = world
        self.name = name
        self.capacity = capacity
        self._store = simpy.Store(world.env, capacity=capacity or float("inf"))
        self._processed = world.table(
            f"{name}.processed",
            ("msg_id", "consumer", "published", "started", "finished"),
            level=record_level,
        ).add
        self._state = world.table(f"{name}.state", STATE_COLUMNS, level="summary").add
        self._phase = phase
        self._totals = None
        if phase is not None:
            self._totals = world.recorder.totals(
                f"{name}.totals", ("phase",), ("wait", "sojourn", "published")
            ).add
        self.published = 0
        self.completed = 0

    def __len__(self) -> int:
        """Messages waiting (not yet taken by a consumer)."""
        return len(self._store.items)

    def publish(self, msg_id: Any, payload: Any = None) -> None:
        """Put a message at the tail of an unbounded queue (use :meth:`put` when bounded)."""
        if self.capacity is not None:
            raise ConfigError(
                "capacity",
                self.capacity,
                "None for publish(); a bounded queue takes put() (waits) or offer() (may refuse)",
                self.name,
            )
        self.published += 1
        self._store.put(Waiting(msg_id, self.world.env.now, payload))

    def put(self, msg_id: Any, payload: Any = None) -> simpy.Event:
        """Put a message; the returned event triggers once there is room (backpressure).

        The message's wait is counted from when it was accepted, not from when ``put`` was
        called: the time spent blocked is the producer's, not the queue's.
        """
        self.published += 1
        item = Waiting(msg_id, None, payload)
        event = self._store.put(item)

        def accepted(_event: simpy.Event) -> None:
            # Stamp the message when the queue accepts it (the put event fires then).
            item.published = self.world.env.now

        event.callbacks.append(accepted)
        return event

    def offer(self, msg_id: Any, payload: Any = None) -> bool:
        """Put a message if there is room; return ``False`` (message refused) if full."""
        if self.capacity is not None and len(self._store.items) >= self.capacity:
            return False
        self.published += 1
        self._store.put(Waiting(msg_id, self.world.env.now, payload))
        return True

    def record_state(self) -> None:
        """Write the counters as one row of ``{name}.state`` (call it when the run ends)."""
        self._state(self.world.env.now, self.published, self.completed, len(self))

    def sample_length(self, interval: float, keep_going: Callable[[], bool]) -> simpy.Process:
        """Record the number waiting every ``interval`` seconds while ``keep_going()`` holds.

        The samples (table ``{name}.length``) measure the queue length independently of the
        per-message rows, so Little's law can compare two different measurements.
        """
        check_positive("interval", interval, self.name)
        add = self.world.table(f"{self.name}.length", LENGTH_COLUMNS, level="summary").add
        return self.world.process(self._sample(add, interval, keep_going))

    def _sample(
        self, add: Callable[..., None], interval: float, keep_going: Callable[[], bool]
    ) -> Generator[Any, Any, None]:
        env = self.world.env
        timeout = env.timeout
        while keep_going():
            add(env.now, len(self._store.items))
            yield timeout(interval)

    def add_consumer(
        self,
        name: str,
        service: Distribution | float,
        handler: Callable[[Any, Any], Any] | None = None,
    ) -> simpy.Process:
        """Start a long-lived consumer that takes messages and holds each for a service time."""
        return self.world.process(self._consume(name, as_distribution(service, "service"), handler))

    def _consume(
        self, name: str, service: Distribution, handler: Callable[[Any, Any], Any] | None
    ) -> Generator[Any, Any, None]:
        env = self.world.env
        get = self._store.get
        timeout = env.timeout
        sample = service.sample
        rng = self.world.rng(f"{self.name}.{name}")
        record = self._processed
        totals, phase = self._totals, self._phase
        while True:
            msg = yield get()
            started = env.now
            yield timeout(sample(rng))
            record(msg.msg_id, name, msg.published, started, env.now)
            if totals is not None:
                published = msg.published
                totals(phase(msg.msg_id), started - published, env.now - published, published)
            self.completed += 1
            if handler is not None:
                handler(msg.msg_id, msg.payload)
