"""Knobs of lesson 15, the capstone: the design's parameters, one knob each."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, same_as, seed_param
from labsim.scenarios.capstone import CapstoneDesign

__all__ = ["NOTEBOOK", "Parameters"]

NOTEBOOK = "15_capstone"


@dataclass(frozen=True)
class Parameters(Params):
    """The capstone's parameters cell."""

    context = "15_capstone parameters"

    SEED: int = seed_param(1)
    PARTITIONS: int = same_as(CapstoneDesign, "partitions", 3)
    CONSUMERS: int = same_as(CapstoneDesign, "consumers", 3)
    STRATEGY: str = same_as(CapstoneDesign, "strategy", "range")
    COMMIT: str = same_as(CapstoneDesign, "commit", "auto")
    SESSION_TIMEOUT: float = same_as(CapstoneDesign, "session_timeout", 10.0)
    SEMANTICS: str = same_as(CapstoneDesign, "semantics", "at-least-once")
    PUBLISHING: str = same_as(CapstoneDesign, "publishing", "dual-write")
    SAGA_STYLE: str = same_as(CapstoneDesign, "saga_style", "orchestration")
    SAGA_LOG: bool = same_as(CapstoneDesign, "saga_log", False)
    READ_STRATEGY: str = same_as(CapstoneDesign, "read_strategy", "none")
    CHECKPOINT_EVERY: int = same_as(CapstoneDesign, "checkpoint_every", 50)
    ROBUSTNESS_SEEDS: tuple[int, ...] = param(
        (1, 2, 3), "seeds for the final check", ge=0, le=2**63 - 1
    )
