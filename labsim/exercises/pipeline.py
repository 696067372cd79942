"""Exercises of lesson 15, the capstone: a design within a team budget, and who pays for what.

* :func:`check_design_within_budget` runs the learner's architecture on several seeds of the
  shared chaos and says which target failed, on which seed, and which knob to look at.
* The quiz ``"pipeline interactions"`` asks which target each single change breaks in the
  joint pipeline (where the stages interact).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from labsim.errors import ConfigError
from labsim.exercises.base import ExerciseResult, add_quiz

__all__ = ["FIXES", "TEAM_BUDGET", "check_design_within_budget"]

#: The capstone's team budget (credits a minute): tighter than the pipeline's own budget.
TEAM_BUDGET = 24.0

#: Target -> where to look when it fails.
FIXES: dict[str, str] = {
    "lost orders": "acknowledge after the effect, retry failed attempts, publish with an outbox "
    "or CDC (a dual write loses the event when the service crashes between its two writes)",
    "double charges": "an inbox on the consumers: outbox relays and consumer crashes both "
    "redeliver events",
    "ghosts": "an outbox or CDC: a dual write undoes an order whose event already left",
    "half-done sagas": "keep the orchestrator's state in a saga log, or choreograph through "
    "the inventory's own outbox",
    "read model": "checkpoint the projector more often (every event): a crash replays what "
    "was applied since the last checkpoint",
    "write p99": "do not make the write wait for the read model (sync)",
    "staleness p99": "let the read wait for the client's own order (wait-for-version)",
    "budget": "fewer consumers, CDC instead of an outbox table, choreography instead of an "
    "orchestrator with a log",
}


def check_design_within_budget(
    design: Mapping[str, Any], seeds: Iterable[int] = (0, 1, 2), budget: float = TEAM_BUDGET
) -> ExerciseResult:
    """Check that ``design`` meets every pipeline target and costs at most ``budget``.

    Args:
        design: The design's choices (any parameters of the ``pipeline`` scenario).
        seeds: Seeds of the shared chaos it must pass on (every one).
        budget: The team budget, credits a minute.
    """
    from labsim.scenarios import pipeline

    name = "a design within the team budget"
    seeds = list(seeds)
    try:
        runs = {seed: pipeline.run(dict(design), seed, record_level="summary") for seed in seeds}
    except ConfigError as exc:
        return ExerciseResult(name, False, f"the design is not valid: {exc}")
    worst = 0.0
    for seed, result in runs.items():
        card = pipeline.grade(result.summary)
        failed = card[~card["met"]]
        if len(failed):
            target = str(failed["target"].iloc[0])
            value = failed["value"].iloc[0]
            return ExerciseResult(
                name,
                False,
                f"on seed {seed} the target {target!r} fails ({value} against "
                f"{failed['limit'].iloc[0]}); look at: {FIXES[target]}",
            )
        worst = max(worst, float(result.summary["cost"]))
    if worst > budget:
        parts = {k: runs[seeds[0]].summary[f"cost_{k}"] for k in ("capacity", "network", "storage")}
        biggest = max(parts, key=parts.__getitem__)
        return ExerciseResult(
            name,
            False,
            f"every target met, but it costs up to {worst:.1f} credits a minute, over the team "
            f"budget of {budget:g}; the biggest part is {biggest} ({parts[biggest]:.1f}): "
            f"{FIXES['budget']}",
        )
    return ExerciseResult(
        name,
        True,
        f"every target met on {len(seeds)} seeds, at most {worst:.1f} credits a minute "
        f"(team budget {budget:g})",
    )


add_quiz(
    "pipeline interactions",
    {
        "textbook design, but publishing by dual write": (
            "ghosts",
            {
                "double charges": "the inbox still dedupes; what does a dual write do when "
                "its publish seems to fail?",
                "read model": "the projector is untouched; look at the payment side",
            },
        ),
        "textbook design, but no inbox": (
            "double charges",
            {
                "ghosts": "the outbox is still there: nothing is published that was not committed",
                "read model": "the projector dedupes by its checkpoint, not by the inbox",
            },
        ),
        "textbook design, but checkpoint every 50 events": (
            "read model",
            {
                "double charges": "the projector charges no one: its replay corrupts totals "
                "on a screen, graded as its own target",
                "lost orders": "the replay applies events twice; it loses none",
            },
        ),
    },
)
