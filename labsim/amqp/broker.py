"""The RabbitMQ-style broker: queues and exchanges declared by name, publishing through them.

:class:`MessageBroker` is the object a scenario builds: ``declare_queue``,
``declare_exchange``, ``bind``, then ``publish(exchange, routing_key, message)``. As in
RabbitMQ, the nameless **default exchange** ``""`` is a direct exchange to which every queue is
bound under its own name, so ``publish("", "orders", msg)`` puts ``msg`` in queue ``orders``.

The broker lives in the world, not on a network node; :class:`labsim.amqp.server.BrokerServer`
serves it to publishers across the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from labsim.amqp.exchanges import Exchange
from labsim.amqp.message import Message
from labsim.amqp.queues import STATE_COLUMNS, Queue
from labsim.errors import ConfigError
from labsim.world import World

__all__ = ["DEFAULT_EXCHANGE", "MessageBroker", "Routed"]

#: Name of the default exchange (direct; every queue is bound to it by its own name).
DEFAULT_EXCHANGE = ""

_Named = TypeVar("_Named", Queue, Exchange)


def _declared(table: Mapping[str, _Named], kind: str, name: str, where: str) -> _Named:
    # One lookup for queues and exchanges: a missing name lists the declared ones.
    try:
        return table[name]
    except KeyError:
        raise ConfigError(kind, name, f"a declared {kind}, one of {sorted(table)}", where) from None


@dataclass(frozen=True, slots=True)
class Routed:
    """Where a published message went.

    Attributes:
        queues: Names of the queues that took a copy, in routing order.
        refused: Names of the queues the message was routed to that refused it (full, with
            ``overflow="reject-publish"``).
    """

    queues: tuple[str, ...]
    refused: tuple[str, ...] = ()


class MessageBroker:
    """Declares queues and exchanges by name and publishes through exchanges.

    Args:
        world: The world the broker's queues record into.
    """

    def __init__(self, world: World):
        self.world = world
        self.queues: dict[str, Queue] = {}
        self.exchanges: dict[str, Exchange] = {DEFAULT_EXCHANGE: Exchange(DEFAULT_EXCHANGE)}

    def declare_queue(self, name: str, **options: Any) -> Queue:
        """Create queue ``name`` (options as :class:`Queue`; ``dead_letter`` may be a name).

        Declaring a queue again returns the existing one. A new queue is bound to the
        default exchange under its own name.
        """
        if name in self.queues:
            return self.queues[name]
        dlx = options.pop("dead_letter", None)
        if isinstance(dlx, str):
            dlx = self.queue(dlx)
        queue = Queue(self.world, name, dead_letter=dlx, **options)
        self.queues[name] = queue
        self.exchanges[DEFAULT_EXCHANGE].bind(queue, name)
        return queue

    def queue(self, name: str) -> Queue:
        """The queue ``name`` (ConfigError listing the queues if missing)."""
        return _declared(self.queues, "queue", name, "MessageBroker")

    def declare_exchange(self, name: str, kind: str = "direct") -> Exchange:
        """Create exchange ``name`` of ``kind`` (declaring it again with another kind fails)."""
        exchange = self.exchanges.get(name)
        if exchange is None:
            exchange = self.exchanges[name] = Exchange(name, kind)
        elif exchange.kind != kind:
            raise ConfigError("kind", kind, f"{exchange.kind!r} (as declared before)", name)
        return exchange

    def exchange(self, name: str) -> Exchange:
        """The exchange ``name`` (ConfigError listing the exchanges if missing)."""
        return _declared(self.exchanges, "exchange", name, "MessageBroker")

    def bind(self, exchange: str, queue: str, key: str = "") -> None:
        """Bind ``queue`` to ``exchange`` with a binding key."""
        self.exchange(exchange).bind(self.queue(queue), key)

    def publish(self, exchange: str, routing_key: str, msg: Message) -> Routed:
        """Publish ``msg`` through ``exchange``: each queue it routes to gets a copy."""
        route = self.exchange(exchange).route(routing_key)
        msg.routing_key = routing_key
        took: list[str] = []
        refused: list[str] = []
        for queue in route:
            (took if queue.publish(msg.copy()) else refused).append(queue.name)
        return Routed(tuple(took), tuple(refused))

    def record_state(self) -> None:
        """Write every queue's remaining messages to ``amqp_state`` (:meth:`Queue.record_state`).

        The table exists afterwards even when every queue is empty.
        """
        self.world.table("amqp_state", STATE_COLUMNS)
        for queue in self.queues.values():
            queue.record_state()
