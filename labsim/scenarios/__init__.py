"""Ready-made scenarios, one per lesson: ``run(params, seed) -> Result``.

Each scenario module has a frozen, validated parameter dataclass, a ``run`` function and a
``figures(params, seed)`` function for sweeps; the same functions serve notebooks, sweeps, the
command line and tests. :data:`SCENARIOS` lists them by name.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from labsim.errors import ConfigError

__all__ = ["SCENARIOS", "ScenarioInfo", "get"]


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario's name, module, parameter class and one-line description."""

    name: str
    module: str
    params: str
    description: str

    def load(self) -> ModuleType:
        """Import the scenario's module."""
        return importlib.import_module(f"labsim.scenarios.{self.module}")

    def params_class(self) -> type:
        """The parameter dataclass."""
        return getattr(self.load(), self.params)

    def defaults(self) -> dict[str, Any]:
        """Parameter names and default values."""
        return {
            f.name: f.default if f.default is not dataclasses.MISSING else None
            for f in dataclasses.fields(self.params_class())
        }


SCENARIOS: dict[str, ScenarioInfo] = {
    s.name: s
    for s in (
        ScenarioInfo(
            "network",
            "network",
            "NetworkParams",
            "nodes messaging each other through latency, loss and a partition (lesson 00)",
        ),
        ScenarioInfo(
            "groups",
            "groups",
            "GroupParams",
            "a consumer group on a keyed topic while a member crashes (lesson 02)",
        ),
        ScenarioInfo(
            "queueing",
            "queueing",
            "QueueingParams",
            "an M/M/c workload through a work queue, against Erlang C (lesson 10)",
        ),
        ScenarioInfo(
            "delivery",
            "delivery",
            "DeliveryParams",
            "at-most-once / at-least-once / +inbox under a chaos plan (lesson 03)",
        ),
        ScenarioInfo(
            "cqrs",
            "cqrs",
            "CQRSParams",
            "read-model lag under bursty load and read-your-writes strategies (lesson 06)",
        ),
        ScenarioInfo(
            "sagas",
            "sagas",
            "SagaParams",
            "an order saga, orchestrated or choreographed, under crashes (lesson 07)",
        ),
        ScenarioInfo(
            "outbox",
            "outbox",
            "OutboxParams",
            "dual write versus outbox versus CDC under crashes (lesson 08)",
        ),
        ScenarioInfo(
            "conflicts",
            "conflicts",
            "ConflictParams",
            "a replicated cart under LWW, version vectors or CRDTs (lesson 09)",
        ),
        ScenarioInfo(
            "capstone",
            "capstone",
            "CapstoneDesign",
            "the workshop capstone: a whole order pipeline scored against targets",
        ),
    )
}


def get(name: str) -> ScenarioInfo:
    """The scenario ``name`` (ConfigError listing the scenarios if unknown)."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ConfigError("scenario", name, f"one of {', '.join(SCENARIOS)}") from None
