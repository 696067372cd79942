"""The figure check: every figure a lesson shows reads at a glance.

:func:`figure_problems` lists what is wrong with a matplotlib figure: an axes with data but no
title (on it or on the figure), an x or y axis without a label, a legend entry whose artist
draws nothing, a label in a legend twice, bars of counts on an axis with fractional ticks, a
data colour outside the lab's colour-blind-safe palette (:mod:`labsim.plots.palette`; greys,
white and transparency are allowed, and colour-mapped data is left to its colour map).
:func:`install` makes ``plt.show()`` raise :class:`FigureProblem` on such a figure; the lab's
``plots.use_style()`` installs it when the environment variable ``LABSIM_FIGURE_CHECK`` is
``1``, which the test that runs every notebook sets.
"""

from __future__ import annotations

import os
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgba_array
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from labsim.plots.palette import PALETTE

__all__ = ["FigureProblem", "enabled", "figure_problems", "install"]


class FigureProblem(AssertionError):
    """A lesson figure fails the figure check."""


def enabled() -> bool:
    """Whether ``LABSIM_FIGURE_CHECK=1`` asks for the check on every ``plt.show()``."""
    return os.environ.get("LABSIM_FIGURE_CHECK", "0") == "1"


def _has_data(ax: Axes) -> bool:
    return bool(ax.lines or ax.patches or ax.collections or ax.images or ax.containers)


def _draws_something(handle: Any) -> bool:
    if isinstance(handle, BarContainer):
        return any(p.get_height() or p.get_width() for p in handle.patches)
    get_data = getattr(handle, "get_xydata", None)
    if get_data is not None:
        return len(get_data()) > 0
    get_offsets = getattr(handle, "get_offsets", None)
    if get_offsets is not None:
        return len(get_offsets()) > 0
    get_paths = getattr(handle, "get_paths", None)
    if get_paths is not None:
        return len(get_paths()) > 0
    return True  # patches and other artists draw themselves


def _legend_problems(ax: Axes, where: str) -> list[str]:
    legend = ax.get_legend()
    if legend is None:
        return []
    problems = []
    labels = [t.get_text() for t in legend.get_texts()]
    twice = sorted({lab for lab in labels if labels.count(lab) > 1})
    if twice:
        problems.append(f"{where}: legend lists {twice} more than once")
    handles, handle_labels = ax.get_legend_handles_labels()
    for handle, label in zip(handles, handle_labels, strict=False):
        if label in labels and not _draws_something(handle):
            problems.append(f"{where}: legend entry {label!r} draws nothing")
    return problems


def _count_ticks_problem(ax: Axes, where: str) -> str | None:
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    if not bars:
        return None
    vertical = all(getattr(c, "orientation", "vertical") != "horizontal" for c in bars)
    values = [p.get_height() if vertical else p.get_width() for c in bars for p in c.patches]
    if not values or not np.allclose(values, np.round(values)):
        return None  # not counts
    axis = ax.yaxis if vertical else ax.xaxis
    if axis.get_scale() != "linear":
        return None
    low, high = ax.get_ylim() if vertical else ax.get_xlim()
    ticks = [t for t in axis.get_majorticklocs() if low <= t <= high]
    if any(abs(t - round(t)) > 1e-9 for t in ticks):
        return f"{where}: bars of counts on an axis with fractional ticks"
    return None


_PALETTE_HEX = {colour.lower() for colour in PALETTE.values()}


def _colours(ax: Axes) -> list[np.ndarray]:
    """The RGBA colours the data artists of ``ax`` draw with (colour-mapped ones excluded)."""
    found = [to_rgba_array(line.get_color()) for line in ax.lines]
    for patch in ax.patches:
        found.append(to_rgba_array(patch.get_facecolor()))
        if patch.get_linewidth():
            found.append(to_rgba_array(patch.get_edgecolor()))
    for collection in ax.collections:
        if collection.get_array() is not None:
            continue  # coloured by a colour map from its values
        found.append(to_rgba_array(collection.get_facecolor()))
        if np.any(collection.get_linewidth()):
            found.append(to_rgba_array(collection.get_edgecolor()))
    return found


def _colour_problem(ax: Axes, where: str) -> str | None:
    outside = set()
    for rgba in _colours(ax):
        for r, g, b, a in rgba:
            if a == 0 or (r == g == b):
                continue  # invisible, or a grey (black and white included)
            hex_colour = to_hex((r, g, b))
            if hex_colour not in _PALETTE_HEX:
                outside.add(hex_colour)
    if outside:
        return (
            f"{where}: colours {sorted(outside)} are not in the lab palette (labsim.plots.COLORS)"
        )
    return None


def figure_problems(fig: Figure) -> list[str]:
    """What makes ``fig`` hard to read (empty when it passes the check)."""
    problems: list[str] = []
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison or not _has_data(ax):
            continue  # colour bars, hidden or decorative axes
        where = f"axes {i + 1} ({ax.get_title() or 'untitled'})"
        if not (ax.get_title() or ax.get_title("left") or suptitle):
            problems.append(f"{where}: no title")
        if not ax.get_xlabel():
            problems.append(f"{where}: x axis has no label")
        if not ax.get_ylabel():
            problems.append(f"{where}: y axis has no label")
        problems.extend(_legend_problems(ax, where))
        for problem in (_count_ticks_problem(ax, where), _colour_problem(ax, where)):
            if problem:
                problems.append(problem)
    return problems


def install() -> None:
    """Make ``plt.show()`` check the current figure first (once per process)."""
    show = plt.show
    if getattr(show, "_labsim_checked", False):
        return

    def checked_show(*args: Any, **kwargs: Any) -> Any:
        for number in plt.get_fignums():
            problems = figure_problems(plt.figure(number))
            if problems:
                raise FigureProblem("figure check: " + "; ".join(problems))
        return show(*args, **kwargs)

    checked_show._labsim_checked = True  # type: ignore[attr-defined]
    plt.show = checked_show
