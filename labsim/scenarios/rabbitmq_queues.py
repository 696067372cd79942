"""RabbitMQ's queue features in lesson 05: priorities, TTL with dead-lettering, delivery limits.

* :func:`priority_waits` — priorities reorder only what is still in the queue, not what a
  consumer has already prefetched;
* the scenario ``rabbitmq-retry`` (``run``, :func:`delayed_retry`) — a retry queue built from
  a TTL and a dead-letter exchange, against an immediate requeue, during a downstream outage;
* :func:`delivery_limits` — a quorum queue's delivery limit, counted as RabbitMQ 3.10 counts it
  (the model's trace is compared with a real server's in :mod:`labsim.conformance`).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.amqp import Channel, Message, MessageBroker, deaths
from labsim.dists import Constant
from labsim.errors import check_int, check_positive
from labsim.faults import FaultPlan
from labsim.metrics import percentiles
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.scenarios.rabbitmq import consume
from labsim.world import World, ms

__all__ = [
    "RETRY_MODES",
    "SCENARIO",
    "RetryParams",
    "RetryScenario",
    "delayed_retry",
    "delivery_limits",
    "figures",
    "priority_waits",
    "run",
]


# -- priorities -------------------------------------------------------------------------------
def priority_waits(
    prefetch: int = 1,
    messages: int = 400,
    express_share: float = 0.1,
    load: float = 1.2,
    service_ms: float = 5.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Express (priority 9) and normal (priority 0) messages through one overloaded consumer.

    Messages arrive at ``load`` times the consumer's capacity, so a queue builds; the queue has
    ``x-max-priority`` 9. Priorities reorder the **queue**, not the consumer's prefetch buffer.

    Returns:
        One row per class: ``class``, ``messages``, ``wait_mean_s``, ``wait_p95_s``.
    """
    check_int("prefetch", prefetch, 1, "priority_waits")
    check_positive("load", load, "priority_waits")
    world = World(seed)
    broker = MessageBroker(world)
    queue = broker.declare_queue("work", max_priority=9)
    channel = queue.subscribe("worker", prefetch=prefetch)
    world.process(consume(world, channel, "worker", Constant(ms(service_ms))))
    rate = load / ms(service_ms)

    def publish() -> Generator[Any, Any, None]:
        rng = world.rng("arrivals")
        for i in range(messages):
            yield world.env.timeout(rng.expovariate(rate))
            express = rng.random() < express_share
            kind = "express" if express else "normal"
            broker.publish("", "work", Message(f"m-{i + 1}", kind, priority=9 if express else 0))

    world.process(publish())
    world.run()
    done = world.frames()["done"]
    wait = done["started_at"] - done["published_at"]
    rows = []
    for kind in ("express", "normal"):
        w = wait[done["key"] == kind]
        rows.append(
            {
                "class": kind,
                "messages": len(w),
                "wait_mean_s": float(w.mean()),
                "wait_p95_s": percentiles(w, (95,))["p95"],
            }
        )
    return pd.DataFrame(rows)


# -- TTL + dead-letter exchange: a delayed retry ---------------------------------------------
#: What a worker does with a failed message: reject into the TTL queue, or nack with requeue.
RETRY_MODES = ("ttl-dlx", "requeue")


@dataclass(frozen=True)
class RetryParams(Params):
    """Parameters of the delayed-retry scenario (see :func:`labsim.params.describe`)."""

    context = "rabbitmq retry scenario"

    mode: str = param(
        "ttl-dlx", "ttl-dlx: delayed retry queue; requeue: nack with requeue", choices=RETRY_MODES
    )
    messages: int = param(20, "messages in the queue when the outage starts", ge=1, le=100_000)
    outage: float = param(
        3.0, "seconds the downstream is down (from the start)", ge=0, le=1e5, unit="s"
    )
    retry_delay: float = param(
        1.0, "TTL of the wait queue: the delay before a retry", gt=0, le=1e5, unit="s"
    )
    max_attempts: int = param(6, "ttl-dlx: attempts before a message is parked", ge=1, le=1000)
    service_ms: float = param(5.0, "time per processing attempt", gt=0, le=1e5, unit="ms")


def _worker(world: World, broker: MessageBroker, p: RetryParams) -> Generator[Any, Any, None]:
    attempts = world.table("attempts", ("time", "msg_id", "attempt", "outcome")).add
    channel = broker.queue("work").subscribe("worker", prefetch=1)
    env = world.env
    while True:
        delivery = yield channel.get()
        msg = delivery.message
        yield env.timeout(ms(p.service_ms))
        if p.mode == "ttl-dlx":  # the x-death history counts the rounds through work.wait
            attempt = 1 + sum(d["count"] for d in deaths(msg) if d["queue"] == "work")
        else:
            attempt = msg.delivery_count
        if env.now >= p.outage:
            attempts(env.now, msg.msg_id, attempt, "ok")
            channel.ack(delivery.tag)
        elif p.mode == "ttl-dlx" and attempt >= p.max_attempts:
            attempts(env.now, msg.msg_id, attempt, "parked")
            broker.publish("", "work.parked", msg.copy())
            channel.ack(delivery.tag)
        else:
            attempts(env.now, msg.msg_id, attempt, "failed")
            channel.nack(delivery.tag, requeue=(p.mode == "requeue"))


