"""Architecture files compared: sweeps over designs, the Pareto front, the facilitator's plot.

::

    from labsim.scenarios.pipeline import compare
    frame = compare.sweep_designs(compare.DESIGN_SPACE, seeds=[0])      # any executor too
    compare.pareto_plot(frame)                                          # cost vs p99 latency
    teams = compare.compare(["data/architectures/naive.yaml", "teams/blue.yaml"], seeds=[0, 1])
    compare.pareto_plot(teams, label="architecture")

A design is **correct** when it meets every correctness target; the Pareto front is drawn
through the correct designs that no other correct design beats on both cost and p99 write
latency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from labsim.errors import ConfigError
from labsim.plots import COLORS
from labsim.scenarios.pipeline.design import DESIGN_CHOICES
from labsim.scenarios.pipeline.score import BUDGET, TARGETS

__all__ = [
    "ARCHITECTURES",
    "DESIGN_SPACE",
    "LATENCY",
    "compare",
    "load_architecture",
    "pareto_front",
    "pareto_plot",
    "sweep_designs",
    "to_yaml",
]

#: The example architecture files (naive, textbook, over-provisioned).
ARCHITECTURES = Path(__file__).resolve().parents[3] / "data" / "architectures"
#: The figure on the Pareto plot's vertical axis.
LATENCY = "write_latency_p99_s"
#: A design space to sweep: 3 x 2 x 2 x 2 x 2 x 3 = 144 designs (the rest at their defaults).
DESIGN_SPACE: dict[str, list[Any]] = {
    "publishing": ["dual-write", "outbox", "cdc"],
    "inbox": [False, True],
    "retry": ["none", "exponential"],
    "saga_log": [False, True],
    "checkpoint_every": [1, 50],
    "read_strategy": ["none", "wait-for-version", "sync"],
}


def load_architecture(path: str | Path) -> tuple[dict[str, Any], int]:
    """The design (parameters) and seed of an architecture file (seed 0 if it gives none).

    ``path`` may also be the bare name of an example: ``"textbook"`` is
    ``data/architectures/textbook.yaml``.

    Raises :class:`ConfigError` naming the file (and line) for any mistake, and when the
    file is a parameter file of another scenario.
    """
    from labsim.scenarios.files import load_named_run

    if isinstance(path, str) and "/" not in path and not path.endswith((".yaml", ".yml")):
        path = ARCHITECTURES / f"{path}.yaml"
    named = load_named_run(path)
    if named.scenario != "pipeline":
        raise ConfigError("scenario", named.scenario, f"pipeline in an architecture file ({path})")
    return dict(named.params), named.seed or 0


def to_yaml(design: Mapping[str, Any], seed: int = 0, title: str = "our architecture") -> str:
    """An architecture file's text for ``design`` (its choices only), ready to save and share.

    The file round-trips: :func:`load_architecture` reads back the same choices.
    """
    from labsim.scenarios.pipeline import SCENARIO

    design = dict(SCENARIO.params(dict(design)).__dict__)
    lines = [f"# {title}", "scenario: pipeline", f"seed: {int(seed)}", "params:"]
    for name in DESIGN_CHOICES:
        value = design[name]
        text = str(value).lower() if isinstance(value, bool) else str(value)
        lines.append(f"  {name}: {text}")
    return "\n".join(lines) + "\n"


def sweep_designs(
    grid: Mapping[str, Sequence[Any]],
    seeds: Iterable[int],
    executor: Executor | None = None,
    **fixed: Any,
) -> pd.DataFrame:
    """Every design of ``grid`` (with ``fixed`` parameters) under every seed: one row per run.

    Runs through :func:`labsim.sweep.sweep` (serial, a process pool, or a Dask cluster's
    executor give the same frame).
    """
    from labsim.scenarios.pipeline import SCENARIO

    full = {**{k: [v] for k, v in fixed.items()}, **{k: list(v) for k, v in grid.items()}}
    return SCENARIO.sweep(full, list(seeds), executor, progress=False)


def compare(
    paths: Sequence[str | Path],
    seeds: Iterable[int] = (0, 1, 2),
    executor: Executor | None = None,
    **fixed: Any,
) -> pd.DataFrame:
    """Every architecture file under the same seeds (the shared chaos): one row per file.

    Columns: ``architecture`` (the file's name), its choices, the mean cost and p99 write
    latency and staleness over the seeds, ``correct`` (on every seed), ``targets_met`` (the
    fewest over the seeds) and ``within_budget`` (on every seed). ``fixed`` overrides the
    workload for all files (``orders=100`` for a quicker comparison).
    """
    from labsim.scenarios.pipeline import SCENARIO

    seeds = list(seeds)
    designs = {Path(p).stem: load_architecture(p)[0] for p in paths}
    if len(designs) != len(paths):
        raise ConfigError("paths", [str(p) for p in paths], "files with different names")
    rows = []
    for name, design in designs.items():
        frame = SCENARIO.sweep(
            {k: [v] for k, v in {**design, **fixed}.items()}, seeds, executor, progress=False
        )
        defaults = SCENARIO.defaults()
        rows.append(
            {
                "architecture": name,
                **{k: design.get(k, defaults[k]) for k in DESIGN_CHOICES},
                "cost": round(float(frame["cost"].mean()), 3),
                LATENCY: round(float(frame[LATENCY].mean()), 4),
                "read_staleness_p99_s": round(float(frame["read_staleness_p99_s"].mean()), 4),
                "correct": bool(frame["correct"].all()),
                "targets_met": int(frame["targets_met"].min()),
                "within_budget": bool((frame["cost"] <= BUDGET).all()),
            }
        )
    return pd.DataFrame(rows)


def pareto_front(frame: pd.DataFrame, x: str = "cost", y: str = LATENCY) -> pd.Series:
    """Whether each row is on the Pareto front of the correct rows (lower ``x`` and ``y``).

    A correct row is on the front when no other correct row is at most as costly and at most
    as slow, and strictly better in one of the two. Incorrect rows are never on it.
    """
    correct = frame["correct"].to_numpy(bool)
    xs, ys = frame[x].to_numpy(float), frame[y].to_numpy(float)
    on = np.zeros(len(frame), bool)
    for i in np.flatnonzero(correct):
        better = correct & (xs <= xs[i]) & (ys <= ys[i]) & ((xs < xs[i]) | (ys < ys[i]))
        on[i] = not better.any()
    return pd.Series(on, index=frame.index, name="pareto")


def _clusters(
    texts: Mapping[tuple[float, float], list[str]], width: float
) -> list[tuple[tuple[float, float], list[str]]]:
    # Labels of points that would print over each other share one label.
    groups: list[tuple[tuple[float, float], list[str]]] = []
    for (x, y), names in sorted(texts.items()):
        for (gx, gy), members in groups:
            if abs(x - gx) < 0.04 * width and abs(np.log10(y / gy)) < 0.15:
                members.extend(names)
                break
        else:
            groups.append(((x, y), list(names)))
    return groups


def pareto_plot(
    frame: pd.DataFrame,
    ax: Axes | None = None,
    *,
    label: str | None = None,
    marks: Mapping[str, tuple[float, float]] | None = None,
    title: str = "Designs: cost against p99 write latency under the shared chaos",
) -> Axes:
    """Cost (credits a minute) against p99 write latency (s, log scale), coloured by correctness.

    Draws the budget and the latency target, and the Pareto front of the correct designs.
    ``label`` names a column whose values label the points (one per architecture file);
    ``marks`` maps a name to a ``(cost, latency)`` point drawn as a labelled star (the
    example files, the learner's design); names of the same point share one label.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 5.2))
    correct = frame["correct"].to_numpy(bool)
    ys = frame[LATENCY].clip(lower=1e-3)
    if (~correct).any():
        ax.scatter(
            frame["cost"][~correct],
            ys[~correct],
            s=28,
            color=COLORS["faulty"],
            marker="x",
            label="incorrect (a correctness target missed)",
        )
    if correct.any():
        ax.scatter(
            frame["cost"][correct],
            ys[correct],
            s=28,
            color=COLORS["good"],
            label="correct (every correctness target met)",
        )
    front = frame[pareto_front(frame)].sort_values("cost")
    if len(front):
        ax.plot(
            front["cost"],
            front[LATENCY].clip(lower=1e-3),
            drawstyle="steps-post",
            marker="o",
            ms=11,
            mfc="none",
            color=COLORS["ok"],
            lw=1.5,
            label="Pareto front of the correct designs",
        )
    limit = TARGETS["write p99"][2]
    ax.axvline(BUDGET, color=COLORS["ink"], ls="--", lw=1, label=f"budget ({BUDGET:g} credits/min)")
    ax.axhline(
        limit, color=COLORS["neutral"], ls=":", lw=1.2, label=f"latency target ({limit:g} s)"
    )
    texts: dict[tuple[float, float], list[str]] = {}
    if label is not None:
        for row in frame.itertuples(index=False):
            point = (round(row.cost, 6), round(max(getattr(row, LATENCY), 1e-3), 6))
            texts.setdefault(point, []).append(str(getattr(row, label)))
    if marks:
        stars = [(c, max(lat, 1e-3)) for c, lat in marks.values()]
        ax.scatter(
            *zip(*stars, strict=True),
            s=160,
            marker="*",
            color=COLORS["warning"],
            edgecolor=COLORS["ink"],
            zorder=5,
            label=", ".join(marks),
        )
        for name, (c, lat) in marks.items():
            texts.setdefault((round(c, 6), round(max(lat, 1e-3), 6)), []).append(name)
    for (x, y), names in _clusters(texts, float(np.ptp(frame["cost"])) or 1.0):
        ax.annotate(
            ", ".join(names),
            (x, y),
            xytext=(7, 5),
            textcoords="offset points",
            fontsize=9,
            color=COLORS["ink"],
        )
    ax.set_yscale("log")
    ax.margins(x=0.15, y=0.15)
    ax.set_xlabel("cost (credits per minute)")
    ax.set_ylabel("p99 write latency (s, log scale)")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=9)
    ax.figure.tight_layout()
    return ax
