"""The order, inventory, payment and shipping services of the saga lessons.

Each service is a network node with its own small database (a dict that survives crashes, as a
disk would) and handles commands idempotently: the result of every command is stored under its
idempotency key in the same "transaction" as its effect, so a retried command returns the stored
result instead of charging twice. Events a service emits are written to its **outbox** in that
same transaction and published by a relay, at least once, until every subscriber acknowledged —
so a crash between a change and its event never loses the event.

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
from typing import Any

from labsim.events import Event
from labsim.faults import RandomCrashes
from labsim.network import Network, Node
from labsim.sagas.definition import SAGA_MESSAGE_COLUMNS
from labsim.transport import Endpoint, Request, Response
from labsim.world import World

__all__ = ["Inventory", "Orders", "Payments", "Service", "Shipping"]


class Service:
    """Base class: a node, a durable db, idempotent command handling, an outbox relay."""

    name = "service"

    def __init__(
        self,
        world: World,
        network: Network,
        *,
        crash_rate: float = 0.0,
        faults_until: float = 0.0,
        restart_after: float = 0.5,
        durable_outbox: bool = True,
    ):
        self.world = world
        self.network = network
        self.node: Node = network.node(self.name)
        self.db: dict[str, Any] = {}
        self.processed: dict[Any, Any] = {}  # idempotency key -> stored result
        self.outbox: list[tuple[Event, list[str]]] = []  # (event, subscribers not yet acked)
        self.subscribers: dict[str, list[str]] = {}  # event type -> service names
        self.durable_outbox = durable_outbox
        self._rng = world.rng(f"service-{self.name}")
        self._decisions = world.rng(f"decisions-{self.name}")
        self._crashes = RandomCrashes(
            network, self.name, crash_rate, faults_until, restart_after, self._rng
        )
        self.endpoint = Endpoint.of(network, self.name)
        self._handled = world.table(
            "saga_steps", ("time", "saga", "service", "command", "outcome", "duplicate")
        ).add
        self._messages = world.table("saga_messages", SAGA_MESSAGE_COLUMNS).add
        self.handlers: dict[str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]] = {}
        self.reactions: dict[str, Callable[[Event], None]] = {}
        self._start(self.node)
        self.node.on_restart(self._start)

    def _start(self, node: Node) -> None:
        if not self.durable_outbox:
            self.outbox = []  # events kept only in memory are lost with the crash
        # The endpoint owns the inbox; requests arrive through its dispatcher hook.
        self.endpoint.serve(self._on_request)
        node.process(self._relay())

    # -- requests ---------------------------------------------------------------------------
    def _on_request(self, request: Request) -> None:
        if not self.node.up:
            return
        if request.kind == "command":
            self._command(request)
        elif request.kind == "event":
            self._event(request)

    def _command(self, request: Request) -> None:
        key, command, args, cause = request.payload
        if self._rng.random() < 0.5 and self._crashes.maybe():
            return  # crashed before doing anything: the caller will retry
        duplicate = key in self.processed
        if not duplicate:
            self.processed[key] = self.handlers[command](args)
        outcome, data = self.processed[key]
        self._handled(self.world.now, args["saga"], self.name, command, outcome, duplicate)
        if self._crashes.maybe():
            return  # crashed after the effect, before the reply
        reply = Event(
            f"{self.name}.{command}.{outcome}",
            data,
            source=self.name,
            correlation_id=args["saga"],
            causation_id=cause,
        )
        self._messages(
            self.world.now,
            reply.event_id,
            reply.event_type,
            reply.correlation_id,
            reply.causation_id,
            self.name,
            request.src,
        )
        self.network.send(
            self.name, request.src, Response(request.corr, (outcome, data, reply.event_id))
        )

    def _event(self, request: Request) -> None:
        event: Event = request.payload
        if self._rng.random() < 0.5 and self._crashes.maybe():
            return
        key = ("event", event.event_id)
        duplicate = key in self.processed
        if not duplicate:
            self.processed[key] = ("ok", {})
            reaction = self.reactions.get(event.event_type)
            if reaction is not None:
                reaction(event)  # changes the db and appends to the outbox, atomically
        if self._crashes.maybe():
            return  # the change is durable; the publisher will resend and we dedupe
        self.network.send(self.name, request.src, Response(request.corr, "ack"))

    # -- events (choreography) --------------------------------------------------------------
    def emit(self, event_type: str, data: dict[str, Any], cause: Event | None) -> None:
        """Write an event to the outbox (same transaction as the db change that caused it)."""
        if cause is None:
            event = Event(event_type, data, source=self.name, correlation_id=data["saga"])
        else:
            event = cause.caused(event_type, data, source=self.name)
        targets = list(self.subscribers.get(event_type, []))
        self.outbox.append((event, targets))
        for target in targets:
            self._messages(
                self.world.now,
                event.event_id,
                event.event_type,
                event.correlation_id,
                event.causation_id,
                self.name,
                target,
            )

    def _relay(self) -> Generator[Any, Any, None]:
        env = self.world.env
        while True:
            pending = [(e, t) for e, targets in self.outbox for t in targets]
            if not pending:
                yield env.timeout(0.02)
                continue
            for event, target in pending:
                reply = yield from self.endpoint.call(target, "event", event, 0.2)
                if reply == "ack":
                    for e, targets in self.outbox:
                        if e is event and target in targets:
                            targets.remove(target)
            self.outbox = [(e, t) for e, t in self.outbox if t]

    def decide(self, probability: float) -> bool:
        """A business decision drawn from this service's own random stream."""
        return self._decisions.random() < probability

    def record_state(self) -> None:
        """Write this service's database as rows of its end-state table(s)."""
        raise NotImplementedError


