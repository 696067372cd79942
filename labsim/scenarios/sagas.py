"""An order saga, orchestrated or choreographed, under participant and orchestrator crashes.

``run(style, seed, sagas, crash_rate)`` starts ``sagas`` orders (create → reserve stock →
charge → ship → approve). Stock is limited and some cards are declined, so some sagas must
compensate. During the fault phase every service (and the orchestrator) crashes with
probability ``crash_rate`` per message it handles, at a random point, and restarts shortly
after; then faults stop and the run continues until the system is quiet. The summary counts
``half_done`` sagas (neither fully committed nor fully compensated) and checks that money and
stock are conserved.

At the end of a run each service writes its database as rows (``saga_orders``,
``saga_stock``, ``saga_reservations``, ``saga_payments``, ``saga_shipments``);
:func:`outcomes` turns them into one row per saga.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd

from labsim.checks import check_conservation, check_sagas, classify_sagas
from labsim.dists import Exponential
from labsim.faults import FaultPlan
from labsim.metrics import percentiles
from labsim.network import Network
from labsim.params import Params, param
from labsim.sagas import Inventory, Orchestrator, Orders, Payments, Service, Shipping
from labsim.scenarios.base import Scenario
from labsim.world import World, ms

__all__ = [
    "SCENARIO",
    "STYLES",
    "SagaParams",
    "SagaScenario",
    "SagaSystem",
    "figures",
    "outcomes",
    "run",
]

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
NODES = ("client", "orchestrator", "order", "inventory", "payment", "shipping")


@dataclass(frozen=True)
class SagaParams(Params):
    """Parameters of the saga scenario (see :func:`labsim.params.describe`)."""

    context = "saga scenario"

    style: str = param("orchestration", "who drives the saga", choices=STYLES)
    sagas: int = param(100, "orders placed", ge=1, le=100_000, soft_max=500)
    crash_rate: float = param(
        0.05,
        "probability a service (or the orchestrator) crashes per message it handles",
        ge=0,
        le=1,
        step=0.05,
        soft_max=0.5,
    )
    rate: float = param(10.0, "orders placed per second", gt=0, le=1e5, unit="1/s")
    stock: int = param(150, "units in stock at the start (orders take 1–3)", ge=0, le=10**9)
    decline_rate: float = param(0.2, "probability a card is declined", ge=0, le=1)
    restart_after: float = param(0.5, "time until a crashed node restarts", gt=0, le=1e4, unit="s")
    quiet: float = param(
        30.0, "time after the fault phase for everything to settle", gt=0, le=1e6, unit="s"
    )
    latency_ms: float = param(5.0, "mean network latency", gt=0, le=1e4, unit="ms")
    recovery: bool = param(
        True, "orchestration: resume unfinished sagas from the saga log after a crash"
    )
    durable_outbox: bool = param(
        True, "choreography: keep pending events in a durable outbox (else in memory)"
    )

    @property
    def faults_until(self) -> float:
        """End of the fault phase: when the last order is expected."""
        return self.sagas / self.rate


class SagaSystem(NamedTuple):
    """The components of a saga run (what :meth:`SagaScenario.build` returns)."""

    network: Network
    services: tuple[Service, ...]
    orchestrator: Orchestrator


def outcomes(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per saga (in start order) with what each service's database says about it.

    Columns: ``saga``, ``order_status`` (``None`` if no order was created), ``reserved``,
    ``charged``, ``refunded``, ``shipped`` (bools), ``amount`` and ``outcome``
    (``committed``, ``compensated`` or ``half-done``). Reads the ``saga_starts`` table and the
    services' end-state tables.
    """
    orders = {
        saga: (status, amount)
        for saga, status, amount in frames["saga_orders"][["saga", "status", "amount"]].itertuples(
            index=False
        )
    }
    reserved = set(frames["saga_reservations"]["saga"])
    payments = frames["saga_payments"]
    charged = set(payments.loc[payments["kind"] == "charged", "saga"])
    refunded = set(payments.loc[payments["kind"] == "refunded", "saga"])
    shipped = set(frames["saga_shipments"]["saga"])
    rows = []
    for saga in frames["saga_starts"]["saga"]:
        status, amount = orders.get(saga, (None, None))
        rows.append(
            {
                "saga": saga,
                "order_status": status,
                "reserved": saga in reserved,
                "charged": saga in charged,
                "refunded": saga in refunded,
                "shipped": saga in shipped,
                "amount": amount,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=["saga", "order_status", "reserved", "charged", "refunded", "shipped", "amount"],
    )
    table["outcome"] = classify_sagas(table)
    return table


def _client(world: World, p: SagaParams, entry: Orchestrator | Orders) -> Generator[Any, Any, None]:
    started = world.table("saga_starts", ("time", "saga", "qty", "amount")).add

    def begin(saga: str, qty: int, amount: float) -> Generator[Any, Any, None]:
        # The request waits while the entry node is down (the client retries).
        while not entry.node.up:
            yield world.env.timeout(0.1)
        if isinstance(entry, Orchestrator):
            entry.start(saga, {"qty": qty, "amount": amount})
        else:
            entry.place(saga, qty, amount)

    rng = world.rng("client")
    for n in range(p.sagas):
        yield world.env.timeout(rng.expovariate(p.rate))
        saga = f"s{n}"
        qty = 1 + rng.randrange(3)
        amount = round(qty * 19.99, 2)
        started(world.now, saga, qty, amount)
        world.process(begin(saga, qty, amount))


class SagaScenario(Scenario):
    """The order saga under crashes, orchestrated or choreographed.

    Summary figures: ``committed``, ``compensated``, ``half_done``, ``conserved`` (money and
    stock add up), ``latency_p50_s`` / ``latency_p99_s`` (start → final decision),
    ``messages_per_saga``.
    """

    name = "sagas"
    description = "an order saga, orchestrated or choreographed, under crashes (lesson 09)"
    lesson = "09_sagas"
    Params = SagaParams
    summary_tables = (
        "saga_starts",
        "saga_orders",
        "saga_stock",
        "saga_reservations",
        "saga_payments",
        "saga_shipments",
        "saga_messages",
        "sagas",
    )
    positional = ("style", "sagas", "crash_rate")

    def build(self, p: SagaParams, world: World, plan: FaultPlan) -> SagaSystem:
        network = Network(world, list(NODES), latency=Exponential.from_mean(ms(p.latency_ms)))
        common = {
            "crash_rate": p.crash_rate,
            "faults_until": p.faults_until,
            "restart_after": p.restart_after,
        }
        options = {"durable_outbox": p.durable_outbox, **common}
        node = network.node
        services = (
            Orders(node("order"), **options),
            Inventory(node("inventory"), stock=p.stock, **options),
            Payments(node("payment"), decline_rate=p.decline_rate, **options),
            Shipping(node("shipping"), **options),
        )
        for service in services:
            service.subscribers = SUBSCRIPTIONS
        orchestrator = Orchestrator(node("orchestrator"), recover=p.recovery, **common)
        entry = orchestrator if p.style == "orchestration" else services[0]
        world.process(_client(world, p, entry))
        plan.apply(network)
        return SagaSystem(network, services, orchestrator)

    def until(self, p: SagaParams) -> float:
        return p.faults_until + p.quiet

    def finish(self, p: SagaParams, system: SagaSystem, world: World) -> None:
        for service in system.services:
            service.record_state()

    def summarize(self, p: SagaParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        table = outcomes(frames)
        labels = table["outcome"]
        result = check_sagas(table.drop(columns="outcome"))
        payments = frames["saga_payments"]
        # Python's sum, in the order the payments were made, as the service's ledger adds up.
        held = sum(payments.loc[payments["kind"] == "charged", "amount"].tolist()) - sum(
            payments.loc[payments["kind"] == "refunded", "amount"].tolist()
        )
        approved = table.loc[table["order_status"] == "approved", "amount"].sum()
        stock = frames["saga_stock"].iloc[0]
        conservation = check_conservation(
            int(stock["initial"]),
            int(stock["stock"]),
            int(sum(frames["saga_reservations"]["qty"].tolist())),
            held,
            float(approved),
        )
        latency = _latencies(frames, p.style)
        return {
            "committed": int((labels == "committed").sum()),
            "compensated": int((labels == "compensated").sum()),
            "half_done": len(result.anomalies),
            "conserved": conservation.valid,
            "latency_p50_s": percentiles(latency, (50,))["p50"],
            "latency_p99_s": percentiles(latency, (99,))["p99"],
            # rows with no target are terminal events nobody subscribes to: published, not sent
            "messages_per_saga": int((frames["saga_messages"]["target"] != "").sum()) / p.sagas,
        }


def _latencies(frames: Mapping[str, pd.DataFrame], style: str) -> pd.Series:
    starts = frames["saga_starts"].set_index("saga")["time"]
    if style == "orchestration":
        t = frames["sagas"]
        ends = t[t["event"].isin(["saga.completed", "saga.compensated"])]
        end = ends.groupby("saga")["time"].min()
    else:
        m = frames["saga_messages"]
        ends = m[m["event_type"].isin(["order.confirmed", "order.cancelled"])]
        end = ends.groupby("correlation_id")["time"].min()
        if end.empty:  # no saga reached its terminal event: use the last message
            end = m.groupby("correlation_id")["time"].max()
    return (end - starts.reindex(end.index)).dropna()


SCENARIO = SagaScenario()
run = SCENARIO.run
figures = SCENARIO.figures
