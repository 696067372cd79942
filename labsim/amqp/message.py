"""What sits in a RabbitMQ-style queue (:class:`Message`) and what a consumer receives
(:class:`Delivery`: the message with its delivery tag)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Delivery", "Message"]


class Message:
    """A message in a queue (mutable bookkeeping: delivery count, redelivered flag).

    Args:
        msg_id: The message id (consumers and checkers follow a message by it).
        body: The payload.
        priority: Delivery priority (higher first) in a queue with ``max_priority``.
        ttl: Time-to-live in seconds from publishing (``None``: the queue's default).
        routing_key: Routing key (set by :meth:`MessageBroker.publish
            <labsim.amqp.broker.MessageBroker.publish>`).
        headers: Headers; dead-lettering adds ``x-death-reason`` and ``x-first-death-queue``.
    """

    __slots__ = (
        "body",
        "delivery_count",
        "expires_at",
        "headers",
        "msg_id",
        "priority",
        "published_at",
        "redelivered",
        "routing_key",
    )

    def __init__(
        self,
        msg_id: Any,
        body: Any = None,
        *,
        priority: int = 0,
        ttl: float | None = None,
        routing_key: str = "",
        headers: dict | None = None,
    ):
        self.msg_id = msg_id
        self.body = body
        self.priority = priority
        self.routing_key = routing_key
        self.headers = dict(headers or {})
        self.published_at = 0.0
        self.expires_at: float | None = ttl  # relative until published, then absolute
        self.delivery_count = 0
        self.redelivered = False

    def __repr__(self) -> str:
        return f"Message({self.msg_id!r}, deliveries={self.delivery_count})"

    def copy(self) -> Message:
        """A fresh copy (what an exchange puts into each bound queue)."""
        m = Message(
            self.msg_id,
            self.body,
            priority=self.priority,
            routing_key=self.routing_key,
            headers=self.headers,
        )
        m.expires_at = self.expires_at
        return m


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a consumer (AMQP's ``basic.deliver``).

    Attributes:
        tag: The delivery tag: what the consumer acknowledges (``channel.ack(tag)``).
        message: The message; ``message.redelivered`` says whether it was delivered before.
    """

    tag: int
    message: Message
