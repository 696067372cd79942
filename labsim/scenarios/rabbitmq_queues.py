"""RabbitMQ's queue features in lesson 05: priorities, TTL with dead-lettering, delivery limits.

* :func:`priority_waits` — priorities reorder only what is still in the queue, not what a
  consumer has already prefetched;
* :func:`delayed_retry` — a retry queue built from a TTL and a dead-letter exchange, against an
  immediate requeue, during a downstream outage;
* :func:`delivery_limits` — a quorum queue's delivery limit, counted as RabbitMQ 3.10 counts it
  (the model's trace is compared with a real server's in :mod:`labsim.conformance`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pandas as pd

from labsim.amqp import Channel, Message, MessageBroker, deaths
from labsim.dists import Constant
from labsim.errors import ConfigError, check_int, check_non_negative, check_positive
from labsim.metrics import percentiles
from labsim.scenarios.rabbitmq import consume
from labsim.world import World, ms

__all__ = ["delayed_retry", "delivery_limits", "priority_waits"]


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
def delayed_retry(
    mode: str = "ttl-dlx",
    messages: int = 20,
    outage: float = 3.0,
    retry_delay: float = 1.0,
    max_attempts: int = 6,
    service_ms: float = 5.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Messages processed while the downstream is down until ``outage`` seconds.

    ``mode="ttl-dlx"``: a failed message is rejected (no requeue) and dead-lettered through the
    exchange ``retry`` into ``work.wait``, a queue with a message TTL of ``retry_delay`` that
    dead-letters back to ``work`` (RabbitMQ's delayed-retry pattern); its ``x-death`` count
    numbers the attempts, and after ``max_attempts`` it goes to the parking queue
    ``work.parked``. ``mode="requeue"``: a failed message is nacked with requeue and comes back
    at once.

    Returns:
        The attempts: ``time``, ``msg_id``, ``attempt`` (1, 2, ...), ``outcome`` (``ok``,
        ``failed``, ``parked``).
    """
    if mode not in ("ttl-dlx", "requeue"):
        raise ConfigError("mode", mode, "'ttl-dlx' or 'requeue'", "delayed_retry")
    check_non_negative("outage", outage, "delayed_retry")
    check_positive("retry_delay", retry_delay, "delayed_retry")
    check_int("max_attempts", max_attempts, 1, "delayed_retry")
    world = World(seed)
    broker = MessageBroker(world)
    broker.declare_exchange("retry", "direct")
    work = broker.declare_queue(
        "work", dead_letter_exchange="retry", dead_letter_routing_key="wait"
    )
    broker.declare_queue(
        "work.wait",
        message_ttl=retry_delay,
        dead_letter_exchange="",
        dead_letter_routing_key="work",
    )
    broker.bind("retry", "work.wait", "wait")
    broker.declare_queue("work.parked")
    attempts = world.table("attempts", ("time", "msg_id", "attempt", "outcome")).add
    channel = work.subscribe("worker", prefetch=1)
    env = world.env

    def worker() -> Generator[Any, Any, None]:
        while True:
            delivery = yield channel.get()
            msg = delivery.message
            yield env.timeout(ms(service_ms))
            if mode == "ttl-dlx":
                attempt = 1 + sum(d["count"] for d in deaths(msg) if d["queue"] == "work")
            else:
                attempt = msg.delivery_count
            if env.now >= outage:
                attempts(env.now, msg.msg_id, attempt, "ok")
                channel.ack(delivery.tag)
            elif mode == "ttl-dlx" and attempt >= max_attempts:
                attempts(env.now, msg.msg_id, attempt, "parked")
                broker.publish("", "work.parked", msg.copy())
                channel.ack(delivery.tag)
            else:
                attempts(env.now, msg.msg_id, attempt, "failed")
                channel.nack(delivery.tag, requeue=(mode == "requeue"))

    world.process(worker())
    for i in range(messages):
        broker.publish("", "work", Message(f"m-{i + 1}"))
    world.run(until=outage + max_attempts * retry_delay + 5.0)
    return world.frames()["attempts"]


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
