"""Knobs of lesson 15, the capstone: the architecture's choices, one knob each."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, same_as, seed_param
from labsim.scenarios.pipeline import PipelineDesign

__all__ = ["NOTEBOOK", "Parameters"]

NOTEBOOK = "15_capstone"


@dataclass(frozen=True)
class Parameters(Params):
    """The capstone's parameters cell."""

    context = "15_capstone parameters"

    SEED: int = seed_param(1)
    PUBLISHING: str = same_as(PipelineDesign, "publishing", "dual-write")
    TRANSPORT: str = same_as(PipelineDesign, "transport", "queue")
    PARTITIONS: int = same_as(PipelineDesign, "partitions", 4)
    PAYMENT_CONSUMERS: int = same_as(PipelineDesign, "payment_consumers", 1)
    INVENTORY_CONSUMERS: int = same_as(PipelineDesign, "inventory_consumers", 1)
    INBOX: bool = same_as(PipelineDesign, "inbox", False)
    COMMIT: str = same_as(PipelineDesign, "commit", "after")
    RETRY: str = same_as(PipelineDesign, "retry", "none")
    DLQ: bool = same_as(PipelineDesign, "dlq", False)
    SAGA: str = same_as(PipelineDesign, "saga", "orchestration")
    SAGA_LOG: bool = same_as(PipelineDesign, "saga_log", False)
    CHECKPOINT_EVERY: int = same_as(PipelineDesign, "checkpoint_every", 50)
    READ_STRATEGY: str = same_as(PipelineDesign, "read_strategy", "none")
    ROBUSTNESS_SEEDS: tuple[int, ...] = param(
        (1, 2, 3), "seeds for the final check", ge=0, le=2**63 - 1
    )
    SWEEP_ORDERS: int = param(
        100, "orders per run of the design sweep (smaller: quicker)", ge=10, le=100_000
    )
