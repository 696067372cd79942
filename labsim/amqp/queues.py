"""RabbitMQ-style queues: competing consumers, prefetch, acks, TTL, dead-lettering.

Semantics follow RabbitMQ's documentation:

* **competing consumers** share a queue; each consumer has a **prefetch** window — at most that
  many delivered-but-unacknowledged messages;
* ``ack`` removes a message; ``nack``/``reject`` with ``requeue=True`` puts it back at the
  **head** of the queue (so a message that always fails is redelivered at once: the *poison
  loop*, which also blocks what is behind it); with ``requeue=False`` it is **dead-lettered**;
* every redelivery sets ``redelivered`` and counts ``delivery_count``; a **delivery limit**
  (as quorum queues have) dead-letters a message delivered too often;
* a per-message or per-queue **TTL** expires messages — only when they reach the head of the
  queue, as RabbitMQ does; expired messages are dead-lettered;
* a **max length** drops (and dead-letters) the oldest message, or refuses new ones;
* **priorities**: higher-priority messages are delivered first;
* a consumer whose node crashes or whose channel closes gets its unacknowledged messages
  **requeued** (marked redelivered).

A consumer's conversation with its queue reads like SimPy's ``StoreGet``: ``channel.get()``
is an event that fires with a :class:`~labsim.amqp.message.Delivery` (delivery tag and
message); the consumer answers with ``channel.ack(tag)``, ``channel.nack(tag, requeue)`` or
``channel.reject(tag)``.

Recorded table ``amqp``: time, queue, msg_id, event (published, delivered, acked, requeued,
dead-lettered, expired, dropped, refused), consumer, delivery_count, detail. At the end of a
run, :meth:`Queue.record_state` writes what is still in each queue to the table
``amqp_state``: queue, msg_id, state (``ready`` or ``unacked``), consumer, delivery_count.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Generator
from typing import Any

import simpy

from labsim.amqp.message import Delivery, Message
from labsim.errors import ConfigError, check_choice, check_int, check_non_negative
from labsim.network import Node
from labsim.world import World

__all__ = ["LOG_COLUMNS", "STATE_COLUMNS", "Channel", "Queue"]

#: Columns of the ``amqp`` table: one row per thing that happens to a message in a queue.
LOG_COLUMNS = ("time", "queue", "msg_id", "event", "consumer", "delivery_count", "detail")
#: Columns of the ``amqp_state`` table (:meth:`Queue.record_state`).
STATE_COLUMNS = ("queue", "msg_id", "state", "consumer", "delivery_count")


class Channel:
    """One consumer's subscription to a queue, with its prefetch window.

    ``get()`` returns an event that fires with the next :class:`Delivery`. Deliveries are
    handed straight to a waiting ``get`` (no intermediate store), which keeps the per-message
    cost close to a bare SimPy model. A ``get`` must not be abandoned while pending (do not
    race it against a timeout): the next delivery would go to it.
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

    @property
    def free(self) -> int:
        """Deliveries this channel can still take."""
        return self.prefetch - len(self.unacked) if self.open else 0

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

    def ack(self, tag: int) -> None:
        """Acknowledge: the message is done."""
        self.queue._ack(self, tag)

    def nack(self, tag: int, requeue: bool = True) -> None:
        """Negative acknowledgement: requeue at the head, or dead-letter."""
        self.queue._nack(self, tag, requeue)

    def reject(self, tag: int, requeue: bool = False) -> None:
        """Reject one message (``nack`` of a single message; dead-letters by default)."""
        self.nack(tag, requeue)

    def close(self) -> None:
        """Close the channel: unacknowledged messages go back to the queue."""
        if self.open:
            self.queue._close(self)


