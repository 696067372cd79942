"""RabbitMQ in depth: exchanges, prefetch, priorities, TTL and dead-lettering (lesson 05).

The scenario (``run``) is the prefetch experiment: a backlog of ``messages`` in one classic
queue, read by fast and slow competing consumers, each with a **prefetch** window; a delivery
and an acknowledgement each cross the network (``latency_ms``), so a consumer with prefetch 1
waits a round trip for every message, while a big window lets a slow consumer hoard messages
the fast ones could have done. The summary gives throughput, the slow consumers' share of the
work against their share of the capacity, and waiting times.

The other experiments of the lesson use the same model (:mod:`labsim.amqp`) directly:

* :func:`routing_broker`, :func:`route_examples` and :func:`late_binding` — direct, topic and
  fanout exchanges, a message routed to zero, one and many queues, and routing done once;
* :func:`prefetch_sweep` — the scenario over a range of prefetch values.

Priorities, TTL and dead-lettering are in :mod:`labsim.scenarios.rabbitmq_queues`.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.amqp import Channel, Message, MessageBroker
from labsim.dists import Distribution, Exponential
from labsim.faults import FaultPlan
from labsim.metrics import percentiles
from labsim.params import Params, param
from labsim.result import Result
from labsim.scenarios.base import Scenario
from labsim.world import World, ms

__all__ = [
    "DONE_COLUMNS",
    "ROUTE_EXAMPLES",
    "SCENARIO",
    "PrefetchParams",
    "PrefetchScenario",
    "consume",
    "figures",
    "late_binding",
    "prefetch_sweep",
    "route_examples",
    "routing_broker",
    "run",
]

#: Columns of the ``done`` table: one row per message a consumer finished.
DONE_COLUMNS = ("time", "consumer", "msg_id", "key", "published_at", "started_at", "outcome")


def consume(
    world: World,
    channel: Channel,
    name: str,
    service: Distribution,
    *,
    latency: float = 0.0,
    fails: Any = None,
) -> Generator[Any, Any, None]:
    """A consumer's loop: take a delivery, process it, acknowledge (or nack with requeue).

    A delivery crosses the network (``latency``) unless it was already waiting in the
    consumer's prefetch buffer; the acknowledgement crosses it back before the broker frees the
    window. ``fails(message, now)`` (optional) says whether processing failed: the message is
    then nacked with requeue. Rows go to the ``done`` table (:data:`DONE_COLUMNS`).
    """
    env = world.env
    rng = world.rng(f"consumer-{name}")
    done = world.table("done", DONE_COLUMNS).add

    def settle(tag: int, ok: bool) -> Generator[Any, Any, None]:
        if latency:
            yield env.timeout(latency)
        if ok:
            channel.ack(tag)
        else:
            channel.nack(tag, requeue=True)

    while True:
        event = channel.get()
        buffered = event.triggered  # already in the consumer's buffer: no wait for the network
        delivery = yield event
        if latency and not buffered:
            yield env.timeout(latency)
        started = env.now
        yield env.timeout(service.sample(rng))
        msg = delivery.message
        ok = not (fails is not None and fails(msg, env.now))
        done(
            env.now, name, msg.msg_id, msg.body, msg.published_at, started, "ok" if ok else "failed"
        )
        world.process(settle(delivery.tag, ok))


@dataclass(frozen=True)
class PrefetchParams(Params):
    """Parameters of the prefetch scenario (see :func:`labsim.params.describe`)."""

    context = "rabbitmq prefetch scenario"

    prefetch: int = param(
        10, "unacknowledged messages each consumer may hold", ge=1, le=10_000, soft_max=300
    )
    messages: int = param(
        600, "messages waiting in the queue at the start", ge=1, le=1_000_000, soft_max=5000
    )
    fast_consumers: int = param(2, "fast consumers", ge=0, le=100, soft_max=10)
    slow_consumers: int = param(1, "slow consumers", ge=0, le=100, soft_max=10)
    fast_ms: float = param(
        2.0,
        "mean processing time of a fast consumer",
        gt=0,
        le=1e5,
        unit="ms",
        step=0.5,
        soft_max=20,
    )
    slow_ms: float = param(
        20.0,
        "mean processing time of a slow consumer",
        gt=0,
        le=1e5,
        unit="ms",
        step=5,
        soft_max=100,
    )
    latency_ms: float = param(
        1.0,
        "one-way broker-consumer latency (deliveries and acks)",
        ge=0,
        le=1e4,
        unit="ms",
        step=0.5,
        soft_max=10,
    )

    def check(self) -> None:
        if self.fast_consumers + self.slow_consumers == 0:
            raise self.error("fast_consumers", "at least one consumer (fast or slow)")

    @property
    def consumer_names(self) -> list[str]:
        """``fast-1`` ... then ``slow-1`` ..."""
        fast = [f"fast-{i}" for i in range(1, self.fast_consumers + 1)]
        return fast + [f"slow-{i}" for i in range(1, self.slow_consumers + 1)]

    @property
    def slow_capacity_share(self) -> float:
        """The slow consumers' share of the total processing capacity."""
        slow = self.slow_consumers / self.slow_ms
        return slow / (slow + self.fast_consumers / self.fast_ms)


