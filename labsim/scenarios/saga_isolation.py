"""Concurrent sagas on one stock item: the lack of isolation, and the countermeasures.

Each saga reserves 1–2 units (read the stock, think for ``think_ms``, write it back), then
charges the card (declined with ``decline_rate``: the reservation is released). Anomalies:

* ``lost_updates`` — a write that overwrote another saga's write made since its read;
* ``oversold`` — units committed beyond the stock;
* ``dirty_reads`` — sagas turned away for lack of stock that a later-compensated reservation
  was holding.

Countermeasures: ``none``; ``reread`` (read again before writing, retry if changed);
``commutative`` (an atomic "decrement if enough" instead of read-then-write); ``semantic-lock``
(a pending reservation makes other sagas wait for its outcome). ``run("reread", seed)`` runs
one of them (lesson 09).

Every step of every saga is a row of the ``isolation`` table (time, saga, event, qty, stock,
anomaly), and the summary counts the anomalies from it.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import simpy

from labsim.faults import FaultPlan
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.world import World

__all__ = [
    "COUNTERMEASURES",
    "SCENARIO",
    "IsolationParams",
    "IsolationScenario",
    "figures",
    "run",
]

COUNTERMEASURES = ("none", "reread", "commutative", "semantic-lock")
COLUMNS = ("time", "saga", "event", "qty", "stock", "anomaly")


@dataclass(frozen=True)
class IsolationParams(Params):
    """Parameters of the saga-isolation scenario (see :func:`labsim.params.describe`)."""

    context = "saga-isolation scenario"

    countermeasure: str = param(
        "none", "how a saga protects its read-then-write of the stock", choices=COUNTERMEASURES
    )
    sagas: int = param(200, "sagas competing for the item", ge=1, le=1_000_000)
    stock: int = param(100, "units in stock at the start", ge=0, le=10**9)
    decline_rate: float = param(0.3, "probability a card is declined", ge=0, le=1)
    think_ms: float = param(
        20.0, "mean time between reading and writing, and of the payment", gt=0, le=1e5, unit="ms"
    )
    rate: float = param(200.0, "sagas starting per second", gt=0, le=1e6, unit="1/s")


def _start(world: World, p: IsolationParams) -> None:
    env = world.env
    rng = world.rng("isolation")
    strategy = p.countermeasure
    state = {"stock": p.stock, "version": 0, "pending_doomed": 0}
    # The semantic lock: a reservation marks the item PENDING until the saga ends; other
    # sagas wait for it (a capacity-1 resource held from the read to the commit/compensation).
    pending = simpy.Resource(env, capacity=1)
    row = world.table("isolation", COLUMNS).add
    think = 1000.0 / p.think_ms

    def reserve(n: int, qty: int, declined: bool) -> Generator[Any, Any, bool]:
        while True:
            seen, version = state["stock"], state["version"]
            if strategy != "commutative":
                yield env.timeout(rng.expovariate(think))
            if strategy == "reread" and state["version"] != version:
                continue  # someone wrote meanwhile: read again
            current = state["stock"] if strategy == "commutative" else seen
            if current < qty:
                # Turned away although a doomed reservation holds enough: a dirty read.
                dirty = state["stock"] + state["pending_doomed"] >= qty
                row(env.now, n, "rejected", qty, state["stock"], "dirty-read" if dirty else "")
                return False
            # Writing over a write made since our read loses that update.
            lost = strategy == "none" and state["version"] != version
            state["stock"] = current - qty
            state["version"] += 1
            if declined:
                state["pending_doomed"] += qty
            row(env.now, n, "reserved", qty, state["stock"], "lost-update" if lost else "")
            return True

    def finish(n: int, qty: int, declined: bool) -> Generator[Any, Any, None]:
        yield env.timeout(rng.expovariate(think))  # the payment step
        if declined:  # compensate: give the units back
            state["stock"] += qty
            state["version"] += 1
            state["pending_doomed"] -= qty
            row(env.now, n, "released", qty, state["stock"], "")
        else:
            row(env.now, n, "committed", qty, state["stock"], "")

    def saga(n: int, qty: int, declined: bool) -> Generator[Any, Any, None]:
        row(env.now, n, "arrived", qty, state["stock"], "")
        if strategy == "semantic-lock":
            with pending.request() as lock:
                yield lock
                if (yield from reserve(n, qty, declined)):
                    yield from finish(n, qty, declined)
        elif (yield from reserve(n, qty, declined)):
            yield from finish(n, qty, declined)

    def arrivals() -> Generator[Any, Any, None]:
        for n in range(p.sagas):
            yield env.timeout(rng.expovariate(p.rate))
            world.process(saga(n, 1 + rng.randrange(2), rng.random() < p.decline_rate))

    world.process(arrivals())


class IsolationScenario(Scenario):
    """Sagas reserving units of one item concurrently, with one countermeasure.

    Summary figures: ``lost_updates``, ``oversold``, ``dirty_reads``, ``committed`` and
    ``latency_mean_s`` (arrival → the saga's last step).
    """

    name = "saga-isolation"
    description = "concurrent sagas on one stock item: anomalies and countermeasures (lesson 09)"
    lesson = "09_sagas"
    Params = IsolationParams
    summary_tables = ("isolation",)
    positional = ("countermeasure",)

    def build(self, p: IsolationParams, world: World, plan: FaultPlan) -> None:
        _start(world, p)

    def until(self, p: IsolationParams) -> None:
        return None  # every saga ends: run until nothing is left to happen

    def summarize(self, p: IsolationParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        rows = frames["isolation"]
        committed = rows[rows["event"] == "committed"]
        span = rows.groupby("saga")["time"].agg(["min", "max"])
        latency = span["max"] - span["min"]
        return {
            "lost_updates": int((rows["anomaly"] == "lost-update").sum()),
            "oversold": max(0, int(committed["qty"].sum()) - p.stock),
            "dirty_reads": int((rows["anomaly"] == "dirty-read").sum()),
            "committed": len(committed),
            "latency_mean_s": float(latency.mean()) if len(latency) else 0.0,
        }


SCENARIO = IsolationScenario()
run = SCENARIO.run
figures = SCENARIO.figures
