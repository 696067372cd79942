"""Publishing events reliably: dual write versus transactional outbox versus CDC.

An order service stores orders in its own database and must tell the rest of the system, via
the broker, about each one. Three designs:

* ``dual-write`` — commit the order, then publish the event. A crash between the two leaves a
  **zombie** (committed, never published). If the publish *seems* to fail (its confirmation is
  lost), the service undoes the order — but the event may have arrived: a **ghost** (published,
  never committed). Retrying the publish does not help: after a crash nobody remembers which
  orders still need publishing.
* ``outbox`` — the order and an outbox row are written in **one local transaction**; a
  :class:`Relay` publishes unsent outbox rows at least once and marks them sent once
  confirmed. Consumers dedupe by event id.
* ``cdc`` — change data capture: the relay tails the database's commit log from a checkpoint and
  publishes each committed order, at least once; no outbox table.

The broker is the lab's RabbitMQ-style :class:`~labsim.amqp.MessageBroker` served on its own
node (:func:`event_broker`); the service publishes with publisher confirms.

Recorded tables: ``orders_committed`` (order, time), ``published`` (order, event_id, time
received by the broker: every event, duplicates included) and ``relay`` (order, committed_at,
published_at) for lag; at the end of a run :meth:`OrderService.record_state` writes the orders
still in the database to ``order_db`` (order, committed_at).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar

from labsim.amqp import BrokerServer, Confirm, MessageBroker, Nack, Publisher
from labsim.errors import check_choice, check_int, check_positive
from labsim.faults import RandomCrashes
from labsim.network import Node

__all__ = ["DESIGNS", "EVENTS_QUEUE", "OrderService", "Relay", "event_broker"]

DESIGNS = ("dual-write", "outbox", "cdc")
#: The broker's queue of order events (published through the default exchange).
EVENTS_QUEUE = "order-events"

Item = TypeVar("Item")


class Relay(Generic[Item]):
    """Sends what a service stored to be sent, at least once: the relay of an outbox.

    In a loop on its node — started with it and again after every restart — the relay asks
    ``pending()`` for the items still to send, oldest first, sends each with ``send(item)``
    and, once the receiver acknowledged it, calls ``mark_sent(item)``. A crash between the
    acknowledgement and the mark sends the item again after the restart: at least once, so
    receivers dedupe.

    Args:
        node: The node the relay runs on.
        pending: ``() -> items`` still to send, in the order to send them.
        send: ``item -> generator`` returning ``True`` once the receiver acknowledged it.
        mark_sent: Called with each acknowledged item (in the same transaction as the
            service's store, so a mark survives crashes).
        interval: Seconds to wait before looking again when nothing is pending.
        stop_at_failure: End a pass at the first item not acknowledged, so items leave in
            order and the rest waits for the next poll (``False``: go on with the next one).
        pause_after_pass: Wait ``interval`` after each pass too, as a polling publisher
            does (``False``: look again at once).
        crash_point: Called after each acknowledgement, before the mark; ``True`` means the
            node crashed there and the relay stops.
    """

    def __init__(
        self,
        node: Node,
        *,
        pending: Callable[[], list[Item]],
        send: Callable[[Item], Generator[Any, Any, bool]],
        mark_sent: Callable[[Item], Any],
        interval: float,
        stop_at_failure: bool = True,
        pause_after_pass: bool = True,
        crash_point: Callable[[], bool] | None = None,
    ):
        self.node = node
        self.pending = pending
        self.send = send
        self.mark_sent = mark_sent
        self.interval = check_positive("interval", interval, f"relay on {node.name}")
        self.stop_at_failure = stop_at_failure
        self.pause_after_pass = pause_after_pass
        self.crash_point = crash_point
        node.process(self._run())
        node.on_restart(lambda n: n.process(self._run()))

    def _run(self) -> Generator[Any, Any, None]:
        env = self.node.network.world.env
        while True:
            batch = self.pending()
            if batch:
                for item in batch:
                    if not (yield from self.send(item)):
                        if self.stop_at_failure:
                            break  # try again on the next poll
                        continue
                    if self.crash_point is not None and self.crash_point():
                        return  # sent, not yet marked: it will be sent again
                    self.mark_sent(item)
                if not self.pause_after_pass:
                    continue
            yield env.timeout(self.interval)


def event_broker(node: Node) -> BrokerServer:
    """The broker the order service publishes to, served on ``node``.

    One queue, :data:`EVENTS_QUEUE`, takes the order events; every event that reaches the
    broker, duplicates included, is a row of the ``published`` table.
    """
    world = node.network.world
    broker = MessageBroker(world)
    broker.declare_queue(EVENTS_QUEUE)
    published = world.table("published", ("order", "event_id", "time")).add
    return BrokerServer(
        node, broker, on_publish=lambda msg: published(msg.body, msg.msg_id, world.now)
    )


class OrderService:
    """The order service, with one of the three publishing designs.

    Args:
        node: The service's node (its network and world follow from it).
        broker: Name of the broker's node (see :func:`event_broker`).
        design: ``dual-write``, ``outbox`` or ``cdc``.
        crash_rate: Probability of crashing at each step boundary (before ``faults_until``).
        faults_until: No crashes after this time.
        restart_after: Seconds until a crashed service restarts.
        confirm_timeout: Seconds to wait for the broker's confirmation.
        publish_retries: Dual write only: extra publish attempts before giving up.
        relay_interval: Seconds between relay polls (outbox, cdc).
        exchange: Exchange the events go through (default: the broker's default exchange,
            which routes them to :data:`EVENTS_QUEUE`; a fanout exchange gives every
            consumer its own copy).
    """

    def __init__(
        self,
        node: Node,
        broker: str = "broker",
        *,
        design: str = "outbox",
        crash_rate: float = 0.0,
        faults_until: float = 0.0,
        restart_after: float = 0.5,
        confirm_timeout: float = 0.1,
        publish_retries: int = 0,
        relay_interval: float = 0.05,
        exchange: str = "",
    ):
        self.world = world = node.network.world
        self.design = check_choice("design", design, DESIGNS, "OrderService")
        self.confirm_timeout = check_positive("confirm_timeout", confirm_timeout, "OrderService")
        self.publish_retries = check_int("publish_retries", publish_retries, 0, "OrderService")
        self.relay_interval = check_positive("relay_interval", relay_interval, "OrderService")
        self.node = node
        # The database (durable: survives crashes).
        self.orders: dict[str, float] = {}  # order id -> commit time
        self.outbox: dict[str, bool] = {}  # order id -> sent?
        self.log: list[str] = []  # commit log (what CDC tails)
        self.cdc_checkpoint = 0
        self._rng = world.rng("order-service")
        self._crashes = RandomCrashes(
            node.network, node.name, crash_rate, faults_until, restart_after, self._rng
        )
        self.publisher = Publisher(node, broker, confirm_timeout=confirm_timeout, exchange=exchange)
        self._committed = world.table("orders_committed", ("order", "time")).add
        self._relay_rows = world.table("relay", ("order", "committed_at", "published_at")).add
        if design != "dual-write":
            self.relay = Relay(
                node,
                pending=self._unsent,
                send=self._send,
                mark_sent=self._mark_sent,
                interval=relay_interval,
                crash_point=self._crashes.maybe,
            )

    # -- the business operation ---------------------------------------------------------------
    def place(self, order: str) -> Generator[Any, Any, None]:
        """Place one order (a process on the service's node)."""
        now = self.world.now
        if self.design == "dual-write":
            self._commit(order, now, outbox=False)
            if self._crashes.maybe():
                return  # committed, not published: a zombie unless someone republishes
            for _ in range(self.publish_retries + 1):
                if (yield from self._send(order)):
                    self._relay_rows(order, now, self.world.now)
                    return
            # "The publish failed": undo the order. The event may have arrived anyway.
            del self.orders[order]
            self.log.append(f"-{order}")
            return
        self._commit(order, now, outbox=self.design == "outbox")
        yield self.world.env.timeout(0)

    def _commit(self, order: str, now: float, outbox: bool) -> None:
        # One local transaction: the order row (and its outbox row), plus the commit log.
        self.orders[order] = now
        if outbox:
            self.outbox[order] = False
        self.log.append(order)
        self._committed(order, now)

    def _send(self, order: str) -> Generator[Any, Any, bool]:
        # Publish the order's event and wait for the broker's confirm.
        match (yield from self.publisher.publish(EVENTS_QUEUE, f"evt-{order}", order)):
            case Confirm():
                return True
            case Nack() | None:  # refused, or no answer in time
                return False

    # -- what the relay reads and marks -------------------------------------------------------
    def _unsent(self) -> list[str]:
        if self.design == "outbox":
            return [o for o, sent in self.outbox.items() if not sent]
        return [o for o in self.log[self.cdc_checkpoint :] if not o.startswith("-")]

    def _mark_sent(self, order: str) -> None:
        if self.design == "outbox":
            self.outbox[order] = True
        else:
            self.cdc_checkpoint = self.log.index(order, self.cdc_checkpoint) + 1
        now = self.world.now
        self._relay_rows(order, self.orders.get(order, now), now)

    def committed(self) -> set[str]:
        """Orders in the database at the end."""
        return set(self.orders)

    def record_state(self) -> None:
        """Write the orders in the database as rows of ``order_db``: order, committed_at."""
        add = self.world.table("order_db", ("order", "committed_at")).add
        for order, at in self.orders.items():
            add(order, at)
