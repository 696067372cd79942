"""Knobs of lesson 13, observability: operating an event-driven system."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, same_as, seed_param
from labsim.scenarios.observability import ObservabilityParams

__all__ = ["NOTEBOOK", "Parameters"]

NOTEBOOK = "13_observability"


@dataclass(frozen=True)
class Parameters(Params):
    """Observability's parameters cell."""

    context = "13_observability parameters"

    SEED: int = seed_param(13)
    RATE: float = same_as(ObservabilityParams, "rate", 20.0, ge=5, gt=None, le=40, soft_max=None)
    INCIDENT_AT: float = same_as(
        ObservabilityParams, "incident_at", 20.0, ge=10, le=40, soft_max=None
    )
    INCIDENT_FOR: float = same_as(
        ObservabilityParams,
        "incident_for",
        10.0,
        ge=5,
        gt=None,
        le=20,
        soft_max=None,
        doc="how long each incident lasts (section 3 is about incidents shorter than 30 s)",
    )
    DLQ_LIMIT: int = param(5, "the naive alert's dead-letter depth threshold", ge=1, le=20)
