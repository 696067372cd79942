"""What Kafka-style clients and the broker say to each other: one typed message per kind.

As in Kafka's own protocol (``ProduceRequest``, ``FetchRequest``, ``JoinGroupRequest``, ...),
each request a client sends is an object of its own class, and so is each reply. A request
travels as the ``body`` of a :class:`labsim.transport.Request`; the broker looks at its type
with ``match`` and answers with exactly one reply, or with an :class:`ErrorReply` naming the
reason in words (Kafka's error codes). A client that hears nothing before its timeout gets
``None`` from the transport instead of a reply.

=====================  ==========================================  =====================
request                what it asks                                reply
=====================  ==========================================  =====================
:class:`Produce`       append a batch to one partition             :class:`ProduceReply`
:class:`Fetch`         records from these positions on             :class:`FetchReply`
:class:`JoinGroup`     (re)join a consumer group, get partitions   :class:`JoinReply`
:class:`Heartbeat`     "I am alive" (and: is a rebalance on?)      :class:`HeartbeatReply`
:class:`Commit`        remember these positions for the group      :class:`CommitReply`
:class:`OffsetFetch`   the group's committed offsets               :class:`OffsetFetchReply`
:class:`LeaveGroup`    leave the group now                         :class:`LeaveReply`
=====================  ==========================================  =====================

Partitions travel as :data:`~labsim.kafka.assignors.TopicPartition` pairs, as the assignors
return them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labsim.kafka.assignors import TopicPartition
from labsim.kafka.log import Record
from labsim.transport import quick_init

__all__ = [
    "DUPLICATE_SEQUENCE",
    "ILLEGAL_GENERATION",
    "OUT_OF_ORDER_SEQUENCE",
    "REBALANCE_IN_PROGRESS",
    "UNKNOWN_MEMBER_ID",
    "UNKNOWN_TOPIC_OR_PARTITION",
    "Commit",
    "CommitReply",
    "Entry",
    "ErrorReply",
    "Fetch",
    "FetchReply",
    "Fetched",
    "Heartbeat",
    "HeartbeatReply",
    "InPartition",
    "JoinGroup",
    "JoinReply",
    "LeaveGroup",
    "LeaveReply",
    "OffsetFetch",
    "OffsetFetchReply",
    "PartitionOffsets",
    "Position",
    "Produce",
    "ProduceReply",
]

# -- error reasons (the ``reason`` of an ErrorReply) ---------------------------------------
#: Produce: no such topic, or no such partition in it.
UNKNOWN_TOPIC_OR_PARTITION = "unknown-topic-or-partition"
#: Produce (idempotent): a batch older than the last appended one — already in the log.
DUPLICATE_SEQUENCE = "duplicate-sequence"
#: Produce (idempotent): a gap before this batch — an earlier batch is still being retried.
OUT_OF_ORDER_SEQUENCE = "out-of-order-sequence"
#: Commit: the member is not part of the group's current generation (fenced).
ILLEGAL_GENERATION = "illegal-generation"
#: Heartbeat: the coordinator does not know this member (it was dropped).
UNKNOWN_MEMBER_ID = "unknown-member-id"
#: Heartbeat: the group is rebalancing, or moved on to a new generation: rejoin.
REBALANCE_IN_PROGRESS = "rebalance-in-progress"


@quick_init
@dataclass(frozen=True, slots=True)
class ErrorReply:
    """The broker refused a request; ``reason`` is one of the reasons above."""

    reason: str


# -- producing -----------------------------------------------------------------------------
@quick_init
@dataclass(frozen=True, slots=True)
class Entry:
    """One record of a :class:`Produce` batch, before the broker gives it an offset."""

    key: Any
    value: Any
    msg_id: str


@quick_init
@dataclass(frozen=True, slots=True)
class Produce:
    """Append ``entries`` to one partition, in order.

    Attributes:
        producer: The producer's id (idempotent producers: sequences are counted per id).
        topic: Topic name.
        partition: Partition number.
        first_sequence: Sequence number of the first entry (idempotent producers), or ``None``.
        entries: The records of the batch.
    """

    producer: str
    topic: str
    partition: int
    first_sequence: int | None
    entries: tuple[Entry, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class ProduceReply:
    """The batch is in the log at ``offsets`` (one per entry)."""

    offsets: tuple[int, ...]


# -- consuming -----------------------------------------------------------------------------
@quick_init
@dataclass(frozen=True, slots=True)
class InPartition:
    """What concerns one partition of one topic (the fields the classes below start with)."""

    topic: str
    partition: int

    @property
    def tp(self) -> TopicPartition:
        """The ``(topic, partition)`` pair."""
        return (self.topic, self.partition)


@quick_init
@dataclass(frozen=True, slots=True)
class Position(InPartition):
    """An offset in one partition: where to read from, or what to commit."""

    offset: int


@quick_init
@dataclass(frozen=True, slots=True)
class Fetch:
    """Records from each of ``positions`` on, ``max_records`` of them at most in all."""

    positions: tuple[Position, ...]
    max_records: int


@quick_init
@dataclass(frozen=True, slots=True)
class Fetched(InPartition):
    """Records read from one partition, in offset order (never empty)."""

    records: tuple[Record, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class FetchReply:
    """What a :class:`Fetch` found: one :class:`Fetched` per partition that had records."""

    batches: tuple[Fetched, ...]


# -- consumer groups -----------------------------------------------------------------------
@quick_init
@dataclass(frozen=True, slots=True)
class JoinGroup:
    """Join (or rejoin) ``group``; answered when the group's rebalance completes.

    Attributes:
        group: Group id.
        strategy: The member's assignor (the group takes the first member's).
        member: The member id from an earlier :class:`JoinReply`, or ``None`` for a new member.
        topics: The topics the member subscribes to.
        session_timeout: Silence after which the coordinator drops the member (seconds).
        owned: Partitions the member still holds (the cooperative protocol keeps them).
    """

    group: str
    strategy: str
    member: str | None
    topics: tuple[str, ...]
    session_timeout: float
    owned: tuple[TopicPartition, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class JoinReply:
    """The member's id, the group's new generation and the member's partitions in it."""

    member: str
    generation: int
    assignment: tuple[TopicPartition, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Member ``member`` of ``group``, in ``generation``, is alive."""

    group: str
    member: str
    generation: int


@quick_init
@dataclass(frozen=True, slots=True)
class HeartbeatReply:
    """Heard; no rebalance is waiting for this member."""


@quick_init
@dataclass(frozen=True, slots=True)
class Commit:
    """Remember ``offsets`` (the next offset to read, per partition) for ``group``."""

    group: str
    member: str
    generation: int
    offsets: tuple[Position, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class CommitReply:
    """The offsets are committed."""


@quick_init
@dataclass(frozen=True, slots=True)
class OffsetFetch:
    """The committed offsets of ``group`` for ``partitions``."""

    group: str
    partitions: tuple[TopicPartition, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class PartitionOffsets(InPartition):
    """One partition's committed offset (``None``: never committed) and log end offset."""

    committed: int | None
    end: int


@quick_init
@dataclass(frozen=True, slots=True)
class OffsetFetchReply:
    """One :class:`PartitionOffsets` per partition asked for, in the order asked."""

    offsets: tuple[PartitionOffsets, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class LeaveGroup:
    """Member ``member`` leaves ``group`` now (its partitions go to the others)."""

    group: str
    member: str


@quick_init
@dataclass(frozen=True, slots=True)
class LeaveReply:
    """The member is gone."""
