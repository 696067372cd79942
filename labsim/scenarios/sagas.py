"""An order saga, orchestrated or choreographed, under participant and orchestrator crashes.

``run(style, seed, sagas, crash_rate)`` starts ``sagas`` orders (create → reserve stock →
charge → ship → approve). Stock is limited and some cards are declined, so some sagas must
compensate. During the fault phase every service (and the orchestrator) crashes with
probability ``crash_rate`` per message it handles, at a random point, and restarts shortly
after; then faults stop and the run continues until the system is quiet. The summary counts
``half_done`` sagas (neither fully committed nor fully compensated) and checks that money and
stock are conserved.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import simpy

from labsim.checks import check_conservation, check_sagas, classify_sagas
from labsim.dists import Exponential
from labsim.errors import check_choice, check_int, check_positive, check_probability
from labsim.metrics import percentiles
from labsim.network import Network
from labsim.result import Result, make_params
from labsim.sagas import Inventory, Orchestrator, Orders, Payments, Shipping
from labsim.world import World, ms

__all__ = ["COUNTERMEASURES", "STYLES", "SagaParams", "figures", "isolation", "outcomes", "run"]

STYLES = ("orchestration", "choreography")
SUBSCRIPTIONS = {
    "order.created": ["inventory"],
    "inventory.reserved": ["payment"],
    "inventory.failed": ["order"],
    "payment.processed": ["shipping"],
    "payment.failed": ["inventory"],
    "inventory.released": ["order"],
    "shipping.scheduled": ["order"],
}


@dataclass(frozen=True)
class SagaParams:
    """Parameters of the saga scenario.

    Attributes:
        style: ``"orchestration"`` or ``"choreography"``.
        sagas: Orders placed.
        crash_rate: Probability a service (or the orchestrator) crashes per message handled.
        rate: Orders per second.
        stock: Units in stock at the start (orders take 1–3).
        decline_rate: Probability a card is declined.
        restart_after: Seconds until a crashed node restarts.
        quiet: Seconds after the fault phase for everything to settle.
        latency_ms: Mean network latency in milliseconds.
        recovery: Orchestration: resume unfinished sagas from the saga log after a crash.
        durable_outbox: Choreography: keep pending events in a durable outbox.
    """

    style: str = "orchestration"
    sagas: int = 100
    crash_rate: float = 0.05
    rate: float = 10.0
    stock: int = 150
    decline_rate: float = 0.2
    restart_after: float = 0.5
    quiet: float = 30.0
    latency_ms: float = 5.0
    recovery: bool = True
    durable_outbox: bool = True

    def __post_init__(self) -> None:
        c = "saga scenario"
        check_choice("style", self.style, STYLES, c)
        check_int("sagas", self.sagas, 1, c)
        check_probability("crash_rate", self.crash_rate, c)
        check_positive("rate", self.rate, c)
        check_int("stock", self.stock, 0, c)
        check_probability("decline_rate", self.decline_rate, c)
        check_positive("restart_after", self.restart_after, c)
        check_positive("quiet", self.quiet, c)
        check_positive("latency_ms", self.latency_ms, c)


def outcomes(
    orders: Orders,
    inventory: Inventory,
    payments: Payments,
    shipping: Shipping,
    saga_ids: list[str],
) -> pd.DataFrame:
    """One row per saga with what each service's database says about it."""
    rows = []
    for saga in saga_ids:
        order = orders.db["orders"].get(saga)
        rows.append(
            {
                "saga": saga,
                "order_status": None if order is None else order["status"],
                "reserved": saga in inventory.db["reservations"],
                "charged": saga in payments.db["charged"],
                "refunded": saga in payments.db["refunded"],
                "shipped": saga in shipping.db["shipments"],
                "amount": None if order is None else order.get("amount"),
            }
        )
    return pd.DataFrame(rows)


