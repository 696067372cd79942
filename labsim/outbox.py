"""Publishing events reliably: dual write versus transactional outbox versus CDC.

An order service stores orders in its own database and must tell the rest of the system, via
the broker, about each one. Three designs:

* ``dual-write`` — commit the order, then publish the event. A crash between the two leaves a
  **zombie** (committed, never published). If the publish *seems* to fail (its confirmation is
  lost), the service undoes the order — but the event may have arrived: a **ghost** (published,
  never committed). Retrying the publish does not help: after a crash nobody remembers which
  orders still need publishing.
* ``outbox`` — the order and an outbox row are written in **one local transaction**; a relay
  publishes unsent outbox rows at least once and marks them sent once confirmed. Consumers
  dedupe by event id.
* ``cdc`` — change data capture: the relay tails the database's commit log from a checkpoint and
  publishes each committed order, at least once; no outbox table.

Recorded tables: ``orders_committed`` (order, time), ``published`` (order, event_id, time
received by the broker: every event, duplicates included) and ``relay`` (order, committed_at,
published_at) for lag; at the end of a run :meth:`OrderService.record_state` writes the orders
still in the database to ``order_db`` (order, committed_at).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from labsim.errors import check_choice, check_int, check_positive
from labsim.faults import RandomCrashes
from labsim.network import Network, Node
from labsim.transport import Endpoint, Request, Response
from labsim.world import World

__all__ = ["DESIGNS", "EventBroker", "OrderService"]

DESIGNS = ("dual-write", "outbox", "cdc")


class EventBroker:
    """A minimal broker node: stores every published event and confirms it."""

    def __init__(self, world: World, network: Network, node: str = "broker"):
        self.world = world
        self.network = network
        self.node: Node = network.node(node)
        self.events: list[tuple[str, str, float]] = []  # (event_id, order, time)
        self._published = world.table("published", ("order", "event_id", "time")).add
        self.node.process(self._serve())
        self.node.on_restart(lambda n: n.process(self._serve()))

    def _serve(self) -> Generator[Any, Any, None]:
        inbox = self.node.inbox
        while True:
            request = yield inbox.get()
            if isinstance(request, Request) and request.kind == "publish":
                event_id, order = request.payload
                self.events.append((event_id, order, self.world.now))
                self._published(order, event_id, self.world.now)
                self.network.send(self.node.name, request.src, Response(request.corr, "ok"))

    def orders_seen(self) -> set[str]:
        """Orders for which at least one event arrived (consumers dedupe by event id)."""
        return {order for _, order, _ in self.events}


class OrderService:
    """The order service, with one of the three publishing designs.

    Args:
        world, network: Where it runs (node ``order``).
        broker: The broker to publish to.
        design: ``dual-write``, ``outbox`` or ``cdc``.
        crash_rate: Probability of crashing at each step boundary (before ``faults_until``).
        faults_until: No crashes after this time.
        restart_after: Seconds until a crashed service restarts.
        confirm_timeout: Seconds to wait for the broker's confirmation.
        publish_retries: Dual write only: extra publish attempts before giving up.
        relay_interval: Seconds between relay polls (outbox, cdc).
    """

    def __init__(
        self,
        world: World,
        network: Network,
        broker: EventBroker,
        *,
        design: str = "outbox",
        crash_rate: float = 0.0,
        faults_until: float = 0.0,
        restart_after: float = 0.5,
        confirm_timeout: float = 0.1,
        publish_retries: int = 0,
        relay_interval: float = 0.05,
        node: str = "order",
    ):
        self.world = world
        self.network = network
        self.broker = broker
        self.design = check_choice("design", design, DESIGNS, "OrderService")
        self.confirm_timeout = check_positive("confirm_timeout", confirm_timeout, "OrderService")
        self.publish_retries = check_int("publish_retries", publish_retries, 0, "OrderService")
        self.relay_interval = check_positive("relay_interval", relay_interval, "OrderService")
        self.node: Node = network.node(node)
        # The database (durable: survives crashes).
        self.orders: dict[str, float] = {}  # order id -> commit time
        self.outbox: dict[str, bool] = {}  # order id -> sent?
        self.log: list[str] = []  # commit log (what CDC tails)
        self.cdc_checkpoint = 0
        self._rng = world.rng("order-service")
        self._crashes = RandomCrashes(
            network, node, crash_rate, faults_until, restart_after, self._rng
        )
        self.endpoint = Endpoint.of(network, node)
        self._committed = world.table("orders_committed", ("order", "time")).add
        self._relay_rows = world.table("relay", ("order", "committed_at", "published_at")).add
        if design != "dual-write":
            self.node.process(self._relay())
            self.node.on_restart(lambda n: n.process(self._relay()))

    # -- the business operation ---------------------------------------------------------------
    def place(self, order: str) -> Generator[Any, Any, None]:
        """Place one order (a process on the service's node)."""
        now = self.world.now
        if self.design == "dual-write":
            self._commit(order, now, outbox=False)
            if self._crashes.maybe():
                return  # committed, not published: a zombie unless someone republishes
            for _ in range(self.publish_retries + 1):
                reply = yield from self.endpoint.call(
                    self.broker.node.name, "publish", (f"evt-{order}", order), self.confirm_timeout
                )
                if reply is not None:
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

    def _relay(self) -> Generator[Any, Any, None]:
        env = self.world.env
        while True:
            if self.design == "outbox":
                pending = [o for o, sent in self.outbox.items() if not sent]
            else:
                pending = [o for o in self.log[self.cdc_checkpoint :] if not o.startswith("-")]
            if not pending:
                yield env.timeout(self.relay_interval)
                continue
            for order in pending:
                reply = yield from self.endpoint.call(
                    self.broker.node.name, "publish", (f"evt-{order}", order), self.confirm_timeout
                )
                if reply is None:
                    break  # try again on the next poll
                if self._crashes.maybe():
                    return  # published, not yet marked: it will be published again
                if self.design == "outbox":
                    self.outbox[order] = True
                else:
                    self.cdc_checkpoint = self.log.index(order, self.cdc_checkpoint) + 1
                self._relay_rows(order, self.orders.get(order, env.now), env.now)
            yield env.timeout(self.relay_interval)

    def committed(self) -> set[str]:
        """Orders in the database at the end."""
        return set(self.orders)

    def record_state(self) -> None:
        """Write the orders in the database as rows of ``order_db``: order, committed_at."""
        add = self.world.table("order_db", ("order", "committed_at")).add
        for order, at in self.orders.items():
            add(order, at)
