"""Knobs of lesson 09, sagas and compensation."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, same_as, seed_param
from labsim.scenarios.sagas import SagaParams

NOTEBOOK = "09_sagas"


@dataclass(frozen=True)
class Parameters(Params):
    """Lesson 09's parameters cell."""

    context = "09_sagas parameters"

    SEED: int = seed_param(3)
    SAGAS: int = same_as(SagaParams, "sagas", 100)
    CRASH_RATE: float = same_as(SagaParams, "crash_rate", 0.05)
