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

import pandas as pd

from labsim.dists import Exponential
from labsim.faults import Fault, FaultPlan
from labsim.metrics import percentiles
from labsim.network import Network
from labsim.outbox import DESIGNS, OrderService, event_broker
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.world import World, ms

__all__ = ["SCENARIO", "OutboxParams", "OutboxScenario", "figures", "run"]


@dataclass(frozen=True)
class OutboxParams(Params):
    """Parameters of the outbox scenario (see :func:`labsim.params.describe`)."""

    context = "outbox scenario"

    design: str = param("outbox", "how the order service publishes its events", choices=DESIGNS)
    orders: int = param(300, "orders placed", ge=1, le=1_000_000, soft_max=1000)
    rate: float = param(20.0, "orders placed per second", gt=0, le=1e5, unit="1/s")
    crash_rate: float = param(
        0.05,
        "probability the service crashes at each step boundary (fault phase)",
        ge=0,
        le=1,
        step=0.01,
        soft_max=0.3,
    )
    loss: float = param(
        0.1,
        "loss probability on the service–broker link during the fault phase",
        ge=0,
        le=1,
        step=0.05,
        soft_max=0.5,
    )
    publish_retries: int = param(
        0, "dual write: extra publish attempts before undoing the order", ge=0, le=1000
    )
    relay_interval: float = param(
        0.05, "time between outbox relay polls of the outbox table", gt=0, le=1e4, unit="s"
    )
    cdc_tail: float = param(
        0.002,
        "CDC: time for the log reader to see a new commit (it tails the log, no table to poll)",
        gt=0,
        le=1e4,
        unit="s",
    )
    quiet: float = param(
        10.0, "time after the fault phase for relays to catch up", gt=0, le=1e6, unit="s"
    )

    @property
    def faults_until(self) -> float:
        """End of the fault phase: when the last order is expected."""
        return self.orders / self.rate


def _clients(world: World, service: OrderService, p: OutboxParams) -> Generator[Any, Any, None]:
    rng = world.rng("clients")
    for n in range(p.orders):
        yield world.env.timeout(rng.expovariate(p.rate))
        if service.node.up:  # a request to a crashed service fails at once
            service.node.process(service.place(f"o{n}"))


class OutboxScenario(Scenario):
    """One publishing design under crashes of the order service and a lossy link.

    Summary figures: ``committed``, ``published`` (distinct orders the broker saw), ``zombie``,
    ``ghost``, ``duplicates`` (events beyond one per order, removed by consumer dedupe),
    ``relay_lag_p50_s``, ``relay_lag_p99_s``.
    """

    name = "outbox"
    description = "dual write versus outbox versus CDC under crashes (lesson 10)"
    lesson = "10_outbox_cdc"
    Params = OutboxParams
    summary_tables = ("order_db", "published", "relay")
    positional = ("design", "orders")

    def fault_plan(self, p: OutboxParams, seed: int) -> FaultPlan:
        """Loss on the service–broker link for the whole fault phase."""
        return FaultPlan(
            (Fault(0.0, "loss", p.faults_until, nodes=("order", "broker"), value=p.loss),)
        )

    def build(self, p: OutboxParams, world: World, plan: FaultPlan) -> OrderService:
        network = Network(world, ["order", "broker"], latency=Exponential.from_mean(ms(5)))
        event_broker(network.node("broker"))
        service = OrderService(
            network.node("order"),
            "broker",
            design=p.design,
            crash_rate=p.crash_rate,
            faults_until=p.faults_until,
            publish_retries=p.publish_retries,
            # The outbox relay polls its table; CDC streams the commit log, seeing a commit
            # as soon as the log reader does.
            relay_interval=p.cdc_tail if p.design == "cdc" else p.relay_interval,
        )
        plan.apply(network)
        world.process(_clients(world, service, p))
        return service

    def until(self, p: OutboxParams) -> float:
        return p.faults_until + p.quiet

    def finish(self, p: OutboxParams, system: OrderService, world: World) -> None:
        system.record_state()

    def summarize(self, p: OutboxParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        committed = set(frames["order_db"]["order"])
        events = frames["published"]
        published = set(events["order"])
        relay = frames["relay"]
        lag = relay["published_at"] - relay["committed_at"]
        return {
            "committed": len(committed),
            "published": len(published),
            "zombie": len(committed - published),
            "ghost": len(published - committed),
            "duplicates": len(events) - len(published),
            "relay_lag_p50_s": percentiles(lag, (50,))["p50"],
            "relay_lag_p99_s": percentiles(lag, (99,))["p99"],
        }


SCENARIO = OutboxScenario()
run = SCENARIO.run
figures = SCENARIO.figures