class Orders(Service):
    """Orders: pending → approved, or cancelled."""

    name = "order"

    def __init__(self, world: World, network: Network, **kwargs: Any):
        super().__init__(world, network, **kwargs)
        self.db["orders"] = {}
        self.handlers = {"create": self._create, "cancel": self._cancel, "approve": self._approve}
        self.reactions = {
            "shipping.scheduled": lambda e: self._finish(e, "approved", "order.confirmed"),
            "inventory.failed": lambda e: self._finish(e, "cancelled", "order.cancelled"),
            "inventory.released": lambda e: self._finish(e, "cancelled", "order.cancelled"),
        }

    def _create(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.db["orders"].setdefault(args["saga"], {"status": "pending", **args})
        return "ok", {"saga": args["saga"]}

    def _cancel(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        order = self.db["orders"].get(args["saga"])
        if order is not None:
            order["status"] = "cancelled"
        return "ok", {"saga": args["saga"]}

    def _approve(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.db["orders"][args["saga"]]["status"] = "approved"
        return "ok", {"saga": args["saga"]}

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

    name = "inventory"

    def __init__(self, world: World, network: Network, stock: int = 100, **kwargs: Any):
        super().__init__(world, network, **kwargs)
        self.db.update(stock=stock, initial=stock, reservations={})
        self.handlers = {"reserve": self._reserve, "release": self._release}
        self.reactions = {
            "order.created": self._on_order_created,
            "payment.failed": self._on_payment_failed,
        }

    def _reserve(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if args["saga"] in self.db["reservations"]:
            return "ok", {"saga": args["saga"]}
        if self.db["stock"] < args["qty"]:
            return "failed", {"saga": args["saga"], "reason": "out of stock"}
        self.db["stock"] -= args["qty"]
        self.db["reservations"][args["saga"]] = args["qty"]
        return "ok", {"saga": args["saga"]}

    def _release(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        # Safe whether or not the reservation happened: compensations must be.
        qty = self.db["reservations"].pop(args["saga"], 0)
        self.db["stock"] += qty
        return "ok", {"saga": args["saga"]}

    def record_state(self) -> None:
        """The stock as one ``saga_stock`` row; one ``saga_reservations`` row per reservation."""
        self.world.table("saga_stock", ("initial", "stock")).add(
            self.db["initial"], self.db["stock"]
        )
        add = self.world.table("saga_reservations", ("saga", "qty")).add
        for saga, qty in self.db["reservations"].items():
            add(saga, qty)

    def _on_order_created(self, event: Event) -> None:
        outcome, _ = self._reserve(dict(event.data))
        kind = "inventory.reserved" if outcome == "ok" else "inventory.failed"
        self.emit(kind, dict(event.data), event)

    def _on_payment_failed(self, event: Event) -> None:
        self._release(dict(event.data))
        self.emit("inventory.released", dict(event.data), event)


class Payments(Service):
    """Charges and refunds; a charge is declined with probability ``decline_rate``."""

    name = "payment"

    def __init__(self, world: World, network: Network, decline_rate: float = 0.2, **kwargs: Any):
        super().__init__(world, network, **kwargs)
        self.decline_rate = decline_rate
        self.db.update(charged={}, refunded={})
        self.handlers = {"charge": self._charge, "refund": self._refund}
        self.reactions = {"inventory.reserved": self._on_reserved}

    def _charge(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if args["saga"] in self.db["charged"]:
            return "ok", {"saga": args["saga"]}
        if self.decide(self.decline_rate):
            return "failed", {"saga": args["saga"], "reason": "card declined"}
        self.db["charged"][args["saga"]] = args["amount"]
        return "ok", {"saga": args["saga"]}

    def _refund(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if args["saga"] in self.db["charged"] and args["saga"] not in self.db["refunded"]:
            self.db["refunded"][args["saga"]] = self.db["charged"][args["saga"]]
        return "ok", {"saga": args["saga"]}

    def record_state(self) -> None:
        """One ``saga_payments`` row per charge and per refund: saga, kind, amount."""
        add = self.world.table("saga_payments", ("saga", "kind", "amount")).add
        for kind in ("charged", "refunded"):
            for saga, amount in self.db[kind].items():
                add(saga, kind, amount)

    def _on_reserved(self, event: Event) -> None:
        outcome, _ = self._charge(dict(event.data))
        kind = "payment.processed" if outcome == "ok" else "payment.failed"
        self.emit(kind, dict(event.data), event)


class Shipping(Service):
    """Shipments (a retriable step: scheduling never fails for good)."""

    name = "shipping"

    def __init__(self, world: World, network: Network, **kwargs: Any):
        super().__init__(world, network, **kwargs)
        self.db["shipments"] = {}
        self.handlers = {"schedule": self._schedule}
        self.reactions = {"payment.processed": self._on_paid}

    def _schedule(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.db["shipments"][args["saga"]] = True
        return "ok", {"saga": args["saga"]}

    def record_state(self) -> None:
        """One ``saga_shipments`` row per scheduled shipment."""
        add = self.world.table("saga_shipments", ("saga",)).add
        for saga in self.db["shipments"]:
            add(saga)

    def _on_paid(self, event: Event) -> None:
        self._schedule(dict(event.data))
        self.emit("shipping.scheduled", dict(event.data), event)
