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

Optionally the projection worker crashes at ``crash_at`` and restarts ``restart_after`` later,
resuming from its checkpoint (``checkpoint_every`` events between checkpoint commits).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import simpy

from labsim.dists import Exponential
from labsim.errors import ConfigError, check_choice, check_int, check_non_negative, check_positive
from labsim.eventsourcing import (
    CustomerTotals,
    InMemoryEventStore,
    Order,
    OrderSummaries,
    ProjectionWorker,
    Repository,
    replay,
)
from labsim.metrics import percentiles
from labsim.network import Network
from labsim.result import Result, make_params
from labsim.world import World, ms

__all__ = ["STRATEGIES", "CQRSParams", "figures", "run"]

STRATEGIES = ("none", "sync", "wait-for-version", "optimistic")


@dataclass(frozen=True)
class CQRSParams:
    """Parameters of the CQRS lag scenario.

    Attributes:
        rate: Orders per second outside bursts.
        burst_factor: Rate multiplier during bursts (1 = steady load).
        burst_every: Seconds between burst starts.
        burst_length: Seconds each burst lasts.
        duration: Seconds of writing.
        customers: Distinct customers.
        processing_ms: Mean time to project one event (exponential), milliseconds.
        poll_ms: Projection poll interval when idle, milliseconds.
        append_ms: Time an append takes, milliseconds.
        strategy: Read-your-writes strategy (see the module docs).
        crash_at: When the projection worker crashes (``None``: never).
        restart_after: Seconds until it restarts.
        checkpoint_every: Events between checkpoint commits (1 = atomic with the model).
    """

    rate: float = 40.0
    burst_factor: float = 4.0
    burst_every: float = 10.0
    burst_length: float = 3.0
    duration: float = 30.0
    customers: int = 20
    processing_ms: float = 5.0
    poll_ms: float = 50.0
    append_ms: float = 2.0
    strategy: str = "none"
    crash_at: float | None = None
    restart_after: float = 2.0
    checkpoint_every: int = 1

    def __post_init__(self) -> None:
        c = "cqrs scenario"
        check_positive("rate", self.rate, c)
        check_positive("burst_factor", self.burst_factor, c)
        check_positive("burst_every", self.burst_every, c)
        check_non_negative("burst_length", self.burst_length, c)
        if self.burst_length > self.burst_every:
            raise ConfigError(
                "burst_length", self.burst_length, f"at most burst_every ({self.burst_every})", c
            )
        check_positive("duration", self.duration, c)
        check_int("customers", self.customers, 1, c)
        check_positive("processing_ms", self.processing_ms, c)
        check_positive("poll_ms", self.poll_ms, c)
        check_non_negative("append_ms", self.append_ms, c)
        check_choice("strategy", self.strategy, STRATEGIES, c)
        if self.crash_at is not None:
            check_non_negative("crash_at", self.crash_at, c)
        check_positive("restart_after", self.restart_after, c)
        check_int("checkpoint_every", self.checkpoint_every, 1, c)


def _rate_at(p: CQRSParams, t: float) -> float:
    return p.rate * (p.burst_factor if (t % p.burst_every) < p.burst_length else 1.0)


