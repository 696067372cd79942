"""The architect's what-if: one order pipeline, every stage in one world, with costs.

``labsim run data/architectures/textbook.yaml`` runs an architecture file; in Python::

    from labsim.scenarios import pipeline
    result = pipeline.run("data/architectures/textbook.yaml")   # a path, a mapping or None
    print(pipeline.scorecard(result.summary))

Unlike running each lesson's scenario on its own, the stages here share one world and one fault
plan, so they interact: with dual write a ghost event reaches the payment consumer and is
charged; without an inbox an outbox redelivery becomes a double charge; a projector crash
with a lagging checkpoint corrupts the read model's totals without charging anyone.

Rooms: :mod:`~.design` (the choices), :mod:`~.model` (the world), :mod:`~.score` (summary,
cost, targets), :mod:`~.compare` (architecture files, sweeps and the Pareto plot).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from labsim.amqp.queues import STATE_COLUMNS
from labsim.faults import Fault, FaultPlan, chaos
from labsim.result import Result
from labsim.scenarios.base import Scenario
from labsim.scenarios.pipeline.design import (
    DESIGN_CHOICES,
    READ_STRATEGIES,
    SAGA_STYLES,
    PipelineDesign,
)
from labsim.scenarios.pipeline.model import Pipeline, build
from labsim.scenarios.pipeline.score import BUDGET, PRICES, TARGETS, grade, scorecard, summarize
from labsim.world import World

__all__ = [
    "BUDGET",
    "DESIGN_CHOICES",
    "PRICES",
    "READ_STRATEGIES",
    "SAGA_STYLES",
    "SCENARIO",
    "TARGETS",
    "PipelineDesign",
    "PipelineScenario",
    "default_chaos",
    "figures",
    "grade",
    "run",
    "scorecard",
]

# Share of the chaos plan's length left without faults at its end.
_HEAL_FRACTION = 0.3


def default_chaos(p: PipelineDesign, seed: int) -> FaultPlan:
    """The shared chaos plan: the same for every design of a seed.

    Random crashes of the first payment and inventory consumers, the projector and the
    orchestrator during the fault phase (seeded chaos); a projector crash and an orchestrator
    crash in the middle of it; loss between the order service and the broker all along it.
    """
    phase = p.fault_phase
    crashes = chaos(
        seed,
        duration=phase / (1 - _HEAL_FRACTION),
        kinds=("crash",),
        intensity=p.chaos_intensity,
        nodes=["pay-1", "inv-1", "projector", "orchestrator"],
        heal_fraction=_HEAL_FRACTION,
    )
    fixed = (
        Fault(phase * 0.4, "crash", phase * 0.4 + 1.0, nodes=("projector",)),
        Fault(phase * 0.55, "crash", phase * 0.55 + 2.0, nodes=("orchestrator",)),
        Fault(0.0, "loss", phase, nodes=("order", "broker"), value=p.loss),
    )
    return FaultPlan((*crashes.faults, *fixed))


class PipelineScenario(Scenario):
    """The joint order pipeline under one fault plan; see :mod:`labsim.scenarios.pipeline`.

    Summary figures: the correctness counts (``lost_orders``, ``double_charges``,
    ``ghost_charges``, ``half_done_sagas``, ``read_model_errors``), the service levels
    (``write_latency_p99_s``, ``read_staleness_p99_s``), the cost (``cost`` and its parts),
    ``correct`` (every correctness target met) and ``targets_met`` (of :data:`TARGETS`).
    """

    name = "pipeline"
    description = "the whole order pipeline in one world, with costs (lesson 15)"
    lesson = "15_capstone"
    Params = PipelineDesign
    summary_tables = (
        "order_db",
        "published",
        "effects",
        "attempts",
        "stock",
        "compensations",
        "projected",
        "checkpoints",
        "client",
        "relay",
        "queues",
        "amqp_state",
        "parked",
    )

    def fault_plan(self, p: PipelineDesign, seed: int) -> FaultPlan:
        """:func:`default_chaos`, or the plan in the file ``p.faults``."""
        if p.faults is not None:
            return FaultPlan.load(p.faults)
        return default_chaos(p, seed)

    def build(self, p: PipelineDesign, world: World, plan: FaultPlan) -> Pipeline:
        return build(p, world, plan)

    def until(self, p: PipelineDesign) -> float:
        return p.duration

    def finish(self, p: PipelineDesign, system: Pipeline, world: World) -> None:
        system.service.record_state()
        queues = world.table("queues", ("queue",), level="summary").add
        parked = world.table("parked", ("msg_id",), level="summary").add
        if p.transport == "queue":
            for name in system.broker.queues:
                queues(name)
            system.broker.record_state()
            world.table("amqp_state", STATE_COLUMNS)
            return
        kafka, parked_ids = system.broker
        published = world.table("published", ("order", "event_id", "time")).add
        for topic, log in kafka.topics.items():
            for partition in range(len(log.partitions)):
                queues(f"{topic}/{partition}")
                if topic == "orders":
                    for r in kafka.records(topic, partition):
                        published(r.value, r.key, r.timestamp)
        world.table("amqp_state", STATE_COLUMNS)
        for msg_id in parked_ids:
            parked(msg_id)

    def summarize(self, p: PipelineDesign, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        return summarize(p, frames)

    def report(self, result: Result) -> str:
        """The scorecard of a run (printed by ``labsim run`` after the summary)."""
        return scorecard(result.summary, f"Scorecard (seed {result.seed})")

    def run(self, params: Any = None, seed: int | None = None, *more: Any, **kw: Any) -> Result:
        """Run one architecture: ``params`` may also be the path of an architecture file.

        A file's seed is used unless ``seed`` is given.
        """
        if isinstance(params, str | Path) and str(params).endswith((".yaml", ".yml")):
            from labsim.scenarios.pipeline.compare import load_architecture

            params, file_seed = load_architecture(params)
            if seed is None:
                seed = file_seed
        return super().run(params, 0 if seed is None else seed, *more, **kw)


SCENARIO = PipelineScenario()
run = SCENARIO.run
figures = SCENARIO.figures
