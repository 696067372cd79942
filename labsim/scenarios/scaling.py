"""Scaling experiments for lesson 10: partitions x consumers, and bounded queues.

* :func:`lag_grid` — how much lag builds up for each (partitions, consumers) pair: only
  ``min(partitions, consumers)`` members can work at once, so adding consumers beyond the
  partition count buys nothing.
* :func:`backpressure` — a work queue fed faster than it can serve (ρ > 1): unbounded, the
  queue and the wait grow for as long as the overload lasts; bounded with backpressure, the
  producer is slowed to the service rate and the wait stays bounded; bounded with load
  shedding, the excess is refused.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any

import pandas as pd

from labsim.broker.queue import WorkQueue
from labsim.dists import Exponential
from labsim.errors import check_choice, check_int, check_positive
from labsim.scenarios import groups
from labsim.sweep import sweep
from labsim.world import World

__all__ = ["BACKPRESSURE_POLICIES", "backpressure", "lag_figures", "lag_grid"]

BACKPRESSURE_POLICIES = ("unbounded", "block", "drop")


def lag_figures(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Run the consumer-group scenario without a crash; return max lag and mean latency."""
    result = groups.run(dict(params, crash_at=None), seed)
    consumed = result.frames["consumed"]
    latency = consumed["time"] - consumed["produced_at"]
    return {
        "max_lag": result.summary["max_lag"],
        "latency_mean_s": float(latency.mean()) if len(latency) else float("nan"),
    }


def lag_grid(
    partitions: Iterable[int],
    consumers: Iterable[int],
    seeds: Iterable[int] = (0,),
    *,
    rate: float = 300.0,
    processing_ms: float = 8.0,
    duration: float = 5.0,
    executor: Any = None,
) -> pd.DataFrame:
    """Sweep partitions x consumers; one row per run with ``max_lag`` and ``latency_mean_s``."""
    grid = {
        "partitions": list(partitions),
        "consumers": list(consumers),
        "rate": [rate],
        "processing_ms": [processing_ms],
        "duration": [duration],
        "drain": [2.0],
    }
    return sweep(lag_figures, grid, list(seeds), executor, description="partitions x consumers")


def _feed(
    world: World,
    queue: WorkQueue,
    rate: float,
    duration: float,
    policy: str,
    refused: list[float],
    behind: list[float],
) -> Generator[Any, Any, None]:
    rng = world.rng("arrivals")
    env = world.env
    n = 0
    next_arrival = rng.expovariate(rate)
    while True:
        if next_arrival > env.now:
            yield env.timeout(next_arrival - env.now)
        if env.now >= duration:
            return
        n += 1
        if policy == "unbounded":
            queue.publish(n)
        elif policy == "block":
            yield queue.put(n)  # waits while the queue is full: the producer slows down
            behind.append(env.now - next_arrival)
        elif not queue.offer(n):
            refused.append(env.now)
        # Arrivals are a schedule of demand; a blocked producer falls behind it.
        next_arrival += rng.expovariate(rate)


def backpressure(
    policy: str = "block",
    arrival_rate: float = 12.0,
    service_rate: float = 1.0,
    consumers: int = 10,
    capacity: int = 20,
    duration: float = 300.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Overload a work queue and watch what each policy does.

    Returns:
        ``{"summary": {...}, "length": queue length sampled every second,
        "processed": per-message rows}``. Summary: ``accepted``, ``refused``,
        ``wait_mean_s``, ``wait_p99_s``, ``max_length``, ``throughput`` and
        ``producer_behind_max_s`` (how far a blocked producer fell behind its demand).
    """
    check_choice("policy", policy, BACKPRESSURE_POLICIES, "backpressure")
    check_positive("arrival_rate", arrival_rate, "backpressure")
    check_positive("service_rate", service_rate, "backpressure")
    check_int("consumers", consumers, 1, "backpressure")
    check_int("capacity", capacity, 1, "backpressure")
    check_positive("duration", duration, "backpressure")
    world = World(seed)
    queue = WorkQueue(world, capacity=None if policy == "unbounded" else capacity)
    for i in range(consumers):
        queue.add_consumer(f"consumer-{i}", Exponential(service_rate))
    refused: list[float] = []
    behind: list[float] = []  # how far a blocked producer lags its own demand schedule
    world.process(_feed(world, queue, arrival_rate, duration, policy, refused, behind))
    length = world.table("queue.length", ("time", "waiting"), level="summary").add

    def sample() -> Generator[Any, Any, None]:
        while world.env.now < duration:
            length(world.env.now, len(queue))
            yield world.env.timeout(1.0)

    world.process(sample())
    world.run(until=duration)
    processed = world.frame("queue.processed")
    wait = processed["started"] - processed["published"]
    lengths = world.frame("queue.length")
    summary = {
        "policy": policy,
        "accepted": queue.published,
        "refused": len(refused),
        "wait_mean_s": float(wait.mean()),
        "wait_p99_s": float(wait.quantile(0.99)),
        "max_length": int(lengths["waiting"].max()),
        "throughput": len(processed) / duration,
        "producer_behind_max_s": max(behind, default=0.0),
    }
    return {"summary": summary, "length": lengths, "processed": processed}
