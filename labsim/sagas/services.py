"""The order, inventory, payment and shipping services of the saga lessons.

Each service is a network node with its own small database (a dict that survives crashes, as a
disk would) and handles commands idempotently: the result of every command is stored under its
idempotency key in the same "transaction" as its effect, so a retried command returns the stored
result instead of charging twice. Events a service emits are written to its **outbox** in that
same transaction and pushed by the outbox's :class:`~labsim.outbox.Relay`, at least once, until
every subscriber acknowledged — so a crash between a change and its event never loses the
event. The messages themselves are typed (:mod:`labsim.sagas.messages`): a
:class:`~labsim.sagas.messages.Command` is answered :class:`~labsim.sagas.messages.Succeeded`
or :class:`~labsim.sagas.messages.Failed`, a :class:`~labsim.sagas.messages.Notify` with an
:class:`~labsim.sagas.messages.Ack`.

With ``durable_outbox=False`` the pending events live only in memory — publish "after the
commit" — and a crash loses them: the flow stops half way.

A service crashes with probability ``crash_rate`` while handling a message (before or after
applying it, at random) and restarts ``restart_after`` seconds later — but only until
``faults_until``, after which the system is left to heal.

Each service's ``record_state()`` writes its database at the end of a run as table rows —
``saga_orders`` (saga, status, qty, amount), ``saga_stock`` (initial, stock),
``saga_reservations`` (saga, qty), ``saga_payments`` (saga, kind ``charged`` / ``refunded``,
amount) and ``saga_shipments`` (saga) — so outcomes are computed from tables, not from the
live services.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import Any

from labsim.events import Event
from labsim.faults import RandomCrashes
from labsim.network import Node
from labsim.outbox import Relay
from labsim.sagas.messages import Ack, Command, Failed, Notify, SagaMessageLog, Succeeded
from labsim.transport import Endpoint, Request

__all__ = ["Inventory", "Orders", "OutboxEntry", "Payments", "Service", "Shipping"]

#: What a command handler returns (and what is stored under the command's idempotency key).
Result = Succeeded | Failed


@dataclass(slots=True)
class OutboxEntry:
    """An event in a service's outbox and the subscribers that have not acknowledged it yet."""

    event: Event
    targets: list[str]


@dataclass(frozen=True, slots=True)
class _Sending:
    # One event for one subscriber: what the relay sends.
    entry: OutboxEntry
    target: str


