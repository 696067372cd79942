"""The workshop capstone: design an order pipeline that meets its targets under chaos.

A design picks, for each stage of an order pipeline, the patterns of the lessons:

* **ingest** — a keyed topic: partitions, consumers, assignor, commit policy (lesson 02, 10);
* **payments** — delivery semantics and retry policy (lesson 03);
* **publishing** — how the order service tells the world: dual write, outbox or CDC (08);
* **fulfilment** — the order saga: orchestration (with or without its log) or choreography (07);
* **read side** — the order-status view's read-your-writes strategy and checkpointing (06).

:func:`run` simulates each stage with its lesson's scenario under the capstone's "black
friday" load and faults (the same seed for every design, so designs are compared on the same
chaos), and :func:`scorecard` grades the result against the targets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.broker.assignors import ASSIGNORS
from labsim.broker.consumer import COMMIT_POLICIES
from labsim.errors import check_choice, check_int, check_positive
from labsim.outbox import DESIGNS
from labsim.result import Result, make_params
from labsim.scenarios import cqrs, delivery, groups, outbox, sagas

__all__ = ["TARGETS", "CapstoneDesign", "figures", "run", "scorecard"]

#: Target name -> (summary figure, comparison, limit, what it means).
TARGETS: dict[str, tuple[str, str, float, str]] = {
    "p99 latency": ("ingest_latency_p99_s", "<=", 1.5, "99 % of orders handled within 1.5 s"),
    "max lag": ("ingest_max_lag", "<=", 300, "the ingest topic never more than 300 behind"),
    "lost orders": ("lost_orders", "==", 0, "no order lost anywhere in the pipeline"),
    "double charges": ("double_charges", "==", 0, "no card charged twice"),
    "half-done sagas": ("half_done_sagas", "==", 0, "every saga committed or compensated"),
    "stale own reads": ("stale_own_reads", "<=", 0.01, "customers see their own order at once"),
}


@dataclass(frozen=True)
class CapstoneDesign:
    """The learner's design (defaults: a naive pipeline that misses several targets).

    Attributes:
        partitions: Partitions of the ingest topic.
        consumers: Consumers in the ingest group.
        strategy: Assignor of the ingest group.
        commit: Commit policy of the ingest consumers.
        semantics: Payment processing: ``at-most-once``, ``at-least-once``,
            ``at-least-once+inbox``.
        publishing: ``dual-write``, ``outbox`` or ``cdc``.
        saga_style: ``orchestration`` or ``choreography``.
        saga_log: Orchestration: recover unfinished sagas from the saga log after a crash.
        read_strategy: ``none``, ``sync``, ``wait-for-version`` or ``optimistic``.
        checkpoint_every: Projection checkpoint interval (1 = atomic with the read model).
        session_timeout: Seconds before the ingest group notices a crashed consumer
            (heartbeats every sixth of it).
    """

    partitions: int = 3
    consumers: int = 3
    strategy: str = "range"
    commit: str = "auto"
    semantics: str = "at-least-once"
    publishing: str = "dual-write"
    saga_style: str = "orchestration"
    saga_log: bool = False
    read_strategy: str = "none"
    checkpoint_every: int = 50
    session_timeout: float = 10.0

    def __post_init__(self) -> None:
        c = "capstone design"
        check_int("partitions", self.partitions, 1, c)
        check_int("consumers", self.consumers, 1, c)
        check_choice("strategy", self.strategy, ASSIGNORS, c)
        check_choice("commit", self.commit, COMMIT_POLICIES, c)
        check_choice("semantics", self.semantics, delivery.SEMANTICS, c)
        check_choice("publishing", self.publishing, DESIGNS, c)
        check_choice("saga_style", self.saga_style, sagas.STYLES, c)
        check_choice("read_strategy", self.read_strategy, cqrs.STRATEGIES, c)
        check_int("checkpoint_every", self.checkpoint_every, 1, c)
        check_positive("session_timeout", self.session_timeout, c)


def run(
    design: CapstoneDesign | Mapping[str, Any] | None = None, seed: int = 0, **overrides: Any
) -> Result:
    """Simulate every stage of ``design`` under the capstone's load and faults.

    Summary: one figure per target (see :data:`TARGETS`) plus ``targets_met``.
    """
    d = make_params(CapstoneDesign, design, overrides)
    ingest = groups.run(
        seed=seed,
        partitions=d.partitions,
        consumers=d.consumers,
        strategy=d.strategy,
        commit=d.commit,
        rate=500.0,
        processing_ms=8.0,
        duration=15.0,
        drain=10.0,
        crash_at=6.0,
        restart_after=3.0,
        session_timeout=d.session_timeout,
        heartbeat_interval=d.session_timeout / 6,
    )
    consumed = ingest.frames["consumed"]
    latency = (consumed["time"] - consumed["produced_at"]).quantile(0.99)
    pay = delivery.run(d.semantics, seed, 300, chaos_intensity=1.0).summary
    pub = outbox.run(d.publishing, seed, 200).summary
    saga = sagas.run(d.saga_style, seed, 60, 0.05, recovery=d.saga_log).summary
    read = cqrs.run(
        seed=seed,
        strategy=d.read_strategy,
        checkpoint_every=d.checkpoint_every,
        crash_at=8.0,
        duration=15.0,
    ).summary
    summary: dict[str, Any] = {
        "ingest_latency_p99_s": float(latency),
        "ingest_max_lag": ingest.summary["max_lag"],
        "lost_orders": ingest.summary["lost"] + pay["lost"] + pub["zombie"],
        "double_charges": pay["duplicate_effects"] + (0 if read["totals_correct"] else 1),
        "half_done_sagas": saga["half_done"],
        "stale_own_reads": read["stale_reads"],
        "ghost_orders": pub["ghost"],
    }
    card = _grade(summary)
    summary["targets_met"] = int(card["met"].sum())
    frames = {"scorecard": card, "ingest_lag": ingest.frames["lag"]}
    return Result("capstone", d, seed, summary, frames)


def _grade(summary: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for name, (figure, op, limit, meaning) in TARGETS.items():
        value = summary[figure]
        met = value <= limit if op == "<=" else value == limit
        rows.append(
            {
                "target": name,
                "value": value,
                "limit": f"{op} {limit:g}",
                "met": bool(met),
                "meaning": meaning,
            }
        )
    card = pd.DataFrame(rows)
    card["value"] = pd.Series([r["value"] for r in rows], dtype=object)  # keep ints as ints
    return card


def scorecard(result: Result) -> str:
    """The scorecard as text: one line per target, then the score."""
    card = result.frames["scorecard"]
    lines = [f"Scorecard (seed {result.seed})"]
    for r in card.itertuples(index=False):
        value = f"{r.value:.3f}" if isinstance(r.value, float) else str(r.value)
        lines.append(
            f"  {'PASS' if r.met else 'FAIL'}  {r.target:<16} {value:>9}  "
            f"(target {r.limit}: {r.meaning})"
        )
    lines.append(f"Score: {int(card['met'].sum())} / {len(card)} targets met")
    return "\n".join(lines)


def figures(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``run(params, seed).summary`` for sweeps."""
    return run(dict(params), seed).summary