def run(
    params: CQRSParams | Mapping[str, Any] | None = None, seed: int = 0, **overrides: Any
) -> Result:
    """Run the scenario.

    Summary: ``orders``, ``events``, ``lag_mean_s``, ``lag_p99_s``, ``stale_reads`` (fraction
    of own-write reads that did not show the write), ``read_latency_mean_s``,
    ``write_latency_mean_s``, ``double_applied``, ``totals_correct`` (customer totals equal a
    fresh replay).
    """
    p = make_params(CQRSParams, params, overrides)
    world = World(seed)
    network = Network(world, ["app", "projector"])
    store = InMemoryEventStore()
    repo = Repository(store, Order)
    summaries, totals = OrderSummaries(), CustomerTotals()
    processing = Exponential.from_mean(ms(p.processing_ms))
    inline = p.strategy == "sync"
    workers = []
    if not inline:
        for projection in (summaries, totals):
            workers.append(
                ProjectionWorker(
                    world,
                    store,
                    projection,
                    node=network.node("projector"),
                    poll_interval=ms(p.poll_ms),
                    processing=processing,
                    checkpoint_every=p.checkpoint_every,
                )
            )
    reads = world.table(
        "reads", ("time", "order_id", "strategy", "fresh", "read_latency", "write_latency")
    ).add
    rng = world.rng("clients")
    env = world.env

    # An inline projection runs inside the write transaction: writes queue up behind it.
    transaction = simpy.Resource(env, capacity=1)

    def write(order: Order) -> Generator[Any, Any, tuple[int, float]]:
        started = env.now
        if not inline:
            yield env.timeout(ms(p.append_ms))
            repo.save(order)
            return store.head - 1, env.now - started
        with transaction.request() as turn:
            yield turn
            yield env.timeout(ms(p.append_ms))
            repo.save(order)
            for event in store.read_all(summaries.checkpoint):
                yield env.timeout(processing.sample(rng))
                summaries.apply(event)
                totals.apply(event)
                summaries.checkpoint = totals.checkpoint = event.position + 1
        return store.head - 1, env.now - started

    def client(n: int) -> Generator[Any, Any, None]:
        customer = f"customer-{rng.randrange(p.customers)}"
        order = Order.create(
            f"{n}", customer, [{"sku": "book", "qty": 1 + rng.randrange(3), "price": 12.5}]
        )
        yield from write(order)
        yield env.timeout(rng.expovariate(5.0))
        order.pay(order.total)
        position, write_latency = yield from write(order)
        # Read your own write: is the order shown as paid?
        read_started = env.now
        local_view = None
        if p.strategy == "wait-for-version":
            while summaries.checkpoint <= position:
                yield env.timeout(ms(5))
        elif p.strategy == "optimistic":
            local_view = "paid"  # the client shows what it just did
        row = summaries.orders.get(order.id)
        fresh = local_view == "paid" or (row is not None and row["status"] == "paid")
        reads(env.now, order.id, p.strategy, fresh, env.now - read_started, write_latency)

    def arrivals() -> Generator[Any, Any, None]:
        n = 0
        while True:
            yield env.timeout(rng.expovariate(_rate_at(p, env.now)))
            if env.now >= p.duration:
                return
            n += 1
            world.process(client(n))

    world.process(arrivals())
    if p.crash_at is not None and workers:

        def crash() -> Generator[Any, Any, None]:
            yield env.timeout(p.crash_at)
            network.crash("projector")
            yield env.timeout(p.restart_after)
            network.restart("projector")

        world.process(crash())
    world.run(until=p.duration + 10.0)
    frames = world.frames()
    projected = frames.get("projected")
    lag = (
        projected[projected["projection"] == "order_summaries"]["lag"]
        if projected is not None and len(projected)
        else None
    )
    read_rows = frames["reads"]
    truth = replay(store, CustomerTotals())
    summary = {
        "orders": len(read_rows),
        "events": store.head,
        "lag_mean_s": float(lag.mean()) if lag is not None else 0.0,
        "lag_p99_s": percentiles(lag, (99,))["p99"] if lag is not None else 0.0,
        "stale_reads": float(1 - read_rows["fresh"].mean()) if len(read_rows) else 0.0,
        "read_latency_mean_s": float(read_rows["read_latency"].mean()),
        "write_latency_mean_s": float(read_rows["write_latency"].mean()),
        "double_applied": sum(w.double_applied for w in workers),
        "totals_correct": totals.state() == truth.state(),
    }
    return Result("cqrs", p, seed, summary, frames)


def figures(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``run(params, seed).summary`` for sweeps."""
    return run(dict(params), seed).summary
