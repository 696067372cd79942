"""Domain events stay inside a service; integration events cross its boundary.

A *domain* event is the aggregate's own record of what happened (``order.created`` with
every line, ``order.paid``...): it may change whenever the team refactors, because only the
service itself reads it. An *integration* event is a published contract: fewer, coarser
events, a stable self-contained payload (a consumer must not need the service's internals),
an explicit schema version, and the causal link back to the domain event it came from.

:func:`to_integration` is the translation at the boundary (often the outbox relay's job):
every ``order.paid`` becomes one ``sales.order_confirmed`` carrying what other services need
— order id, customer, total, item count — and not the line details or internal statuses.
"""

from __future__ import annotations

from collections.abc import Iterable

from labsim.events import Event
from labsim.eventsourcing.store import RecordedEvent

__all__ = ["PUBLIC_FIELDS", "to_integration"]

#: The fields of ``sales.order_confirmed`` v1, the only ones that cross the boundary.
PUBLIC_FIELDS = ("order_id", "customer", "total", "items")


def to_integration(events: Iterable[RecordedEvent]) -> list[Event]:
    """Translate a service's domain events (in log order) into its integration events.

    Each ``order.paid`` gives one ``sales.order_confirmed`` (v1) whose payload has exactly
    :data:`PUBLIC_FIELDS`, with the domain event's ``correlation_id``, ``causation_id`` = the
    paid event's id, ``source="sales"`` and ``metadata`` naming the contract.
    """
    created: dict[str, RecordedEvent] = {}
    out = []
    for e in events:
        if e.event_type == "order.created":
            created[e.stream_id] = e
        elif e.event_type == "order.paid" and e.stream_id in created:
            first = created[e.stream_id]
            out.append(
                Event(
                    "sales.order_confirmed",
                    {
                        "order_id": e.stream_id.removeprefix("order-"),
                        "customer": first.data["customer"],
                        "total": first.data["total"],
                        "items": sum(line["qty"] for line in first.data["lines"]),
                    },
                    event_version=1,
                    timestamp=e.timestamp,
                    source="sales",
                    correlation_id=e.correlation_id,
                    causation_id=e.event_id,
                    metadata={"contract": "sales.order_confirmed/v1", "boundary": "public"},
                )
            )
    return out