class Service:
    """Base class: a node, a durable db, idempotent command handling, an outbox relay.

    Args:
        node: The service's node; its name is the service's name (its network and world
            follow from it).
        crash_rate: Probability of crashing while handling a message (before
            ``faults_until``).
        faults_until: No crashes after this time.
        restart_after: Seconds until a crashed service restarts.
        durable_outbox: Keep pending events in the database (else in memory, lost in a crash).
    """

    def __init__(
        self,
        node: Node,
        *,
        crash_rate: float = 0.0,
        faults_until: float = 0.0,
        restart_after: float = 0.5,
        durable_outbox: bool = True,
    ):
        self.world = world = node.network.world
        self.node = node
        self.name = node.name
        self.db: dict[str, Any] = {}
        self.processed: dict[Any, Result] = {}  # idempotency key -> stored result
        self.outbox: list[OutboxEntry] = []
        self.subscribers: dict[str, list[str]] = {}  # event type -> service names
        self.durable_outbox = durable_outbox
        self._rng = world.rng(f"service-{self.name}")
        self._decisions = world.rng(f"decisions-{self.name}")
        self._crashes = RandomCrashes(
            node.network, self.name, crash_rate, faults_until, restart_after, self._rng
        )
        self.endpoint = Endpoint.of(node.network, self.name)
        self._handled = world.table(
            "saga_steps", ("time", "saga", "service", "command", "outcome", "duplicate")
        ).add
        self._messages = SagaMessageLog(world)
        self.handlers: dict[str, Callable[[dict[str, Any]], Result]] = {}
        self.reactions: dict[str, Callable[[Event], None]] = {}
        # The endpoint owns the inbox; requests arrive through its dispatcher hook.
        self.endpoint.serve(self._on_request)
        node.on_restart(self._restart)
        # Pushes each event to each subscriber until it acknowledges; the subscribers are
        # independent, so one that does not answer holds up no other.
        self.relay = Relay(
            node,
            pending=self._unsent,
            send=self._send,
            mark_sent=self._mark_sent,
            interval=0.02,
            stop_at_failure=False,
            pause_after_pass=False,
        )

    def _restart(self, node: Node) -> None:
        if not self.durable_outbox:
            self.outbox = []  # events kept only in memory are lost with the crash

    # -- requests ---------------------------------------------------------------------------
    def _on_request(self, request: Request) -> None:
        if not self.node.up:
            return
        match request.body:
            case Command() as msg:
                self._command(request, msg)
            case Notify() as msg:
                self._notified(request, msg.event)
            case body:
                raise TypeError(f"{self.name}: no saga request: {body!r}")

    def _command(self, request: Request, msg: Command) -> None:
        if self._rng.random() < 0.5 and self._crashes.maybe():
            return  # crashed before doing anything: the caller will retry
        duplicate = msg.key in self.processed
        if not duplicate:
            self.processed[msg.key] = self.handlers[msg.command](dict(msg.args))
        result = self.processed[msg.key]
        saga = msg.args["saga"]
        self._handled(self.world.now, saga, self.name, msg.command, result.outcome, duplicate)
        if self._crashes.maybe():
            return  # crashed after the effect, before the reply
        reply = Event(
            f"{self.name}.{msg.command}.{result.outcome}",
            result.data,
            source=self.name,
            correlation_id=saga,
            causation_id=msg.command_id,
        )
        self._messages.record(reply, request.src)
        self.endpoint.reply(request, replace(result, event_id=reply.event_id))

    def _notified(self, request: Request, event: Event) -> None:
        if self._rng.random() < 0.5 and self._crashes.maybe():
            return
        key = ("event", event.event_id)
        duplicate = key in self.processed
        if not duplicate:
            self.processed[key] = Succeeded({})
            reaction = self.reactions.get(event.event_type)
            if reaction is not None:
                reaction(event)  # changes the db and appends to the outbox, atomically
        if self._crashes.maybe():
            return  # the change is durable; the publisher will resend and we dedupe
        self.endpoint.reply(request, Ack(event.event_id))

    # -- events (choreography) --------------------------------------------------------------
    def emit(self, event_type: str, data: dict[str, Any], cause: Event | None) -> None:
        """Write an event to the outbox (same transaction as the db change that caused it)."""
        if cause is None:
            event = Event(event_type, data, source=self.name, correlation_id=data["saga"])
        else:
            event = cause.caused(event_type, data, source=self.name)
        targets = list(self.subscribers.get(event_type, []))
        self.outbox.append(OutboxEntry(event, targets))
        # A terminal event (order.confirmed, order.cancelled) has no subscriber: it is still
        # published, so it gets one row with an empty target and the causal chain ends with it.
        for target in targets or [""]:
            self._messages.record(event, target)

    def _unsent(self) -> list[_Sending]:
        # Drop the entries every subscriber has acknowledged, then list what is left.
        self.outbox = [entry for entry in self.outbox if entry.targets]
        return [_Sending(entry, target) for entry in self.outbox for target in entry.targets]

    def _send(self, item: _Sending) -> Generator[Any, Any, bool]:
        reply = yield from self.endpoint.call(item.target, Notify(item.entry.event), 0.2)
        return isinstance(reply, Ack)

    @staticmethod
    def _mark_sent(item: _Sending) -> None:
        if item.target in item.entry.targets:
            item.entry.targets.remove(item.target)

    def decide(self, probability: float) -> bool:
        """A business decision drawn from this service's own random stream."""
        return self._decisions.random() < probability

    def record_state(self) -> None:
        """Write this service's database as rows of its end-state table(s)."""
        raise NotImplementedError


class Orders(Service):
    """Orders: pending → approved, or cancelled."""

    def __init__(self, node: Node, **kwargs: Any):
        super().__init__(node, **kwargs)
        self.db["orders"] = {}
        self.handlers = {"create": self._create, "cancel": self._cancel, "approve": self._approve}
        self.reactions = {
            "shipping.scheduled": lambda e: self._finish(e, "approved", "order.confirmed"),
            "inventory.failed": lambda e: self._finish(e, "cancelled", "order.cancelled"),
            "inventory.released": lambda e: self._finish(e, "cancelled", "order.cancelled"),
        }

    def _create(self, args: dict[str, Any]) -> Result:
        self.db["orders"].setdefault(args["saga"], {"status": "pending", **args})
        return Succeeded({"saga": args["saga"]})

    def _cancel(self, args: dict[str, Any]) -> Result:
        order = self.db["orders"].get(args["saga"])
        if order is not None:
            order["status"] = "cancelled"
        return Succeeded({"saga": args["saga"]})

    def _approve(self, args: dict[str, Any]) -> Result:
        self.db["orders"][args["saga"]]["status"] = "approved"
        return Succeeded({"saga": args["saga"]})

    def place(self, saga: str, qty: int, amount: float) -> None:
        """Choreography entry point: create the order and emit ``order.created``."""
        self._create({"saga": saga, "qty": qty, "amount": amount})
        self.emit("order.created", {"saga": saga, "qty": qty, "amount": amount}, None)

    def record_state(self) -> None:
        """One ``saga_orders`` row per order: saga, status, qty, amount."""
        add = self.world.table("saga_orders", ("saga", "status", "qty", "amount")).add
        for saga, order in self.db["orders"].items():
            add(saga, order["status"], order.get("qty"), order.get("amount"))

    def _finish(self, event: Event, status: str, emits: str) -> None:
        order = self.db["orders"].get(event.data["saga"])
        if order is not None and order["status"] == "pending":
            order["status"] = status
            self.emit(emits, {"saga": event.data["saga"]}, event)


