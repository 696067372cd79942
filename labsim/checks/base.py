"""The result type every checker returns."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["CheckResult"]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a checker.

    Attributes:
        name: The checker's name.
        valid: ``True`` when no anomaly was found.
        anomalies: One row per anomaly (an empty frame when valid).
        summary: One line a learner can read.
    """

    name: str
    valid: bool
    anomalies: pd.DataFrame
    summary: str

    def __bool__(self) -> bool:
        return self.valid

    def __str__(self) -> str:
        mark = "OK " if self.valid else "FAIL"
        return f"[{mark}] {self.name}: {self.summary}"

    def __repr__(self) -> str:
        return str(self)
