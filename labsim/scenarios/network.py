"""Messages between nodes of a small network, with an optional partition.

Every node sends messages to random other nodes (a Poisson stream per node); the network
adds latency, loss and duplication; a partition cuts the nodes into two halves for a while.
Used by the tour notebook to show what a network fault does to delivery.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.checks import check_delivery
from labsim.dists import Exponential
from labsim.faults import Fault, FaultPlan
from labsim.metrics import percentiles
from labsim.network import Network
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.world import World, ms

__all__ = ["SCENARIO", "NetworkParams", "NetworkScenario", "build", "figures", "run"]


@dataclass(frozen=True)
class NetworkParams(Params):
    """Parameters of the network scenario (see :func:`labsim.params.describe`)."""

    context = "network scenario"

    nodes: int = param(4, "number of nodes, named n1, n2, ...", ge=2, le=200, soft_max=12)
    rate: float = param(50.0, "messages per second each node sends", gt=0, le=1e5, unit="1/s")
    duration: float = param(10.0, "seconds of sending", gt=0, le=1e5, unit="s")
    latency_ms: float = param(5.0, "mean one-way latency (exponential)", gt=0, le=1e4, unit="ms")
    loss: float = param(
        0.0, "probability a message is lost on its link", ge=0, le=1, step=0.05, soft_max=0.9
    )
    duplicate: float = param(
        0.0, "probability a message arrives twice", ge=0, le=1, step=0.05, soft_max=0.9
    )
    reorder: bool = param(False, "let later messages overtake earlier ones on a link")
    partition_start: float | None = param(
        3.0, "when the two halves are cut apart (none: never)", ge=0, unit="s"
    )
    partition_end: float | None = param(6.0, "when the partition heals", ge=0, unit="s")
    extra_faults: tuple[Fault, ...] = param((), "more faults: crashes, loss bursts, ...")

    def check(self) -> None:
        if (self.partition_start is None) != (self.partition_end is None):
            raise self.error("partition_end", "None exactly when partition_start is None")
        if self.partition_start is not None and self.partition_end <= self.partition_start:
            raise self.error(
                "partition_end", f"a time after partition_start={self.partition_start}"
            )

    @property
    def node_names(self) -> list[str]:
        """The node names, ``n1`` ... ``nN``."""
        return [f"n{i}" for i in range(1, self.nodes + 1)]


def _sender(
    world: World, network: Network, me: str, others: list[str], rate: float, duration: float
) -> Generator[Any, Any, None]:
    rng = world.rng(f"sender-{me}")
    env = world.env
    while True:
        yield env.timeout(rng.expovariate(rate))
        if env.now >= duration:
            return
        network.send(me, rng.choice(others), me)


def _receiver(network: Network, me: str) -> Generator[Any, Any, None]:
    inbox = network.node(me).inbox
    while True:
        yield inbox.get()


class NetworkScenario(Scenario):
    """Nodes messaging each other; summary from ``net.sends`` and ``net.deliveries``.

    Summary figures: ``sent``, ``delivered`` (distinct messages that arrived), ``lost``,
    ``duplicated``, ``delivered_fraction``, ``latency_mean_ms``, ``latency_p99_ms``.
    """

    name = "network"
    description = "nodes messaging each other through latency, loss and a partition (lesson 00)"
    lesson = "00_tour"
    Params = NetworkParams
    summary_tables = ("net.sends", "net.deliveries")

    def fault_plan(self, p: NetworkParams, seed: int) -> FaultPlan:
        """The partition (first half of the nodes against the second) and any extra faults."""
        faults = list(p.extra_faults)
        if p.partition_start is not None:
            names = p.node_names
            half = len(names) // 2
            faults.append(
                Fault(
                    p.partition_start,
                    "partition",
                    p.partition_end,
                    groups=(tuple(names[:half]), tuple(names[half:])),
                )
            )
        return FaultPlan(tuple(faults))

    def build(self, p: NetworkParams, world: World, plan: FaultPlan) -> Network:
        names = p.node_names
        network = Network(
            world,
            names,
            latency=Exponential.from_mean(ms(p.latency_ms)),
            loss=p.loss,
            duplicate=p.duplicate,
            reorder=p.reorder,
        )
        for me in names:
            others = [n for n in names if n != me]
            node = network.node(me)
            node.process(_sender(world, network, me, others, p.rate, p.duration))
            node.process(_receiver(network, me))
        plan.apply(network)
        return network

    def until(self, p: NetworkParams) -> float:
        # Leave time after the last send for messages in flight to land.
        return p.duration + 1.0

    def summarize(self, p: NetworkParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        sends, deliveries = frames["net.sends"], frames["net.deliveries"]
        check = check_delivery(sends, deliveries)
        counts = check.anomalies["anomaly"].value_counts()
        latency = (deliveries["time"] - deliveries["sent_at"]) * 1000
        sent = len(sends)
        delivered = int(deliveries["msg_id"].nunique())
        return {
            "sent": sent,
            "delivered": delivered,
            "lost": int(counts.get("lost", 0)),
            "duplicated": int(counts.get("duplicated", 0)),
            "delivered_fraction": delivered / sent if sent else float("nan"),
            "latency_mean_ms": float(latency.mean()) if len(latency) else float("nan"),
            "latency_p99_ms": percentiles(latency, (99,))["p99"],
        }


SCENARIO = NetworkScenario()
run = SCENARIO.run
figures = SCENARIO.figures


def build(params: NetworkParams | Mapping[str, Any] | None, world: World) -> Network:
    """Set the scenario up in ``world`` without running it (for notebooks that look inside)."""
    p = SCENARIO.params(params)
    return SCENARIO.build(p, world, SCENARIO.fault_plan(p, world.seed))
