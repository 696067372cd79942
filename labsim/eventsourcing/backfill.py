"""A read model the business asks for a year later, built by replaying old events.

:func:`year_of_orders` fills an event store with a year of orders. Halfway through, the team
changed ``order.created``: version 1 carried ``total`` in euros (a float); version 2 carries
``total_cents`` (an integer) and a ``currency``. Nobody rewrote the stored v1 events — an
event store never changes history.

A year later the business asks for **revenue per month and currency**, a projection that did
not exist when the events were written. :class:`RevenueByMonth` is written against the
*current* shape (v2) only; it is built by replaying the whole store
(:func:`~labsim.eventsourcing.replay`). With :data:`ORDER_UPCASTERS`
(:class:`~labsim.eventsourcing.Upcasters`, v1 → v2 on read) it sees every event in the v2
shape; without them it cannot read the v1 events, counts them as ``unreadable`` and reports
no revenue for the first half year.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from labsim.errors import check_int
from labsim.events import Event
from labsim.eventsourcing.aggregates import Upcasters
from labsim.eventsourcing.projections import Projection
from labsim.eventsourcing.store import NO_STREAM, EventStore, RecordedEvent
from labsim.world import World

__all__ = ["DAY", "ORDER_UPCASTERS", "RevenueByMonth", "order_created_v1_to_v2", "year_of_orders"]

#: Seconds in a simulated day (event timestamps are simulated seconds).
DAY = 86_400.0


def order_created_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Upcast ``order.created`` v1 (``total`` in euros) to v2 (``total_cents``, ``currency``)."""
    data = dict(data)
    data["total_cents"] = round(data.pop("total") * 100)
    data.setdefault("currency", "EUR")
    return data


#: The upcaster chain of the order events (v1 → v2 of ``order.created``).
ORDER_UPCASTERS = Upcasters()
ORDER_UPCASTERS.register("order.created", 1, order_created_v1_to_v2)


def year_of_orders(
    store: EventStore,
    *,
    seed: int = 0,
    days: int = 365,
    orders_per_day: int = 8,
    change_day: int = 180,
) -> int:
    """Append ``days`` days of orders to ``store`` (v1 before ``change_day``, v2 from it).

    Each order is one ``order.created`` event (customer, total) followed, for four orders in
    five, by ``order.paid``. From ``change_day`` one order in four is in ``"USD"``.

    Returns:
        The expected revenue in cents (every created order's total, all currencies), the
        truth a replayed read model is compared with.
    """
    check_int("days", days, 1, "year of orders")
    check_int("orders_per_day", orders_per_day, 1, "year of orders")
    check_int("change_day", change_day, 0, "year of orders")
    rng = np.random.default_rng(seed)
    world = World(seed)  # deterministic event ids and no wall clock
    expected = 0
    with world:
        for day in range(days):
            for n in range(orders_per_day):
                cents = int(rng.integers(500, 20_000))
                expected += cents
                at = day * DAY + n * DAY / orders_per_day
                if day < change_day:
                    data: dict[str, Any] = {"customer": f"c{n}", "total": cents / 100}
                    version = 1
                else:
                    usd = rng.random() < 0.25
                    currency = "USD" if usd else "EUR"
                    data = {"customer": f"c{n}", "total_cents": cents, "currency": currency}
                    version = 2
                created = Event(
                    "order.created", data, event_version=version, timestamp=at, source="orders"
                )
                events = [created]
                if rng.random() < 0.8:
                    events.append(
                        created.caused("order.paid", {}, timestamp=at + 60.0, source="payments")
                    )
                store.append(f"order-{day}-{n}", events, NO_STREAM)
    return expected


class RevenueByMonth(Projection):
    """Revenue in cents per (month, currency), written for ``order.created`` v2 only.

    Args:
        upcasters: Applied to each event before handling (``None``: read events as stored).
    """

    name = "revenue_by_month"
    columns: ClassVar[tuple[str, ...]] = ("month", "currency", "revenue_cents", "orders")

    def __init__(self, upcasters: Upcasters | None = None) -> None:
        super().__init__()
        self.upcasters = upcasters
        self.revenue: dict[tuple[int, str], list[int]] = {}
        self.unreadable = 0

    def reset(self) -> None:
        self.__init__(self.upcasters)  # type: ignore[misc]

    def handle(self, event: RecordedEvent) -> None:
        if event.event_type != "order.created":
            return
        if self.upcasters is not None:
            event = self.upcasters.upcast(event)
        if event.event_version != 2:
            self.unreadable += 1  # a v1 payload has no total_cents: this handler cannot read it
            return
        month = int(event.timestamp // (30 * DAY)) + 1
        cell = self.revenue.setdefault((month, event.data["currency"]), [0, 0])
        cell[0] += event.data["total_cents"]
        cell[1] += 1

    def state(self) -> dict[tuple[int, str], int]:
        return {k: v[0] for k, v in sorted(self.revenue.items())}

    def rows(self) -> list[tuple[Any, ...]]:
        return [(m, c, v[0], v[1]) for (m, c), v in sorted(self.revenue.items())]
