"""A consumer's channel on a RabbitMQ-style queue: its prefetch window, acks, cancel, close.

:meth:`Queue.subscribe <labsim.amqp.queues.Queue.subscribe>` returns a :class:`Channel`. The
queue delivers into it (up to ``prefetch`` unacknowledged messages); the consumer takes
deliveries with ``get()`` and settles each by its tag: ``ack``, ``nack`` (with or without
requeue), ``reject``. ``cancel()`` stops deliveries and keeps what is unacknowledged;
``close()`` returns it to the queue.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import simpy

from labsim.amqp.message import Delivery, Message
from labsim.errors import ConfigError, check_int
from labsim.network import Node

if TYPE_CHECKING:
    from labsim.amqp.queues import Queue

__all__ = ["Channel"]


class Channel:
    """One consumer's subscription to a queue, with its prefetch window.

    ``get()`` returns an event that fires with the next :class:`Delivery`. Deliveries are
    handed straight to a waiting ``get`` (no intermediate store), which keeps the per-message
    cost close to a bare SimPy model. A ``get`` must not be abandoned while pending (do not
    race it against a timeout): the next delivery would go to it.

    Attributes:
        open: ``False`` once the channel is closed.
        consuming: ``False`` once the consumer is cancelled or the channel closed: no more
            deliveries.
    """

    def __init__(self, queue: Queue, consumer: str, prefetch: int, node: Node | None):
        self.queue = queue
        self.consumer = consumer
        self.prefetch = check_int("prefetch", prefetch, 1, f"consumer {consumer}")
        self.node = node
        self.unacked: dict[int, Message] = {}
        self.buffer: deque[Delivery] = deque()  # delivered, not yet taken by get()
        self._waiter: simpy.Event | None = None
        self.open = True
        self.consuming = True

    @property
    def free(self) -> int:
        """Deliveries this channel can still take."""
        return self.prefetch - len(self.unacked) if self.consuming else 0

    def get(self) -> simpy.Event:
        """Event giving the next :class:`Delivery` to this consumer."""
        event = self.queue.world.env.event()
        if self.buffer:
            event.succeed(self.buffer.popleft())
        else:
            self._waiter = event
        return event

    def _deliver(self, item: Delivery) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.succeed(item)
        else:
            self.buffer.append(item)

    def _settle(self, tag: int) -> Message:
        # The delivery ``tag`` answers for: no longer unacknowledged.
        msg = self.unacked.pop(tag, None)
        if msg is None:
            raise ConfigError(
                "tag", tag, f"an unacknowledged delivery tag of {self.consumer}", self.queue.name
            )
        return msg

    def ack(self, tag: int) -> None:
        """Acknowledge: the message is done."""
        msg = self._settle(tag)
        queue = self.queue
        queue._record(msg, "acked", self.consumer)
        queue._dispatch()  # the consumer's prefetch window has room again

    def nack(self, tag: int, requeue: bool = True) -> None:
        """Negative acknowledgement: return the message to the queue, or dead-letter it.

        A returned message goes to the head of a classic queue and to the back of a quorum
        queue, which dead-letters it instead once it has been returned more than its
        delivery limit.
        """
        msg = self._settle(tag)
        queue = self.queue
        if requeue:
            queue._return(msg, self.consumer, "", head=queue.queue_type == "classic")
        else:
            queue._dead_letter(msg, "rejected")
        queue._dispatch()
        queue._watch_expiry()

    def reject(self, tag: int, requeue: bool = False) -> None:
        """Reject one message (``nack`` of a single message; dead-letters by default)."""
        self.nack(tag, requeue)

    def cancel(self) -> None:
        """Cancel the consumer (``basic.cancel``): no more deliveries; the channel stays open.

        Unacknowledged messages stay with the channel: they can still be acknowledged,
        nacked or rejected, and go back to the queue only when the channel closes.
        Deliveries already made stay in the channel's buffer for ``get()``.
        """
        self.consuming = False

    def close(self) -> None:
        """Close the channel: unacknowledged messages go back to the queue.

        They return to the head, in delivery order, marked redelivered (both queue types: a
        quorum queue, too, serves what a closed channel returns first); each return counts
        towards a quorum queue's delivery limit.
        """
        if not self.open:
            return
        self.open = self.consuming = False
        queue = self.queue
        # Return in reverse delivery order, each to the head, so the oldest ends up first.
        for tag in sorted(self.unacked, reverse=True):
            queue._return(self.unacked.pop(tag), self.consumer, "channel closed", head=True)
        self.buffer.clear()
        self._waiter = None  # the consumer's process was interrupted: forget its get()
        queue.channels.remove(self)
        queue._dispatch()
        queue._watch_expiry()
