"""Messages between nodes of a small network, with an optional partition.

Every node sends messages to random other nodes (a Poisson stream per node); the network
adds latency, loss and duplication; a partition cuts the nodes into two halves for a while.
Used by the tour notebook to show what a network fault does to delivery.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from labsim.checks import check_delivery
from labsim.dists import Exponential
from labsim.errors import (
    ConfigError,
    check_int,
    check_non_negative,
    check_positive,
    check_probability,
)
from labsim.faults import Fault, FaultPlan
from labsim.metrics import percentiles
from labsim.network import Network
from labsim.result import Result, make_params
from labsim.world import World, ms

__all__ = ["NetworkParams", "build", "figures", "run"]


@dataclass(frozen=True)
class NetworkParams:
    """Parameters of the network scenario.

    Attributes:
        nodes: Number of nodes (>= 2), named ``n1``, ``n2``, ...
        rate: Messages per second each node sends (> 0).
        duration: Simulated seconds of sending (> 0).
        latency_ms: Mean one-way latency in milliseconds (exponential, > 0).
        loss: Probability a message is lost on its link.
        duplicate: Probability a message arrives twice.
        reorder: Let later messages overtake earlier ones on a link.
        partition_start: When the two halves of the network are cut apart (``None``: never).
        partition_end: When the partition heals.
        extra_faults: More faults to apply (crashes, loss bursts, ...), as ``Fault`` objects.
    """

    nodes: int = 4
    rate: float = 50.0
    duration: float = 10.0
    latency_ms: float = 5.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: bool = False
    partition_start: float | None = 3.0
    partition_end: float | None = 6.0
    extra_faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        context = "network scenario"
        check_int("nodes", self.nodes, 2, context)
        check_positive("rate", self.rate, context)
        check_positive("duration", self.duration, context)
        check_positive("latency_ms", self.latency_ms, context)
        check_probability("loss", self.loss, context)
        check_probability("duplicate", self.duplicate, context)
        if (self.partition_start is None) != (self.partition_end is None):
            raise ConfigError(
                "partition_end",
                self.partition_end,
                "None exactly when partition_start is None",
                context,
            )
        if self.partition_start is not None:
            check_non_negative("partition_start", self.partition_start, context)
            if self.partition_end <= self.partition_start:  # type: ignore[operator]
                raise ConfigError(
                    "partition_end",
                    self.partition_end,
                    f"a time after partition_start={self.partition_start}",
                    context,
                )

    @property
    def node_names(self) -> list[str]:
        """The node names, ``n1`` ... ``nN``."""
        return [f"n{i}" for i in range(1, self.nodes + 1)]

    def fault_plan(self) -> FaultPlan:
        """The partition (first half of the nodes against the second) and any extra faults."""
        faults = list(self.extra_faults)
        if self.partition_start is not None:
            names = self.node_names
            half = len(names) // 2
            faults.append(
                Fault(
                    self.partition_start,
                    "partition",
                    self.partition_end,
                    groups=(tuple(names[:half]), tuple(names[half:])),
                )
            )
        return FaultPlan(tuple(faults))


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


def build(params: NetworkParams, world: World) -> Network:
    """Set up the scenario in ``world`` without running it (for notebooks that look inside)."""
    names = params.node_names
    network = Network(
        world,
        names,
        latency=Exponential.from_mean(ms(params.latency_ms)),
        loss=params.loss,
        duplicate=params.duplicate,
        reorder=params.reorder,
    )
    for me in names:
        others = [n for n in names if n != me]
        node = network.node(me)
        node.process(_sender(world, network, me, others, params.rate, params.duration))
        node.process(_receiver(network, me))
    params.fault_plan().apply(network)
    return network


def run(
    params: NetworkParams | Mapping[str, Any] | None = None, seed: int = 0, **overrides: Any
) -> Result:
    """Run the scenario; ``overrides`` replace single parameters (``run(seed=1, loss=0.1)``).

    Summary figures: ``sent``, ``delivered`` (distinct messages that arrived), ``lost``,
    ``duplicated``, ``delivered_fraction``, ``latency_mean_ms``, ``latency_p99_ms``.
    """
    p = make_params(NetworkParams, params, overrides)
    world = World(seed)
    build(p, world)
    # Leave time after the last send for messages in flight to land.
    world.run(until=p.duration + 1.0)
    frames = world.frames()
    sends, deliveries = frames["net.sends"], frames["net.deliveries"]
    check = check_delivery(sends, deliveries)
    counts = check.anomalies["anomaly"].value_counts()
    latency = (deliveries["time"] - deliveries["sent_at"]) * 1000
    sent = len(sends)
    delivered = int(deliveries["msg_id"].nunique())
    summary = {
        "sent": sent,
        "delivered": delivered,
        "lost": int(counts.get("lost", 0)),
        "duplicated": int(counts.get("duplicated", 0)),
        "delivered_fraction": delivered / sent if sent else float("nan"),
        "latency_mean_ms": float(latency.mean()) if len(latency) else float("nan"),
        "latency_p99_ms": percentiles(latency, (99,))["p99"],
    }
    return Result("network", p, seed, summary, frames)


def figures(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``run(params, seed).summary`` — the function to hand to :func:`labsim.sweep.sweep`."""
    return run(dict(params), seed).summary
