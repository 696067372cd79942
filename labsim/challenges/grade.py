"""Grading a learner's class: seeded chaos runs, shrinking a failure, exhaustive crash points.

:func:`grade` runs a challenge's runner under ``seeds`` chaos plans; the first failing run is
shrunk by greedy delta debugging (drop a fault, shorten one, cut the message count, as long
as the same target still fails, until no single step keeps it failing).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from labsim.challenges.base import Challenge, LearnerError, Outcome, time_limit
from labsim.checks import CheckResult
from labsim.errors import ConfigError
from labsim.faults import Fault, FaultPlan, chaos

__all__ = ["Case", "Report", "grade", "load_class"]

#: Wall-clock seconds a whole check may spend in learner code before it is stopped.
WALL_LIMIT = 20.0


@dataclass
class Case:
    """One run: seed, plan and size, and what it measured.

    Attributes:
        seed: The seed.
        plan: The fault plan.
        size: Message (or operation) count.
        outcome: What the run measured.
        broken: The targets that failed.
    """

    seed: int
    plan: FaultPlan
    size: int
    outcome: Outcome
    broken: list[str]


@dataclass
class Report:
    """The result of :func:`grade`.

    Attributes:
        challenge: The challenge.
        passed: Every target held in every run.
        figures: Worst measured value per target over the runs.
        runs: How many runs were made.
        failure: The shrunk failing case (``None`` when passed).
        original: The failing case before shrinking.
        error: A learner error message (exception, hang, missing method), if any.
        laws: The result of the challenge's law check, if it has one.
        mode: ``"chaos"`` or ``"exhaustive"``.
    """

    challenge: Challenge
    passed: bool
    figures: dict[str, float]
    runs: int
    failure: Case | None = None
    original: Case | None = None
    error: str | None = None
    laws: CheckResult | None = None
    mode: str = "chaos"
    placements: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def load_class(challenge: Challenge, source: str | Path | type) -> type:
    """The learner's class: ``source`` itself, or the class named like the starter's in a file.

    Raises:
        ConfigError: for a file that does not exist.
        LearnerError: for a file that fails to import, lacks the class, or a class that lacks a
            method the challenge calls.
    """
    if isinstance(source, type):
        cls = source
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError("file", str(source), "a Python file holding your class", "challenge")
        name = f"_labsim_challenge_{challenge.name.replace('-', '_')}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except Exception as exc:
            raise LearnerError(
                f"{path.name} failed to import: {type(exc).__name__}: {exc}"
            ) from None
        cls = getattr(module, challenge.class_name, None)
        if not isinstance(cls, type):
            raise LearnerError(f"{path.name} has no class {challenge.class_name}")
    for method in challenge.methods:
        if not callable(getattr(cls, method, None)):
            raise LearnerError(
                f"class {cls.__name__} has no method {method}() "
                f"(the challenge calls {', '.join(m + '()' for m in challenge.methods)})"
            )
    return cls


def chaos_plan(challenge: Challenge, seed: int) -> FaultPlan:
    """The seeded chaos plan of ``challenge`` for ``seed``."""
    return chaos(
        seed,
        challenge.duration,
        challenge.fault_kinds,
        challenge.intensity,
        nodes=list(challenge.nodes),
        protect=challenge.protect,
    )


def run_case(challenge: Challenge, cls: type, seed: int, plan: FaultPlan, size: int) -> Case:
    """Run one case and list the targets it breaks."""
    outcome = challenge.run(cls, seed, plan, size)
    broken = [
        str(t) for t in challenge.targets if not t.holds(outcome.figures.get(t.figure, math.nan))
    ]
    return Case(seed, plan, size, outcome, broken)


def _smaller(plan: FaultPlan, size: int) -> list[tuple[FaultPlan, int]]:
    """Every one-step simplification: drop a fault, halve one, cut the size."""
    faults = list(plan.faults)
    rounded = tuple(
        replace(f, at=round(f.at, 3), until=None if f.until is None else round(f.until, 3))
        if f.until is None or round(f.until, 3) > round(f.at, 3)
        else f  # a fault shorter than a millisecond keeps its exact times
        for f in faults
    )
    out: list[tuple[FaultPlan, int]] = []
    if rounded != plan.faults and all(f.until is None or f.until > f.at for f in rounded):
        out.append((FaultPlan(rounded), size))  # tried first; if it passes, shrink unrounded
    out += [(FaultPlan(tuple(faults[:i] + faults[i + 1 :])), size) for i in range(len(faults))]
    for i, f in enumerate(faults):
        if f.until is not None and f.until - f.at > 0.02:
            short = replace(f, until=round(f.at + (f.until - f.at) / 2, 3))
            out.append((FaultPlan(tuple([*faults[:i], short, *faults[i + 1 :]])), size))
    for smaller in sorted({size // 2, size - 1}):
        if 1 <= smaller < size:
            out.append((plan, smaller))
    return out


def shrink(challenge: Challenge, cls: type, case: Case) -> tuple[Case, int]:
    """Greedy delta debugging: the smallest plan and size that still break the same target."""
    target = case.broken[0]
    steps = 0
    improved = True
    while improved:
        improved = False
        for plan, size in _smaller(case.plan, case.size):
            trial = run_case(challenge, cls, case.seed, plan, size)
            steps += 1
            if target in trial.broken:
                case, improved = trial, True
                break
    return case, steps


def _merge(worst: dict[str, float], challenge: Challenge, figures: dict[str, float]) -> None:
    for t in challenge.targets:
        value = figures.get(t.figure, math.nan)
        old = worst.get(t.figure)
        if old is None or math.isnan(value):
            worst[t.figure] = value
        elif not math.isnan(old):
            worst[t.figure] = max(old, value) if t.op == "<=" else min(old, value)


def crash_points(challenge: Challenge, cls: type, seed: int, size: int) -> list[FaultPlan]:
    """One plan per step of the challenge's node in a clean run: a crash right after it."""
    clean = run_case(challenge, cls, seed, FaultPlan(()), size)
    steps = clean.outcome.frames["challenge.steps"]
    times = steps[steps["node"] == challenge.exhaustive_node]["time"].tolist()
    return [
        FaultPlan((Fault(round(t + 0.0005, 4), "crash", round(t + 0.3, 4), nodes=(node,)),))
        for t in times
        for node in (challenge.exhaustive_node,)
    ]


