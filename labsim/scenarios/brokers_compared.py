"""Kafka, RabbitMQ and a cloud queue on the same workload (lesson 05).

``run(model, seed, messages)`` sends one keyed workload — ``messages`` messages for ``keys``
customers, read by ``consumers`` consumers, processing failing with probability ``failure`` —
through one of the lab's three models (the one Scenario shape, ``model`` a parameter):

* **kafka** (:mod:`labsim.kafka`): a keyed topic with ``partitions`` partitions, one consumer
  group; a failed record is retried in place (the consumer holds its partition's position);
* **rabbitmq** (:mod:`labsim.amqp`): one classic queue, competing consumers with a prefetch
  window; a failed message is nacked with requeue;
* **cloudqueue** (:mod:`labsim.cloudqueue`): an SQS-style queue polled by the consumers; a
  failed message is not deleted and comes back after its visibility timeout.

Each run also starts a **late reader** after everything was consumed (a new consumer group,
a new consumer on the queue) and, for fan-out, gives each of ``subscribers`` subscribers its
own copy of the stream the way that broker does it (consumer groups on one log; a fanout
exchange to a queue each; a queue each). :func:`compare` turns the frames into the lesson's
comparison table, every cell computed from a run; :func:`per_key_order` is the side-by-side
ordering plot's data.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from labsim.amqp import Message, MessageBroker
from labsim.cloudqueue import CloudQueue
from labsim.dists import Distribution, Exponential
from labsim.faults import FaultPlan
from labsim.kafka import Broker, Consumer, ConsumerConfig, Producer
from labsim.network import Network
from labsim.params import Params, build_params, param
from labsim.scenarios.base import Scenario
from labsim.scenarios.rabbitmq import DONE_COLUMNS, consume
from labsim.world import World, ms

__all__ = [
    "MODELS",
    "SCENARIO",
    "CompareParams",
    "CompareScenario",
    "compare",
    "figures",
    "order_grid",
    "order_violations",
    "per_key_order",
    "processed",
    "run",
    "run_model",
]

#: The three models, in the order the lesson shows them.
MODELS = ("kafka", "rabbitmq", "cloudqueue")


@dataclass(frozen=True)
class CompareParams(Params):
    """The shared workload of the comparison (see :func:`labsim.params.describe`)."""

    context = "brokers compared"

    messages: int = param(300, "messages published", ge=1, le=100_000, soft_max=2000)
    keys: int = param(4, "customers (keys); order matters per customer", ge=1, le=10_000)
    rate: float = param(150.0, "messages per second (Poisson)", gt=0, le=1e5, unit="1/s")
    consumers: int = param(3, "consumers reading the stream", ge=1, le=100, soft_max=12)
    partitions: int = param(3, "Kafka: partitions of the topic", ge=1, le=1000, soft_max=12)
    prefetch: int = param(10, "RabbitMQ: prefetch per consumer", ge=1, le=10_000)
    failure: float = param(0.1, "probability one processing attempt fails", ge=0, lt=1, step=0.05)
    processing_ms: float = param(5.0, "mean processing time per attempt", gt=0, le=1e4, unit="ms")
    subscribers: int = param(3, "services that each want every message (fan-out)", ge=1, le=100)
    model: str = param("kafka", "the broker model the workload goes through", choices=MODELS)


class _RetryInPlace(Distribution):
    # Kafka's consumer keeps its place: a failed attempt is retried before the next record.
    __slots__ = ("base", "failure")

    def __init__(self, base: Distribution, failure: float):
        self.base, self.failure = base, failure

    def sample(self, rng: Any) -> float:
        t = self.base.sample(rng)
        while rng.random() < self.failure:
            t += self.base.sample(rng)
        return t

    @property
    def mean(self) -> float:
        return self.base.mean / (1 - self.failure)


def _publisher(world: World, p: CompareParams, send: Any) -> Generator[Any, Any, None]:
    rng = world.rng("workload")
    for i in range(p.messages):
        yield world.env.timeout(rng.expovariate(p.rate))
        send(i + 1, f"customer-{rng.randrange(p.keys)}")


def _end(p: CompareParams) -> float:
    return p.messages / p.rate + 10.0


#: The table each model's late reader writes: what a reader started after the end received.
_LATE = ("time", "msg_id")
#: Written by :meth:`CompareScenario.finish`: messages the broker still stores.
_STORED = ("model", "kept")


def _kafka(world: World, p: CompareParams) -> Any:
    names = [f"c{i}" for i in range(1, p.consumers + 1)]
    subs = [f"sub-{s}" for s in range(1, p.subscribers)]
    network = Network(world, ["broker", "producer", *names, *subs, "late"], latency=ms(1))
    broker = Broker(network, metrics_interval=None)
    broker.create_topic("orders", partitions=p.partitions)
    producer = Producer(network, "producer", broker, max_in_flight=1)
    processing = _RetryInPlace(Exponential.from_mean(ms(p.processing_ms)), p.failure)
    config = ConsumerConfig(
        group="service", processing=processing, heartbeat_interval=0.5, session_timeout=3.0
    )
    for name in names:
        Consumer(network, name, broker, ["orders"], config=config)
    for sub in subs:  # the other subscribers: a group each, reading the same log
        Consumer(network, sub, broker, ["orders"], config=replace(config, group=sub))
    world.process(_publisher(world, p, lambda i, key: producer.send("orders", i, key=key)))

    def late() -> Generator[Any, Any, None]:
        yield world.env.timeout(_end(p))
        late_config = ConsumerConfig(group="late-reader")
        Consumer(network, "late", broker, ["orders"], name="late", config=late_config)

    world.process(late())
    return lambda: sum(len(x) for x in broker.topic("orders").partitions)


def _fails(world: World, failure: float) -> Any:
    rng = world.rng("failures")
    return lambda _msg, _now: rng.random() < failure


def _rabbitmq(world: World, p: CompareParams) -> Any:
    broker = MessageBroker(world)
    broker.declare_exchange("orders", "fanout")
    for name in ["service", *(f"subscriber-{s}" for s in range(1, p.subscribers))]:
        broker.declare_queue(name)
        broker.bind("orders", name)
    service = broker.queue("service")
    fails = _fails(world, p.failure)
    for i in range(1, p.consumers + 1):
        channel = service.subscribe(f"c{i}", prefetch=p.prefetch)
        work = Exponential.from_mean(ms(p.processing_ms))
        world.process(consume(world, channel, f"c{i}", work, latency=ms(1), fails=fails))
    send = lambda i, key: broker.publish("orders", "", Message(f"m-{i}", key))  # noqa: E731
    world.process(_publisher(world, p, send))
    late = world.table("late", _LATE).add

    def late_reader() -> Generator[Any, Any, None]:
        yield world.env.timeout(_end(p))
        channel = service.subscribe("late", prefetch=100)
        while True:
            delivery = yield channel.get()
            late(world.env.now, delivery.message.msg_id)

    world.process(late_reader())
    return lambda: len(service)


def _cloudqueue(world: World, p: CompareParams) -> Any:
    queues = [CloudQueue(world, "service", visibility_timeout=1.0)]
    queues += [CloudQueue(world, f"subscriber-{s}") for s in range(1, p.subscribers)]
    service = queues[0]
    fails = _fails(world, p.failure)
    done = world.table("done", DONE_COLUMNS).add
    work = Exponential.from_mean(ms(p.processing_ms))

    def consumer(name: str) -> Generator[Any, Any, None]:
        rng = world.rng(f"consumer-{name}")
        while True:
            batch = service.receive(name, max_messages=10)
            if not batch:
                yield world.env.timeout(0.02)  # an empty poll: ask again shortly
                continue
            for msg in batch:
                yield world.env.timeout(work.sample(rng))
                ok = not fails(msg, world.env.now)
                done(world.env.now, name, msg.msg_id, msg.key, 0.0, 0.0, "ok" if ok else "failed")
                if ok:
                    service.delete(msg.handle)

    for i in range(1, p.consumers + 1):
        world.process(consumer(f"c{i}"))

    def send(i: int, key: str) -> None:
        for q in queues:
            q.send(f"m-{i}", None, key)

    world.process(_publisher(world, p, send))
    late = world.table("late", _LATE).add

    def late_reader() -> Generator[Any, Any, None]:
        yield world.env.timeout(_end(p))
        while True:
            for msg in service.receive("late", max_messages=10):
                late(world.env.now, msg.msg_id)
            yield world.env.timeout(0.1)

    world.process(late_reader())
    return lambda: len(service)


_BUILDERS = {"kafka": _kafka, "rabbitmq": _rabbitmq, "cloudqueue": _cloudqueue}


def _seq(msg_ids: pd.Series) -> pd.Series:
    return msg_ids.str.rsplit("-", n=1).str[1].astype(int)


def processed(model: str, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Messages the service processed successfully: ``time``, ``consumer``, ``seq``, ``key``.

    ``seq`` is the publish order (1, 2, ...); a Kafka record appears once (retried in place),
    a queue's message once per successful attempt.
    """
    if model == "kafka":
        rows = frames["consumed"]
        rows = rows[rows["group"] == "service"]
    else:
        rows = frames["done"]
        rows = rows[rows["outcome"] == "ok"]
    out = pd.DataFrame(
        {
            "time": rows["time"],
            "consumer": rows["consumer"],
            "seq": _seq(rows["msg_id"]),
            "key": rows["key"],
        }
    )
    return out.reset_index(drop=True)


