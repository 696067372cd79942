"""What a pipeline run achieved, what it cost, and the scorecard against the targets.

Everything here is a pure function of the recorded frames and the design.

**Correctness** (each its own target, so one failure never hides another):

* ``lost_orders`` — committed orders the payment side never charged (and no dead-letter
  queue holds), or the inventory never decided;
* ``double_charges`` — orders charged more than once (a duplicate event reached a payment
  consumer without an inbox: outbox redelivery, or a consumer crash before its ack);
* ``ghost_charges`` — orders charged that the order database does not hold (dual write);
* ``half_done_sagas`` — orders the inventory rejected whose charge was never refunded;
* ``read_model_errors`` — events the projector applied more than once (totals corrupted;
  no one is charged for it) or never applied.

**Service levels**: ``write_latency_p99_s`` (what the client waits for its write) and
``read_staleness_p99_s`` (how far behind its own write a client's read is; ``0`` for a read
that shows its order). Reported, not graded: ``fulfilment_p99_s``, from the order's commit
until both its charge and its stock decision are done (what consumer capacity buys).

**Cost** in credits per minute of operation (the run's credits, see :data:`PRICES`, divided by
the time orders arrive, so a short run and a long one of the same design cost about the
same): capacity
(consumer-seconds and queue-seconds), network (messages the broker carried), storage
(outbox, inbox, saga log and checkpoint rows, parked dead letters).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from labsim.scenarios.pipeline.design import PipelineDesign

__all__ = ["BUDGET", "PRICES", "TARGETS", "costs", "grade", "scorecard", "summarize"]

#: Price of each resource, in credits.
PRICES: dict[str, float] = {
    "consumer_second": 0.02,  # one consumer (or relay, projector, orchestrator) for a second
    "queue_second": 0.005,  # one queue (a partition's worth of broker capacity) for a second
    "message": 0.001,  # one message the broker carries (fan-out copies and retries included)
    "row": 0.002,  # one durable row written (outbox, inbox, saga log, checkpoint, dead letter)
}
#: The budget, in credits per minute of operation.
BUDGET = 45.0

#: Target -> (summary figure, comparison, limit, what it means).
TARGETS: dict[str, tuple[str, str, float, str]] = {
    "lost orders": ("lost_orders", "==", 0, "every committed order charged and fulfilled"),
    "double charges": ("double_charges", "==", 0, "no card charged twice"),
    "ghosts": ("ghost_charges", "==", 0, "no charge for an order that was never committed"),
    "half-done sagas": ("half_done_sagas", "==", 0, "every rejected order refunded"),
    "read model": ("read_model_errors", "==", 0, "read model totals right (each event once)"),
    "write p99": ("write_latency_p99_s", "<=", 0.25, "99 % of writes return within 0.25 s"),
    "staleness p99": (
        "read_staleness_p99_s",
        "<=",
        0.5,
        "99 % of own reads at most 0.5 s behind the write",
    ),
    "budget": ("cost", "<=", BUDGET, f"at most {BUDGET:g} credits a minute"),
}
#: The correctness targets (the rest are service levels and the budget).
CORRECTNESS = ("lost orders", "double charges", "ghosts", "half-done sagas", "read model")


def _p99(values: pd.Series) -> float:
    return float(np.percentile(values, 99)) if len(values) else 0.0


def _parked(frames: Mapping[str, pd.DataFrame]) -> pd.Series:
    # Message ids parked in a dead-letter queue at the end of the run.
    state = frames["amqp_state"]
    queued = state.loc[state["queue"].astype(str).str.endswith(".dlq"), "msg_id"].astype(str)
    return pd.concat([queued, frames["parked"]["msg_id"].astype(str)], ignore_index=True)


def costs(p: PipelineDesign, frames: Mapping[str, pd.DataFrame]) -> dict[str, float]:
    """The cost by resource: capacity, network, storage and their total (credits a minute)."""
    duration = p.fault_phase  # the minutes of operation: while orders arrive
    consumers = p.payment_consumers * 2 + p.inventory_consumers + 1  # + the projector
    consumers += (p.publishing != "dual-write") + (p.saga == "orchestration")
    queues = len(frames["queues"])
    capacity = (
        consumers * duration * PRICES["consumer_second"]
        + queues * duration * PRICES["queue_second"]
    )
    effects = frames["effects"]
    messages = (
        3 * len(frames["published"])  # one copy per bound queue
        + len(frames["compensations"])
        + len(frames["attempts"])
        - len(effects)  # redeliveries and retries beyond the first attempt of each effect
        + len(frames["projected"])
        + (2 * len(frames["stock"]) if p.saga == "orchestration" else 0)  # replies, commands
    )
    messages = max(messages, 0)
    rows = len(frames["checkpoints"]) + len(_parked(frames))
    if p.publishing == "outbox":
        rows += len(frames["relay"])
    if p.inbox:
        rows += len(effects)
    if p.saga == "orchestration" and p.saga_log:
        rows += 2 * len(frames["stock"])
    per_minute = 60.0 / duration
    capacity *= per_minute
    network = messages * PRICES["message"] * per_minute
    storage = rows * PRICES["row"] * per_minute
    return {
        "cost_capacity": round(capacity, 4),
        "cost_network": round(network, 4),
        "cost_storage": round(storage, 4),
        "cost": round(capacity + network + storage, 4),
        "consumer_seconds": round(consumers * duration, 3),
        "messages": int(messages),
        "stored_rows": int(rows),
    }


def summarize(p: PipelineDesign, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """Correctness, service levels, cost and ``targets_met`` of one run."""
    committed = set(frames["order_db"]["order"])
    effects = frames["effects"]
    worker = effects["worker"].astype(str)
    order_of = effects["msg_id"].astype(str).str.split("-", n=1).str[1]
    charges = order_of[worker.str.startswith("pay-")].value_counts()
    refunds = set(order_of[worker.str.startswith("refund-")])
    decided = set(order_of[worker.str.startswith("inv-")])
    parked_orders = set(_parked(frames).str.split("-", n=1).str[1])
    rejected = set(frames["stock"].loc[frames["stock"]["outcome"] == "rejected", "order"])
    charged = set(charges.index)
    lost = {o for o in committed - parked_orders if o not in charged or o not in decided}
    projected = frames["projected"]
    applied = projected["event_id"].value_counts()
    events = set(frames["published"]["event_id"])
    client = frames["client"]
    ok = client[client["ok"]]
    write = ok["write_done"] - ok["start"]
    first_shown = projected.groupby("order")["time"].min()
    shown_at = ok["order"].map(first_shown).fillna(p.duration)
    stale = np.where(ok["saw_own"], 0.0, shown_at.to_numpy() - ok["read_done"].to_numpy())
    first = effects.assign(order=order_of, role=worker.str[:4]).groupby(["role", "order"])["time"]
    first = first.min()
    empty = pd.Series(dtype=float)
    charged_at, decided_at = first.get("pay-", empty), first.get("inv-", empty)
    db = frames["order_db"].set_index("order")["committed_at"]
    done = np.maximum(charged_at.reindex(db.index), decided_at.reindex(db.index)) - db
    summary: dict[str, Any] = {
        "orders_committed": len(committed),
        "lost_orders": len(lost),
        "double_charges": int((charges > 1).sum()),
        "ghost_charges": len(charged - committed),
        "half_done_sagas": len((rejected & charged) - refunds),
        "read_model_errors": int((applied - 1).sum()) + len(events - set(applied.index)),
        "parked": len(parked_orders),
        "write_latency_p99_s": round(_p99(write), 4),
        "read_staleness_p99_s": round(_p99(pd.Series(stale)), 4),
        "fulfilment_p99_s": round(_p99(done.dropna()), 4),
        "stale_reads": round(float((~ok["saw_own"]).mean()) if len(ok) else 0.0, 4),
        **costs(p, frames),
    }
    card = grade(summary)
    summary["correct"] = bool(card.loc[card["target"].isin(CORRECTNESS), "met"].all())
    summary["targets_met"] = int(card["met"].sum())
    return summary


def grade(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per target: target, value, limit, met, meaning."""
    rows = []
    for name, (figure, op, limit, meaning) in TARGETS.items():
        value = summary[figure]
        met = value <= limit if op == "<=" else value == limit
        rows.append((name, value, f"{op} {limit:g}", bool(met), meaning))
    card = pd.DataFrame(rows, columns=["target", "value", "limit", "met", "meaning"])
    card["value"] = pd.Series([r[1] for r in rows], dtype=object)  # keep ints as ints
    return card


def scorecard(summary: Mapping[str, Any], title: str = "Scorecard") -> str:
    """The scorecard as text: one line per target, then the score."""
    card = grade(summary)
    lines = [title]
    for r in card.itertuples(index=False):
        value = f"{r.value:.3f}" if isinstance(r.value, float) else str(r.value)
        lines.append(
            f"  {'PASS' if r.met else 'FAIL'}  {r.target:<15} {value:>8}  "
            f"(target {r.limit}: {r.meaning})"
        )
    lines.append(
        f"Score: {int(card['met'].sum())} / {len(card)} targets met; cost "
        f"{summary['cost_capacity']:.2f} capacity + {summary['cost_network']:.2f} network + "
        f"{summary['cost_storage']:.2f} storage = {summary['cost']:.2f} credits a minute"
    )
    return "\n".join(lines)
