"""What a publisher and a RabbitMQ-style broker say to each other over the network.

A publisher sends a :class:`Publish` (AMQP's ``basic.publish``) as the ``body`` of a
:class:`labsim.transport.Request`. With publisher confirms (``confirm=True``) the broker answers
each one: :class:`Confirm` when every queue it was routed to took it (``basic.ack``), or
:class:`Nack` when a queue refused it (``basic.nack``: a full queue that rejects publishes).
Without confirms nothing comes back: fire and forget. A publisher that hears nothing before
its timeout gets ``None`` from the transport and cannot tell a lost publish from a lost confirm.

===================  =========================================  =========================
request              what it asks                               reply (with confirms)
===================  =========================================  =========================
:class:`Publish`     route this message through an exchange      :class:`Confirm` or
                                                                 :class:`Nack`
===================  =========================================  =========================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Confirm", "Nack", "Publish"]


@dataclass(frozen=True, slots=True)
class Publish:
    """Publish one message through ``exchange`` with ``routing_key``.

    Attributes:
        exchange: Exchange name (``""``: the default exchange, routing by queue name).
        routing_key: The message's routing key.
        msg_id: The message id (consumers dedupe by it).
        body: The message body.
        confirm: Whether the publisher's channel is in confirm mode (waits for an answer).
    """

    exchange: str
    routing_key: str
    msg_id: Any
    body: Any = None
    confirm: bool = True


@dataclass(frozen=True, slots=True)
class Confirm:
    """The broker took message ``msg_id``: it is in each of ``queues`` (empty: unroutable)."""

    msg_id: Any
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Nack:
    """A queue refused message ``msg_id``: ``refused`` names the full ones (others took it)."""

    msg_id: Any
    refused: tuple[str, ...]
