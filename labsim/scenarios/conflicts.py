"""Concurrent writes to a replicated shopping cart, under each resolution policy.

Clients add unique items to one cart key at random replicas; replicas gossip; optionally one
replica's clock runs ``skew`` seconds behind and a partition splits the replicas for a while.
After the last write and the heal, a quiet phase lets gossip converge. The summary counts the
acknowledged additions the final cart lacks (lost updates), whether and how fast the replicas
converged, the most siblings seen and the metadata each policy carries.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.checks import check_convergence, check_lost_updates, time_to_converge
from labsim.dists import Exponential
from labsim.errors import ConfigError, check_choice, check_int, check_non_negative, check_positive
from labsim.faults import Fault, FaultPlan
from labsim.network import Network
from labsim.replication.store import POLICIES, RESOLVERS, ReplicatedStore
from labsim.result import Result, make_params
from labsim.world import World, ms

__all__ = ["ConflictParams", "figures", "run", "siblings_over_time"]

CART = "cart"


@dataclass(frozen=True)
class ConflictParams:
    """Parameters of the replicated-cart scenario.

    Attributes:
        policy: Resolution policy (``lww-physical``, ``lww-hlc``, ``version-vectors``, ``crdt``).
        resolver: For version vectors: ``union`` or ``pick-one``.
        replicas: Number of replicas (named ``r1`` ...).
        writes: Items added in all.
        write_gap: Mean seconds between writes (exponential).
        skew: Seconds replica ``r1``'s clock runs behind the others.
        gossip_interval: Seconds between gossip rounds per replica.
        fanout: Peers per gossip round.
        partition_start: When ``r1`` is cut off from the others (``None``: never).
        partition_end: When it heals.
        quiet: Seconds after the last write (and the heal) for gossip to converge.
        latency_ms: Mean network latency in milliseconds.
    """

    policy: str = "lww-physical"
    resolver: str = "union"
    replicas: int = 3
    writes: int = 60
    write_gap: float = 0.5
    skew: float = 0.0
    gossip_interval: float = 0.2
    fanout: int = 1
    partition_start: float | None = None
    partition_end: float | None = None
    quiet: float = 5.0
    latency_ms: float = 5.0

    def __post_init__(self) -> None:
        c = "conflicts scenario"
        check_choice("policy", self.policy, POLICIES, c)
        check_choice("resolver", self.resolver, list(RESOLVERS), c)
        check_int("replicas", self.replicas, 2, c)
        check_int("writes", self.writes, 1, c)
        check_positive("write_gap", self.write_gap, c)
        check_non_negative("skew", self.skew, c)
        check_positive("gossip_interval", self.gossip_interval, c)
        check_int("fanout", self.fanout, 1, c)
        if self.fanout > self.replicas - 1:
            raise ConfigError(
                "fanout", self.fanout, f"at most replicas - 1 = {self.replicas - 1}", c
            )
        if (self.partition_start is None) != (self.partition_end is None):
            raise ConfigError(
                "partition_end", self.partition_end, "None exactly when partition_start is None", c
            )
        if self.partition_start is not None and self.partition_end <= self.partition_start:
            raise ConfigError(
                "partition_end",
                self.partition_end,
                f"a time after partition_start={self.partition_start}",
                c,
            )
        check_positive("quiet", self.quiet, c)
        check_positive("latency_ms", self.latency_ms, c)

    @property
    def replica_names(self) -> list[str]:
        """``r1`` ... ``rN``."""
        return [f"r{i}" for i in range(1, self.replicas + 1)]


def _clients(
    world: World, store: ReplicatedStore, p: ConflictParams, done: list[float]
) -> Generator[Any, Any, None]:
    rng = world.rng("clients")
    for i in range(p.writes):
        yield world.env.timeout(rng.expovariate(1 / p.write_gap))
        store.add_item(rng.choice(p.replica_names), CART, f"item-{i}")
    done.append(world.now)


def build(p: ConflictParams, world: World) -> tuple[Network, ReplicatedStore, list[float]]:
    """Set the scenario up in ``world``; returns the network, the store and a list that gets
    the time of the last write."""
    names = p.replica_names
    network = Network(world, names, latency=Exponential.from_mean(ms(p.latency_ms)))
    network.set_clock("r1", skew=-p.skew)
    store = ReplicatedStore(
        world,
        network,
        names,
        policy=p.policy,
        gossip_interval=p.gossip_interval,
        fanout=p.fanout,
        resolver=p.resolver,
    )
    if p.partition_start is not None:
        FaultPlan(
            (
                Fault(
                    p.partition_start,
                    "partition",
                    p.partition_end,
                    groups=(("r1",), tuple(names[1:])),
                ),
            )
        ).apply(network)
    done: list[float] = []
    world.process(_clients(world, store, p, done))
    return network, store, done


def run(
    params: ConflictParams | Mapping[str, Any] | None = None, seed: int = 0, **overrides: Any
) -> Result:
    """Run the scenario. Summary: ``lost_updates``, ``converged``, ``time_to_converge_s``,
    ``max_siblings``, ``metadata_size``, ``final_items``."""
    p = make_params(ConflictParams, params, overrides)
    world = World(seed)
    _, store, done = build(p, world)
    # Run until all writes are done, then a quiet phase after the later of that and the heal.
    horizon = p.writes * p.write_gap * 3 + (p.partition_end or 0) + p.quiet
    while not done and world.now < horizon:
        world.run(until=world.now + 1.0)
    if not done:  # pragma: no cover - the horizon leaves ample time for every write
        raise ConfigError("writes", p.writes, "a workload that finishes", "conflicts scenario")
    quiet_from = max(done[0], p.partition_end or 0.0)
    if quiet_from > world.now:
        world.run(until=quiet_from)
    world.run(until=quiet_from + p.quiet)
    frames = world.frames()
    final = store.read("r1", CART)
    items = (store.resolve(final) if p.policy == "version-vectors" else final) or frozenset()
    lost = check_lost_updates(frames["writes"], {CART: items})
    converged = check_convergence(frames["divergence"], quiet_from)
    summary = {
        "lost_updates": len(lost.anomalies),
        "converged": converged.valid,
        "time_to_converge_s": time_to_converge(frames["divergence"], quiet_from),
        "max_siblings": int(frames["divergence"]["max_siblings"].max()),
        "metadata_size": store.metadata_size(),
        "final_items": len(items),
    }
    return Result("conflicts", p, seed, summary, frames)


def figures(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``run(params, seed).summary`` for sweeps."""
    return run(dict(params), seed).summary


def siblings_over_time(
    blind: bool, writes: int = 50, write_gap: float = 0.2, replicas: int = 3, seed: int = 0
) -> pd.DataFrame:
    """Version vectors with clients that write blind (no context) or read-resolve-write.

    Returns the ``divergence`` samples (time, distinct_states, max_siblings).
    """
    check_int("writes", writes, 1, "siblings_over_time")
    check_positive("write_gap", write_gap, "siblings_over_time")
    world = World(seed)
    names = [f"r{i}" for i in range(1, replicas + 1)]
    network = Network(world, names, latency=Exponential.from_mean(ms(5)))
    store = ReplicatedStore(world, network, names, policy="version-vectors", gossip_interval=0.2)

    def clients() -> Generator[Any, Any, None]:
        rng = world.rng("clients")
        for i in range(writes):
            yield world.env.timeout(rng.expovariate(1 / write_gap))
            replica = rng.choice(names)
            if blind:
                store.write(replica, CART, frozenset({f"item-{i}"}), blind=True)
            else:
                store.add_item(replica, CART, f"item-{i}")

    world.process(clients())
    world.run(until=writes * write_gap + 3)
    return world.frame("divergence")
