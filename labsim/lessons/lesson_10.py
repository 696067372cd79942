"""Knobs of lesson 10, the transactional outbox and change data capture."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, same_as, seed_param
from labsim.scenarios.outbox import OutboxParams

NOTEBOOK = "10_outbox_cdc"


@dataclass(frozen=True)
class Parameters(Params):
    """Lesson 10's parameters cell."""

    context = "10_outbox_cdc parameters"

    SEED: int = seed_param(4)
    ORDERS: int = same_as(OutboxParams, "orders", 300)
    CRASH_RATE: float = same_as(OutboxParams, "crash_rate", 0.05)
    LOSS: float = same_as(OutboxParams, "loss", 0.1)