class RetryScenario(Scenario):
    """Messages processed while the downstream is down for the first ``outage`` seconds.

    ``mode="ttl-dlx"``: a failed message is rejected (no requeue) and dead-lettered through the
    exchange ``retry`` into ``work.wait``, a queue with a message TTL of ``retry_delay`` that
    dead-letters back to ``work`` (RabbitMQ's delayed-retry pattern); its ``x-death`` count
    numbers the attempts, and after ``max_attempts`` it goes to the parking queue
    ``work.parked``. ``mode="requeue"``: a failed message is nacked with requeue and comes back
    at once, to the head of the queue.

    Recorded table ``attempts``: time, msg_id, attempt (1, 2, ...), outcome (``ok``,
    ``failed``, ``parked``). Summary figures: ``attempts``, ``most_attempts`` (on one
    message), ``gap_min_s`` / ``gap_max_s`` (between two attempts on one message), ``ok``,
    ``parked``.
    """

    name = "rabbitmq-retry"
    description = "delayed retry (TTL queue + dead-letter exchange) versus requeue (lesson 05)"
    lesson = "05_rabbitmq_and_brokers"
    Params = RetryParams
    summary_tables = ("attempts",)
    positional = ("mode", "messages")

    def build(self, p: RetryParams, world: World, plan: FaultPlan) -> MessageBroker:
        broker = MessageBroker(world)
        broker.declare_exchange("retry", "direct")
        broker.declare_queue("work", dead_letter_exchange="retry", dead_letter_routing_key="wait")
        broker.declare_queue(
            "work.wait",
            message_ttl=p.retry_delay,
            dead_letter_exchange="",
            dead_letter_routing_key="work",
        )
        broker.bind("retry", "work.wait", "wait")
        broker.declare_queue("work.parked")
        world.process(_worker(world, broker, p))
        for i in range(p.messages):
            broker.publish("", "work", Message(f"m-{i + 1}"))
        return broker

    def until(self, p: RetryParams) -> float:
        return p.outage + p.max_attempts * p.retry_delay + 5.0

    def summarize(self, p: RetryParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        attempts = frames["attempts"]
        gaps = attempts.sort_values("time", kind="stable").groupby("msg_id")["time"].diff()
        gaps = gaps.dropna()
        return {
            "attempts": len(attempts),
            "most_attempts": int(attempts.groupby("msg_id").size().max()),
            "gap_min_s": float(gaps.min()) if len(gaps) else 0.0,
            "gap_max_s": float(gaps.max()) if len(gaps) else 0.0,
            "ok": int((attempts["outcome"] == "ok").sum()),
            "parked": int((attempts["outcome"] == "parked").sum()),
        }


SCENARIO = RetryScenario()
run = SCENARIO.run
figures = SCENARIO.figures


def delayed_retry(mode: str = "ttl-dlx", seed: int = 0, **params: Any) -> pd.DataFrame:
    """The ``attempts`` table of ``run(mode, seed, **params)``."""
    return run(mode, seed, **params).frames["attempts"]


# -- the quorum queue's delivery limit -------------------------------------------------------
def delivery_limits(limits: Any = (0, 1, 3, 5)) -> pd.DataFrame:
    """A message that always fails, nacked with requeue on a quorum queue with each limit.

    Returns:
        One row per limit: ``delivery_limit``, ``deliveries`` (before it was dead-lettered),
        ``last_x_delivery_count`` (the header on the last delivery) and ``dead_lettered``.
    """
    rows = []
    for limit in limits:
        world = World(0)
        broker = MessageBroker(world)
        broker.declare_queue("dlq")
        queue = broker.declare_queue(
            "q", queue_type="quorum", delivery_limit=limit, dead_letter="dlq"
        )
        channel = queue.subscribe("c", prefetch=1)
        seen: list[int] = []

        def nack_all(ch: Channel = channel, seen: list[int] = seen) -> Generator[Any, Any, None]:
            while True:
                delivery = yield ch.get()
                seen.append(int(delivery.message.headers.get("x-delivery-count", 0)))
                ch.nack(delivery.tag, requeue=True)

        world.process(nack_all())
        broker.publish("", "q", Message("poison"))
        world.run(until=1.0)
        rows.append(
            {
                "delivery_limit": limit,
                "deliveries": len(seen),
                "last_x_delivery_count": seen[-1],
                "dead_lettered": len(broker.queue("dlq")) == 1,
            }
        )
    return pd.DataFrame(rows)