class CompareScenario(Scenario):
    """The shared keyed workload through one of :data:`MODELS` (see the module docs).

    Summary figures: ``processed``, ``order_violations`` (per key), ``busy_consumers``
    (consumers that processed anything), ``late_reader_got`` (what a reader started after the
    end received: replay), ``stored_copies`` (messages the broker stored, all subscribers
    together: fan-out cost), ``kept_after_consumption`` (retention) and ``acknowledgements``
    (offset commits for Kafka, acks or deletes for the queues).
    """

    name = "brokers-compared"
    description = "one keyed workload through Kafka, RabbitMQ and a cloud queue (lesson 05)"
    lesson = "05_rabbitmq_and_brokers"
    Params = CompareParams
    positional = ("model", "messages")

    def build(self, p: CompareParams, world: World, plan: FaultPlan) -> Any:
        return _BUILDERS[p.model](world, p)

    def until(self, p: CompareParams) -> float:
        return _end(p) + 5.0

    def finish(self, p: CompareParams, system: Any, world: World) -> None:
        world.table("stored", _STORED).add(p.model, system())

    def summarize(self, p: CompareParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        done = processed(p.model, frames)
        if p.model == "kafka":
            consumed, commits = frames["consumed"], frames["commits"]
            late = int((consumed["group"] == "late-reader").sum())
            stored = len(frames["log"])
            acks = int((commits["group"] == "service").sum())
        else:
            late = len(frames["late"])
            log = frames["amqp" if p.model == "rabbitmq" else "cloudqueue"]
            put, ack = ("published", "acked") if p.model == "rabbitmq" else ("sent", "deleted")
            stored = int((log["event"] == put).sum())
            acks = int(((log["event"] == ack) & (log["queue"] == "service")).sum())
        return {
            "processed": len(done),
            "order_violations": order_violations(done),
            "busy_consumers": int(done["consumer"].nunique()),
            "late_reader_got": late,
            "stored_copies": stored,
            "kept_after_consumption": int(frames["stored"]["kept"].iloc[0]),
            "acknowledgements": acks,
        }


SCENARIO = CompareScenario()
run = SCENARIO.run
figures = SCENARIO.figures


def run_model(model: str, seed: int = 0, **params: Any) -> dict[str, pd.DataFrame]:
    """``run(model, seed, **params)`` with the processed messages as ``done``.

    Returns:
        ``done`` (:func:`processed`) and ``figures`` (the summary as a one-row frame).
    """
    result = run(model, seed, **params)
    return {"done": processed(model, result.frames), "figures": result.summary_frame()}


def order_violations(done: pd.DataFrame) -> int:
    """Messages processed after a later message of the same key (per-key order broken)."""
    ordered = done.sort_values("time", kind="stable")
    return int(sum((g["seq"].cummax().shift() > g["seq"]).sum() for _, g in ordered.groupby("key")))


def per_key_order(runs: Mapping[str, Mapping[str, pd.DataFrame]], key: str) -> pd.DataFrame:
    """For one key: each model's successful processing in time order.

    Columns: ``model``, ``position`` (1st, 2nd... processed), ``seq`` (publish sequence
    number), ``rank`` (1st, 2nd... published of this key) and ``displacement``
    (``position - rank``: 0 everywhere when the key's order is kept).
    """
    rows = []
    for model, frames in runs.items():
        done = frames["done"]
        mine = done[done["key"] == key].sort_values("time", kind="stable")
        ranks = {seq: r for r, seq in enumerate(sorted(mine["seq"]), start=1)}
        for position, seq in enumerate(mine["seq"], start=1):
            rank = ranks[int(seq)]
            rows.append(
                {
                    "model": model,
                    "position": position,
                    "seq": int(seq),
                    "rank": rank,
                    "displacement": position - rank,
                }
            )
    return pd.DataFrame(rows)


def compare(seed: int = 0, **params: Any) -> pd.DataFrame:
    """The comparison table: one row per property, one column per model, every cell from a run.

    Rows: ``late reader gets`` (messages a reader started after everything was consumed
    receives: replay), ``per-key order violations``, ``stored copies`` (for ``subscribers``
    subscribers: fan-out cost), ``busy consumers`` (out of twice as many consumers as
    partitions: the scaling limit), ``kept after consumption`` (retention) and
    ``acknowledgements`` (sent for the messages processed: their granularity).
    """
    p = build_params(CompareParams, None, params)
    wide = {**params, "consumers": 2 * p.partitions}
    table = {}
    for model in MODELS:
        s = run(model, seed, **params).summary
        table[model] = {
            "late reader gets": s["late_reader_got"],
            "per-key order violations": s["order_violations"],
            "stored copies": s["stored_copies"],
            "busy consumers": run(model, seed, **wide).summary["busy_consumers"],
            "kept after consumption": s["kept_after_consumption"],
            "acknowledgements": s["acknowledgements"],
        }
    return pd.DataFrame(table)


def order_grid(seed: int = 0, failure: float = 0.1, **params: Any) -> pd.DataFrame:
    """Per-key order violations: one consumer or many, with and without failures.

    Separates the two causes: competing consumers (load balancing) and redelivery of a failed
    message (requeue) each break per-key order on a queue; a Kafka partition keeps it.

    Returns:
        One row per (``consumers``, ``failure``) with a column of violations per model
        (``kafka``, ``rabbitmq``).
    """
    base = build_params(CompareParams, None, params)
    rows = []
    for consumers in (1, base.consumers):
        for fail in (0.0, failure):
            row: dict[str, Any] = {"consumers": consumers, "failure": fail}
            for model in ("kafka", "rabbitmq"):
                done = run_model(
                    model, seed, **{**params, "consumers": consumers, "failure": fail}
                )["done"]
                row[model] = order_violations(done)
            rows.append(row)
    return pd.DataFrame(rows)
