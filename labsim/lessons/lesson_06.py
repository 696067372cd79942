"""Knobs of lesson 06, event sourcing."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, seed_param

__all__ = ["NOTEBOOK", "Parameters"]

NOTEBOOK = "06_event_sourcing"


@dataclass(frozen=True)
class Parameters(Params):
    """Event sourcing's parameters cell."""

    context = "06_event_sourcing parameters"

    SEED: int = seed_param(1)
    DEPOSITS: int = param(12, "deposits in the temporal-query example (one a day)", ge=1, le=1000)
    HISTORY: int = param(
        1234, "events in the aggregate of the snapshot experiment", ge=1, le=100_000
    )
    SNAPSHOT_INTERVALS: tuple[int, ...] = param(
        (10, 50, 100, 250, 500), "snapshot every N events, one point each", ge=1, le=100_000
    )
