"""Knobs of lesson 07, event design and schema evolution."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, same_as, seed_param
from labsim.scenarios.event_design import CommitGapParams

__all__ = ["NOTEBOOK", "Parameters"]

NOTEBOOK = "07_event_design"


@dataclass(frozen=True)
class Parameters(Params):
    """Event design's parameters cell."""

    context = "07_event_design parameters"

    SEED: int = seed_param(2)
    WRITERS: int = same_as(CommitGapParams, "writers", 4)
    EVENTS: int = same_as(CommitGapParams, "events", 400)
    COMMIT_MS: float = same_as(CommitGapParams, "commit_ms", 20.0)
    WRITER_COUNTS: tuple[int, ...] = same_as(
        CommitGapParams, "writers", (1, 2, 4, 8), doc="writer counts of the gap sweep"
    )
    DAYS: int = param(730, "days of event-store growth in the retention section", ge=120, le=3650)
    ARCHIVE_AFTER: int = param(
        90, "days after an order closes before its events are archived", ge=1, le=3650
    )
