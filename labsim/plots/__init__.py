"""Standard figures in one consistent style.

Every function draws on the ``ax`` it is given (or a new figure) and returns the axes, so
notebooks can combine them; none calls ``plt.show()`` — the notebook cell does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import matplotlib as mpl
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from labsim import figure_check
from labsim.metrics import fault_intervals, rate_over_time
from labsim.plots.diagrams import _axes, saga_timeline, sequence_diagram
from labsim.plots.palette import COLORS, CYCLE, FAULT_COLORS, PALETTE

__all__ = [
    "COLORS",
    "FAULT_COLORS",
    "PALETTE",
    "delivery_over_time",
    "draw_topology",
    "label_bars",
    "latency_cdf",
    "latency_histogram",
    "saga_timeline",
    "sequence_diagram",
    "shade_faults",
    "timeseries",
    "use_style",
]


def use_style() -> None:
    """Apply the lab's plot style (colours, sizes, grid, fonts) to matplotlib.

    The colour cycle is the colour-blind-safe :data:`CYCLE`, the fonts are large enough to read
    when projected (11 pt text, 13 pt titles).

    With ``LABSIM_FIGURE_CHECK=1`` (set by the test that runs every notebook) every
    ``plt.show()`` first runs the figure check (:mod:`labsim.figure_check`).
    """
    if figure_check.enabled():
        figure_check.install()
    mpl.rcParams.update(
        {
            "figure.figsize": (8, 3.6),
            "figure.dpi": 90,
            "axes.prop_cycle": mpl.cycler(color=CYCLE),
            "image.cmap": "viridis",
            "font.size": 11,
            "axes.labelsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 10,
            "figure.titlesize": 13,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 13,
            "axes.titleweight": "bold",
            "legend.frameon": False,
        }
    )


def latency_histogram(
    latencies: Iterable[float],
    ax: Axes | None = None,
    *,
    bins: int = 50,
    unit: str = "ms",
    title: str = "Latency distribution",
    label: str | None = None,
    quantity: str = "latency",
    counted: str = "messages",
) -> Axes:
    """Histogram of latencies given in seconds, drawn in ``unit`` (``"ms"`` or ``"s"``).

    ``quantity`` names what is measured on the x axis (e.g. ``"lag"``, ``"wait in queue"``) and
    ``counted`` what the bars count (e.g. ``"events"``).
    """
    ax = _axes(ax)
    scale = 1000.0 if unit == "ms" else 1.0
    data = np.asarray(list(latencies), dtype=float) * scale
    ax.hist(data, bins=bins, alpha=0.75, label=label)
    ax.set(title=title, xlabel=f"{quantity} ({unit})", ylabel=counted)
    if label:
        ax.legend()
    return ax


def latency_cdf(
    latencies: Iterable[float],
    ax: Axes | None = None,
    *,
    unit: str = "ms",
    label: str | None = None,
    title: str = "Latency CDF",
    quantity: str = "latency",
    counted: str = "messages",
) -> Axes:
    """Empirical cumulative distribution of latencies given in seconds.

    ``quantity`` and ``counted`` name the x axis and the things counted, as in
    :func:`latency_histogram`.
    """
    ax = _axes(ax)
    scale = 1000.0 if unit == "ms" else 1.0
    data = np.sort(np.asarray(list(latencies), dtype=float)) * scale
    if data.size:
        ax.step(data, np.arange(1, data.size + 1) / data.size, where="post", label=label)
    ax.set(
        title=title,
        xlabel=f"{quantity} ({unit})",
        ylabel=f"fraction of {counted} ≤ x",
        ylim=(0, 1.02),
    )
    if label:
        ax.legend()
    return ax


def shade_faults(
    ax: Axes, faults: pd.DataFrame, end: float | None = None, *, label: bool = True
) -> Axes:
    """Shade the intervals of recorded faults (the ``faults`` frame) on a time axis."""
    if faults is None or len(faults) == 0:
        return ax
    stop = end if end is not None else float(ax.get_xlim()[1])
    seen: set[str] = set()
    for row in fault_intervals(faults, stop).itertuples(index=False):
        color = FAULT_COLORS.get(row.kind, COLORS["neutral"])
        text = f"{row.kind} ({row.target})" if label and row.kind not in seen else None
        ax.axvspan(row.start, row.end, color=color, alpha=0.15, label=text, lw=0)
        seen.add(row.kind)
    return ax


def label_bars(ax: Axes, fmt: str = "{:g}", fontsize: float = 9) -> Axes:
    """Write each bar's value above it, so a bar of height 0 still reads as "0" (not as a
    missing bar)."""
    for bars in ax.containers:
        ax.bar_label(bars, labels=[fmt.format(b.get_height()) for b in bars], fontsize=fontsize)
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + 0.08 * (high - low))  # room for the labels of the tallest bars
    return ax


def timeseries(
    frame: pd.DataFrame,
    x: str,
    y: str | list[str],
    ax: Axes | None = None,
    *,
    faults: pd.DataFrame | None = None,
    title: str = "",
    xlabel: str = "time (s)",
    ylabel: str | None = None,
    step: bool = True,
    labels: Mapping[str, str] | None = None,
) -> Axes:
    """Plot one or more columns of ``frame`` against ``x``, with fault intervals shaded."""
    ax = _axes(ax)
    columns = [y] if isinstance(y, str) else list(y)
    for column in columns:
        text = (labels or {}).get(column, column)
        if step:
            ax.step(frame[x], frame[column], where="post", label=text)
        else:
            ax.plot(frame[x], frame[column], label=text)
    end = float(frame[x].max()) if len(frame) else None
    if faults is not None:
        shade_faults(ax, faults, end)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel if ylabel is not None else columns[0])
    if len(columns) > 1 or faults is not None:
        ax.legend(loc="best", fontsize=9)
    return ax


def draw_topology(
    network: Any, ax: Axes | None = None, *, title: str = "Network topology", seed: int = 0
) -> Axes:
    """Draw a :class:`~labsim.network.Network`: crashed nodes grey, partitioned links dashed red."""
    ax = _axes(ax)
    graph: nx.Graph = network.graph
    pos = (
        nx.circular_layout(graph)
        if graph.number_of_nodes() <= 8
        else nx.spring_layout(graph, seed=seed)
    )
    colors = [COLORS["ok"] if network.nodes[n].up else "lightgray" for n in graph.nodes]
    cut = [(a, b) for a, b in graph.edges if network.is_blocked(a, b) or network.is_blocked(b, a)]
    ok = [e for e in graph.edges if e not in cut]
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=colors, node_size=900)
    nx.draw_networkx_labels(graph, pos, ax=ax, font_color="white", font_weight="bold")
    nx.draw_networkx_edges(graph, pos, ax=ax, edgelist=ok, width=1.5, edge_color=COLORS["neutral"])
    if cut:
        nx.draw_networkx_edges(
            graph, pos, ax=ax, edgelist=cut, width=1.5, style="dashed", edge_color=COLORS["faulty"]
        )
    ax.set_title(title)
    ax.set_axis_off()
    ax.margins(0.15)
    return ax


def delivery_over_time(
    result: Any,
    ax: Axes | None = None,
    *,
    bin_width: float = 0.25,
    title: str = "Messages delivered over time",
) -> Axes:
    """Sent and delivered messages per second of a network run, faults shaded.

    Args:
        result: A :class:`~labsim.Result` with ``net.sends``, ``net.deliveries`` and ``faults``
            frames (the network scenario's).
        bin_width: Width of the time bins in seconds.
    """
    frames = result.frames
    end = float(result.params.duration)
    sent = rate_over_time(frames["net.sends"]["time"], bin_width, end)
    delivered = rate_over_time(frames["net.deliveries"]["time"], bin_width, end)
    table = sent[["time"]].assign(sent=sent["rate"], delivered=delivered["rate"])
    ax = timeseries(
        table,
        "time",
        ["sent", "delivered"],
        ax,
        faults=frames.get("faults"),
        title=title,
        ylabel="messages per second",
        labels={"sent": "sent", "delivered": "delivered"},
    )
    ax.set_ylim(bottom=0)
    return ax
