"""What every scenario returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Result"]


@dataclass(frozen=True)
class Result:
    """A finished scenario run.

    Attributes:
        scenario: Scenario name.
        params: The validated parameters (a frozen dataclass).
        seed: The seed of the run.
        summary: Headline figures (a dict of numbers) — what a sweep collects.
        frames: Every recorded table as a DataFrame.
        plan: The :class:`~labsim.faults.FaultPlan` the run applied (``None`` if it had none).
    """

    scenario: str
    params: Any
    seed: int
    summary: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(repr=False)
    plan: Any = field(default=None, repr=False)

    def __getattr__(self, name: str) -> Any:
        # Summary figures read as attributes too: ``result.delivered_fraction``.
        summary = object.__getattribute__(self, "summary")
        if name in summary:
            return summary[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or summary figure {name!r}")

    def summary_frame(self) -> pd.DataFrame:
        """The summary as a one-row DataFrame (with the seed)."""
        return pd.DataFrame([{"seed": self.seed, **self.summary}])
