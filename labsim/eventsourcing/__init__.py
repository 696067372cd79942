"""Event sourcing and CQRS: event stores, aggregates, snapshots, upcasting, projections.

Contract: :class:`InMemoryEventStore`, :class:`SqliteEventStore`, ``append`` /
``read_stream`` / ``read_all``, :data:`ANY`, :data:`NO_STREAM`, :data:`STREAM_EXISTS`,
:class:`ConcurrencyError`.
"""

from labsim.eventsourcing.aggregates import (
    Account,
    Aggregate,
    DomainError,
    Order,
    Repository,
    Upcasters,
)
from labsim.eventsourcing.projections import (
    CustomerTotals,
    OrderSummaries,
    Projection,
    ProjectionWorker,
    replay,
)
from labsim.eventsourcing.sqlite import SqliteEventStore
from labsim.eventsourcing.store import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    EventStoreError,
    InMemoryEventStore,
    RecordedEvent,
    append_with_retry,
)

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "Account",
    "Aggregate",
    "ConcurrencyError",
    "CustomerTotals",
    "DomainError",
    "DuplicateEventError",
    "EventStore",
    "EventStoreError",
    "InMemoryEventStore",
    "Order",
    "OrderSummaries",
    "Projection",
    "ProjectionWorker",
    "RecordedEvent",
    "Repository",
    "SqliteEventStore",
    "Upcasters",
    "append_with_retry",
    "replay",
]
