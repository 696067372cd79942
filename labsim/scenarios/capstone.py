"""The workshop capstone: design an order pipeline that meets its targets under chaos.

A design picks, for each stage of an order pipeline, the patterns of the lessons:

* **ingest** — a keyed topic: partitions, consumers, assignor, commit policy (lesson 02, 12);
* **payments** — delivery semantics and retry policy (lesson 03);
* **publishing** — how the order service tells the world: dual write, outbox or CDC (10);
* **fulfilment** — the order saga: orchestration (with or without its log) or choreography (09);
* **read side** — the order-status view's read-your-writes strategy and checkpointing (08).

:func:`run` simulates each stage with its lesson's scenario under the capstone's "black
friday" load and faults (the same seed for every design, so designs are compared on the same
chaos); each stage's summary figures become rows of the ``stages`` table, from which the
capstone's summary is computed, and :func:`scorecard` grades that summary against the targets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.faults import FaultPlan
from labsim.kafka.assignors import ASSIGNORS
from labsim.kafka.config import COMMIT_POLICIES
from labsim.outbox import DESIGNS
from labsim.params import Params, param, same_as
from labsim.result import Result
from labsim.scenarios import cqrs, delivery, groups, outbox, sagas
from labsim.scenarios.base import Scenario
from labsim.world import World

__all__ = [
    "SCENARIO",
    "STAGE_COLUMNS",
    "TARGETS",
    "CapstoneDesign",
    "CapstoneScenario",
    "figures",
    "run",
    "scorecard",
]

#: Target name -> (summary figure, comparison, limit, what it means).
TARGETS: dict[str, tuple[str, str, float, str]] = {
    "p99 latency": ("ingest_latency_p99_s", "<=", 1.5, "99 % of orders handled within 1.5 s"),
    "max lag": ("ingest_max_lag", "<=", 300, "the ingest topic never more than 300 behind"),
    "lost orders": ("lost_orders", "==", 0, "no order lost anywhere in the pipeline"),
    "double charges": ("double_charges", "==", 0, "no card charged twice (payment stage)"),
    "ghost orders": ("ghost_orders", "==", 0, "no order published that was never committed"),
    "half-done sagas": ("half_done_sagas", "==", 0, "every saga committed or compensated"),
    "read model errors": (
        "read_model_errors",
        "==",
        0,
        "no event applied twice to the read model (its totals stay right)",
    ),
    "stale own reads": ("stale_own_reads", "<=", 0.01, "customers see their own order at once"),
    "own-read wait": (
        "own_read_wait_s",
        "<=",
        2.0,
        "mean seconds from paying to seeing one's own order (write + read)",
    ),
}

#: Columns of the ``stages`` table: one row per summary figure of each stage's run.
STAGE_COLUMNS = ("stage", "figure", "value")


@dataclass(frozen=True)
class CapstoneDesign(Params):
    """The learner's design (defaults: a naive pipeline that misses several targets)."""

    context = "capstone design"

    partitions: int = param(3, "partitions of the ingest topic", ge=1, le=1000, soft_max=16)
    consumers: int = param(3, "consumers in the ingest group", ge=1, le=1000, soft_max=16)
    strategy: str = param("range", "assignor of the ingest group", choices=ASSIGNORS)
    commit: str = param("auto", "commit policy of the ingest consumers", choices=COMMIT_POLICIES)
    semantics: str = param(
        "at-least-once", "delivery semantics of payment processing", choices=delivery.SEMANTICS
    )
    publishing: str = param("dual-write", "how the order service publishes", choices=DESIGNS)
    saga_style: str = param("orchestration", "how the order saga runs", choices=sagas.STYLES)
    saga_log: bool = param(False, "orchestration: recover unfinished sagas from the saga log")
    read_strategy: str = same_as(cqrs.CQRSParams, "strategy", "none")
    checkpoint_every: int = same_as(cqrs.CQRSParams, "checkpoint_every", 50, soft_max=100)
    session_timeout: float = param(
        10.0,
        "seconds before the ingest group notices a crashed consumer (heartbeats every sixth)",
        gt=0,
        le=1e4,
        unit="s",
        step=0.5,
        soft_max=15,
    )


