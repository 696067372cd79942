"""RabbitMQ-style routing drawn as a graph: exchanges, their bindings, the queues they feed."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from labsim.amqp import DEFAULT_EXCHANGE, MessageBroker
from labsim.plots.diagrams import _axes
from labsim.plots.palette import COLORS

__all__ = ["exchange_graph", "routing_graph"]


def routing_graph(broker: MessageBroker) -> nx.DiGraph:
    """Exchanges and queues as nodes, bindings as edges (``key`` = the binding key).

    The default exchange is left out (every queue is bound to it by its own name).
    Node attribute ``kind``: the exchange's kind, or ``"queue"``.
    """
    graph = nx.DiGraph()
    for name, exchange in broker.exchanges.items():
        if name == DEFAULT_EXCHANGE:
            continue
        graph.add_node(name, kind=exchange.kind)
        for binding in exchange.bindings:
            graph.add_node(binding.queue.name, kind="queue")
            graph.add_edge(name, binding.queue.name, key=binding.key)
    return graph


def exchange_graph(
    broker: MessageBroker,
    ax: Axes | None = None,
    *,
    highlight: Iterable[str] = (),
    title: str = "Exchanges, bindings and queues",
) -> Axes:
    """Draw :func:`routing_graph`: exchanges on the left, queues on the right.

    Each edge carries its binding key (``*`` one word, ``#`` any number of words); queues in
    ``highlight`` (those a message just reached, say) are drawn in the "good" colour.
    """
    ax = _axes(ax)
    graph = routing_graph(broker)
    exchanges = [n for n, k in graph.nodes(data="kind") if k != "queue"]
    queues = [n for n, k in graph.nodes(data="kind") if k == "queue"]
    pos = {}
    for i, name in enumerate(exchanges):
        pos[name] = (0.0, -(i + 0.5) * len(queues) / max(len(exchanges), 1))
    for i, name in enumerate(queues):
        pos[name] = (1.0, -float(i))
    lit = set(highlight)
    nx.draw_networkx_edges(
        graph, pos, ax=ax, edge_color=COLORS["neutral"], arrows=True, arrowsize=12, node_size=1600
    )
    labels = {(a, b): (key or "(any)") for a, b, key in graph.edges(data="key")}
    nx.draw_networkx_edge_labels(
        graph, pos, edge_labels=labels, ax=ax, font_size=9, label_pos=0.72, rotate=False
    )
    nx.draw_networkx_nodes(
        graph,
        pos,
        nodelist=exchanges,
        ax=ax,
        node_shape="s",
        node_color=COLORS["ok"],
        node_size=1600,
    )
    nx.draw_networkx_nodes(
        graph,
        pos,
        nodelist=queues,
        ax=ax,
        node_size=700,
        node_color=[COLORS["good"] if q in lit else COLORS["secondary"] for q in queues],
    )
    for name in exchanges:
        x, y = pos[name]
        ax.text(
            x - 0.06,
            y,
            f"{name}\n({graph.nodes[name]['kind']})",
            ha="right",
            va="center",
            fontsize=10,
        )
    for name in queues:
        x, y = pos[name]
        ax.text(x + 0.06, y, name, ha="left", va="center", fontsize=10)
    handles = [
        Line2D([], [], marker="s", ls="", color=COLORS["ok"], markersize=10, label="exchange"),
        Line2D([], [], marker="o", ls="", color=COLORS["secondary"], markersize=9, label="queue"),
    ]
    if lit:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                color=COLORS["good"],
                markersize=9,
                label="queue the message reached",
            )
        )
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    ax.set_title(title)
    ax.set_xlim(-0.9, 1.5)
    ax.set_axis_off()
    return ax