def run(
    style: str | SagaParams | Mapping[str, Any] = "orchestration",
    seed: int = 0,
    sagas: int | None = None,
    crash_rate: float | None = None,
    **overrides: Any,
) -> Result:
    """Run the scenario: ``run("choreography", seed, sagas, crash_rate)``.

    Summary: ``committed``, ``compensated``, ``half_done``, ``conserved`` (money and stock add
    up), ``latency_p50_s`` / ``latency_p99_s`` (start → final decision), ``messages_per_saga``.
    """
    if isinstance(style, str):
        params: Any = None
        overrides = {"style": style, **overrides}
    else:
        params = style
    if sagas is not None:
        overrides["sagas"] = sagas
    if crash_rate is not None:
        overrides["crash_rate"] = crash_rate
    p = make_params(SagaParams, params, overrides)
    world = World(seed)
    nodes = ["client", "orchestrator", "order", "inventory", "payment", "shipping"]
    network = Network(world, nodes, latency=Exponential.from_mean(ms(p.latency_ms)))
    faults_until = p.sagas / p.rate
    common = {
        "crash_rate": p.crash_rate,
        "faults_until": faults_until,
        "restart_after": p.restart_after,
    }
    services = {"durable_outbox": p.durable_outbox, **common}
    orders = Orders(world, network, **services)
    inventory = Inventory(world, network, stock=p.stock, **services)
    payments = Payments(world, network, decline_rate=p.decline_rate, **services)
    shipping = Shipping(world, network, **services)
    for service in (orders, inventory, payments, shipping):
        service.subscribers = SUBSCRIPTIONS
    orchestrator = Orchestrator(world, network, recover=p.recovery, **common)
    started = world.table("saga_starts", ("time", "saga", "qty", "amount")).add
    saga_ids: list[str] = []

    def client() -> Generator[Any, Any, None]:
        rng = world.rng("client")
        for n in range(p.sagas):
            yield world.env.timeout(rng.expovariate(p.rate))
            saga = f"s{n}"
            qty = 1 + rng.randrange(3)
            amount = round(qty * 19.99, 2)
            saga_ids.append(saga)
            started(world.now, saga, qty, amount)
            world.process(begin(saga, qty, amount))

    def begin(saga: str, qty: int, amount: float) -> Generator[Any, Any, None]:
        # The request waits while the entry node is down (the client retries).
        entry = orchestrator.node if p.style == "orchestration" else orders.node
        while not entry.up:
            yield world.env.timeout(0.1)
        if p.style == "orchestration":
            orchestrator.start(saga, {"qty": qty, "amount": amount})
        else:
            orders.place(saga, qty, amount)

    world.process(client())
    world.run(until=faults_until + p.quiet)
    frames = world.frames()
    table = outcomes(orders, inventory, payments, shipping, saga_ids)
    labels = classify_sagas(table)
    table["outcome"] = labels
    result = check_sagas(table)
    held = sum(payments.db["charged"].values()) - sum(payments.db["refunded"].values())
    approved = table.loc[table["order_status"] == "approved", "amount"].sum()
    conservation = check_conservation(
        inventory.db["initial"],
        inventory.db["stock"],
        sum(inventory.db["reservations"].values()),
        held,
        float(approved),
    )
    frames["outcomes"] = table
    latency = _latencies(frames, p.style)
    messages = frames["saga_messages"]
    summary = {
        "committed": int((labels == "committed").sum()),
        "compensated": int((labels == "compensated").sum()),
        "half_done": len(result.anomalies),
        "conserved": conservation.valid,
        "latency_p50_s": percentiles(latency, (50,))["p50"],
        "latency_p99_s": percentiles(latency, (99,))["p99"],
        "messages_per_saga": len(messages) / p.sagas,
    }
    return Result("sagas", p, seed, summary, frames)


def _latencies(frames: dict[str, pd.DataFrame], style: str) -> pd.Series:
    starts = frames["saga_starts"].set_index("saga")["time"]
    if style == "orchestration":
        t = frames["sagas"]
        ends = t[t["event"].isin(["saga.completed", "saga.compensated"])]
        end = ends.groupby("saga")["time"].min()
    else:
        m = frames["saga_messages"]
        ends = m[m["event_type"].isin(["order.confirmed", "order.cancelled"])]
        end = ends.groupby("correlation_id")["time"].min()
        # terminal events have no subscriber, so they are not recorded: use the last message
        if end.empty:
            end = m.groupby("correlation_id")["time"].max()
    return (end - starts.reindex(end.index)).dropna()


