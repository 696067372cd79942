"""Aggregates rebuilt from their events, snapshots, and upcasting of old event versions.

An :class:`Aggregate` changes only by *recording* events: a command method checks the rules
and calls :meth:`Aggregate.record`, which applies the event (``when_<type>`` handler, dots
becoming underscores: ``order.paid`` → ``when_order_paid``) and keeps it as uncommitted. A
:class:`Repository` loads an aggregate by replaying its stream (optionally from a snapshot,
optionally only up to a version or a time) and saves the uncommitted events with the loaded
version as the expected version — so two writers racing on one aggregate cannot both win.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from labsim.errors import ConfigError, check_int
from labsim.events import Event
from labsim.eventsourcing.store import NO_STREAM, EventStore, RecordedEvent

__all__ = [
    "Account",
    "Aggregate",
    "DomainError",
    "Order",
    "Repository",
    "Upcasters",
]


class DomainError(ValueError):
    """A command broke a business rule (e.g. paying a cancelled order)."""


class Aggregate:
    """Base class: state changes only through recorded events.

    Attributes:
        id: The aggregate id (also its stream id, with :attr:`stream_prefix`).
        version: Version of the last applied event (-1 for a new aggregate).
        uncommitted: Events recorded since the aggregate was loaded or saved.
    """

    stream_prefix: ClassVar[str] = ""

    def __init__(self, aggregate_id: str):
        self.id = aggregate_id
        self.version = -1
        self.uncommitted: list[Event] = []

    @property
    def stream_id(self) -> str:
        """The stream holding this aggregate's events."""
        return f"{self.stream_prefix}{self.id}"

    def apply(self, event: Event | RecordedEvent) -> None:
        """Apply one event to the state (no recording)."""
        handler = getattr(self, "when_" + event.event_type.replace(".", "_"), None)
        if handler is None:
            raise ConfigError(
                "event_type",
                event.event_type,
                f"a type {type(self).__name__} has a when_ handler for",
                self.stream_id,
            )
        handler(event.data)
        self.version += 1

    def record(self, event_type: str, **data: Any) -> None:
        """Record a new event: apply it now, append it on save."""
        event = Event(event_type=event_type, data=data, source=type(self).__name__)
        self.apply(event)
        self.uncommitted.append(event)

    def snapshot_state(self) -> dict[str, Any]:
        """The state to store in a snapshot (all public attributes but bookkeeping)."""
        return {
            k: copy.deepcopy(v)
            for k, v in vars(self).items()
            if k not in ("uncommitted", "id") and not k.startswith("_")
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`snapshot_state`."""
        for k, v in state.items():
            setattr(self, k, copy.deepcopy(v))


class Order(Aggregate):
    """An order: created → paid → shipped, or cancelled (with a refund if it was paid)."""

    stream_prefix = "order-"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.status = "new"
        self.customer: str | None = None
        self.lines: list[dict[str, Any]] = []
        self.total = 0.0
        self.paid = 0.0

    # commands
    @classmethod
    def create(cls, order_id: str, customer: str, lines: Iterable[dict[str, Any]]) -> Order:
        """Create an order with lines ``{"sku", "qty", "price"}``."""
        lines = [dict(line) for line in lines]
        if not lines:
            raise DomainError("an order needs at least one line")
        order = cls(order_id)
        total = round(sum(line["qty"] * line["price"] for line in lines), 2)
        order.record("order.created", customer=customer, lines=lines, total=total)
        return order

    def pay(self, amount: float) -> None:
        """Pay the order in full."""
        if self.status != "created":
            raise DomainError(f"cannot pay an order that is {self.status}")
        if abs(amount - self.total) > 1e-9:
            raise DomainError(f"payment {amount} does not match the total {self.total}")
        self.record("order.paid", amount=amount)

    def ship(self) -> None:
        """Ship a paid order."""
        if self.status != "paid":
            raise DomainError(f"cannot ship an order that is {self.status}")
        self.record("order.shipped")

    def cancel(self, reason: str) -> None:
        """Cancel an order that has not shipped (refunding what was paid)."""
        if self.status in ("shipped", "cancelled"):
            raise DomainError(f"cannot cancel an order that is {self.status}")
        self.record("order.cancelled", reason=reason, refund=self.paid)

    # event handlers
    def when_order_created(self, data: dict[str, Any]) -> None:
        self.status = "created"
        self.customer = data["customer"]
        self.lines = list(data["lines"])
        self.total = data["total"]

    def when_order_paid(self, data: dict[str, Any]) -> None:
        self.status = "paid"
        self.paid = data["amount"]

    def when_order_shipped(self, data: dict[str, Any]) -> None:
        self.status = "shipped"

    def when_order_cancelled(self, data: dict[str, Any]) -> None:
        self.status = "cancelled"
        self.paid -= data.get("refund", 0.0)


class Account(Aggregate):
    """A bank account for exercises: opened, deposits, withdrawals (no overdraft)."""

    stream_prefix = "account-"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.owner: str | None = None
        self.balance = 0.0
        self.is_open = False

    @classmethod
    def open(cls, account_id: str, owner: str) -> Account:
        """Open an account."""
        account = cls(account_id)
        account.record("account.opened", owner=owner)
        return account

    def deposit(self, amount: float) -> None:
        """Deposit a positive amount."""
        if amount <= 0:
            raise DomainError("a deposit must be positive")
        self.record("money.deposited", amount=amount)

    def withdraw(self, amount: float) -> None:
        """Withdraw a positive amount not above the balance."""
        if amount <= 0:
            raise DomainError("a withdrawal must be positive")
        if amount > self.balance:
            raise DomainError(f"insufficient funds: balance {self.balance}, asked {amount}")
        self.record("money.withdrawn", amount=amount)

    def when_account_opened(self, data: dict[str, Any]) -> None:
        self.owner = data["owner"]
        self.is_open = True

    def when_money_deposited(self, data: dict[str, Any]) -> None:
        self.balance += data["amount"]

    def when_money_withdrawn(self, data: dict[str, Any]) -> None:
        self.balance -= data["amount"]


@dataclass
class Upcasters:
    """A chain of upcasters per event type: ``v1 → v2 → v3`` applied on read.

    Register ``fn(data) -> data`` for (event_type, from_version); reading an old event runs
    every step up to the newest version, so handlers only ever see the current shape.
    """

    steps: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = field(
        default_factory=dict
    )

    def register(
        self, event_type: str, from_version: int, step: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        """Add the step from ``from_version`` to ``from_version + 1`` of ``event_type``."""
        check_int("from_version", from_version, 1, "Upcasters.register")
        self.steps[(event_type, from_version)] = step

    def latest(self, event_type: str) -> int:
        """The newest version of ``event_type`` the chain produces."""
        versions = [v for t, v in self.steps if t == event_type]
        return max(versions) + 1 if versions else 1

    def upcast(self, event: RecordedEvent) -> RecordedEvent:
        """The event in its newest shape (unchanged when no step applies)."""
        data, version = dict(event.data), event.event_version
        while (event.event_type, version) in self.steps:
            data = self.steps[(event.event_type, version)](dict(data))
            version += 1
        if version == event.event_version:
            return event
        return RecordedEvent(
            event.stream_id,
            event.stream_version,
            event.position,
            event.event_id,
            event.event_type,
            version,
            event.timestamp,
            event.source,
            event.correlation_id,
            event.causation_id,
            data,
            event.metadata,
        )


class Repository:
    """Loads and saves aggregates of one type in an event store.

    Args:
        store: The event store.
        kind: The aggregate class.
        snapshot_every: Take a snapshot each time the version crosses a multiple of this
            (``None``: no snapshots).
        upcasters: Applied to every event read.
    """

    def __init__(
        self,
        store: EventStore,
        kind: type[Aggregate],
        *,
        snapshot_every: int | None = None,
        upcasters: Upcasters | None = None,
    ):
        self.store = store
        self.kind = kind
        if snapshot_every is not None:
            check_int("snapshot_every", snapshot_every, 1, "Repository")
        self.snapshot_every = snapshot_every
        self.upcasters = upcasters or Upcasters()
        self.snapshots: dict[str, tuple[int, dict[str, Any]]] = {}
        self.events_replayed = 0  # replay cost, for the snapshot experiment

    def load(
        self,
        aggregate_id: str,
        *,
        as_of_version: int | None = None,
        as_of_time: float | None = None,
    ) -> Aggregate:
        """Rebuild an aggregate; ``as_of_*`` gives its state at an earlier version or time.

        Raises:
            KeyError: if the aggregate has no events.
        """
        agg = self.kind(aggregate_id)
        start = 0
        snap = self.snapshots.get(agg.stream_id)
        if (
            snap is not None
            and as_of_time is None
            and (as_of_version is None or snap[0] <= as_of_version)
        ):
            agg.restore_state(snap[1])
            start = snap[0] + 1
        events = self.store.read_stream(agg.stream_id, start)
        if not events and agg.version < 0:
            raise KeyError(f"no events for {agg.stream_id!r}")
        for recorded in events:
            if as_of_version is not None and recorded.stream_version > as_of_version:
                break
            if as_of_time is not None and recorded.timestamp > as_of_time:
                break
            agg.apply(self.upcasters.upcast(recorded))
            self.events_replayed += 1
        return agg

    def save(self, agg: Aggregate) -> int:
        """Append the uncommitted events (expected version = the loaded version)."""
        if not agg.uncommitted:
            return agg.version
        loaded = agg.version - len(agg.uncommitted)
        expected = NO_STREAM if loaded < 0 else loaded
        version = self.store.append(agg.stream_id, agg.uncommitted, expected)
        agg.uncommitted = []
        if (
            self.snapshot_every
            and (version + 1) // self.snapshot_every > (loaded + 1) // self.snapshot_every
        ):
            self.snapshots[agg.stream_id] = (version, agg.snapshot_state())
        return version
