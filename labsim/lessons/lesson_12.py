"""Knobs of lesson 12, scaling, backpressure and queueing theory."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, same_as, seed_param, specs
from labsim.scenarios.groups import GroupParams
from labsim.scenarios.queueing import QueueingParams
from labsim.scenarios.scaling import BackpressureParams

NOTEBOOK = "12_scaling_and_backpressure"


@dataclass(frozen=True)
class Parameters(Params):
    """Lesson 12's parameters cell."""

    context = "12_scaling_and_backpressure parameters"

    SEED: int = seed_param(11)
    SERVICE_RATE: float = same_as(QueueingParams, "service_rate", 1.0)
    POOL: int = same_as(QueueingParams, "consumers", 4)
    ARRIVAL_RATES: tuple[float, ...] = param(
        (1.0, 2.0, 3.0, 3.4, 3.7),
        "λ values for the Erlang C comparison (each below POOL x SERVICE_RATE)",
        gt=0,
        le=1e6,
        unit="1/s",
    )
    MESSAGES: int = same_as(QueueingParams, "messages", 8000)
    GRID: tuple[int, ...] = param(
        (1, 2, 3, 6),
        "partitions and consumers for the lag heatmap",
        ge=1,
        # Each value is both a partition count and a consumer count.
        le=min(specs(GroupParams)["partitions"].le, specs(GroupParams)["consumers"].le),
    )
    OVERLOAD: float = same_as(BackpressureParams, "arrival_rate", 12.0)
    CAPACITY: int = same_as(BackpressureParams, "capacity", 20)

    def check(self) -> None:
        capacity = self.POOL * self.SERVICE_RATE
        if max(self.ARRIVAL_RATES) >= capacity:
            raise self.error(
                "ARRIVAL_RATES", f"rates below POOL x SERVICE_RATE = {capacity:g} (a stable queue)"
            )
