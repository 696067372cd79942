"""The operator's dashboard: six panels drawn from the sampled signals of one run."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labsim.errors import ConfigError
from labsim.plots import COLORS, CYCLE, shade_faults

__all__ = ["PANELS", "plot_dashboard"]

#: The panels, in drawing order: (title, y label).
PANELS = (
    ("Consumer lag per partition", "lag (records)"),
    ("Dead-letter queue depth", "messages waiting"),
    ("Processing time (placed → accepted)", "time (s)"),
    ("Consumer utilisation", "busy fraction"),
    ("Saga states", "sagas (in flight) or sagas/s"),
    ("Read-model age", "oldest unprojected event (s)"),
)


def _columns(metrics: pd.DataFrame, prefix: str) -> list[str]:
    return [c for c in metrics.columns if c.startswith(prefix)]


def plot_dashboard(
    metrics: pd.DataFrame,
    *,
    faults: pd.DataFrame | None = None,
    firings: pd.DataFrame | None = None,
    title: str = "Order pipeline dashboard",
) -> Figure:
    """Draw the six panels of :data:`PANELS` from :func:`dashboard_metrics`' frame.

    Args:
        metrics: The sampled signals (needs every signal of the module table).
        faults: The run's ``faults`` frame, shaded on every panel (leave it out to hide the
            incident, as for the "find the incident" exercise).
        firings: Alert firings (:func:`~labsim.observability.evaluate` rows, with ``rule``
            and ``fired_at``), marked as vertical lines on the panel of their signal's family.
        title: The figure's title.

    Returns:
        The figure (the notebook calls ``plt.show()``).
    """
    needed = ["time", "lag_total", "dlq_depth", "processing_p99_s", "sagas_in_flight",
              "read_model_age_s"]  # fmt: skip
    missing = [c for c in needed if c not in metrics.columns]
    if missing:
        raise ConfigError("metrics", missing, "a dashboard_metrics frame with every signal", title)
    t = metrics["time"]
    fig, axes = plt.subplots(3, 2, figsize=(12, 10), sharex=True)
    flat = axes.ravel()
    lag, dlq, proc, util, sagas, age = flat
    for i, column in enumerate(_columns(metrics, "lag_p")):
        lag.step(t, metrics[column], where="post", color=CYCLE[i % len(CYCLE)], lw=1.2,
                 label=f"partition {column.removeprefix('lag_p')}")  # fmt: skip
    dlq.step(t, metrics["dlq_depth"], where="post", color=COLORS["faulty"], label="emails.dlq")
    proc.plot(t, metrics["processing_p50_s"], color=COLORS["ok"], label="p50")
    proc.plot(t, metrics["processing_p99_s"], color=COLORS["warning"], label="p99")
    proc.set_yscale("log")
    for i, column in enumerate(_columns(metrics, "util_")):
        util.plot(t, metrics[column], color=CYCLE[i % len(CYCLE)],
                  label=f"consumer {column.removeprefix('util_')}")  # fmt: skip
    util.set_ylim(-0.03, 1.03)
    sagas.plot(t, metrics["sagas_in_flight"], color=COLORS["warning"], label="in flight")
    sagas.plot(t, metrics["sagas_done_per_s"], color=COLORS["good"], label="finished per second")
    age.plot(t, metrics["read_model_age_s"], color=COLORS["other"], label="order-status view")
    for ax, (name, ylabel) in zip(flat, PANELS, strict=True):
        ax.set_title(name, fontsize=11)
        ax.set_ylabel(ylabel)
        if faults is not None:
            shade_faults(ax, faults, float(t.max()))
    if firings is not None and len(firings):
        for ax in flat:
            for k, x in enumerate(np.unique(firings["fired_at"].to_numpy(dtype=float))):
                label = "an alert fired" if k == 0 else None
                ax.axvline(x, color=COLORS["ink"], ls=":", lw=0.9, label=label)
    for ax in flat:
        ax.legend(fontsize=8, loc="upper left", ncol=2)
    for ax in flat:
        ax.set_xlabel("time (s)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