class Queue:
    """A queue with competing consumers (see the module docs for the rules).

    Args:
        world: The world.
        name: Queue name.
        message_ttl: Default time-to-live of messages (seconds; ``None``: forever).
        max_length: Most ready messages; ``overflow`` decides what happens beyond it.
        overflow: ``"drop-head"`` (dead-letter the oldest) or ``"reject-publish"``.
        delivery_limit: Dead-letter a message once delivered more than this many times.
        dead_letter: Queue receiving dead-lettered messages (``None``: they are dropped).
        max_priority: Enables priorities 0..max_priority (``None``: FIFO only).
    """

    def __init__(
        self,
        world: World,
        name: str,
        *,
        message_ttl: float | None = None,
        max_length: int | None = None,
        overflow: str = "drop-head",
        delivery_limit: int | None = None,
        dead_letter: Queue | None = None,
        max_priority: int | None = None,
    ):
        self.world = world
        self.name = name
        ctx = f"queue {name!r}"
        if message_ttl is not None:
            check_non_negative("message_ttl", message_ttl, ctx)
        self.message_ttl = message_ttl
        if max_length is not None:
            check_int("max_length", max_length, 0, ctx)
        self.max_length = max_length
        self.overflow = check_choice("overflow", overflow, ("drop-head", "reject-publish"), ctx)
        if delivery_limit is not None:
            check_int("delivery_limit", delivery_limit, 1, ctx)
        self.delivery_limit = delivery_limit
        self.dead_letter = dead_letter
        if max_priority is not None:
            check_int("max_priority", max_priority, 0, ctx)
        levels = (max_priority or 0) + 1
        self._ready: list[deque[Message]] = [deque() for _ in range(levels)]
        self.max_priority = max_priority
        self.channels: list[Channel] = []
        self._next_channel = 0
        self._tags = itertools.count(1)
        self._log = world.table("amqp", LOG_COLUMNS).add
        self._reaper: simpy.Process | None = None
        self._expiring = 0  # ready messages with a TTL (skip the head scan when there are none)

    def __len__(self) -> int:
        """Ready messages (not delivered)."""
        return sum(len(d) for d in self._ready)

    @property
    def unacked(self) -> int:
        """Messages delivered and not yet acknowledged."""
        return sum(len(c.unacked) for c in self.channels)

    def record_state(self) -> None:
        """Write the messages still in the queue as rows of the ``amqp_state`` table.

        Ready messages come first, in the order they would be delivered (``consumer`` is
        ``None``), then each consumer's unacknowledged deliveries (``state="unacked"``).
        """
        add = self.world.table("amqp_state", STATE_COLUMNS).add
        for level in reversed(self._ready):
            for msg in level:
                add(self.name, msg.msg_id, "ready", None, msg.delivery_count)
        for channel in self.channels:
            for msg in channel.unacked.values():
                add(self.name, msg.msg_id, "unacked", channel.consumer, msg.delivery_count)

    def _record(
        self, msg: Message, event: str, consumer: str | None = None, detail: str = ""
    ) -> None:
        self._log(
            self.world.env.now, self.name, msg.msg_id, event, consumer, msg.delivery_count, detail
        )

    # -- publishing -------------------------------------------------------------------------
    def publish(self, msg: Message) -> bool:
        """Enqueue ``msg``; returns ``False`` if refused (full queue with reject-publish)."""
        now = self.world.env.now
        if not isinstance(msg, Message):
            raise ConfigError("msg", msg, "a labsim.amqp.Message", self.name)
        if self.max_length is not None and len(self) >= self.max_length:
            if self.overflow == "reject-publish":
                self._record(msg, "refused", detail="max_length")
                return False
            oldest = self._pop_head()
            if oldest is not None:
                self._dead_letter(oldest, "maxlen")
        msg.published_at = now
        ttl = msg.expires_at if msg.expires_at is not None else self.message_ttl
        if ttl is None:
            msg.expires_at = None
        else:
            msg.expires_at = now + ttl
            self._expiring += 1
        ready = self._ready
        ready[min(max(msg.priority, 0), len(ready) - 1) if len(ready) > 1 else 0].append(msg)
        self._log(now, self.name, msg.msg_id, "published", None, 0, "")
        self._dispatch()
        if msg.expires_at is not None and self._reaper is None:
            self._reaper = self.world.process(self._reap())
        return True

    def _pop_head(self) -> Message | None:
        for level in reversed(self._ready):
            if level:
                msg = level.popleft()
                if msg.expires_at is not None:
                    self._expiring -= 1
                return msg
        return None

    def _peek_head(self) -> Message | None:
        for level in reversed(self._ready):
            if level:
                return level[0]
        return None

    def _requeue_head(self, msg: Message) -> None:
        level = min(max(msg.priority, 0), len(self._ready) - 1)
        self._ready[level].appendleft(msg)
        if msg.expires_at is not None:
            self._expiring += 1

    def _dead_letter(self, msg: Message, reason: str) -> None:
        self._record(msg, "dead-lettered", detail=reason)
        if self.dead_letter is not None:
            copy = msg.copy()
            copy.expires_at = None
            copy.headers["x-death-reason"] = reason
            copy.headers["x-first-death-queue"] = msg.headers.get("x-first-death-queue", self.name)
            copy.delivery_count = 0
            self.dead_letter.publish(copy)

    def _expire_head(self) -> None:
        # RabbitMQ expires messages only at the head: an expired message behind a live one
        # waits for the live one to leave.
        now = self.world.env.now
        while True:
            head = self._peek_head()
            if head is None or head.expires_at is None or head.expires_at > now:
                return
            self._pop_head()
            self._record(head, "expired")
            self._dead_letter(head, "expired")

    def _reap(self) -> Generator[Any, Any, None]:
        env = self.world.env
        while True:
            self._expire_head()
            head = self._peek_head()
            if head is None:
                self._reaper = None
                return
            wait = head.expires_at - env.now if head.expires_at is not None else 0.05
            yield env.timeout(max(wait, 0.05) if head.expires_at is None else max(wait, 1e-9))

    # -- consuming --------------------------------------------------------------------------
    def subscribe(self, consumer: str, prefetch: int = 1, node: Node | None = None) -> Channel:
        """Start consuming: returns the consumer's :class:`Channel`.

        If ``node`` is given, a crash of that node closes the channel (unacknowledged
        messages are requeued as redelivered).
        """
        channel = Channel(self, consumer, prefetch, node)
        self.channels.append(channel)
        if node is not None:
            node.process(self._watch(channel))
        self._dispatch()
        return channel

    def _watch(self, channel: Channel) -> Generator[Any, Any, None]:
        # Lives on the consumer's node and waits forever; the node's crash interrupts it,
        # which is the broker noticing the dropped connection.
        try:
            yield self.world.env.event()
        except simpy.Interrupt:
            channel.close()
            raise

    def _dispatch(self) -> None:
        if self._expiring:
            self._expire_head()
        channels = self.channels
        if not channels:
            return
        ready = self._ready
        single = ready[0] if len(ready) == 1 else None
        log = self._log
        now = self.world.env.now
        while True:
            if single is not None:
                if not single:
                    return
            elif self._peek_head() is None:
                return
            n = len(channels)
            start = self._next_channel
            for i in range(n):
                channel = channels[(start + i) % n]
                if channel.open and len(channel.unacked) < channel.prefetch:
                    self._next_channel = (start + i + 1) % n
                    break
            else:
                return  # every consumer's prefetch window is full
            msg = self._pop_head()
            if msg is None:  # pragma: no cover - checked above
                return
            if self.delivery_limit is not None and msg.delivery_count >= self.delivery_limit:
                self._dead_letter(msg, "delivery_limit")
                continue
            msg.delivery_count += 1
            if msg.delivery_count > 1:
                msg.redelivered = True
            tag = next(self._tags)
            channel.unacked[tag] = msg
            log(now, self.name, msg.msg_id, "delivered", channel.consumer, msg.delivery_count, "")
            channel._deliver(Delivery(tag, msg))

    def _settle(self, channel: Channel, tag: int) -> Message:
        # The delivery ``tag`` answers for: no longer unacknowledged.
        msg = channel.unacked.pop(tag, None)
        if msg is None:
            raise ConfigError(
                "tag", tag, f"an unacknowledged delivery tag of {channel.consumer}", self.name
            )
        return msg

    def _ack(self, channel: Channel, tag: int) -> None:
        msg = self._settle(channel, tag)
        self._record(msg, "acked", channel.consumer)
        self._dispatch()  # the consumer's prefetch window has room again

    def _nack(self, channel: Channel, tag: int, requeue: bool) -> None:
        msg = self._settle(channel, tag)
        if requeue:
            self._record(msg, "requeued", channel.consumer)
            self._requeue_head(msg)
        else:
            self._dead_letter(msg, "rejected")
        self._dispatch()

    def _close(self, channel: Channel) -> None:
        channel.open = False
        # Requeue in delivery order so the oldest ends up first at the head.
        for tag in sorted(channel.unacked, reverse=True):
            msg = channel.unacked.pop(tag)
            self._record(msg, "requeued", channel.consumer, "channel closed")
            self._requeue_head(msg)
        channel.buffer.clear()
        channel._waiter = None  # the consumer's process was interrupted: forget its get()
        self.channels.remove(channel)
        self._dispatch()
