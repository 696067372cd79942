"""Knobs of lesson 11, conflict resolution and CRDTs."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, same_as, seed_param
from labsim.scenarios.conflicts import ConflictParams

__all__ = ["NOTEBOOK", "Parameters"]

NOTEBOOK = "11_conflict_resolution"


@dataclass(frozen=True)
class Parameters(Params):
    """Conflict resolution's parameters cell."""

    context = "11_conflict_resolution parameters"

    SEED: int = seed_param(5)
    REPLICAS: int = same_as(ConflictParams, "replicas", 3)
    WRITES: int = same_as(ConflictParams, "writes", 60)
    SKEWS: tuple[float, ...] = same_as(
        ConflictParams, "skew", (0.0, 0.25, 0.5, 1.0, 2.0, 4.0), doc="clock skews of r1 to sweep"
    )
    SEEDS: int = param(3, "seeds per point in sweeps", ge=1, le=100)
    PARTITION: tuple[float, ...] = param(
        (3.0, 12.0), "start and end of r1's partition", ge=0, le=1e6, unit="s"
    )

    def check(self) -> None:
        start, *rest = self.PARTITION
        if len(rest) != 1 or rest[0] <= start:
            raise self.error("PARTITION", "(start, end) with end after start")
