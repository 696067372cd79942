"""Standard figures in one consistent style.

Every function draws on the ``ax`` it is given (or a new figure) and returns the axes, so
notebooks can combine them; none calls ``plt.show()`` — the notebook cell does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from labsim.metrics import fault_intervals, rate_over_time

__all__ = [
    "FAULT_COLORS",
    "delivery_over_time",
    "draw_topology",
    "latency_cdf",
    "latency_histogram",
    "saga_timeline",
    "sequence_diagram",
    "shade_faults",
    "timeseries",
    "use_style",
]

#: Colour per fault kind, shared by every plot that shades faults.
FAULT_COLORS = {
    "partition": "tab:red",
    "one-way-partition": "tab:pink",
    "slow-link": "tab:orange",
    "loss": "tab:purple",
    "duplication": "tab:olive",
    "crash": "tab:gray",
    "clock-skew": "tab:cyan",
}


def use_style() -> None:
    """Apply the lab's plot style (sizes, grid, fonts) to matplotlib."""
    mpl.rcParams.update(
        {
            "figure.figsize": (8, 3.6),
            "figure.dpi": 90,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "legend.frameon": False,
        }
    )


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
    return ax


def latency_histogram(
    latencies: Iterable[float],
    ax: Axes | None = None,
    *,
    bins: int = 50,
    unit: str = "ms",
    title: str = "Latency distribution",
    label: str | None = None,
) -> Axes:
    """Histogram of latencies given in seconds, drawn in ``unit`` (``"ms"`` or ``"s"``)."""
    ax = _axes(ax)
    scale = 1000.0 if unit == "ms" else 1.0
    data = np.asarray(list(latencies), dtype=float) * scale
    ax.hist(data, bins=bins, alpha=0.75, label=label)
    ax.set(title=title, xlabel=f"latency ({unit})", ylabel="messages")
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
) -> Axes:
    """Empirical cumulative distribution of latencies given in seconds."""
    ax = _axes(ax)
    scale = 1000.0 if unit == "ms" else 1.0
    data = np.sort(np.asarray(list(latencies), dtype=float)) * scale
    if data.size:
        ax.step(data, np.arange(1, data.size + 1) / data.size, where="post", label=label)
    ax.set(
        title=title, xlabel=f"latency ({unit})", ylabel="fraction of messages ≤ x", ylim=(0, 1.02)
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
        color = FAULT_COLORS.get(row.kind, "tab:gray")
        text = f"{row.kind} ({row.target})" if label and row.kind not in seen else None
        ax.axvspan(row.start, row.end, color=color, alpha=0.15, label=text, lw=0)
        seen.add(row.kind)
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
        ax.legend(loc="best", fontsize=8)
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
    colors = ["tab:blue" if network.nodes[n].up else "lightgray" for n in graph.nodes]
    cut = [(a, b) for a, b in graph.edges if network.is_blocked(a, b) or network.is_blocked(b, a)]
    ok = [e for e in graph.edges if e not in cut]
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=colors, node_size=900)
    nx.draw_networkx_labels(graph, pos, ax=ax, font_color="white", font_weight="bold")
    nx.draw_networkx_edges(graph, pos, ax=ax, edgelist=ok, width=1.5, edge_color="tab:gray")
    if cut:
        nx.draw_networkx_edges(
            graph, pos, ax=ax, edgelist=cut, width=1.5, style="dashed", edge_color="tab:red"
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


def sequence_diagram(
    frames: Mapping[str, pd.DataFrame],
    nodes: list[str],
    ax: Axes | None = None,
    *,
    prefix: str = "net",
    until: float | None = None,
    title: str = "Space-time diagram",
) -> Axes:
    """Draw messages between nodes: one vertical line per node, time flowing down.

    Deliveries are arrows from (sender, sent time) to (receiver, arrival time); dropped
    messages are dashed lines ending in a red cross halfway, labelled with the reason.
    """
    ax = _axes(ax)
    x = {n: i for i, n in enumerate(nodes)}
    sends = frames[f"{prefix}.sends"]
    deliveries = frames[f"{prefix}.deliveries"]
    drops = frames[f"{prefix}.drops"]
    end = until if until is not None else float(max([*deliveries["time"], *sends["time"], 0.0]))
    for i in x.values():
        ax.plot([i, i], [0, end], color="lightgray", lw=2, zorder=0)
    for r in deliveries.itertuples(index=False):
        if r.src in x and r.dst in x and r.sent_at <= end:
            color = "tab:orange" if r.copy else "tab:blue"
            ax.annotate(
                "",
                xy=(x[r.dst], r.time),
                xytext=(x[r.src], r.sent_at),
                arrowprops={"arrowstyle": "->", "color": color, "lw": 1},
            )
    sent_at = sends.set_index("msg_id")["time"]
    for r in drops.itertuples(index=False):
        if r.src in x and r.dst in x and r.time <= end:
            t0 = float(sent_at.get(r.msg_id, r.time))
            mx, my = (x[r.src] + x[r.dst]) / 2, t0 + 0.5 * (max(r.time - t0, 0) or end * 0.02)
            ax.plot([x[r.src], mx], [t0, my], ls="--", color="tab:red", lw=1)
            ax.plot(mx, my, "x", color="tab:red", ms=7)
    ax.set_xticks(range(len(nodes)), labels=nodes)
    ax.set_ylim(end * 1.02, 0)
    ax.set(title=title, ylabel="time (s) ↓", xlabel="node")
    ax.grid(False)
    return ax


def saga_timeline(
    frames: Mapping[str, pd.DataFrame],
    saga: str,
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Axes:
    """One saga across the services: a lane per participant, a marker per handled command
    (green ok, red failed, hollow: a duplicate the idempotency key absorbed), the
    orchestrator's logged decisions on the top lane."""
    ax = _axes(ax)
    lanes = ["orchestrator", "order", "inventory", "payment", "shipping"]
    y = {name: len(lanes) - 1 - i for i, name in enumerate(lanes)}
    steps = frames["saga_steps"]
    mine = steps[steps["saga"] == saga]
    for r in mine.itertuples(index=False):
        color = "tab:green" if r.outcome == "ok" else "tab:red"
        ax.plot(r.time, y[r.service], "o", color=color, mfc="white" if r.duplicate else color, ms=8)
        ax.annotate(
            f"{r.command}",
            (r.time, y[r.service]),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=7,
        )
    log = frames.get("sagas")
    if log is not None and len(log):
        decisions = log[log["saga"] == saga]
        ax.plot(
            decisions["time"],
            [y["orchestrator"]] * len(decisions),
            "s",
            color="tab:blue",
            ms=6,
            label="decision logged by the orchestrator",
        )
    ax.plot([], [], "o", color="tab:green", label="command done")
    ax.plot([], [], "o", color="tab:red", label="command failed")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    ax.set_yticks(list(y.values()), labels=list(y))
    ax.set(title=title or f"Saga {saga}", xlabel="time (s)")
    ax.margins(x=0.08, y=0.2)
    return ax