class PrefetchScenario(Scenario):
    """A backlog read by fast and slow competing consumers with a prefetch window.

    Summary figures: ``throughput_per_s`` (messages over the time the last one was done),
    ``makespan_s``, ``slow_share`` (fraction of the messages the slow consumers processed),
    ``slow_capacity_share`` (their share of the capacity: what a fair split would give them),
    ``round_robin_share`` (their share of the consumers: what a blind split gives them),
    ``wait_p50_s`` / ``wait_p99_s`` (publish to start of processing), ``tail_s`` (how long the
    run went on after the fast consumers had finished their last message: the time spent
    waiting for messages hoarded by slow consumers).
    """

    name = "rabbitmq-prefetch"
    description = "fast and slow consumers on one RabbitMQ queue, by prefetch (lesson 05)"
    lesson = "05_rabbitmq_and_brokers"
    Params = PrefetchParams
    summary_tables = ("done",)

    def build(self, p: PrefetchParams, world: World, plan: FaultPlan) -> MessageBroker:
        broker = MessageBroker(world)
        queue = broker.declare_queue("work")
        latency = ms(p.latency_ms)
        for name in p.consumer_names:
            mean = p.fast_ms if name.startswith("fast") else p.slow_ms
            channel = queue.subscribe(name, prefetch=p.prefetch)
            world.process(
                consume(world, channel, name, Exponential.from_mean(ms(mean)), latency=latency)
            )
        for i in range(p.messages):
            broker.publish("", "work", Message(f"m-{i + 1}", None))
        return broker

    def until(self, p: PrefetchParams) -> None:
        return None

    def summarize(self, p: PrefetchParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        done = frames["done"]
        end = float(done["time"].max())
        wait = done["started_at"] - done["published_at"]
        fast = done[done["consumer"].str.startswith("fast")]
        fast_end = float(fast["time"].max()) if len(fast) else end
        return {
            "throughput_per_s": len(done) / end,
            "makespan_s": end,
            "slow_share": float(done["consumer"].str.startswith("slow").mean()),
            "slow_capacity_share": p.slow_capacity_share,
            "round_robin_share": p.slow_consumers / (p.slow_consumers + p.fast_consumers),
            "wait_p50_s": percentiles(wait, (50,))["p50"],
            "wait_p99_s": percentiles(wait, (99,))["p99"],
            "tail_s": end - fast_end,
        }


SCENARIO = PrefetchScenario()
run = SCENARIO.run
figures = SCENARIO.figures


def prefetch_sweep(
    prefetches: Any = (1, 2, 5, 10, 30, 100, 300), seed: int = 0, **overrides: Any
) -> pd.DataFrame:
    """The scenario once per prefetch value: one row each (``prefetch`` + the summary)."""
    rows = []
    for prefetch in prefetches:
        result: Result = run(seed=seed, prefetch=prefetch, **overrides)
        rows.append({"prefetch": prefetch, **result.summary})
    return pd.DataFrame(rows)


# -- routing ----------------------------------------------------------------------------------
#: (exchange, routing key) of the messages :func:`route_examples` publishes.
ROUTE_EXAMPLES = (
    ("orders.direct", "order.created"),
    ("orders.direct", "order.refunded"),
    ("events.topic", "order.created.eu"),
    ("events.topic", "order.created.us"),
    ("events.topic", "payment.failed.eu"),
    ("events.topic", "stock"),
    ("notify.fanout", "anything"),
)


def routing_broker(world: World | None = None) -> MessageBroker:
    """A broker with one exchange of each kind and its bindings (the lesson's graph).

    * ``orders.direct`` (direct): ``billing`` ← ``order.created``, ``shipping`` ←
      ``order.paid``;
    * ``events.topic`` (topic): ``eu-orders`` ← ``order.*.eu``, ``failures`` ← ``*.failed.#``,
      ``audit`` ← ``#``;
    * ``notify.fanout`` (fanout): ``email``, ``sms``, ``push``.
    """
    broker = MessageBroker(world or World(0))
    bindings = {
        ("orders.direct", "direct"): [("billing", "order.created"), ("shipping", "order.paid")],
        ("events.topic", "topic"): [
            ("eu-orders", "order.*.eu"),
            ("failures", "*.failed.#"),
            ("audit", "#"),
        ],
        ("notify.fanout", "fanout"): [("email", ""), ("sms", ""), ("push", "")],
    }
    for (exchange, kind), pairs in bindings.items():
        broker.declare_exchange(exchange, kind)
        for queue, key in pairs:
            broker.declare_queue(queue)
            broker.bind(exchange, queue, key)
    return broker


def route_examples(examples: Any = ROUTE_EXAMPLES) -> pd.DataFrame:
    """Publish each (exchange, routing key) once through :func:`routing_broker`.

    Returns:
        One row per message: ``exchange``, ``kind``, ``routing_key``, ``queues`` (where copies
        went, comma-separated, ``-`` for none) and ``copies``.
    """
    broker = routing_broker()
    rows = []
    for i, (exchange, key) in enumerate(examples):
        routed = broker.publish(exchange, key, Message(f"m-{i + 1}"))
        rows.append(
            {
                "exchange": exchange,
                "kind": broker.exchange(exchange).kind,
                "routing_key": key,
                "queues": ", ".join(routed.queues) or "-",
                "copies": len(routed.queues),
            }
        )
    return pd.DataFrame(rows)


def late_binding() -> dict[str, int]:
    """Routing happens once, at publish time: a queue bound later misses what came before.

    Publishes ``m-1`` through ``notify.fanout``, binds a new queue ``late``, publishes ``m-2``.

    Returns:
        Messages in ``email`` (bound from the start) and in ``late`` (bound in between).
    """
    broker = routing_broker()
    broker.publish("notify.fanout", "", Message("m-1"))
    broker.declare_queue("late")
    broker.bind("notify.fanout", "late")
    broker.publish("notify.fanout", "", Message("m-2"))
    return {"email": len(broker.queue("email")), "late": len(broker.queue("late"))}
