"""Printing a graded report, its compact trace and its space-time diagram."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from labsim.challenges.grade import Case, Report
from labsim.plots.palette import COLORS, FAULT_COLORS

__all__ = ["draw", "format_report", "replay_command", "trace_text"]


def _value(v: float) -> str:
    if math.isnan(v):
        return "nan"
    return f"{v:g}" if v == int(v) else f"{v:.3f}"


def replay_command(report: Report, file: str = "FILE.py", plan_file: str = "PLAN.yaml") -> str:
    """The command that replays the reported failing case exactly."""
    case = report.failure
    assert case is not None
    return (
        f"labsim challenge check {report.challenge.name} {file} "
        f"--seed {case.seed} --plan {plan_file} --messages {case.size}"
    )


def trace_text(case: Case, limit: int = 40) -> str:
    """The case as a few lines: faults, sends, drops and the learner's steps, in time order."""
    f = case.outcome.frames
    rows: list[tuple[float, int, str]] = []
    faults = f.get("faults", pd.DataFrame())
    for r in faults.itertuples(index=False):
        rows.append((r.time, 0, f"fault   {r.kind} {r.action} {r.target}"))
    steps = f.get("challenge.steps", pd.DataFrame())
    for r in steps.itertuples(index=False):
        detail = f" {r.detail}" if r.detail else ""
        rows.append((r.time, 1, f"{r.node:<9} {r.step}{detail}"))
    for r in f.get("net.drops", pd.DataFrame()).itertuples(index=False):
        rows.append((r.time, 2, f"net     {r.src}->{r.dst} dropped ({r.reason})"))
    dup = f.get("net.deliveries", pd.DataFrame())
    for r in dup[dup["copy"] > 0].itertuples(index=False) if len(dup) else []:
        rows.append((r.time, 2, f"net     {r.src}->{r.dst} duplicate copy arrived"))
    rows.sort(key=lambda r: (r[0], r[1]))
    lines = [f"{t:7.3f}  {text}" for t, _, text in rows]
    if len(lines) > limit:
        head, tail = limit // 4, limit - limit // 4
        hidden = len(lines) - head - tail
        lines = [*lines[:head], f"    ... {hidden} rows ...", *lines[-tail:]]
    return "\n".join(lines)


def format_report(
    report: Report, file: str = "FILE.py", plan_file: str = "PLAN.yaml", trace: bool = True
) -> str:
    """The report as text (no wall-clock times: the same case prints the same bytes)."""
    ch = report.challenge
    lines = [f"challenge {ch.name} (lesson {ch.lesson}): {ch.goal}", f"invariant: {ch.invariant}"]
    if report.error is not None:
        lines += ["", "ERROR in your class:", report.error, "", "result: FAIL"]
        return "\n".join(lines)
    if report.laws is not None:
        lines.append(f"laws: {report.laws}")
        if not report.laws.valid and len(report.laws.anomalies):
            lines.append(report.laws.anomalies.to_string(index=False))
    mode = (
        f"{report.runs} exhaustive crash placements"
        if report.mode == "exhaustive"
        else f"{report.runs} seeded chaos run(s)"
    )
    lines.append(f"runs: {mode}")
    case = report.failure
    shown = case.outcome.figures if case is not None else report.figures
    for t in ch.targets:
        value = shown.get(t.figure, math.nan)
        mark = "ok  " if t.holds(value) else "FAIL"
        lines.append(f"  [{mark}] {t!s:<28} measured {_value(value):<8} {t.text}")
    if case is None:
        lines += ["", "result: PASS" if report.passed else "result: FAIL"]
        return "\n".join(lines)
    orig = report.original
    assert orig is not None
    lines += [
        "",
        f"first failure: seed {orig.seed}, {len(orig.plan)} fault(s), {orig.size} messages",
        f"shrunk to: seed {case.seed}, {len(case.plan)} fault(s), {case.size} messages "
        f"(broken: {', '.join(case.broken)})",
    ]
    for check in case.outcome.checks:
        if not check.valid:
            lines.append(str(check))
            lines.append(check.anomalies.head(8).to_string(index=False))
    lines += ["", str(case.plan), "", "plan as YAML:", case.plan.to_yaml().rstrip() or "[]"]
    if trace:
        lines += ["", "trace:", trace_text(case)]
    lines += ["", "replay: " + replay_command(report, file, plan_file), "", "result: FAIL"]
    return "\n".join(lines)


def draw(case: Case, path: str | Path | None = None, title: str = "") -> object:
    """A space-time diagram of ``case``: messages, the learner's steps and crashes.

    Saves a PNG at ``path`` when given (matplotlib's Agg backend); returns the figure.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from labsim.plots import sequence_diagram

    out = case.outcome
    steps = out.frames.get("challenge.steps", pd.DataFrame(columns=["time", "node", "step"]))
    faults = out.frames.get("faults", pd.DataFrame(columns=["time", "kind", "action", "target"]))
    starts = faults[(faults["action"] == "start") & ~faults["kind"].isin(("heal", "restart"))]
    # Time runs down to the last thing that happened, not to the end of the run's drain.
    times = [out.frames[f"net.{t}"]["time"] for t in ("sends", "deliveries", "drops")]
    last = max(
        (float(t.max()) for t in [*times, steps["time"], starts["time"]] if len(t)), default=0
    )
    fig, ax = plt.subplots(figsize=(6, 6))
    # Unlabelled arrows: the network numbers its messages otherwise than the report's ids.
    sequence_diagram(
        out.frames,
        out.nodes,
        ax=ax,
        until=min(out.end, 1.1 * last) or out.end,
        title=title or "Shrunk case",
        label_messages=False,
    )
    x = {n: i for i, n in enumerate(out.nodes)}
    crashed = False
    for r in steps.itertuples(index=False):
        if r.node in x:
            crash = r.step == "crash"
            crashed |= crash
            ax.plot(
                x[r.node],
                r.time,
                "X" if crash else ".",
                color=COLORS["faulty"] if crash else "black",
            )
    kinds = ax.get_legend()
    handles = list(kinds.legend_handles) if kinds else []
    labels = [t.get_text() for t in kinds.get_texts()] if kinds else []
    for r in starts.itertuples(index=False):
        text = f"{r.kind} on {r.target} from {r.time:.2f} s"
        color = FAULT_COLORS.get(r.kind, COLORS["faulty"])
        handles.append(ax.axhline(r.time, color=color, lw=1, ls=":", label=text))
        labels.append(text)
    if handles:
        ax.legend(handles, labels, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.02))
    ax.set_xlabel("node (dots: steps of your class" + ("; X: crash)" if crashed else ")"))
    if path is not None:
        fig.savefig(path, dpi=80, bbox_inches="tight")
    return fig
