"""A Kafka-like producer: batches, acknowledgements, retries, and the idempotent producer.

``producer.send(topic, value, key=...)`` returns a SimPy event that succeeds with a
:class:`SendResult` once the broker acknowledged the record (or retries ran out). A request
that times out is retried — and if the first attempt *was* appended but its acknowledgement
was lost, the retry appends the record again: a duplicate. With ``idempotent=True`` every
batch carries the producer id and a per-partition sequence number, and the broker acknowledges
a retried batch without appending it twice (and refuses batches that arrive out of order, so
retries cannot reorder records either).

Each request is a :class:`~labsim.kafka.messages.Produce` message; the broker answers with a
:class:`~labsim.kafka.messages.ProduceReply` or an :class:`~labsim.kafka.messages.ErrorReply`.

Recorded tables: ``sends`` (one row per ``send``), ``produce_requests`` (one row per request
attempt with its outcome) and ``acks`` (final outcome per record: offset or failure).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import simpy
from simpy.events import PENDING

from labsim.errors import ConfigError
from labsim.kafka.assignors import TopicPartition
from labsim.kafka.broker import Broker
from labsim.kafka.config import ProducerConfig
from labsim.kafka.messages import (
    DUPLICATE_SEQUENCE,
    OUT_OF_ORDER_SEQUENCE,
    Entry,
    ErrorReply,
    Produce,
    ProduceReply,
)
from labsim.kafka.partitioner import Partitioner
from labsim.network import Network
from labsim.transport import Endpoint, quick_init
from labsim.world import call_later

__all__ = ["Producer", "SendResult"]

_new = object.__new__


@quick_init
@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of one ``send``: ``ok``, and the partition and offset when acknowledged."""

    msg_id: str
    ok: bool
    topic: str
    partition: int
    offset: int | None


