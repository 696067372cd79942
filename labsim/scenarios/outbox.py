"""Dual write versus transactional outbox versus CDC, under the same crash schedule.

``run(design, seed, orders)`` places ``orders`` orders while the order service crashes at step
boundaries and its link to the broker loses messages; then faults stop and relays catch up.
The summary counts **zombies** (committed, never published) and **ghosts** (published, never
committed), and the relay lag (commit → published).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from labsim.dists import Exponential
from labsim.errors import check_choice, check_int, check_positive, check_probability
from labsim.faults import Fault, FaultPlan
from labsim.metrics import percentiles
from labsim.network import Network
from labsim.outbox import DESIGNS, EventBroker, OrderService
from labsim.result import Result, make_params
from labsim.world import World, ms

__all__ = ["OutboxParams", "figures", "run"]


@dataclass(frozen=True)
class OutboxParams:
    """Parameters of the outbox scenario.

    Attributes:
        design: ``dual-write``, ``outbox`` or ``cdc``.
        orders: Orders placed.
        rate: Orders per second.
        crash_rate: Probability the service crashes at each step boundary (fault phase).
        loss: Loss probability on the service–broker link during the fault phase.
        publish_retries: Dual write: extra publish attempts before undoing the order.
        relay_interval: Seconds between relay polls.
        quiet: Seconds after the fault phase for relays to catch up.
    """

    design: str = "outbox"
    orders: int = 300
    rate: float = 20.0
    crash_rate: float = 0.05
    loss: float = 0.1
    publish_retries: int = 0
    relay_interval: float = 0.05
    quiet: float = 10.0

    def __post_init__(self) -> None:
        c = "outbox scenario"
        check_choice("design", self.design, DESIGNS, c)
        check_int("orders", self.orders, 1, c)
        check_positive("rate", self.rate, c)
        check_probability("crash_rate", self.crash_rate, c)
        check_probability("loss", self.loss, c)
        check_int("publish_retries", self.publish_retries, 0, c)
        check_positive("relay_interval", self.relay_interval, c)
        check_positive("quiet", self.quiet, c)


def run(
    design: str | OutboxParams | Mapping[str, Any] = "outbox",
    seed: int = 0,
    orders: int | None = None,
    **overrides: Any,
) -> Result:
    """Run one design: ``run("dual-write", seed, orders)``.

    Summary: ``committed``, ``published`` (distinct orders the broker saw), ``zombie``,
    ``ghost``, ``duplicates`` (events beyond one per order, removed by consumer dedupe),
    ``relay_lag_p50_s``, ``relay_lag_p99_s``.
    """
    if isinstance(design, str):
        params: Any = None
        overrides = {"design": design, **overrides}
    else:
        params = design
    if orders is not None:
        overrides["orders"] = orders
    p = make_params(OutboxParams, params, overrides)
    world = World(seed)
    network = Network(world, ["order", "broker"], latency=Exponential.from_mean(ms(5)))
    broker = EventBroker(world, network)
    faults_until = p.orders / p.rate
    service = OrderService(
        world,
        network,
        broker,
        design=p.design,
        crash_rate=p.crash_rate,
        faults_until=faults_until,
        publish_retries=p.publish_retries,
        relay_interval=p.relay_interval,
    )
    FaultPlan((Fault(0.0, "loss", faults_until, nodes=("order", "broker"), value=p.loss),)).apply(
        network
    )

    def clients() -> Generator[Any, Any, None]:
        rng = world.rng("clients")
        for n in range(p.orders):
            yield world.env.timeout(rng.expovariate(p.rate))
            if service.node.up:  # a request to a crashed service fails at once
                service.node.process(service.place(f"o{n}"))

    world.process(clients())
    world.run(until=faults_until + p.quiet)
    committed = service.committed()
    published = broker.orders_seen()
    relay = world.frame("relay")
    lag = relay["published_at"] - relay["committed_at"]
    summary = {
        "committed": len(committed),
        "published": len(published),
        "zombie": len(committed - published),
        "ghost": len(published - committed),
        "duplicates": len(broker.events) - len(published),
        "relay_lag_p50_s": percentiles(lag, (50,))["p50"],
        "relay_lag_p99_s": percentiles(lag, (99,))["p99"],
    }
    return Result("outbox", p, seed, summary, world.frames())


def figures(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``run(params, seed).summary`` for sweeps."""
    return run(dict(params), seed).summary
