"""A Kafka-like producer: batches, acknowledgements, retries, and the idempotent producer.

``producer.send(topic, value, key=...)`` returns a SimPy event that succeeds with a
:class:`SendResult` once the broker acknowledged the record (or retries ran out). A request
that times out is retried — and if the first attempt *was* appended but its acknowledgement
was lost, the retry appends the record again: a duplicate. With ``idempotent=True`` every
batch carries the producer id and a per-partition sequence number, and the broker acknowledges
a retried batch without appending it twice (and refuses batches that arrive out of order, so
retries cannot reorder records either).

Recorded tables: ``sends`` (one row per ``send``), ``produce_requests`` (one row per request
attempt with its outcome) and ``acks`` (final outcome per record: offset or failure).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from labsim.errors import check_int, check_non_negative, check_positive
from labsim.kafka.broker import Broker
from labsim.kafka.partitioner import Partitioner
from labsim.network import Network
from labsim.transport import Endpoint
from labsim.world import World

__all__ = ["Producer", "ProducerConfig", "SendResult"]


@dataclass(frozen=True)
class ProducerConfig:
    """Producer settings (Kafka names in brackets).

    Attributes:
        request_timeout: Seconds to wait for an acknowledgement (``request.timeout.ms``).
        retries: Retries after the first attempt before giving up (``retries``).
        retry_backoff: Seconds to wait before a retry (``retry.backoff.ms``).
        idempotent: Producer id + sequence numbers (``enable.idempotence``).
        linger: Seconds to wait for more records before sending a batch (``linger.ms``).
        batch_size: Records per batch at most (``batch.size``, in records here).
        max_in_flight: Unacknowledged requests at once (``max.in.flight.requests...``).
        null_key: How records without a key are spread: ``"sticky"`` or ``"round-robin"``.
    """

    request_timeout: float = 0.5
    retries: int = 5
    retry_backoff: float = 0.1
    idempotent: bool = False
    linger: float = 0.0
    batch_size: int = 16
    max_in_flight: int = 5
    null_key: str = "sticky"

    def __post_init__(self) -> None:
        check_positive("request_timeout", self.request_timeout, "Producer")
        check_int("retries", self.retries, 0, "Producer")
        check_non_negative("retry_backoff", self.retry_backoff, "Producer")
        check_non_negative("linger", self.linger, "Producer")
        check_int("batch_size", self.batch_size, 1, "Producer")
        check_int("max_in_flight", self.max_in_flight, 1, "Producer")


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
        world: The world.
        network: The network.
        node: The node the producer runs on.
        broker: The broker (its node name is the destination; its topics the metadata).
        name: Producer id (defaults to the node name).
        config: A :class:`ProducerConfig`; keyword arguments override single settings.
        partitioner: A custom :class:`~labsim.kafka.partitioner.Partitioner`.
    """

    def __init__(
        self,
        world: World,
        network: Network,
        node: str,
        broker: Broker,
        *,
        name: str | None = None,
        config: ProducerConfig | None = None,
        partitioner: Partitioner | None = None,
        **settings: Any,
    ):
        self.world = world
        self.network = network
        self.node = network.node(node)
        self.broker = broker
        self.name = name or node
        base = config or ProducerConfig()
        self.config = ProducerConfig(**{**base.__dict__, **settings}) if settings else base
        self.partitioner = partitioner or Partitioner(
            self.config.null_key, world.rng(f"partitioner-{self.name}"), self.config.batch_size
        )
        self.endpoint = Endpoint.of(network, node)
        self._in_flight = simpy.Resource(world.env, capacity=self.config.max_in_flight)
        self._batches: dict[tuple[str, int], list[tuple[Any, Any, str, simpy.Event]]] = {}
        self._sequence: dict[tuple[str, int], int] = {}
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
        batch = self._batches.setdefault(tp, [])
        batch.append((key, value, msg_id, done))
        if len(batch) >= self.config.batch_size or self.config.linger == 0:
            self._flush(tp)
        elif len(batch) == 1:
            self.node.process(self._linger(tp, batch))
        return done

    def _linger(self, tp: tuple[str, int], batch: list[Any]) -> Generator[Any, Any, None]:
        yield self.world.env.timeout(self.config.linger)
        if self._batches.get(tp) is batch:
            self._flush(tp)

    def _flush(self, tp: tuple[str, int]) -> None:
        batch = self._batches.pop(tp, [])
        if not batch:
            return
        first_seq = None
        if self.config.idempotent:
            first_seq = self._sequence.get(tp, 0)
            self._sequence[tp] = first_seq + len(batch)
        self._batch_count += 1
        self.node.process(self._deliver(tp, batch, first_seq, self._batch_count))

    def _deliver(
        self, tp: tuple[str, int], batch: list[Any], first_seq: int | None, batch_id: int
    ) -> Generator[Any, Any, None]:
        env = self.world.env
        cfg = self.config
        topic, partition = tp
        payload = (self.name, topic, partition, first_seq, [(k, v, m) for k, v, m, _ in batch])
        attempt = 0
        failures = 0
        offsets = None
        acknowledged = False
        with self._in_flight.request() as slot:
            yield slot
            while True:
                attempt += 1
                reply = yield from self.endpoint.call(
                    self.broker.name, "produce", payload, cfg.request_timeout
                )
                outcome = "timeout" if reply is None else ("ok" if reply[0] == "ok" else reply[1])
                self._requests(
                    env.now, self.name, batch_id, attempt, topic, partition, len(batch), outcome
                )
                if outcome == "ok":
                    offsets, acknowledged = reply[1], True
                    break
                if outcome == "duplicate-sequence":
                    # Already appended by an earlier attempt; Kafka treats this as success.
                    acknowledged = True
                    break
                # An out-of-order answer means an earlier batch is still being retried:
                # wait for it without using up this batch's retries (bounded all the same).
                if outcome != "out-of-order-sequence" or attempt > 20 * (cfg.retries + 1):
                    failures += 1
                if failures > cfg.retries:
                    break
                yield env.timeout(cfg.retry_backoff)
        now = env.now
        for i, (_, _, msg_id, done) in enumerate(batch):
            offset = offsets[i] if offsets is not None else None
            self._acks(
                now, self.name, msg_id, topic, partition, offset, "ok" if acknowledged else "failed"
            )
            done.succeed(SendResult(msg_id, acknowledged, topic, partition, offset))
