"""The RabbitMQ-style broker: queues and exchanges declared by name, publishing through them.

:class:`MessageBroker` is the object a scenario builds: ``declare_queue``,
``declare_exchange``, ``bind``, then ``publish(exchange, routing_key, message)``. As in
RabbitMQ, the nameless **default exchange** ``""`` is a direct exchange to which every queue is
bound under its own name, so ``publish("", "orders", msg)`` puts ``msg`` in queue ``orders``.

A queue's dead letters go, as in RabbitMQ, to a **dead-letter exchange**
(``declare_queue(..., dead_letter_exchange="dlx", dead_letter_routing_key=None)``: the copy is
routed by the queue's dead-letter routing key, or else by the message's own routing key; see
:class:`DeadLetterExchange`), or — the lab's shortcut — straight into a queue
(``dead_letter="dlq"``).

The broker lives in the world, not on a network node; :class:`labsim.amqp.server.BrokerServer`
serves it to publishers across the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from labsim.amqp.exchanges import Exchange
from labsim.amqp.message import Message, is_dead_letter_cycle
from labsim.amqp.queues import STATE_COLUMNS, Queue
from labsim.errors import ConfigError
from labsim.world import World

__all__ = ["DEFAULT_EXCHANGE", "DeadLetterExchange", "MessageBroker", "Routed"]

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


class DeadLetterExchange:
    """A queue's dead-letter exchange (RabbitMQ's ``x-dead-letter-exchange``).

    A queue hands it each dead-lettered copy (:meth:`publish`); it routes the copy through the
    broker's exchange ``exchange`` with ``routing_key`` (``x-dead-letter-routing-key``) or,
    when that is ``None``, the message's own routing key, and every queue the exchange routes
    to gets a copy — except a queue the copy would reach round a cycle without a rejection
    (:func:`~labsim.amqp.message.is_dead_letter_cycle`), which RabbitMQ drops. The exchange is
    looked up when a message dies, as RabbitMQ does: if it does not exist then, the copy is
    dropped.

    Args:
        broker: The broker whose exchanges route the copy.
        exchange: The exchange's name (``""``: the default exchange).
        routing_key: The dead-letter routing key, or ``None`` to keep the message's own.
    """

    def __init__(self, broker: MessageBroker, exchange: str, routing_key: str | None = None):
        self.broker = broker
        self.exchange = exchange
        self.routing_key = routing_key
        self.name = f"dead-letter exchange {exchange!r}"

    def __repr__(self) -> str:
        return f"DeadLetterExchange({self.exchange!r}, routing_key={self.routing_key!r})"

    def publish(self, msg: Message) -> bool:
        """Route the dead-lettered copy ``msg``; ``False`` if no queue took it."""
        exchange = self.broker.exchanges.get(self.exchange)
        if exchange is None:
            return False
        key = self.routing_key if self.routing_key is not None else msg.routing_key
        msg.routing_key = key
        history = msg.headers.get("x-death", [])
        took = False
        for queue in exchange.route(key):
            if not is_dead_letter_cycle(queue.name, history):
                took = queue.publish(msg.copy()) or took
        return took


class MessageBroker:
    """Declares queues and exchanges by name and publishes through exchanges.

    Args:
        world: The world the broker's queues record into.
    """

    def __init__(self, world: World):
        self.world = world
        self.queues: dict[str, Queue] = {}
        self.exchanges: dict[str, Exchange] = {DEFAULT_EXCHANGE: Exchange(DEFAULT_EXCHANGE)}

    def declare_queue(
        self,
        name: str,
        *,
        queue_type: str = "classic",
        dead_letter: str | Queue | None = None,
        dead_letter_exchange: str | None = None,
        dead_letter_routing_key: str | None = None,
        **options: Any,
    ) -> Queue:
        """Create queue ``name``; declaring it again returns the existing one.

        A new queue is bound to the default exchange under its own name.

        Args:
            name: The queue's name.
            queue_type: ``"classic"`` or ``"quorum"`` (a delivery limit needs a quorum queue).
            dead_letter: The lab's shortcut: dead letters go straight into this queue (a
                declared queue's name, or a :class:`Queue`).
            dead_letter_exchange: RabbitMQ's way: dead letters are routed through this
                exchange (``x-dead-letter-exchange``; it may be declared later).
            dead_letter_routing_key: The key they are routed with
                (``x-dead-letter-routing-key``; ``None``: the message's own routing key).
            options: The other :class:`Queue` options (``message_ttl``, ``max_length``,
                ``overflow``, ``delivery_limit``, ``max_priority``).
        """
        if name in self.queues:
            return self.queues[name]
        where = f"queue {name!r}"
        target: Queue | DeadLetterExchange | None
        if dead_letter_exchange is not None:
            if dead_letter is not None:
                raise ConfigError(
                    "dead_letter",
                    dead_letter,
                    "None when dead_letter_exchange is given (one place for dead letters)",
                    where,
                )
            target = DeadLetterExchange(self, dead_letter_exchange, dead_letter_routing_key)
        elif dead_letter_routing_key is not None:
            raise ConfigError(
                "dead_letter_routing_key",
                dead_letter_routing_key,
                "None without a dead_letter_exchange (RabbitMQ refuses it too)",
                where,
            )
        elif isinstance(dead_letter, str):
            target = self.queue(dead_letter)
        else:
            target = dead_letter
        queue = Queue(self.world, name, queue_type=queue_type, dead_letter=target, **options)
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
