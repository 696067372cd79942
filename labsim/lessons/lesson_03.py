"""Knobs of lesson 03, delivery semantics, retries, dead letters and idempotency."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, same_as, seed_param
from labsim.scenarios.delivery import DeliveryParams
from labsim.scenarios.late_duplicate import LateDuplicateParams

NOTEBOOK = "03_delivery_semantics"


@dataclass(frozen=True)
class Parameters(Params):
    """Lesson 03's parameters cell."""

    context = "03_delivery_semantics parameters"

    SEED: int = seed_param(2)
    MESSAGES: int = same_as(DeliveryParams, "messages", 500)
    SEEDS: int = param(3, "seeds for the comparison table", ge=1, le=100)
    RETENTION: float = same_as(LateDuplicateParams, "retention", 10.0)
