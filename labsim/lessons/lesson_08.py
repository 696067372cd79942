"""Knobs of lesson 08, CQRS and read-model lag."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, same_as, seed_param
from labsim.scenarios.cqrs import CQRSParams

__all__ = ["NOTEBOOK", "Parameters"]

NOTEBOOK = "08_cqrs_lag"


@dataclass(frozen=True)
class Parameters(Params):
    """CQRS lag's parameters cell."""

    context = "08_cqrs_lag parameters"

    SEED: int = seed_param(4)
    RATE: float = same_as(CQRSParams, "rate", 40.0)
    BURST_FACTOR: float = same_as(CQRSParams, "burst_factor", 4.0)
    PROCESSING_MS: float = same_as(CQRSParams, "processing_ms", 5.0)
    LOAD_RATES: tuple[float, ...] = same_as(
        CQRSParams,
        "rate",
        (10.0, 30.0, 50.0, 70.0, 85.0, 95.0),
        doc="steady rates for the lag-versus-load sweep",
    )
    CRASH_AT: float = same_as(
        CQRSParams, "crash_at", 12.0, doc="when the projector crashes in section 5"
    )
