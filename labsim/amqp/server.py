"""A RabbitMQ-style broker on a network node, and the publishers that talk to it.

:class:`BrokerServer` puts a :class:`~labsim.amqp.broker.MessageBroker` on a node: each
:class:`~labsim.amqp.messages.Publish` arriving over the network is routed into the broker's
queues and, with publisher confirms, answered with a :class:`~labsim.amqp.messages.Confirm`
or :class:`~labsim.amqp.messages.Nack`. :class:`Publisher` is the other end, on the node of
a producer or an outbox relay: ``send`` fires and forgets, ``publish`` waits for the answer.
Latency, loss and partitions on the network then show up as slow or missing confirms.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from labsim.amqp.broker import DEFAULT_EXCHANGE, MessageBroker
from labsim.amqp.message import Message
from labsim.amqp.messages import Confirm, Nack, Publish
from labsim.errors import ConfigError, check_positive
from labsim.network import Node
from labsim.transport import Endpoint, Request

__all__ = ["BrokerServer", "Publisher"]


class BrokerServer:
    """Serves ``broker`` on ``node``: publishes arriving over the network go into its queues.

    Args:
        node: The broker's node (its network and world are the broker's too).
        broker: The broker served.
        on_publish: Called ``on_publish(publish)`` for each :class:`Publish` the broker
            receives, duplicates included (a lesson's record of what arrived, say).
    """

    def __init__(
        self,
        node: Node,
        broker: MessageBroker,
        *,
        on_publish: Callable[[Publish], Any] | None = None,
    ):
        if broker.world is not node.network.world:
            raise ConfigError("broker", broker, f"a broker in the world of node {node.name!r}")
        self.node = node
        self.broker = broker
        self.on_publish = on_publish
        self.endpoint = Endpoint.of(node.network, node.name)
        self.endpoint.serve(self._on_request)

    def _on_request(self, request: Request) -> None:
        match request.body:
            case Publish() as msg:
                reply = self.publish(msg)
                if msg.confirm:
                    self.endpoint.reply(request, reply)
            case body:
                raise TypeError(f"{self.node.name}: no AMQP request: {body!r}")

    def publish(self, msg: Publish) -> Confirm | Nack:
        """Route ``msg`` into the broker's queues; the answer a confirming publisher gets."""
        routed = self.broker.publish(msg.exchange, msg.routing_key, Message(msg.msg_id, msg.body))
        if self.on_publish is not None:
            self.on_publish(msg)
        if routed.refused:
            return Nack(msg.msg_id, routed.refused)
        return Confirm(msg.msg_id, routed.queues)


class Publisher:
    """A node's publishing connection to the broker on node ``broker``.

    Args:
        node: The publishing node (a producer, an order service...).
        broker: Name of the broker's node.
        exchange: Exchange the messages go through (default: the default exchange).
        confirm_timeout: Seconds :meth:`publish` waits for the broker's answer.
    """

    def __init__(
        self,
        node: Node,
        broker: str,
        *,
        exchange: str = DEFAULT_EXCHANGE,
        confirm_timeout: float = 1.0,
    ):
        self.node = node
        self.broker = node.network.node(broker).name
        self.exchange = exchange
        self.confirm_timeout = check_positive("confirm_timeout", confirm_timeout, "Publisher")
        self.endpoint = Endpoint.of(node.network, node.name)

    def publish(
        self, routing_key: str, msg_id: Any, body: Any = None
    ) -> Generator[Any, Any, Confirm | Nack | None]:
        """Publish with a confirm: the broker's answer, or ``None`` after ``confirm_timeout``.

        Use as ``answer = yield from publisher.publish(...)`` inside a process.
        """
        msg = Publish(self.exchange, routing_key, msg_id, body)
        return (yield from self.endpoint.call(self.broker, msg, self.confirm_timeout))

    def send(self, routing_key: str, msg_id: Any, body: Any = None) -> None:
        """Publish without a confirm (fire and forget): nothing says whether it arrived."""
        msg = Publish(self.exchange, routing_key, msg_id, body, confirm=False)
        # No answer is awaited, so no correlation id is taken.
        self.node.network.send(self.node.name, self.broker, Request(msg, 0, self.node.name))
