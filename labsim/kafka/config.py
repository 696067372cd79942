"""Settings of the Kafka-style clients, with the names of Kafka's own client settings.

:class:`ProducerConfig` and :class:`ConsumerConfig` check their values when made, so a bad
setting fails at once with a :class:`~labsim.errors.ConfigError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labsim.dists import Constant, Distribution, as_distribution
from labsim.errors import (
    ConfigError,
    check_choice,
    check_int,
    check_non_negative,
    check_positive,
)
from labsim.kafka.assignors import ASSIGNORS, rebalance_protocol

__all__ = ["COMMIT_POLICIES", "ConsumerConfig", "ProducerConfig"]

#: When a consumer commits: after processing a batch, before it, or every interval.
COMMIT_POLICIES = ("after", "before", "auto")


@dataclass(frozen=True)
class ProducerConfig:
    """Producer settings (Kafka names in brackets).

    Attributes:
        request_timeout: Seconds to wait for an acknowledgement (``request.timeout.ms``).
        retries: Retries after the first attempt before giving up (``retries``).
        retry_backoff: Seconds to wait before a retry (``retry.backoff.ms``).
        idempotent: Producer id + sequence numbers (``enable.idempotence``).
        linger: Seconds to wait for more records before sending a batch (``linger.ms``).
        batch_size: Records per batch at most (``batch.size``, in records here).
        max_in_flight: Unacknowledged requests at once (``max.in.flight.requests...``).
        null_key: How records without a key are spread: ``"sticky"`` or ``"round-robin"``.
    """

    request_timeout: float = 0.5
    retries: int = 5
    retry_backoff: float = 0.1
    idempotent: bool = False
    linger: float = 0.0
    batch_size: int = 16
    max_in_flight: int = 5
    null_key: str = "sticky"

    def __post_init__(self) -> None:
        check_positive("request_timeout", self.request_timeout, "Producer")
        check_int("retries", self.retries, 0, "Producer")
        check_non_negative("retry_backoff", self.retry_backoff, "Producer")
        check_non_negative("linger", self.linger, "Producer")
        check_int("batch_size", self.batch_size, 1, "Producer")
        check_int("max_in_flight", self.max_in_flight, 1, "Producer")


@dataclass(frozen=True)
class ConsumerConfig:
    """Consumer settings (Kafka names in brackets; Kafka's defaults where sensible).

    Attributes:
        group: Consumer group id (``group.id``).
        strategy: Assignor (``partition.assignment.strategy``); ``cooperative-sticky`` selects
            the cooperative rebalance protocol.
        commit: ``"after"``, ``"before"`` or ``"auto"`` (see :mod:`labsim.kafka.consumer`).
        auto_commit_interval: Seconds between auto-commits (``auto.commit.interval.ms``).
        max_poll_records: Records per poll at most (``max.poll.records``).
        processing: Processing time per record (a distribution or seconds).
        heartbeat_interval: Seconds between heartbeats (``heartbeat.interval.ms``).
        session_timeout: Silence before the coordinator drops a member (``session.timeout.ms``).
        max_poll_interval: Longest allowed gap between polls (``max.poll.interval.ms``).
        request_timeout: Seconds to wait for any broker response.
        fetch_wait: Seconds to wait before polling again after an empty poll.
        auto_offset_reset: Where to start without a committed offset: ``"earliest"``/``"latest"``.
    """

    group: str = "group"
    strategy: str = "range"
    commit: str = "after"
    auto_commit_interval: float = 5.0
    max_poll_records: int = 500
    processing: Distribution | float = field(default_factory=lambda: Constant(0.001))
    heartbeat_interval: float = 3.0
    session_timeout: float = 45.0
    max_poll_interval: float = 300.0
    request_timeout: float = 0.5
    fetch_wait: float = 0.05
    auto_offset_reset: str = "earliest"

    def __post_init__(self) -> None:
        c = "Consumer"
        check_choice("strategy", self.strategy, ASSIGNORS, c)
        check_choice("commit", self.commit, COMMIT_POLICIES, c)
        check_choice("auto_offset_reset", self.auto_offset_reset, ("earliest", "latest"), c)
        check_positive("auto_commit_interval", self.auto_commit_interval, c)
        check_int("max_poll_records", self.max_poll_records, 1, c)
        object.__setattr__(self, "processing", as_distribution(self.processing, "processing"))
        check_positive("heartbeat_interval", self.heartbeat_interval, c)
        check_positive("session_timeout", self.session_timeout, c)
        check_positive("max_poll_interval", self.max_poll_interval, c)
        check_positive("request_timeout", self.request_timeout, c)
        check_positive("fetch_wait", self.fetch_wait, c)
        if self.heartbeat_interval >= self.session_timeout:
            raise ConfigError(
                "heartbeat_interval",
                self.heartbeat_interval,
                f"less than session_timeout ({self.session_timeout})",
                c,
            )

    @property
    def protocol(self) -> str:
        """The rebalance protocol of :attr:`strategy` (``"eager"`` or ``"cooperative"``)."""
        return rebalance_protocol(self.strategy)
