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

from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any

import simpy

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
from labsim.transport import Endpoint

__all__ = ["Producer", "SendResult"]


@dataclass(frozen=True)
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
        self._in_flight = simpy.Resource(world.env, capacity=self.config.max_in_flight)
        self._batches: dict[TopicPartition, _Batch] = {}
        self._sequence: dict[TopicPartition, int] = {}
        self._count = 0
        self._batch_count = 0
        self._sends = world.table(
            "sends", ("time", "producer", "msg_id", "topic", "partition", "key")
        ).add
        self._requests = world.table(
            "produce_requests",
            ("time", "producer", "batch", "attempt", "topic", "partition", "records", "outcome"),
        ).add
        self._acks = world.table(
            "acks", ("time", "producer", "msg_id", "topic", "partition", "offset", "outcome")
        ).add

    def send(self, topic: str, value: Any, key: Any = None) -> simpy.Event:
        """Queue one record; returns an event that succeeds with a :class:`SendResult`."""
        count = len(self.broker.topic(topic).partitions)
        partition = self.partitioner.partition(topic, key, value, count)
        self._count += 1
        msg_id = f"{self.name}-{self._count}"
        done = self.world.env.event()
        self._sends(self.world.env.now, self.name, msg_id, topic, partition, key)
        tp = (topic, partition)
        batch = self._batches.setdefault(tp, _Batch())
        batch.entries.append(Entry(key, value, msg_id))
        batch.waiters.append(done)
        if len(batch.entries) >= self.config.batch_size or self.config.linger == 0:
            self._flush(tp)
        elif len(batch.entries) == 1:
            self.node.process(self._linger(tp, batch))
        return done

    def _linger(self, tp: TopicPartition, batch: _Batch) -> Generator[Any, Any, None]:
        yield self.world.env.timeout(self.config.linger)
        if self._batches.get(tp) is batch:
            self._flush(tp)

    def _flush(self, tp: TopicPartition) -> None:
        batch = self._batches.pop(tp, None)
        if batch is None:
            return
        topic, partition = tp
        first_seq = None
        if self.config.idempotent:
            first_seq = self._sequence.get(tp, 0)
            self._sequence[tp] = first_seq + len(batch.entries)
        self._batch_count += 1
        request = Produce(self.name, topic, partition, first_seq, tuple(batch.entries))
        self.node.process(self._deliver(request, batch.waiters, self._batch_count))

    def _deliver(
        self, request: Produce, waiters: list[simpy.Event], batch_id: int
    ) -> Generator[Any, Any, None]:
        env = self.world.env
        cfg = self.config
        topic, partition = request.topic, request.partition
        attempt = 0
        failures = 0
        offsets: tuple[int | None, ...] = (None,) * len(waiters)
        acknowledged = False
        with self._in_flight.request() as slot:
            yield slot
            while True:
                attempt += 1
                reply = yield from self.endpoint.call(
                    self.broker.name, request, cfg.request_timeout
                )
                outcome = _outcome(reply)
                self._requests(
                    env.now, self.name, batch_id, attempt, topic, partition, len(waiters), outcome
                )
                if isinstance(reply, ProduceReply):
                    offsets, acknowledged = reply.offsets, True
                    break
                if outcome == DUPLICATE_SEQUENCE:
                    # Already appended by an earlier attempt; Kafka treats this as success.
                    acknowledged = True
                    break
                # An out-of-order answer means an earlier batch is still being retried:
                # wait for it without using up this batch's retries (bounded all the same).
                if outcome != OUT_OF_ORDER_SEQUENCE or attempt > 20 * (cfg.retries + 1):
                    failures += 1
                if failures > cfg.retries:
                    break
                yield env.timeout(cfg.retry_backoff)
        now = env.now
        outcome = "ok" if acknowledged else "failed"
        for entry, done, offset in zip(request.entries, waiters, offsets, strict=True):
            self._acks(now, self.name, entry.msg_id, topic, partition, offset, outcome)
            done.succeed(SendResult(entry.msg_id, acknowledged, topic, partition, offset))


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
