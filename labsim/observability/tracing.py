"""Correlation ids as tracing: one order followed across the services through its causal chain.

Every message of the order pipeline carries the envelope's ``correlation_id`` (the order) and
``causation_id`` (the event that caused it). :func:`order_trace` gathers one order's events
from the tables that hold envelopes (``trace``: the shop and the consumers; ``saga_messages``:
the saga's services) and adds what other components did with the order (the read model showing
it, the e-mail sent or dead-lettered), caused by the order's acceptance. :func:`draw_trace`
draws it as a trace view: a lane per service, an arrow from each cause to its effect.
"""

from __future__ import annotations

from collections.abc import Mapping

import networkx as nx
import pandas as pd
from matplotlib.axes import Axes

from labsim.errors import ConfigError
from labsim.events import causal_graph
from labsim.plots import COLORS

__all__ = ["TRACE_COLUMNS", "draw_trace", "order_trace"]

#: Columns of :func:`order_trace`'s result.
TRACE_COLUMNS = ("time", "service", "event_type", "event_id", "causation_id")


def order_trace(frames: Mapping[str, pd.DataFrame], order: str) -> pd.DataFrame:
    """Every recorded step of order ``order``, in time order (columns :data:`TRACE_COLUMNS`).

    Envelopes come once each (a message sent to two subscribers is one event). The read
    model's update (``view.updated``, service ``projector``) and the e-mail's fate
    (``email.sent`` or ``email.dead-lettered``, by the worker or the queue) are added as steps
    caused by ``order.accepted``; their ids are ``view:ORDER`` and ``email:ORDER``.
    """
    parts = []
    for name in ("trace", "saga_messages"):
        table = frames.get(name)
        if table is not None:
            parts.append(table[table["correlation_id"] == order])
    if not parts or not sum(len(p) for p in parts):
        raise ConfigError("order", order, "an order id found in the trace tables", "order_trace")
    rows = pd.concat(parts).sort_values("time", kind="stable").drop_duplicates("event_id")
    rows = rows.rename(columns={"source": "service"})[list(TRACE_COLUMNS)]
    accepted = rows.loc[rows["event_type"] == "order.accepted", "event_id"]
    extra = []
    if len(accepted):
        cause = accepted.iloc[0]
        extra += _view_step(frames, order, cause) + _email_step(frames, order, cause)
    out = pd.concat([rows, pd.DataFrame(extra, columns=list(TRACE_COLUMNS))])
    return out.sort_values("time", kind="stable", ignore_index=True)


def _view_step(frames: Mapping[str, pd.DataFrame], order: str, cause: str) -> list[tuple]:
    log, projected = frames.get("event_log"), frames.get("projected")
    if log is None or projected is None:
        return []
    positions = log.loc[log["stream_id"] == f"order-{order}", "position"]
    seen = projected[projected["position"].isin(positions)]
    if not len(seen):
        return []
    return [(float(seen["visible_at"].min()), "projector", "view.updated", f"view:{order}", cause)]


def _email_step(frames: Mapping[str, pd.DataFrame], order: str, cause: str) -> list[tuple]:
    amqp = frames.get("amqp")
    if amqp is None:
        return []
    mine = amqp[(amqp["msg_id"] == order) & amqp["event"].isin(["acked", "dead-lettered"])]
    if not len(mine):
        return []
    row = mine.iloc[0]
    sent = row["event"] == "acked"
    service = row["consumer"] if sent else row["queue"]
    kind = "email.sent" if sent else "email.dead-lettered"
    return [(float(row["time"]), str(service), kind, f"email:{order}", cause)]


def draw_trace(trace: pd.DataFrame, ax: Axes, *, title: str | None = None) -> Axes:
    """Draw a trace: one lane per service (in order of first appearance), one point per step
    (in time order), an arrow from each cause to its effect (the causal graph's edges)."""
    graph = causal_graph(trace.assign(timestamp=trace["time"]))
    lanes = list(dict.fromkeys(trace["service"]))
    y = {s: len(lanes) - 1 - i for i, s in enumerate(lanes)}
    pos = {r.event_id: (i, y[r.service]) for i, r in enumerate(trace.itertuples(index=False))}
    edges = [(a, b) for a, b in graph.edges if a in pos and b in pos]
    # curved, so that an arrow skipping a lane does not look like it passes through a step
    nx.draw_networkx_edges(graph, pos, edgelist=edges, ax=ax, edge_color=COLORS["neutral"],
                           arrows=True, arrowsize=12, node_size=120,
                           connectionstyle="arc3,rad=0.3")  # fmt: skip
    failed = trace["event_type"].str.contains("failed|cancelled|dead-lettered")
    for ok, color, label in ((True, COLORS["ok"], "step"), (False, COLORS["faulty"], "failure")):
        part = trace[failed != ok]
        if len(part):
            xs = [pos[e][0] for e in part["event_id"]]
            ax.scatter(xs, [pos[e][1] for e in part["event_id"]], color=color, s=60, zorder=3,
                       label=label)  # fmt: skip
    for r in trace.itertuples(index=False):
        x, yy = pos[r.event_id]
        ax.annotate(f"{r.event_type}\n{r.time:.2f} s", (x, yy), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=7)  # fmt: skip
    ax.tick_params(left=True, labelleft=True, bottom=True, labelbottom=True)  # networkx hides them
    ax.set_yticks(list(y.values()), labels=lanes)
    ax.set_ylim(-0.6, len(lanes) - 0.3)
    ax.margins(x=0.06)
    ax.set(xlabel="step (in time order)", ylabel="service", title=title or "Trace")
    ax.legend(fontsize=8, loc="lower left")
    return ax
