"""Retry experiments for lesson 03: retry storms, the poison loop, the dedupe window.

* :func:`retry_storm` — many workers fail together when a downstream service goes down; with
  exponential backoff and no jitter their retries stay in lock-step and hit the service in
  waves; jitter spreads them out.
* :func:`poison_loop` — a message that always fails, nacked with requeue, returns to the head
  of the queue and is redelivered at once, forever, blocking the messages behind it; a
  delivery limit dead-letters it and lets the queue move.
* :func:`late_duplicate` — an idempotent consumer's inbox forgets ids after its retention
  window; a duplicate arriving later than that is applied again.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pandas as pd

from labsim.broker.amqp import Message, MessageBroker
from labsim.consumers import JITTER, FailureModel, Inbox, RetryPolicy, Worker
from labsim.errors import check_choice, check_int, check_non_negative, check_positive
from labsim.network import Network
from labsim.world import World

__all__ = ["late_duplicate", "poison_loop", "retry_storm"]


def retry_storm(
    jitter: str = "none",
    workers: int = 40,
    messages: int = 400,
    outage: tuple[float, float] = (1.0, 3.0),
    base_delay: float = 0.1,
    seed: int = 0,
) -> dict[str, Any]:
    """Workers retrying through a downstream outage with exponential backoff.

    Returns:
        ``{"attempts": attempts frame, "summary": {...}}``; summary has ``attempts``,
        ``peak_per_50ms`` (the busiest 50 ms for the downstream), ``done_at`` (last success).
    """
    check_choice("jitter", jitter, JITTER, "retry_storm")
    check_int("workers", workers, 1, "retry_storm")
    check_int("messages", messages, 1, "retry_storm")
    check_positive("base_delay", base_delay, "retry_storm")
    world = World(seed)
    names = [f"w{i}" for i in range(workers)]
    network = Network(world, names)
    queue = MessageBroker(world).declare_queue("calls")
    policy = RetryPolicy(
        "exponential", base_delay=base_delay, max_delay=5.0, jitter=jitter, max_attempts=12
    )
    for name in names:
        node = network.node(name)
        Worker(
            world,
            lambda n=name, nd=node: queue.subscribe(n, 1, nd),
            node,
            processing=0.02,
            failures=FailureModel(outage=outage),
            retry=policy,
        )

    def load() -> Generator[Any, Any, None]:
        rng = world.rng("arrivals")
        for i in range(messages):
            yield world.env.timeout(rng.expovariate(messages / 4.0))
            queue.publish(Message(i))

    world.process(load())
    world.run(until=60)
    attempts = world.frame("attempts")
    per_bin = (attempts["time"] // 0.05).value_counts()
    ok = attempts[attempts["outcome"] == "ok"]
    summary = {
        "jitter": jitter,
        "attempts": len(attempts),
        "peak_per_50ms": int(per_bin.max()),
        "done_at": float(ok["time"].max()),
    }
    return {"attempts": attempts, "summary": summary}


def poison_loop(
    delivery_limit: int | None = None, messages: int = 20, duration: float = 2.0, seed: int = 0
) -> dict[str, Any]:
    """One consumer (prefetch 1) behind a poison message that is nacked with requeue.

    Returns:
        ``{"amqp": the queue's event rows, "summary": {...}}``; summary has
        ``poison_deliveries``, ``others_processed`` (of ``messages - 1``), ``dead_lettered``.
    """
    if delivery_limit is not None:
        check_int("delivery_limit", delivery_limit, 1, "poison_loop")
    check_int("messages", messages, 2, "poison_loop")
    check_positive("duration", duration, "poison_loop")
    world = World(seed)
    network = Network(world, ["worker", "other"])
    broker = MessageBroker(world)
    broker.declare_queue("dlq")
    queue = broker.declare_queue("orders", dead_letter="dlq", delivery_limit=delivery_limit)
    node = network.node("worker")
    Worker(
        world,
        lambda: queue.subscribe("worker", 1, node),
        node,
        processing=0.01,
        failures=FailureModel(poison={"poison"}),
        mode="requeue",
    )
    queue.publish(Message("poison"))
    for i in range(1, messages):
        queue.publish(Message(f"order-{i}"))
    world.run(until=duration)
    amqp = world.frame("amqp")
    orders = amqp[amqp["queue"] == "orders"]
    delivered = orders[orders["event"] == "delivered"]
    summary = {
        "delivery_limit": "none" if delivery_limit is None else delivery_limit,
        "poison_deliveries": int((delivered["msg_id"] == "poison").sum()),
        "others_processed": int(
            ((orders["event"] == "acked") & (orders["msg_id"] != "poison")).sum()
        ),
        "dead_lettered": int((orders["event"] == "dead-lettered").sum()),
    }
    return {"amqp": orders, "summary": summary}


def late_duplicate(
    retention: float | None, delays: list[float] | None = None, seed: int = 0
) -> pd.DataFrame:
    """Redeliver one message ``delay`` seconds after it was processed, for each delay.

    Returns:
        One row per delay: ``delay``, ``effects`` (1 = deduplicated, 2 = applied twice).
    """
    if retention is not None:
        check_non_negative("retention", retention, "late_duplicate")
    rows = []
    for delay in delays or [1.0, 5.0, 10.0, 30.0, 60.0]:
        check_non_negative("delay", delay, "late_duplicate")
        world = World(seed)
        network = Network(world, ["worker", "x"])
        queue = MessageBroker(world).declare_queue("payments")
        node = network.node("worker")
        Worker(
            world,
            lambda q=queue, nd=node: q.subscribe("worker", 1, nd),
            node,
            processing=0.01,
            inbox=Inbox(retention),
        )

        def publish(
            q: Any = queue, d: float = delay, w: World = world
        ) -> Generator[Any, Any, None]:
            q.publish(Message("payment-1"))
            yield w.env.timeout(d)
            q.publish(Message("payment-1"))  # the same message again (a producer retry)

        world.process(publish())
        world.run(until=delay + 5)
        rows.append({"delay": delay, "effects": len(world.frame("effects"))})
    return pd.DataFrame(rows)