def _stages(d: CapstoneDesign, seed: int) -> dict[str, Result]:
    """Run each stage's scenario under the capstone's load and faults."""
    return {
        "ingest": groups.run(
            seed=seed,
            partitions=d.partitions,
            consumers=d.consumers,
            strategy=d.strategy,
            commit=d.commit,
            rate=500.0,
            processing_ms=8.0,
            duration=15.0,
            drain=25.0,  # long enough for every design's backlog to drain (the lag plot ends at 0)
            crash_at=6.0,
            restart_after=3.0,
            session_timeout=d.session_timeout,
            heartbeat_interval=d.session_timeout / 6,
        ),
        "payments": delivery.run(
            seed=seed, semantics=d.semantics, messages=300, chaos_intensity=1.0
        ),
        "publishing": outbox.run(seed=seed, design=d.publishing, orders=200),
        "fulfilment": sagas.run(
            seed=seed, style=d.saga_style, sagas=60, crash_rate=0.05, recovery=d.saga_log
        ),
        "read side": cqrs.run(
            seed=seed,
            strategy=d.read_strategy,
            checkpoint_every=d.checkpoint_every,
            crash_at=8.0,
            duration=15.0,
        ),
    }


class CapstoneScenario(Scenario):
    """Every stage of a design, each simulated by its lesson's scenario.

    Summary figures: one per target (see :data:`TARGETS`) and ``targets_met``. A double
    charge is a payment's effect applied twice (payment stage); a projection that applies an
    event twice corrupts the read model (``read_model_errors``) but charges no one.
    """

    name = "capstone"
    description = "a whole order pipeline graded against nine targets under chaos (lesson 15)"
    lesson = "15_capstone"
    Params = CapstoneDesign
    summary_tables = ("stages",)

    def build(self, p: CapstoneDesign, world: World, plan: FaultPlan) -> dict[str, Result]:
        # Each stage runs in its own world with its own faults; this world only records them.
        return _stages(p, world.seed)

    def until(self, p: CapstoneDesign) -> None:
        return None

    def finish(self, p: CapstoneDesign, system: dict[str, Result], world: World) -> None:
        add = world.table("stages", STAGE_COLUMNS, level="summary").add
        for stage, result in system.items():
            for figure, value in result.summary.items():
                add(stage, figure, value)
        consumed = system["ingest"].frames["consumed"]
        add(
            "ingest",
            "latency_p99_s",
            float((consumed["time"] - consumed["produced_at"]).quantile(0.99)),
        )
        lag = system["ingest"].frames["lag"]
        add_lag = world.table("ingest_lag", tuple(lag.columns)).add
        for row in lag.itertuples(index=False):
            add_lag(*row)

    def summarize(self, p: CapstoneDesign, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        rows = frames["stages"]
        figure = {
            (s, f): v for s, f, v in zip(rows["stage"], rows["figure"], rows["value"], strict=True)
        }
        ingest, pay = "ingest", "payments"
        summary: dict[str, Any] = {
            "ingest_latency_p99_s": float(figure[ingest, "latency_p99_s"]),
            "ingest_max_lag": int(figure[ingest, "max_lag"]),
            "lost_orders": int(
                figure[ingest, "lost"] + figure[pay, "lost"] + figure["publishing", "zombie"]
            ),
            "double_charges": int(figure[pay, "duplicate_effects"]),
            "ghost_orders": int(figure["publishing", "ghost"]),
            "half_done_sagas": int(figure["fulfilment", "half_done"]),
            # events the projection applied twice after its crash (0 also means totals right)
            "read_model_errors": int(figure["read side", "double_applied"])
            or int(not figure["read side", "totals_correct"]),
            "stale_own_reads": float(figure["read side", "stale_reads"]),
            # read-your-writes' cost: the write's wait (sync) plus the read's (wait-for-version)
            "own_read_wait_s": float(
                figure["read side", "write_latency_mean_s"]
                + figure["read side", "read_latency_mean_s"]
            ),
        }
        summary["targets_met"] = int(_grade(summary)["met"].sum())
        return summary


SCENARIO = CapstoneScenario()
run = SCENARIO.run
figures = SCENARIO.figures


def _grade(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per target: target, value, limit, met, meaning."""
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
    """The scorecard of a capstone run as text: one line per target, then the score."""
    card = _grade(result.summary)
    lines = [f"Scorecard (seed {result.seed})"]
    for r in card.itertuples(index=False):
        value = f"{r.value:.3f}" if isinstance(r.value, float) else str(r.value)
        lines.append(
            f"  {'PASS' if r.met else 'FAIL'}  {r.target:<17} {value:>9}  "
            f"(target {r.limit}: {r.meaning})"
        )
    lines.append(f"Score: {int(card['met'].sum())} / {len(card)} targets met")
    return "\n".join(lines)
