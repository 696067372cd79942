"""Diagrams of who talked to whom: a space-time (sequence) diagram and a saga timeline."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from labsim.plots.palette import COLORS

__all__ = ["saga_timeline", "sequence_diagram"]


def _axes(ax: Axes | None) -> Axes:
    """``ax``, or the axes of a new figure (every plot function of the lab starts here)."""
    if ax is None:
        _, ax = plt.subplots()
    return ax


def sequence_diagram(
    frames: Mapping[str, pd.DataFrame],
    nodes: list[str],
    ax: Axes | None = None,
    *,
    prefix: str = "net",
    until: float | None = None,
    title: str = "Space-time diagram",
    label_messages: bool | None = None,
) -> Axes:
    """Draw messages between nodes: one vertical line per node, time flowing down.

    Deliveries are arrows from (sender, sent time) to (receiver, arrival time), ending in a dot
    on the receiver's line; a duplicate copy is a dashed orange arrow bent slightly, so it
    does not hide its original. A dropped message is a dashed red line towards its receiver that
    stops short of it in a red cross. With ``label_messages`` (default: when at most 40
    messages are drawn) each arrow carries its message id (``m7``; ``m7 copy``; ``m7 loss``).
    A legend names the three kinds.
    """
    from matplotlib.lines import Line2D

    ax = _axes(ax)
    x = {n: i for i, n in enumerate(nodes)}
    sends = frames[f"{prefix}.sends"]
    deliveries = frames[f"{prefix}.deliveries"]
    drops = frames[f"{prefix}.drops"]
    end = until if until is not None else float(max([*deliveries["time"], *sends["time"], 0.0]))
    for i in x.values():
        ax.plot([i, i], [0, end], color="lightgray", lw=2, zorder=0)
    shown = [
        r
        for r in deliveries.itertuples(index=False)
        if r.src in x and r.dst in x and r.src != r.dst and r.sent_at <= end
    ]
    dropped = [
        r
        for r in drops.itertuples(index=False)
        if r.src in x and r.dst in x and r.src != r.dst and r.time <= end
    ]
    if label_messages is None:
        label_messages = len(shown) + len(dropped) <= 40
    text_box = {"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8}
    for r in shown:
        copy = bool(getattr(r, "copy", 0))
        color = COLORS["warning"] if copy else COLORS["ok"]
        x0, x1 = x[r.src], x[r.dst]
        ax.annotate(
            "",
            xy=(x1, r.time),
            xytext=(x0, r.sent_at),
            arrowprops={
                "arrowstyle": "-|>",
                "color": color,
                "lw": 1,
                "ls": "--" if copy else "-",
                "shrinkA": 0,
                "shrinkB": 3,
                "connectionstyle": "arc3,rad=0.06" if copy else "arc3",
            },
        )
        ax.plot(x1, r.time, "o", color=color, ms=3.5, zorder=3)
        if label_messages:
            # near the receiving end, so the label names the arrow that arrives there
            # (a copy's label sits further back, so it never covers its original's)
            back = 0.62 if copy else 0.22
            lx = x1 - back * np.sign(x1 - x0)
            ly = r.time - back / abs(x1 - x0) * (r.time - r.sent_at)
            text = f"m{r.msg_id} copy" if copy else f"m{r.msg_id}"
            ax.text(lx, ly, text, fontsize=8, color=color, ha="center", va="center", bbox=text_box)
    typical = (
        float((deliveries["time"] - deliveries["sent_at"]).median()) if len(deliveries) else 0.0
    )
    sent_at = sends.drop_duplicates("msg_id").set_index("msg_id")["time"]
    for r in dropped:
        t0 = float(sent_at.get(r.msg_id, r.time))
        t1 = max(float(r.time), t0 + (typical or end * 0.03))
        x0, x1 = x[r.src], x[r.dst]
        mx = x0 + 0.8 * (x1 - x0)  # stops short of the receiver: it never got there
        my = t0 + 0.8 * (t1 - t0)
        ax.plot([x0, mx], [t0, my], ls="--", color=COLORS["faulty"], lw=1)
        ax.plot(mx, my, "x", color=COLORS["faulty"], ms=7, mew=1.5)
        if label_messages:
            ax.text(
                mx,
                my,
                f" m{r.msg_id} {r.reason}",
                fontsize=8,
                color=COLORS["faulty"],
                ha="left" if x1 > x0 else "right",
                va="bottom",
            )
    handles = [
        Line2D(
            [], [], color=COLORS["ok"], marker="o", ms=3.5, lw=1, label="delivered (dot: receiver)"
        ),
        Line2D(
            [],
            [],
            color=COLORS["warning"],
            marker="o",
            ms=3.5,
            lw=1,
            ls="--",
            label="duplicate copy",
        ),
        Line2D([], [], color=COLORS["faulty"], marker="x", ms=7, lw=1, ls="--", label="dropped"),
    ]
    present = [
        bool([r for r in shown if not getattr(r, "copy", 0)]),
        bool([r for r in shown if getattr(r, "copy", 0)]),
        bool(dropped),
    ]
    handles = [h for h, p in zip(handles, present, strict=True) if p]
    if handles:
        ax.legend(
            handles=handles,
            fontsize=9,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.08),
            ncol=len(handles),
            frameon=False,
        )
    ax.set_xticks(range(len(nodes)), labels=nodes)
    ax.set_xlim(-0.5, len(nodes) - 0.5)
    ax.set_ylim(end * 1.02, 0)
    ax.set(title=title, ylabel="time (s) ↓", xlabel="node")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.grid(False)
    return ax


def saga_timeline(
    frames: Mapping[str, pd.DataFrame],
    saga: str,
    ax: Axes | None = None,
    *,
    title: str | None = None,
    legend: bool = True,
) -> Axes:
    """One saga across the services: a lane per participant, time to the right.

    Each command is an arrow from the orchestrator's lane (when it was sent) to the participant
    (when it was handled); each reply a dashed arrow back to the orchestrator (to the decision it
    led to). Markers: green ok, red failed, hollow a duplicate the idempotency key absorbed;
    squares on the top lane are the orchestrator's logged decisions. Only what occurs is in the
    legend; ``legend=False`` leaves it to the caller (one legend for several panels).
    """
    ax = _axes(ax)
    lanes = ["orchestrator", "order", "inventory", "payment", "shipping"]
    y = {name: len(lanes) - 1 - i for i, name in enumerate(lanes)}
    steps = frames["saga_steps"]
    mine = steps[steps["saga"] == saga]
    log = frames.get("sagas")
    decisions = log[log["saga"] == saga] if log is not None and len(log) else None
    messages = frames.get("saga_messages")
    labelled: set[str] = set()

    def once(label: str) -> str | None:
        if label in labelled:
            return None
        labelled.add(label)
        return label

    def arrow(t0: float, y0: float, t1: float, y1: float, style: str, label: str) -> None:
        # the line carries the legend entry, the annotation draws the arrow head
        color = COLORS["neutral"] if style == "-" else COLORS["warning"]
        ax.plot([t0, t1], [y0, y1], color=color, ls=style, lw=0.9, label=once(label))
        ax.annotate(
            "",
            xy=(t1, y1),
            xytext=(t0, y0),
            arrowprops={"arrowstyle": "->", "color": color, "lw": 0.9},
        )

    if messages is not None and len(messages):
        mine_msgs = messages[messages["correlation_id"] == saga].drop_duplicates("event_id")
        sent = mine_msgs[mine_msgs["source"] == "orchestrator"]
        replies = mine_msgs[mine_msgs["source"] != "orchestrator"]
        handled_at = replies.groupby("causation_id")["time"].min()
        for r in sent.itertuples(index=False):
            if r.target not in y or r.event_id not in handled_at.index:
                continue
            handled = float(handled_at[r.event_id])
            arrow(r.time, y["orchestrator"], handled, y[r.target], "-", "command")
            if decisions is not None:
                later = decisions.loc[decisions["time"] >= handled, "time"]
                if len(later):
                    arrow(
                        handled, y[r.target], float(later.min()), y["orchestrator"], "--", "reply"
                    )
    for r in mine.itertuples(index=False):
        color = COLORS["good"] if r.outcome == "ok" else COLORS["faulty"]
        kind = "command done" if r.outcome == "ok" else "command failed"
        ax.plot(
            r.time,
            y[r.service],
            "o",
            color=color,
            mfc="white" if r.duplicate else color,
            ms=8,
            label=once("duplicate (absorbed)" if r.duplicate else kind),
            zorder=3,
        )
        ax.annotate(
            f"{r.command}",
            (r.time, y[r.service]),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=9,
        )
    if decisions is not None:
        ax.plot(
            decisions["time"],
            [y["orchestrator"]] * len(decisions),
            "s",
            color=COLORS["ok"],
            ms=6,
            label="decision logged by the orchestrator",
            zorder=3,
        )
    if legend:
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    ax.set_yticks(list(y.values()), labels=list(y))
    ax.set(title=title or f"Saga {saga}", xlabel="time [s]", ylabel="participant")
    ax.margins(x=0.08)
    ax.set_ylim(-0.6, len(lanes) - 0.5)  # every lane shown, even one this saga never reached
    return ax
