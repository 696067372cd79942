"""Knobs of lesson 04, network faults and the checkers that catch them."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, same_as, seed_param
from labsim.scenarios.network import NetworkParams

NOTEBOOK = "04_network_faults"


@dataclass(frozen=True)
class Parameters(Params):
    """Lesson 04's parameters cell."""

    context = "04_network_faults parameters"

    SEED: int = seed_param(8)
    RATE: float = same_as(NetworkParams, "rate", 30.0)
    DURATION: float = same_as(NetworkParams, "duration", 6.0)
    LOSS: float = same_as(NetworkParams, "loss", 0.1)
    DUPLICATE: float = same_as(NetworkParams, "duplicate", 0.1)
