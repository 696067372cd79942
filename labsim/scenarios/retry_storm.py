"""A retry storm: workers retrying through a downstream outage with exponential backoff.

Many workers fail together when a downstream service goes down; with exponential backoff and
no jitter their retries stay in lock-step and hit the service in waves when it comes back;
jitter spreads the same retries out. ``run("none", seed)`` and ``run("full", seed)`` compare
the two (lesson 03).

The downstream service has a **capacity**: it serves at most ``capacity`` calls in each 50 ms
window (:data:`BIN`); a call beyond that fails with the outcome ``"overload"`` and is retried
like any other failure. So a wave costs something: overloaded calls, more retries, a later
finish, and calls that give up after ``max_attempts``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.amqp import (
    JITTER,
    FailureModel,
    Message,
    MessageBroker,
    Queue,
    RetryPolicy,
)
from labsim.amqp.workers import Worker
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.world import World

__all__ = ["SCENARIO", "RetryStormParams", "RetryStormScenario", "figures", "run"]

#: Width of the time bins in which the downstream's load is counted (``peak_per_50ms``).
BIN = 0.05


@dataclass(frozen=True)
class RetryStormParams(Params):
    """Parameters of the retry-storm scenario (see :func:`labsim.params.describe`)."""

    context = "retry-storm scenario"

    jitter: str = param("none", "jitter added to the exponential backoff", choices=JITTER)
    workers: int = param(40, "workers calling the downstream service", ge=1, le=10_000)
    messages: int = param(800, "calls to make, arriving over the first 4 s", ge=1, le=1_000_000)
    outage_start: float = param(
        1.0, "when the downstream service goes down", ge=0, le=1e6, unit="s"
    )
    outage_end: float = param(3.0, "when it comes back", ge=0, le=1e6, unit="s")
    base_delay: float = param(0.1, "backoff after the first failure", gt=0, le=1e3, unit="s")
    capacity: int = param(
        40, "calls the downstream serves per 50 ms window; more fail as overload", ge=1, le=100_000
    )
    max_attempts: int = param(12, "attempts per call before a worker gives up", ge=1, le=1000)
    duration: float = param(60.0, "simulated time of the run", gt=0, le=1e6, unit="s")

    def check(self) -> None:
        if self.outage_end < self.outage_start:
            raise self.error("outage_end", f"a time not before outage_start={self.outage_start}")


class Downstream:
    """The service the workers call: down during the outage, ``capacity`` calls per window."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._window = -1
        self._served = 0

    def overloaded(self, now: float) -> bool:
        """Count a call at ``now``; ``True`` when its window is already full."""
        window = int(now // BIN)
        if window != self._window:
            self._window, self._served = window, 0
        if self._served >= self.capacity:
            return True
        self._served += 1
        return False


class _CallingWorker(Worker):
    """A worker whose call fails as ``"overload"`` when the downstream's window is full."""

    def __init__(self, *args: Any, downstream: Downstream, **options: Any):
        self.downstream = downstream  # set first: Worker.__init__ starts the worker
        super().__init__(*args, **options)

    def _attempt_fails(self, msg: Message, duration: float) -> str | None:
        failure = super()._attempt_fails(msg, duration)
        if failure is None and self.downstream.overloaded(self.world.env.now):
            return "overload"
        return failure


def _arrivals(world: World, queue: Queue, messages: int) -> Generator[Any, Any, None]:
    rng = world.rng("arrivals")
    for i in range(messages):
        yield world.env.timeout(rng.expovariate(messages / 4.0))
        queue.publish(Message(i))


class RetryStormScenario(Scenario):
    """Workers behind one queue, each call failing while the downstream is down.

    Summary figures: ``attempts`` (calls made, retries included), ``peak_per_50ms`` (the
    busiest 50 ms for the downstream service), ``overloaded`` (calls that failed because the
    service was over its capacity), ``gave_up`` (calls never served: a worker ran out of
    attempts), ``done_at`` (time of the last successful call).
    """

    name = "retry-storm"
    description = "retries through a downstream outage, with and without jitter (lesson 03)"
    lesson = "03_delivery_semantics"
    Params = RetryStormParams
    summary_tables = ("attempts",)
    positional = ("jitter",)

    def build(self, p: RetryStormParams, world: World, plan: FaultPlan) -> Network:
        names = [f"w{i}" for i in range(p.workers)]
        network = Network(world, names)
        queue = MessageBroker(world).declare_queue("calls")
        downstream = Downstream(p.capacity)
        for name in names:
            node = network.node(name)
            _CallingWorker(
                node,
                lambda n=name, nd=node: queue.subscribe(n, 1, nd),
                downstream=downstream,
                processing=0.02,
                failures=FailureModel(outage=(p.outage_start, p.outage_end)),
                retry=RetryPolicy(
                    "exponential",
                    base_delay=p.base_delay,
                    max_delay=5.0,
                    jitter=p.jitter,
                    max_attempts=p.max_attempts,
                ),
            )
        world.process(_arrivals(world, queue, p.messages))
        plan.apply(network)
        return network

    def until(self, p: RetryStormParams) -> float:
        return p.duration

    def summarize(self, p: RetryStormParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        attempts = frames["attempts"]
        per_bin = (attempts["time"] // BIN).value_counts()
        ok = attempts[attempts["outcome"] == "ok"]
        return {
            "attempts": len(attempts),
            "peak_per_50ms": int(per_bin.max()) if len(per_bin) else 0,
            "overloaded": int((attempts["outcome"] == "overload").sum()),
            "gave_up": p.messages - ok["msg_id"].nunique(),
            "done_at": float(ok["time"].max()) if len(ok) else float("nan"),
        }


SCENARIO = RetryStormScenario()
run = SCENARIO.run
figures = SCENARIO.figures
