"""Knobs of lesson 05, RabbitMQ in depth and brokers compared."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, same_as, seed_param
from labsim.scenarios.brokers_compared import CompareParams
from labsim.scenarios.rabbitmq import PrefetchParams

__all__ = ["NOTEBOOK", "Parameters"]

NOTEBOOK = "05_rabbitmq_and_brokers"


@dataclass(frozen=True)
class Parameters(Params):
    """RabbitMQ and brokers compared: the parameters cell."""

    context = "05_rabbitmq_and_brokers parameters"

    SEED: int = seed_param(1)
    PREFETCHES: tuple[int, ...] = same_as(
        PrefetchParams,
        "prefetch",
        (1, 2, 5, 10, 30, 100, 300),
        doc="prefetch values of the fast-and-slow-consumers sweep",
    )
    BACKLOG: int = same_as(PrefetchParams, "messages", 600)
    SLOW_MS: float = same_as(PrefetchParams, "slow_ms", 20.0)
    MESSAGES: int = same_as(CompareParams, "messages", 300)
    FAILURE: float = same_as(CompareParams, "failure", 0.1)
