"""What sits in a RabbitMQ-style queue (:class:`Message`) and what a consumer receives
(:class:`Delivery`: the message with its delivery tag).

Dead-lettering writes RabbitMQ's headers into the dead-lettered copy
(:func:`dead_letter_copy`): ``x-death``, the history — a list of ``{"queue", "reason",
"count"}`` entries, newest first, one per (queue, reason) pair, whose ``count`` grows and which
moves to the front each time the message dies there again — and ``x-first-death-queue`` /
``x-first-death-reason``, set by the first dead-lettering and never changed.
:func:`is_dead_letter_cycle` is RabbitMQ's rule for a message dead-lettered round a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "DEATH_REASONS",
    "DeadLetterTarget",
    "Delivery",
    "Message",
    "dead_letter_copy",
    "deaths",
    "is_dead_letter_cycle",
]

#: Why a message is dead-lettered (RabbitMQ's ``x-death`` reasons).
DEATH_REASONS = ("rejected", "expired", "maxlen", "delivery_limit")


class Message:
    """A message in a queue (mutable bookkeeping: delivery count, redelivered flag).

    Args:
        msg_id: The message id (consumers and checkers follow a message by it).
        body: The payload.
        priority: Delivery priority (higher first) in a queue with ``max_priority``.
        ttl: Time-to-live in seconds from publishing (``None``: the queue's default).
        routing_key: Routing key (set by :meth:`MessageBroker.publish
            <labsim.amqp.broker.MessageBroker.publish>`).
        headers: Headers. Dead-lettering adds ``x-death`` (the history, newest first) and
            ``x-first-death-queue`` / ``x-first-death-reason`` (see :func:`dead_letter_copy`);
            a quorum queue sets ``x-delivery-count`` (the returns so far) on a redelivery.
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


class DeadLetterTarget(Protocol):
    """Where a queue's dead letters go: a queue, or a dead-letter exchange."""

    name: str

    def publish(self, msg: Message) -> bool:
        """Take the dead-lettered copy ``msg``; ``False`` if it went nowhere."""
        ...


def deaths(msg: Message) -> list[dict[str, Any]]:
    """The message's ``x-death`` history, newest first (``[]`` if it never died)."""
    return list(msg.headers.get("x-death", ()))


def dead_letter_copy(msg: Message, queue: str, reason: str) -> Message:
    """The copy of ``msg`` that queue ``queue`` dead-letters for ``reason``, as RabbitMQ makes it.

    The copy has no expiration (RabbitMQ removes it), no delivery count, no
    ``x-delivery-count`` header, and the ``x-death`` history updated: the entry for
    (``queue``, ``reason``) counts one more death and moves to the front, or a new entry with
    ``count`` 1 is put there. ``x-first-death-queue`` and ``x-first-death-reason`` are set by
    the first dead-lettering only.
    """
    copy = msg.copy()
    copy.expires_at = None
    headers = copy.headers
    headers.pop("x-delivery-count", None)
    history = [dict(entry) for entry in headers.get("x-death", ())]
    for i, entry in enumerate(history):
        if entry["queue"] == queue and entry["reason"] == reason:
            latest = history.pop(i)
            latest["count"] += 1
            break
    else:
        latest = {"queue": queue, "reason": reason, "count": 1}
    headers["x-death"] = [latest, *history]
    headers.setdefault("x-first-death-queue", queue)
    headers.setdefault("x-first-death-reason", reason)
    return copy


def is_dead_letter_cycle(queue: str, history: list[dict[str, Any]]) -> bool:
    """Whether dead-lettering a message with ``history`` into ``queue`` closes a cycle.

    RabbitMQ's rule: the message already died in ``queue`` and nothing since then, that death
    included, was a rejection — a fully automatic cycle (a queue whose TTL dead-letters back to
    itself, say). Such a copy is dropped; a cycle with a consumer's rejection in it (a delayed
    retry) goes round.

    Args:
        queue: The queue the dead-lettered copy would go to.
        history: The copy's ``x-death`` history, newest first (the death just recorded first).
    """
    for entry in history:
        if entry["reason"] == "rejected":
            return False
        if entry["queue"] == queue:
            return True
    return False
