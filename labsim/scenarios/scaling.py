"""Scaling experiments for lesson 12: partitions x consumers, and bounded queues.

* :func:`lag_grid` — how much lag builds up for each (partitions, consumers) pair: a sweep of
  the consumer-group scenario without a crash. Only ``min(partitions, consumers)`` members can
  work at once, so adding consumers beyond the partition count buys nothing.
* the ``backpressure`` scenario (:data:`SCENARIO`) — a work queue fed faster than it can serve
  (ρ > 1): unbounded, the queue and the wait grow for as long as the overload lasts; bounded
  with backpressure (``block``), the producer is slowed to the service rate and the wait stays
  bounded; bounded with load shedding (``drop``), the excess is refused.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.dists import Exponential
from labsim.faults import FaultPlan
from labsim.params import Params, param, same_as
from labsim.scenarios import groups
from labsim.scenarios.base import Scenario
from labsim.scenarios.queueing import QueueingParams
from labsim.workqueue import WorkQueue
from labsim.world import World

__all__ = [
    "ARRIVAL_COLUMNS",
    "BACKPRESSURE_POLICIES",
    "SCENARIO",
    "BackpressureParams",
    "BackpressureScenario",
    "backpressure",
    "figures",
    "lag_grid",
    "run",
]

BACKPRESSURE_POLICIES = ("unbounded", "block", "drop")
#: Columns of the ``arrivals`` table: one row per message the producer hands over.
#: ``behind`` is how far a blocked producer was behind its own demand schedule (0 otherwise).
ARRIVAL_COLUMNS = ("time", "msg_id", "outcome", "behind")
#: Most messages one run may ask for (``arrival_rate`` x ``duration``).
MAX_ARRIVALS = 10_000_000


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
    """Sweep partitions x consumers of the consumer-group scenario, without a crash.

    Returns:
        One row per run (see :meth:`~labsim.scenarios.base.Scenario.sweep`) with the
        parameters, the seed and the scenario's summary: ``max_lag``, ``latency_mean_s``...
    """
    grid = {
        "partitions": list(partitions),
        "consumers": list(consumers),
        "rate": [rate],
        "processing_ms": [processing_ms],
        "duration": [duration],
        "drain": [2.0],
        "crash_at": [None],
    }
    return groups.SCENARIO.sweep(grid, list(seeds), executor)


@dataclass(frozen=True)
class BackpressureParams(Params):
    """Parameters of the backpressure scenario (see :func:`labsim.params.describe`)."""

    context = "backpressure scenario"

    policy: str = param(
        "block",
        "a full queue: has no bound (unbounded), makes the producer wait (block), refuses (drop)",
        choices=BACKPRESSURE_POLICIES,
    )
    arrival_rate: float = same_as(QueueingParams, "arrival_rate", 12.0, step=0.5, soft_max=20)
    service_rate: float = same_as(QueueingParams, "service_rate", 1.0)
    consumers: int = same_as(QueueingParams, "consumers", 10)
    capacity: int = param(20, "messages a bounded queue holds", ge=1, le=10_000_000, soft_max=200)
    duration: float = param(
        300.0, "seconds of arrivals (the length of the run)", gt=0, le=1e6, unit="s"
    )

    def check(self) -> None:
        if self.arrival_rate * self.duration > MAX_ARRIVALS:
            raise self.error(
                "arrival_rate",
                f"at most {MAX_ARRIVALS:,} arrivals in all "
                f"(arrival_rate x duration={self.duration:g})",
            )


def _feed(world: World, queue: WorkQueue, p: BackpressureParams) -> Generator[Any, Any, None]:
    rng = world.rng("arrivals")
    env = world.env
    arrived = world.table("arrivals", ARRIVAL_COLUMNS, level="summary").add
    n = 0
    next_arrival = rng.expovariate(p.arrival_rate)
    while True:
        if next_arrival > env.now:
            yield env.timeout(next_arrival - env.now)
        if env.now >= p.duration:
            return
        n += 1
        if p.policy == "unbounded":
            queue.publish(n)
            arrived(env.now, n, "accepted", 0.0)
        elif p.policy == "block":
            yield queue.put(n)  # waits while the queue is full: the producer slows down
            arrived(env.now, n, "accepted", env.now - next_arrival)
        else:
            arrived(env.now, n, "accepted" if queue.offer(n) else "refused", 0.0)
        # Arrivals are a schedule of demand; a blocked producer falls behind it.
        next_arrival += rng.expovariate(p.arrival_rate)


class BackpressureScenario(Scenario):
    """An overloaded work queue under one of three policies.

    Summary figures: ``accepted`` (messages the queue took), ``refused``, ``wait_mean_s`` and
    ``wait_p99_s`` (in the queue), ``max_length`` (messages waiting, sampled every second),
    ``throughput`` (messages processed per second) and ``producer_behind_max_s`` (how far a
    blocked producer fell behind its demand).
    """

    name = "backpressure"
    description = "an overloaded work queue: unbounded, backpressure or load shedding (lesson 12)"
    lesson = "12_scaling_and_backpressure"
    Params = BackpressureParams
    positional = ("policy",)
    summary_tables = ("queue.processed", "queue.length", "queue.state", "arrivals")

    def build(self, p: BackpressureParams, world: World, plan: FaultPlan) -> WorkQueue:
        queue = WorkQueue(world, capacity=None if p.policy == "unbounded" else p.capacity)
        for i in range(p.consumers):
            queue.add_consumer(f"consumer-{i}", Exponential(p.service_rate))
        world.process(_feed(world, queue, p))
        queue.sample_length(1.0, lambda: world.env.now < p.duration)
        return queue

    def until(self, p: BackpressureParams) -> float:
        return p.duration

    def finish(self, p: BackpressureParams, system: WorkQueue, world: World) -> None:
        system.record_state()

    def summarize(
        self, p: BackpressureParams, frames: Mapping[str, pd.DataFrame]
    ) -> dict[str, Any]:
        processed, arrivals = frames["queue.processed"], frames["arrivals"]
        wait = processed["started"] - processed["published"]
        return {
            "accepted": int(frames["queue.state"]["published"].iloc[-1]),
            "refused": int((arrivals["outcome"] == "refused").sum()),
            "wait_mean_s": float(wait.mean()),
            "wait_p99_s": float(wait.quantile(0.99)),
            "max_length": int(frames["queue.length"]["waiting"].max()),
            "throughput": len(processed) / p.duration,
            "producer_behind_max_s": float(arrivals["behind"].max()) if len(arrivals) else 0.0,
        }


SCENARIO = BackpressureScenario()
run = SCENARIO.run
figures = SCENARIO.figures
#: The lesson's name for a run: ``backpressure("drop", seed=3, capacity=50)``.
backpressure = run
