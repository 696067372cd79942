"""CQRS read-model lag: orders written to an event store, projected asynchronously.

Clients create orders and pay them (bursty: ``burst_factor`` times the base rate during bursts).
A projection worker follows the store and maintains order summaries and customer totals. The
scenario measures the lag (append → visible in the read model), and what a client sees when it
reads its own write right after making it, under one of four read-your-writes strategies:

* ``"none"`` — read the read model at once (it may be stale);
* ``"sync"`` — an inline projection updated in the same call as the append (never stale; the
  write takes longer);
* ``"wait-for-version"`` — the write returns its global position; the read waits until the
  projection's checkpoint has passed it (never stale; the read takes longer);
* ``"optimistic"`` — the client patches its own copy of the view with what it just wrote (it
  sees its own write at once, without waiting for the server).

Optionally the projector node crashes at ``crash_at`` and restarts ``restart_after`` later (a
fault of the run's plan); its workers resume from their checkpoints (``checkpoint_every``
events between checkpoint commits).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import simpy

from labsim.dists import Distribution, Exponential
from labsim.eventsourcing import (
    CustomerTotals,
    InMemoryEventStore,
    Order,
    OrderSummaries,
    ProjectionWorker,
    Repository,
)
from labsim.eventsourcing.projections import projected_table, record_event_log, replay_rows
from labsim.faults import Fault, FaultPlan
from labsim.metrics import percentiles
from labsim.network import Network
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.world import World, ms

__all__ = [
    "READ_COLUMNS",
    "SCENARIO",
    "STRATEGIES",
    "CQRSParams",
    "CQRSScenario",
    "figures",
    "run",
]

STRATEGIES = ("none", "sync", "wait-for-version", "optimistic")

#: Columns of the ``reads`` table: one row per client reading its own write.
READ_COLUMNS = ("time", "order_id", "strategy", "fresh", "read_latency", "write_latency")


@dataclass(frozen=True)
class CQRSParams(Params):
    """Parameters of the CQRS lag scenario (see :func:`labsim.params.describe`)."""

    context = "cqrs scenario"

    rate: float = param(
        40.0, "orders per second outside bursts", gt=0, le=1e5, unit="1/s", step=5, soft_max=100
    )
    burst_factor: float = param(4.0, "rate multiplier during bursts (1: steady)", gt=0, le=1000)
    burst_every: float = param(10.0, "seconds between burst starts", gt=0, le=1e6, unit="s")
    burst_length: float = param(3.0, "seconds each burst lasts", ge=0, le=1e6, unit="s")
    duration: float = param(30.0, "seconds of writing", gt=0, le=1e6, unit="s")
    customers: int = param(20, "distinct customers", ge=1, le=1_000_000)
    processing_ms: float = param(
        5.0,
        "mean time to project one event (exponential)",
        gt=0,
        le=1e6,
        unit="ms",
        step=1,
        soft_max=20,
    )
    poll_ms: float = param(50.0, "projection poll interval when idle", gt=0, le=1e6, unit="ms")
    append_ms: float = param(2.0, "time an append takes", ge=0, le=1e6, unit="ms")
    strategy: str = param("none", "read-your-writes strategy", choices=STRATEGIES)
    crash_at: float | None = param(
        None, "when the projector node crashes (none: never)", ge=0, le=1e6, unit="s"
    )
    restart_after: float = param(
        2.0, "seconds until the projector restarts", gt=0, le=1e6, unit="s"
    )
    checkpoint_every: int = param(
        1, "events between checkpoint commits (1: atomic with the read model)", ge=1, le=1_000_000
    )

    def check(self) -> None:
        if self.burst_length > self.burst_every:
            raise self.error("burst_length", f"at most burst_every ({self.burst_every})")


def _rate_at(p: CQRSParams, t: float) -> float:
    return p.rate * (p.burst_factor if (t % p.burst_every) < p.burst_length else 1.0)


class _System:
    """What :meth:`CQRSScenario.build` sets up (the store and the read models)."""

    def __init__(self, world: World, p: CQRSParams) -> None:
        self.network = Network(world, ["app", "projector"])
        self.store = InMemoryEventStore()
        self.repo = Repository(self.store, Order)
        self.summaries, self.totals = OrderSummaries(), CustomerTotals()
        self.processing: Distribution = Exponential.from_mean(ms(p.processing_ms))
        # An inline projection runs inside the write transaction: writes queue up behind it.
        self.transaction = simpy.Resource(world.env, capacity=1)
        self.reads = world.table("reads", READ_COLUMNS).add


def _write(
    world: World, p: CQRSParams, s: _System, order: Order
) -> Generator[Any, Any, tuple[int, float]]:
    env = world.env
    started = env.now
    if p.strategy != "sync":
        yield env.timeout(ms(p.append_ms))
        s.repo.save(order)
        return s.store.head - 1, env.now - started
    rng = world.rng("clients")
    with s.transaction.request() as turn:
        yield turn
        yield env.timeout(ms(p.append_ms))
        s.repo.save(order)
        for event in s.store.read_all(s.summaries.checkpoint):
            yield env.timeout(s.processing.sample(rng))
            s.summaries.apply(event)
            s.totals.apply(event)
            s.summaries.checkpoint = s.totals.checkpoint = event.position + 1
    return s.store.head - 1, env.now - started


def _client(world: World, p: CQRSParams, s: _System, n: int) -> Generator[Any, Any, None]:
    env = world.env
    rng = world.rng("clients")
    customer = f"customer-{rng.randrange(p.customers)}"
    order = Order.create(
        f"{n}", customer, [{"sku": "book", "qty": 1 + rng.randrange(3), "price": 12.5}]
    )
    yield from _write(world, p, s, order)
    yield env.timeout(rng.expovariate(5.0))
    order.pay(order.total)
    position, write_latency = yield from _write(world, p, s, order)
    # Read your own write: is the order shown as paid?
    read_started = env.now
    local_view = None
    if p.strategy == "wait-for-version":
        while s.summaries.checkpoint <= position:
            yield env.timeout(ms(5))
    elif p.strategy == "optimistic":
        local_view = "paid"  # the client shows what it just did
    row = s.summaries.orders.get(order.id)
    fresh = local_view == "paid" or (row is not None and row["status"] == "paid")
    s.reads(env.now, order.id, p.strategy, fresh, env.now - read_started, write_latency)


def _arrivals(world: World, p: CQRSParams, s: _System) -> Generator[Any, Any, None]:
    env = world.env
    rng = world.rng("clients")
    n = 0
    while True:
        yield env.timeout(rng.expovariate(_rate_at(p, env.now)))
        if env.now >= p.duration:
            return
        n += 1
        world.process(_client(world, p, s, n))


class CQRSScenario(Scenario):
    """Orders through an event store into asynchronous read models.

    Summary figures: ``orders``, ``events``, ``lag_mean_s``, ``lag_p99_s``, ``stale_reads``
    (fraction of own-write reads that did not show the write), ``read_latency_mean_s``,
    ``write_latency_mean_s``, ``double_applied`` (events a worker applied twice),
    ``totals_correct`` (the customer totals equal a replay of the recorded event log).
    """

    name = "cqrs"
    description = "read-model lag, read-your-writes strategies and a projector crash (lesson 08)"
    lesson = "08_cqrs_lag"
    Params = CQRSParams
    summary_tables = ("projected", "reads", "event_log", "customer_totals")

    def fault_plan(self, p: CQRSParams, seed: int) -> FaultPlan:
        """The projector's crash and restart, when ``crash_at`` is set."""
        if p.crash_at is None:
            return FaultPlan(())
        return FaultPlan(
            (Fault(p.crash_at, "crash", p.crash_at + p.restart_after, nodes=("projector",)),)
        )

    def build(self, p: CQRSParams, world: World, plan: FaultPlan) -> _System:
        s = _System(world, p)
        projected_table(world)  # present (empty) when the projection runs inline
        if p.strategy != "sync":
            for projection in (s.summaries, s.totals):
                ProjectionWorker(
                    world,
                    s.store,
                    projection,
                    node=s.network.node("projector"),
                    poll_interval=ms(p.poll_ms),
                    processing=s.processing,
                    checkpoint_every=p.checkpoint_every,
                )
        world.process(_arrivals(world, p, s))
        plan.apply(s.network)
        return s

    def until(self, p: CQRSParams) -> float:
        # Ten seconds after the last write for the projection to catch up.
        return p.duration + 10.0

    def finish(self, p: CQRSParams, system: _System, world: World) -> None:
        record_event_log(world, system.store)
        system.totals.record_state(world)

    def summarize(self, p: CQRSParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        projected, reads = frames["projected"], frames["reads"]
        lag = projected.loc[projected["projection"] == "order_summaries", "lag"]
        totals = frames["customer_totals"]
        truth = replay_rows(frames["event_log"], CustomerTotals()).state()
        return {
            "orders": len(reads),
            "events": len(frames["event_log"]),
            "lag_mean_s": float(lag.mean()) if len(lag) else 0.0,
            "lag_p99_s": percentiles(lag, (99,))["p99"] if len(lag) else 0.0,
            "stale_reads": float(1 - reads["fresh"].mean()) if len(reads) else 0.0,
            "read_latency_mean_s": float(reads["read_latency"].mean()),
            "write_latency_mean_s": float(reads["write_latency"].mean()),
            "double_applied": int(projected["again"].sum()),
            "totals_correct": dict(zip(totals["customer"], totals["total"], strict=True)) == truth,
        }


SCENARIO = CQRSScenario()
run = SCENARIO.run
figures = SCENARIO.figures
