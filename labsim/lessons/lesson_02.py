"""Knobs of lesson 02, consumer groups."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, same_as, seed_param, specs
from labsim.scenarios.groups import GroupParams

NOTEBOOK = "02_consumer_groups"


@dataclass(frozen=True)
class Parameters(Params):
    """Lesson 02's parameters cell."""

    context = "02_consumer_groups parameters"

    SEED: int = seed_param(3)
    PARTITIONS: int = same_as(GroupParams, "partitions", 6)
    CONSUMERS: int = same_as(GroupParams, "consumers", 3)
    CRASH_AT: float = same_as(GroupParams, "crash_at", 8.0, doc="when member c1 crashes")
    SESSION_TIMEOUT: float = same_as(GroupParams, "session_timeout", 3.0)
    COMMIT_SEEDS: int = param(4, "seeds per commit policy in the comparison table", ge=1, le=100)

    def check(self) -> None:
        # The lesson's runs keep the scenario's heartbeat interval.
        heartbeat = specs(GroupParams)["heartbeat_interval"].default
        if heartbeat >= self.SESSION_TIMEOUT:
            raise self.error("SESSION_TIMEOUT", f"more than the heartbeat interval ({heartbeat} s)")