class Inventory(Service):
    """Stock and reservations; ``reserve`` fails when stock is short."""

    def __init__(self, node: Node, stock: int = 100, **kwargs: Any):
        super().__init__(node, **kwargs)
        self.db.update(stock=stock, initial=stock, reservations={})
        self.handlers = {"reserve": self._reserve, "release": self._release}
        self.reactions = {
            "order.created": self._on_order_created,
            "payment.failed": self._on_payment_failed,
        }

    def _reserve(self, args: dict[str, Any]) -> Result:
        if args["saga"] in self.db["reservations"]:
            return Succeeded({"saga": args["saga"]})
        if self.db["stock"] < args["qty"]:
            return Failed({"saga": args["saga"], "reason": "out of stock"})
        self.db["stock"] -= args["qty"]
        self.db["reservations"][args["saga"]] = args["qty"]
        return Succeeded({"saga": args["saga"]})

    def _release(self, args: dict[str, Any]) -> Result:
        # Safe whether or not the reservation happened: compensations must be.
        qty = self.db["reservations"].pop(args["saga"], 0)
        self.db["stock"] += qty
        return Succeeded({"saga": args["saga"]})

    def record_state(self) -> None:
        """The stock as one ``saga_stock`` row; one ``saga_reservations`` row per reservation."""
        self.world.table("saga_stock", ("initial", "stock")).add(
            self.db["initial"], self.db["stock"]
        )
        add = self.world.table("saga_reservations", ("saga", "qty")).add
        for saga, qty in self.db["reservations"].items():
            add(saga, qty)

    def _on_order_created(self, event: Event) -> None:
        reserved = isinstance(self._reserve(dict(event.data)), Succeeded)
        kind = "inventory.reserved" if reserved else "inventory.failed"
        self.emit(kind, dict(event.data), event)

    def _on_payment_failed(self, event: Event) -> None:
        self._release(dict(event.data))
        self.emit("inventory.released", dict(event.data), event)


class Payments(Service):
    """Charges and refunds; a charge is declined with probability ``decline_rate``."""

    def __init__(self, node: Node, decline_rate: float = 0.2, **kwargs: Any):
        super().__init__(node, **kwargs)
        self.decline_rate = decline_rate
        self.db.update(charged={}, refunded={})
        self.handlers = {"charge": self._charge, "refund": self._refund}
        self.reactions = {"inventory.reserved": self._on_reserved}

    def _charge(self, args: dict[str, Any]) -> Result:
        if args["saga"] in self.db["charged"]:
            return Succeeded({"saga": args["saga"]})
        if self.decide(self.decline_rate):
            return Failed({"saga": args["saga"], "reason": "card declined"})
        self.db["charged"][args["saga"]] = args["amount"]
        return Succeeded({"saga": args["saga"]})

    def _refund(self, args: dict[str, Any]) -> Result:
        if args["saga"] in self.db["charged"] and args["saga"] not in self.db["refunded"]:
            self.db["refunded"][args["saga"]] = self.db["charged"][args["saga"]]
        return Succeeded({"saga": args["saga"]})

    def record_state(self) -> None:
        """One ``saga_payments`` row per charge and per refund: saga, kind, amount."""
        add = self.world.table("saga_payments", ("saga", "kind", "amount")).add
        for kind in ("charged", "refunded"):
            for saga, amount in self.db[kind].items():
                add(saga, kind, amount)

    def _on_reserved(self, event: Event) -> None:
        charged = isinstance(self._charge(dict(event.data)), Succeeded)
        kind = "payment.processed" if charged else "payment.failed"
        self.emit(kind, dict(event.data), event)


class Shipping(Service):
    """Shipments (a retriable step: scheduling never fails for good)."""

    def __init__(self, node: Node, **kwargs: Any):
        super().__init__(node, **kwargs)
        self.db["shipments"] = {}
        self.handlers = {"schedule": self._schedule}
        self.reactions = {"payment.processed": self._on_paid}

    def _schedule(self, args: dict[str, Any]) -> Result:
        self.db["shipments"][args["saga"]] = True
        return Succeeded({"saga": args["saga"]})

    def record_state(self) -> None:
        """One ``saga_shipments`` row per scheduled shipment."""
        add = self.world.table("saga_shipments", ("saga",)).add
        for saga in self.db["shipments"]:
            add(saga)

    def _on_paid(self, event: Event) -> None:
        self._schedule(dict(event.data))
        self.emit("shipping.scheduled", dict(event.data), event)
