"""Knobs of lesson 00, the tour."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, same_as, seed_param
from labsim.scenarios.network import NetworkParams

NOTEBOOK = "00_tour"


@dataclass(frozen=True)
class Parameters(Params):
    """The tour's parameters cell."""

    context = "00_tour parameters"

    SEED: int = seed_param(42)
    NODES: int = same_as(NetworkParams, "nodes", 4)
    RATE: float = same_as(NetworkParams, "rate", 50.0)
    DURATION: float = same_as(NetworkParams, "duration", 10.0)
    LATENCY_MS: float = same_as(NetworkParams, "latency_ms", 5.0)
    PARTITION: tuple[float, ...] = param(
        (3.0, 6.0), "start and end of the partition", ge=0, unit="s"
    )
    SWEEP_LOSSES: tuple[float, ...] = param(
        (0.0, 0.1, 0.2, 0.3, 0.4, 0.5), "loss probabilities for the sweep", ge=0, le=1
    )
    SWEEP_SEEDS: int = param(3, "seeds per loss probability", ge=1, le=100)

    def check(self) -> None:
        if self.NODES % 2:
            raise self.error("NODES", "an even number (the partition cuts it into two halves)")
        start, *rest = self.PARTITION
        if len(rest) != 1 or rest[0] <= start:
            raise self.error("PARTITION", "(start, end) with end after start")
