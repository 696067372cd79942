"""The architecture of the joint order pipeline: every choice, declared once.

An architecture file (``data/architectures/*.yaml``) is a named parameter file of the
``pipeline`` scenario: its ``params`` name these choices, read by their declared type, and an
unknown choice or value is a :class:`~labsim.ConfigError` naming the file and the line.

The first group of parameters is the **design** (what a team decides); the second is the
**workload and the chaos** every design faces (the same for every team in a workshop).
"""

from __future__ import annotations

from dataclasses import dataclass

from labsim.amqp.retry import RETRY_KINDS
from labsim.amqp.workers import ACK_MODES
from labsim.outbox import DESIGNS
from labsim.params import Params, param

__all__ = ["DESIGN_CHOICES", "READ_STRATEGIES", "SAGA_STYLES", "TRANSPORTS", "PipelineDesign"]

#: How the order saga is coordinated.
SAGA_STYLES = ("orchestration", "choreography")
#: What carries the events: RabbitMQ-style queues or a Kafka-style topic.
TRANSPORTS = ("queue", "topic")
#: How a client reads its own order back from the read model.
READ_STRATEGIES = ("none", "sync", "wait-for-version")


@dataclass(frozen=True)
class PipelineDesign(Params):
    """One architecture of the order pipeline and the workload it faces."""

    context = "pipeline architecture"

    # -- the design ------------------------------------------------------------------------
    publishing: str = param(
        "dual-write", "how the order service publishes its events", choices=DESIGNS
    )
    transport: str = param(
        "queue",
        "queue: a RabbitMQ-style queue per stage; topic: a Kafka-style topic, a group per stage",
        choices=TRANSPORTS,
    )
    partitions: int = param(
        4, "topic transport: partitions of each topic", ge=1, le=256, soft_max=16
    )
    payment_consumers: int = param(
        1, "payment consumers competing for the payments queue", ge=1, le=64, soft_max=8
    )
    inventory_consumers: int = param(
        1, "inventory consumers competing for the inventory queue", ge=1, le=64, soft_max=8
    )
    inbox: bool = param(False, "consumers remember processed event ids (idempotent effects)")
    commit: str = param(
        "after",
        "when consumers acknowledge: after the side effect (at-least-once) or before it",
        choices=ACK_MODES,
    )
    retry: str = param("none", "what a consumer does after a failed attempt", choices=RETRY_KINDS)
    dlq: bool = param(False, "park messages that exhaust their retries in a dead-letter queue")
    saga: str = param("orchestration", "how the order saga is coordinated", choices=SAGA_STYLES)
    saga_log: bool = param(
        False, "orchestration: keep the saga's state in a durable log (survives crashes)"
    )
    checkpoint_every: int = param(
        50, "projector acknowledges (checkpoints) every N events", ge=1, le=10_000, soft_max=100
    )
    read_strategy: str = param(
        "none", "how a client reads its own order back", choices=READ_STRATEGIES
    )

    # -- the workload and the chaos --------------------------------------------------------
    orders: int = param(200, "orders placed", ge=1, le=100_000, soft_max=1000)
    rate: float = param(20.0, "orders placed per second", gt=0, le=1e4, unit="1/s")
    processing_ms: float = param(
        40.0,
        "mean time a payment or inventory consumer spends on one event",
        gt=0,
        le=1e5,
        unit="ms",
    )
    out_of_stock: float = param(
        0.1,
        "share of orders the inventory rejects (the saga must refund them)",
        ge=0,
        le=1,
        step=0.05,
    )
    crash_rate: float = param(
        0.02,
        "probability the order service crashes at a step boundary (fault phase)",
        ge=0,
        le=1,
        step=0.01,
    )
    loss: float = param(
        0.1,
        "loss on the order service–broker link during the fault phase",
        ge=0,
        le=1,
        step=0.05,
    )
    transient: float = param(
        0.05,
        "probability a consumer's attempt fails for a passing reason",
        ge=0,
        le=1,
        step=0.01,
    )
    crash_after_effect: float = param(
        0.03,
        "probability a consumer crashes after its effect, before acknowledging",
        ge=0,
        le=1,
        step=0.01,
    )
    chaos_intensity: float = param(
        0.5, "mean number of consumers crashed at once during the fault phase", gt=0, le=100
    )
    faults: str | None = param(
        None, "a fault-plan YAML file to use instead of the built-in chaos plan"
    )

    @property
    def fault_phase(self) -> float:
        """End of the fault phase: when the last order is expected."""
        return self.orders / self.rate

    @property
    def duration(self) -> float:
        """Simulated seconds of a run: the fault phase, then time to heal and drain."""
        return self.fault_phase + 15.0


#: The design's choices (the first group of :class:`PipelineDesign`'s parameters).
DESIGN_CHOICES = (
    "publishing",
    "transport",
    "partitions",
    "payment_consumers",
    "inventory_consumers",
    "inbox",
    "commit",
    "retry",
    "dlq",
    "saga",
    "saga_log",
    "checkpoint_every",
    "read_strategy",
)