def grade(
    challenge: Challenge,
    source: str | Path | type,
    seeds: int = 20,
    seed: int | None = None,
    *,
    plan: FaultPlan | None = None,
    size: int | None = None,
    exhaustive: bool = False,
    wall_limit: float = WALL_LIMIT,
) -> Report:
    """Grade the learner's class; see :func:`labsim.challenges.check`."""
    worst: dict[str, float] = {}
    report = Report(challenge, True, worst, 0, mode="exhaustive" if exhaustive else "chaos")
    try:
        cls = load_class(challenge, source)
        with time_limit(wall_limit):
            if challenge.laws is not None:
                report.laws = challenge.laws(cls)
                if not report.laws.valid:
                    report.passed = False
            cases = _cases(challenge, cls, seeds, seed, plan, size, exhaustive, report)
            for case_args in cases:
                case = run_case(challenge, cls, *case_args)
                report.runs += 1
                _merge(worst, challenge, case.outcome.figures)
                if case.broken:
                    report.passed = False
                    report.original = case
                    report.failure, report.extra["shrink_steps"] = (
                        (case, 0) if exhaustive else shrink(challenge, cls, case)
                    )
                    break
    except LearnerError as exc:
        report.passed = False
        report.error = exc.message
    return report


def _cases(
    challenge: Challenge,
    cls: type,
    seeds: int,
    seed: int | None,
    plan: FaultPlan | None,
    size: int | None,
    exhaustive: bool,
    report: Report,
) -> list[tuple[int, FaultPlan, int]]:
    first = 0 if seed is None else seed
    if plan is not None or (seed is not None and seeds == 1):
        return [(first, plan or chaos_plan(challenge, first), size or challenge.size)]
    if exhaustive:
        if not challenge.exhaustive_node:
            raise ConfigError(
                "--exhaustive", challenge.name, "a challenge with crash points to enumerate"
            )
        out = []
        for n in range(1, min(size or 5, 5) + 1):
            for p in crash_points(challenge, cls, first, n):
                out.append((first, p, n))
        report.placements = len(out)
        return out
    return [
        (s, chaos_plan(challenge, s), size or challenge.size) for s in range(first, first + seeds)
    ]
