"""Concurrent writes to a replicated shopping cart, under each resolution policy.

Clients add unique items to one cart key at random replicas; replicas gossip; optionally one
replica's clock runs ``skew`` seconds behind and a partition splits the replicas for a while.
After the last write and the heal, a quiet phase lets gossip converge. The summary counts the
acknowledged additions the final cart lacks (lost updates), whether and how fast the replicas
converged, the most siblings seen and the metadata each policy carries.

With ``blind=True`` (version vectors only) clients write without reading first: each write
holds just its own item and, lacking the context of what the replica has seen, becomes one
more sibling — the way siblings pile up when clients do not read, merge, then write.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import simpy
from simpy.core import StopSimulation

from labsim.checks import check_convergence, check_lost_updates, time_to_converge
from labsim.dists import Exponential
from labsim.faults import Fault, FaultPlan
from labsim.network import Network
from labsim.params import Params, param
from labsim.replication.store import POLICIES, RESOLVERS, ReplicatedStore
from labsim.scenarios.base import Scenario
from labsim.world import World, ms

__all__ = ["CART", "SCENARIO", "ConflictParams", "ConflictScenario", "figures", "run"]

#: The key every client writes.
CART = "cart"


@dataclass(frozen=True)
class ConflictParams(Params):
    """Parameters of the replicated-cart scenario (see :func:`labsim.params.describe`)."""

    context = "conflicts scenario"

    policy: str = param("lww-physical", "conflict resolution policy", choices=POLICIES)
    resolver: str = param(
        "union", "how a client merges siblings (version-vectors)", choices=tuple(RESOLVERS)
    )
    replicas: int = param(3, "replicas of the cart, named r1, r2, ...", ge=2, le=100, soft_max=10)
    writes: int = param(60, "items added in all", ge=1, le=1_000_000)
    write_gap: float = param(
        0.5, "mean seconds between writes (exponential)", gt=0, le=1e6, unit="s"
    )
    blind: bool = param(False, "clients write without reading first (version-vectors only)")
    skew: float = param(
        0.0, "seconds replica r1's clock runs behind", ge=0, le=1e6, unit="s", step=0.25, soft_max=5
    )
    gossip_interval: float = param(
        0.2, "seconds between gossip rounds per replica", gt=0, le=1e6, unit="s"
    )
    fanout: int = param(1, "peers per gossip round (at most replicas - 1)", ge=1, le=99)
    partition_start: float | None = param(
        None, "when r1 is cut off from the others (none: never)", ge=0, le=1e6, unit="s"
    )
    partition_end: float | None = param(None, "when the partition heals", ge=0, le=1e6, unit="s")
    quiet: float = param(
        5.0,
        "seconds after the last write and the heal for gossip to converge",
        gt=0,
        le=1e6,
        unit="s",
    )
    latency_ms: float = param(5.0, "mean network latency (exponential)", gt=0, le=1e6, unit="ms")

    def check(self) -> None:
        if self.fanout > self.replicas - 1:
            raise self.error("fanout", f"at most replicas - 1 = {self.replicas - 1}")
        if (self.partition_start is None) != (self.partition_end is None):
            raise self.error("partition_end", "None exactly when partition_start is None")
        if self.partition_start is not None and self.partition_end <= self.partition_start:
            raise self.error(
                "partition_end", f"a time after partition_start={self.partition_start}"
            )
        if self.blind and self.policy != "version-vectors":
            raise self.error("blind", "False unless policy is 'version-vectors'")

    @property
    def replica_names(self) -> list[str]:
        """``r1`` ... ``rN``."""
        return [f"r{i}" for i in range(1, self.replicas + 1)]


def _clients(world: World, store: ReplicatedStore, p: ConflictParams) -> Generator[Any, Any, None]:
    rng = world.rng("clients")
    names = p.replica_names
    for i in range(p.writes):
        yield world.env.timeout(rng.expovariate(1 / p.write_gap))
        item = f"item-{i}"
        if p.blind:
            store.write(rng.choice(names), CART, frozenset({item}), blind=True, item=item)
        else:
            store.add_item(rng.choice(names), CART, item)


def _quiet_from(p: ConflictParams, last_write: float) -> float:
    """Start of the quiet phase: the later of the last write and the heal."""
    return max(last_write, p.partition_end or 0.0)


def _quiet_phase(
    world: World, p: ConflictParams, clients: simpy.Process
) -> Generator[Any, Any, None]:
    # The run ends `quiet` seconds after the quiet phase starts.
    yield clients
    yield world.env.timeout(_quiet_from(p, world.now) + p.quiet - world.now)


class ConflictScenario(Scenario):
    """A replicated cart under concurrent additions; summary from writes and divergence.

    Summary figures: ``lost_updates`` (acknowledged additions missing from r1's final cart),
    ``converged``, ``time_to_converge_s`` (after the quiet phase starts), ``max_siblings``,
    ``metadata_size`` (largest bookkeeping at the end), ``final_items``.
    """

    name = "conflicts"
    description = "a replicated cart under LWW, version vectors or CRDTs, with skew (lesson 11)"
    lesson = "11_conflict_resolution"
    Params = ConflictParams
    summary_tables = ("writes", "divergence", "replica_state")

    def fault_plan(self, p: ConflictParams, seed: int) -> FaultPlan:
        """r1 cut off from the other replicas between ``partition_start`` and ``partition_end``."""
        if p.partition_start is None:
            return FaultPlan(())
        names = p.replica_names
        return FaultPlan(
            (
                Fault(
                    p.partition_start,
                    "partition",
                    p.partition_end,
                    groups=(("r1",), tuple(names[1:])),
                ),
            )
        )

    def build(self, p: ConflictParams, world: World, plan: FaultPlan) -> ReplicatedStore:
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
        plan.apply(network)
        clients = world.process(_clients(world, store, p))
        # Gossip never stops by itself: the quiet phase's end stops the run.
        world.process(_quiet_phase(world, p, clients)).callbacks.append(StopSimulation.callback)
        return store

    def until(self, p: ConflictParams) -> None:
        # The run ends when the quiet phase does (see build), whenever the last write was.
        return None

    def finish(self, p: ConflictParams, system: ReplicatedStore, world: World) -> None:
        system.record_state()

    def summarize(self, p: ConflictParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        writes, divergence, state = frames["writes"], frames["divergence"], frames["replica_state"]
        start = _quiet_from(p, float(writes["time"].max()) if len(writes) else 0.0)
        final = state.loc[(state["replica"] == "r1") & (state["key"] == CART), "value"]
        value = final.iloc[0] if len(final) else None
        if p.policy == "version-vectors":
            value = RESOLVERS[p.resolver](value or frozenset())
        items = value or frozenset()
        lost = check_lost_updates(writes, {CART: items})
        return {
            "lost_updates": len(lost.anomalies),
            "converged": check_convergence(divergence, start).valid,
            "time_to_converge_s": time_to_converge(divergence, start),
            "max_siblings": int(divergence["max_siblings"].max()),
            "metadata_size": int(state["metadata_size"].max()) if len(state) else 0,
            "final_items": len(items),
        }


SCENARIO = ConflictScenario()
run = SCENARIO.run
figures = SCENARIO.figures