class Producer:
    """Produces records to a :class:`~labsim.kafka.broker.Broker` over the network.

    Args:
        network: The network (its world runs and records the producer).
        node: The node the producer runs on.
        broker: The broker (its node name is the destination; its topics the metadata).
        name: Producer id (defaults to the node name).
        config: A :class:`ProducerConfig`; keyword arguments override single settings.
        partitioner: A custom :class:`~labsim.kafka.partitioner.Partitioner`.
    """

    def __init__(
        self,
        network: Network,
        node: str,
        broker: Broker,
        *,
        name: str | None = None,
        config: ProducerConfig | None = None,
        partitioner: Partitioner | None = None,
        **settings: Any,
    ):
        self.world = world = network.world
        self._env = world.env
        self.network = network
        self.node = network.node(node)
        self.broker = broker
        self.name = name or node
        base = config or ProducerConfig()
        self.config = replace(base, **settings) if settings else base
        self.partitioner = partitioner or Partitioner(
            self.config.null_key, world.rng(f"partitioner-{self.name}"), self.config.batch_size
        )
        self.endpoint = Endpoint.of(network, node)
        # Requests in flight (at most max_in_flight) and the batches waiting for a slot.
        self._in_flight = 0
        self._queued: deque[_Delivery] = deque()
        self._crashes = self.node.crashes
        self._batches: dict[TopicPartition, _Batch] = {}
        self._sequence: dict[TopicPartition, int] = {}
        self._count = 0
        self._batch_count = 0
        sends = world.recorder.table(
            "sends",
            ("time", "producer", "msg_id", "topic", "partition", "key"),
            typed={"time": "d"},  # a float per record: compact in long runs
        )
        # ``None`` when the recording level leaves the table out: no call per record.
        self._sends = sends.add if sends.enabled else None
        self._requests = world.table(
            "produce_requests",
            ("time", "producer", "batch", "attempt", "topic", "partition", "records", "outcome"),
        ).add
        acks = world.table(
            "acks", ("time", "producer", "msg_id", "topic", "partition", "offset", "outcome")
        )
        self._acks = acks.add if acks.enabled else None

    def send(self, topic: str, value: Any, key: Any = None) -> simpy.Event:
        """Queue one record; returns an event that succeeds with a :class:`SendResult`."""
        log = self.broker.topics.get(topic)
        if log is None:
            log = self.broker.topic(topic)  # raises a ConfigError naming the topics
        partition = self.partitioner.partition(topic, key, value, len(log.partitions))
        self._count = count = self._count + 1
        name = self.name
        msg_id = f"{name}-{count}"
        env = self._env
        # ``simpy.Event(env)`` without its ``__init__`` call: one such event per record.
        done = _new(simpy.Event)
        done.env = env
        done.callbacks = []
        done._value = PENDING
        if self._sends is not None:
            self._sends(env._now, name, msg_id, topic, partition, key)
        tp = (topic, partition)
        batch = self._batches.get(tp)
        if batch is None:
            batch = self._batches[tp] = _Batch()
        entries = batch.entries
        entries.append(Entry(key, value, msg_id))
        batch.waiters.append(done)
        cfg = self.config
        if len(entries) >= cfg.batch_size or cfg.linger == 0:
            self._flush(tp)
        elif len(entries) == 1:
            self._check_up()
            call_later(env, cfg.linger, partial(self._linger_over, tp, batch, self.node.crashes))
        return done

    def _check_up(self) -> None:
        if not self.node.up:
            raise ConfigError(
                "node", self.node.name, "a node that is up (restart it first)", "Node.process"
            )

    def _linger_over(
        self, tp: TopicPartition, batch: _Batch, crashes: int, _event: simpy.Event
    ) -> None:
        if self.node.crashes == crashes and self._batches.get(tp) is batch:
            self._flush(tp)

    def _flush(self, tp: TopicPartition) -> None:
        batch = self._batches.pop(tp, None)
        if batch is None:
            return
        self._check_up()
        if self.node.crashes != self._crashes:
            # The node crashed since the last batch: every request in flight died with it.
            self._crashes = self.node.crashes
            self._in_flight = 0
            self._queued.clear()
        topic, partition = tp
        first_seq = None
        if self.config.idempotent:
            first_seq = self._sequence.get(tp, 0)
            self._sequence[tp] = first_seq + len(batch.entries)
        self._batch_count += 1
        request = Produce(self.name, topic, partition, first_seq, tuple(batch.entries))
        delivery = _Delivery(request, batch.waiters, self._batch_count, self._crashes)
        if self._in_flight < self.config.max_in_flight:
            self._in_flight += 1
            self._attempt(delivery)
        else:
            self._queued.append(delivery)

    # A delivery is driven by callbacks rather than a process: each attempt is one request,
    # its answer (or timeout) decides between acknowledging, retrying after the back-off and
    # giving up. A crash of the producer's node ends every delivery started before it.
    def _attempt(self, delivery: _Delivery) -> None:
        if delivery.crashes != self.node.crashes:
            return
        delivery.attempt += 1
        self.endpoint.request(
            self.broker.name,
            delivery.request,
            self.config.request_timeout,
            partial(self._answered, delivery),
        )

    def _answered(self, delivery: _Delivery, reply: ProduceReply | ErrorReply | None) -> None:
        if delivery.crashes != self.node.crashes:
            return
        cfg = self.config
        request = delivery.request
        outcome = _outcome(reply)
        self._requests(
            self.world.env.now,
            self.name,
            delivery.batch_id,
            delivery.attempt,
            request.topic,
            request.partition,
            len(delivery.waiters),
            outcome,
        )
        if isinstance(reply, ProduceReply):
            self._finish(delivery, reply.offsets, True)
            return
        if outcome == DUPLICATE_SEQUENCE:
            # Already appended by an earlier attempt; Kafka treats this as success.
            self._finish(delivery, (None,) * len(delivery.waiters), True)
            return
        # An out-of-order answer means an earlier batch is still being retried: wait for it
        # without using up this batch's retries (bounded all the same).
        if outcome != OUT_OF_ORDER_SEQUENCE or delivery.attempt > 20 * (cfg.retries + 1):
            delivery.failures += 1
        if delivery.failures > cfg.retries:
            self._finish(delivery, (None,) * len(delivery.waiters), False)
            return
        timer = self.world.env.timeout(cfg.retry_backoff)
        timer.callbacks.append(lambda _event: self._attempt(delivery))

    def _finish(
        self, delivery: _Delivery, offsets: tuple[int | None, ...], acknowledged: bool
    ) -> None:
        self._in_flight -= 1
        request = delivery.request
        topic, partition = request.topic, request.partition
        now = self._env.now
        outcome = "ok" if acknowledged else "failed"
        acks, name = self._acks, self.name
        waiters = delivery.waiters
        if len(offsets) != len(waiters):
            raise RuntimeError(f"{name}: {len(offsets)} offsets for {len(waiters)} records")
        # Lengths checked above: zip's own check (strict=True) costs a keyword parse per call.
        for entry, done, offset in zip(request.entries, waiters, offsets):  # noqa: B905
            msg_id = entry.msg_id
            if acks is not None:
                acks(now, name, msg_id, topic, partition, offset, outcome)
            result = SendResult(msg_id, acknowledged, topic, partition, offset)
            if done.callbacks:
                done.succeed(result)
            else:
                # Most sends are never waited on: such an event is marked processed (as SimPy
                # leaves an event once its callbacks ran), so a later ``yield`` of it gets the
                # result at once, as if it had gone through the event queue: one event less.
                done._ok = True
                done._value = result
                done.callbacks = None  # type: ignore[assignment]
        if self._queued:
            self._in_flight += 1
            self._attempt(self._queued.popleft())


class _Delivery:
    """One batch on its way to the broker: the request, its senders' events, the attempts."""

    __slots__ = ("attempt", "batch_id", "crashes", "failures", "request", "waiters")

    def __init__(
        self, request: Produce, waiters: list[simpy.Event], batch_id: int, crashes: int
    ) -> None:
        self.request = request
        self.waiters = waiters
        self.batch_id = batch_id
        self.crashes = crashes
        self.attempt = 0
        self.failures = 0


class _Batch:
    """Records waiting to be sent to one partition, and the events their senders wait on."""

    __slots__ = ("entries", "waiters")

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.waiters: list[simpy.Event] = []


def _outcome(reply: ProduceReply | ErrorReply | None) -> str:
    """How one produce attempt ended, as the ``produce_requests`` table records it."""
    if reply is None:
        return "timeout"
    if isinstance(reply, ErrorReply):
        return reply.reason
    return "ok"