def figures(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``run(params, seed).summary`` for sweeps."""
    return run(dict(params), seed).summary


COUNTERMEASURES = ("none", "reread", "commutative", "semantic-lock")


def isolation(
    countermeasure: str = "none",
    seed: int = 0,
    sagas: int = 200,
    stock: int = 100,
    decline_rate: float = 0.3,
    think_ms: float = 20.0,
) -> dict[str, Any]:
    """Concurrent sagas on one stock item: the lack of isolation, and the countermeasures.

    Each saga reserves 1–2 units (read the stock, think for ``think_ms``, write it back), then
    charges the card (declined with ``decline_rate``: the reservation is released). Anomalies:

    * ``lost_updates`` — a write that overwrote another saga's write made since its read;
    * ``oversold`` — units committed beyond the stock;
    * ``dirty_reads`` — sagas turned away for lack of stock that a later-compensated
      reservation was holding.

    Countermeasures: ``none``; ``reread`` (read again before writing, retry if changed);
    ``commutative`` (an atomic "decrement if enough" instead of read-then-write);
    ``semantic-lock`` (a pending reservation makes other sagas wait for its outcome).

    Returns:
        ``{"summary": {...}, "timeline": frame}`` with the anomaly counts, ``committed`` and
        ``latency_mean_s``.
    """
    check_choice("countermeasure", countermeasure, COUNTERMEASURES, "isolation")
    check_int("sagas", sagas, 1, "isolation")
    check_int("stock", stock, 0, "isolation")
    check_probability("decline_rate", decline_rate, "isolation")
    check_positive("think_ms", think_ms, "isolation")
    world = World(seed)
    env = world.env
    rng = world.rng("isolation")
    state = {"stock": stock, "version": 0, "pending_doomed": 0}
    # The semantic lock: a reservation marks the item PENDING until the saga ends; other
    # sagas wait for it (a capacity-1 resource held from the read to the commit/compensation).
    pending = simpy.Resource(env, capacity=1)
    counts = {"lost_updates": 0, "dirty_reads": 0, "committed_units": 0, "committed": 0}
    timeline = world.table("isolation", ("time", "saga", "event", "stock")).add
    latencies: list[float] = []

    def reserve(n: int, qty: int, declined: bool) -> Generator[Any, Any, bool]:
        while True:
            seen, version = state["stock"], state["version"]
            if countermeasure != "commutative":
                yield env.timeout(rng.expovariate(1000.0 / think_ms))
            if countermeasure == "reread" and state["version"] != version:
                continue  # someone wrote meanwhile: read again
            current = state["stock"] if countermeasure == "commutative" else seen
            if current < qty:
                if state["stock"] + state["pending_doomed"] >= qty:
                    counts["dirty_reads"] += 1  # turned away by a doomed reservation
                timeline(env.now, n, "rejected", state["stock"])
                return False
            if countermeasure == "none" and state["version"] != version:
                counts["lost_updates"] += 1  # overwrites a write made since our read
            state["stock"] = current - qty
            state["version"] += 1
            if declined:
                state["pending_doomed"] += qty
            timeline(env.now, n, "reserved", state["stock"])
            return True

    def finish(n: int, qty: int, declined: bool) -> Generator[Any, Any, None]:
        yield env.timeout(rng.expovariate(1000.0 / think_ms))  # the payment step
        if declined:  # compensate: give the units back
            state["stock"] += qty
            state["version"] += 1
            state["pending_doomed"] -= qty
            timeline(env.now, n, "released", state["stock"])
        else:
            counts["committed"] += 1
            counts["committed_units"] += qty
            timeline(env.now, n, "committed", state["stock"])

    def saga(n: int, qty: int, declined: bool) -> Generator[Any, Any, None]:
        start = env.now
        if countermeasure == "semantic-lock":
            with pending.request() as lock:
                yield lock
                if (yield from reserve(n, qty, declined)):
                    yield from finish(n, qty, declined)
        elif (yield from reserve(n, qty, declined)):
            yield from finish(n, qty, declined)
        latencies.append(env.now - start)

    def arrivals() -> Generator[Any, Any, None]:
        for n in range(sagas):
            yield env.timeout(rng.expovariate(200.0))
            world.process(saga(n, 1 + rng.randrange(2), rng.random() < decline_rate))

    world.process(arrivals())
    world.run()
    summary = {
        "countermeasure": countermeasure,
        "lost_updates": counts["lost_updates"],
        "oversold": max(0, counts["committed_units"] - stock),
        "dirty_reads": counts["dirty_reads"],
        "committed": counts["committed"],
        "latency_mean_s": sum(latencies) / len(latencies) if latencies else 0.0,
    }
    return {"summary": summary, "timeline": world.frame("isolation")}
