"""Checkers for replicated state: convergence after heal, and lost updates."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

import pandas as pd

from labsim.checks.base import CheckResult
from labsim.errors import ConfigError

__all__ = ["check_convergence", "check_lost_updates", "time_to_converge"]


def time_to_converge(divergence: pd.DataFrame, since: float) -> float:
    """Seconds from ``since`` until the replicas hold one state for good (NaN if never)."""
    if "distinct_states" not in divergence.columns:
        raise ConfigError(
            "divergence",
            list(divergence.columns),
            "a frame with time and distinct_states",
            "time_to_converge",
        )
    after = divergence[divergence["time"] >= since]
    if after.empty or after["distinct_states"].iloc[-1] != 1:
        return float("nan")
    diverged = after[after["distinct_states"] != 1]
    if diverged.empty:
        return 0.0
    later = after[after["time"] > diverged["time"].iloc[-1]]
    return float(later["time"].iloc[0] - since)


def check_convergence(divergence: pd.DataFrame, quiet_from: float) -> CheckResult:
    """After ``quiet_from`` (faults healed, writes stopped) the replicas must end equal.

    Args:
        divergence: Samples of ``distinct_states`` over ``time``.
        quiet_from: Start of the quiet phase.

    Returns:
        Valid when the last sample shows one state; anomalies list the diverged samples of
        the quiet phase.
    """
    ttc = time_to_converge(divergence, quiet_from)
    quiet = divergence[divergence["time"] >= quiet_from]
    if quiet.empty:
        raise ConfigError(
            "quiet_from", quiet_from, "a time covered by the samples", "check_convergence"
        )
    final = int(quiet["distinct_states"].iloc[-1])
    anomalies = quiet[quiet["distinct_states"] != 1][["time", "distinct_states"]].reset_index(
        drop=True
    )
    if final == 1:
        return CheckResult(
            "convergence",
            True,
            anomalies.iloc[0:0],
            f"converged {ttc:.2f} s after the quiet phase began",
        )
    return CheckResult(
        "convergence",
        False,
        anomalies,
        f"still {final} distinct replica states at the end of the run",
    )


def check_lost_updates(
    writes: pd.DataFrame, final: Mapping[Hashable, Iterable[Hashable]]
) -> CheckResult:
    """Acknowledged additions missing from the final state.

    Args:
        writes: Acknowledged writes with ``key`` and ``item`` (what each write added).
        final: key -> the final collection of items (read after convergence).
    """
    missing = {"key", "item"} - set(writes.columns)
    if missing:
        raise ConfigError(
            "writes", list(writes.columns), f"a frame with {sorted(missing)}", "check_lost_updates"
        )
    acked = writes.dropna(subset=["item"])
    present = {k: set(v or ()) for k, v in final.items()}
    lost = acked[
        [
            item not in present.get(key, set())
            for key, item in zip(acked["key"], acked["item"], strict=True)
        ]
    ]
    anomalies = lost.reset_index(drop=True)
    return CheckResult(
        "lost updates",
        anomalies.empty,
        anomalies,
        f"{len(acked)} acknowledged additions, {len(anomalies)} missing at the end",
    )
