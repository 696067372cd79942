"""RabbitMQ-style queues: competing consumers, prefetch, acks, TTL, dead-lettering.

Semantics follow RabbitMQ 3.10 (checked against a real server by :mod:`labsim.conformance`):

* a queue is a ``classic`` or a ``quorum`` queue (``queue_type``); a **delivery limit** is a
  quorum-queue feature, priorities a classic-queue one (each type refuses the other's);
* **competing consumers** share a queue; each consumer has a **prefetch** window — at most that
  many delivered-but-unacknowledged messages;
* ``ack`` removes a message; ``nack``/``reject`` with ``requeue=True`` *returns* it: a classic
  queue puts it back at the **head** (so a message that always fails is redelivered at once:
  the *poison loop*, which also blocks what is behind it), a quorum queue at the **back**;
  with ``requeue=False`` it is **dead-lettered**;
* every redelivery sets ``redelivered`` and counts ``delivery_count``; a quorum queue also
  sets the header ``x-delivery-count`` (the returns so far) and dead-letters a message
  returned **more** than ``delivery_limit`` times — at that return, so a limit of 3 means 4
  deliveries; returns by a closing channel count too;
* a per-message or per-queue **TTL** expires messages (the lower of the two applies) — only
  when they reach the head of the queue, as RabbitMQ does, but also while the queue delivers:
  an expired message is never delivered; a TTL of 0 reaches a consumer that can take the
  message at once and expires it otherwise; expired messages are dead-lettered;
* a **max length** drops (and dead-letters) the oldest message, or refuses new ones;
* **priorities**: higher-priority messages are delivered first;
* **dead-lettering** hands a copy (:func:`~labsim.amqp.message.dead_letter_copy`: the
  ``x-death`` history) to the queue's ``dead_letter`` target — a queue, or a dead-letter
  exchange (:class:`~labsim.amqp.broker.DeadLetterExchange`) — unless it would go round a
  cycle without a rejection (:func:`~labsim.amqp.message.is_dead_letter_cycle`: dropped);
* a consumer whose node crashes or whose channel closes gets its unacknowledged messages
  **requeued** at the head, in delivery order (marked redelivered); a consumer that
  **cancels** (``basic.cancel``) gets nothing more, but keeps its unacknowledged messages,
  which it may still settle, until its channel closes.

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

from labsim.amqp.channel import Channel
from labsim.amqp.message import (
    DeadLetterTarget,
    Delivery,
    Message,
    dead_letter_copy,
    is_dead_letter_cycle,
)
from labsim.errors import ConfigError, check_choice, check_int, check_non_negative
from labsim.network import Node
from labsim.world import World

__all__ = ["LOG_COLUMNS", "QUEUE_TYPES", "STATE_COLUMNS", "Channel", "DeadLetterTarget", "Queue"]

#: Columns of the ``amqp`` table: one row per thing that happens to a message in a queue.
LOG_COLUMNS = ("time", "queue", "msg_id", "event", "consumer", "delivery_count", "detail")
#: Columns of the ``amqp_state`` table (:meth:`Queue.record_state`).
STATE_COLUMNS = ("queue", "msg_id", "state", "consumer", "delivery_count")
#: The queue types: RabbitMQ's classic (mirrored or not) and quorum (Raft-replicated) queues.
QUEUE_TYPES = ("classic", "quorum")


class Queue:
    """A queue with competing consumers (see the module docs for the rules).

    Args:
        world: The world.
        name: Queue name.
        queue_type: ``"classic"`` or ``"quorum"`` (:data:`QUEUE_TYPES`): where a returned
            message goes (head or back) and which features the queue has.
        message_ttl: Default time-to-live of messages (seconds; ``None``: forever); a
            message's own TTL applies when it is lower.
        max_length: Most ready messages; ``overflow`` decides what happens beyond it.
        overflow: ``"drop-head"`` (dead-letter the oldest) or ``"reject-publish"``.
        delivery_limit: Quorum queues only: dead-letter a message returned more than this
            many times (so it is delivered at most ``delivery_limit + 1`` times).
        dead_letter: Where dead-lettered messages go: a queue, or a dead-letter exchange
            (:meth:`MessageBroker.declare_queue <labsim.amqp.broker.MessageBroker.
            declare_queue>` makes one); ``None``: they are dropped.
        max_priority: Classic queues only: enables priorities 0..max_priority (``None``: FIFO).
    """

    def __init__(
        self,
        world: World,
        name: str,
        *,
        queue_type: str = "classic",
        message_ttl: float | None = None,
        max_length: int | None = None,
        overflow: str = "drop-head",
        delivery_limit: int | None = None,
        dead_letter: DeadLetterTarget | None = None,
        max_priority: int | None = None,
    ):
        self.world = world
        self.name = name
        ctx = f"queue {name!r}"
        self.queue_type = check_choice("queue_type", queue_type, QUEUE_TYPES, ctx)
        quorum = self.queue_type == "quorum"
        if message_ttl is not None:
            check_non_negative("message_ttl", message_ttl, ctx)
        self.message_ttl = message_ttl
        if max_length is not None:
            check_int("max_length", max_length, 0, ctx)
        self.max_length = max_length
        self.overflow = check_choice("overflow", overflow, ("drop-head", "reject-publish"), ctx)
        if delivery_limit is not None:
            if not quorum:
                raise ConfigError(
                    "delivery_limit",
                    delivery_limit,
                    "None for a classic queue: a delivery limit is a quorum-queue feature "
                    "(declare the queue with queue_type='quorum'; RabbitMQ refuses "
                    "x-delivery-limit on a classic queue)",
                    ctx,
                )
            check_int("delivery_limit", delivery_limit, 0, ctx)
        self.delivery_limit = delivery_limit
        self.dead_letter = dead_letter
        if max_priority is not None:
            if quorum:
                raise ConfigError(
                    "max_priority",
                    max_priority,
                    "None for a quorum queue: priorities are a classic-queue feature "
                    "(RabbitMQ 3.10 refuses x-max-priority on a quorum queue)",
                    ctx,
                )
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

    def __repr__(self) -> str:
        return f"Queue({self.name!r}, {self.queue_type}, ready={len(self)})"

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
        ttl = msg.expires_at  # the message's own TTL (relative until published)
        if self.message_ttl is not None and (ttl is None or self.message_ttl < ttl):
            ttl = self.message_ttl  # the lower of the two applies
        if ttl is None:
            msg.expires_at = None
        else:
            msg.expires_at = now + ttl
        self._log(now, self.name, msg.msg_id, "published", None, 0, "")
        if ttl is not None and ttl <= 0:
            # RabbitMQ hands a message with TTL 0 to a consumer that can take it at once,
            # and expires it otherwise (it never waits in the queue).
            channel = self._free_channel() if self._peek_head() is None else None
            if channel is None:
                self._record(msg, "expired")
                self._dead_letter(msg, "expired")
            else:
                self._hand(channel, msg)
            return True
        self._enqueue(msg, head=False)
        self._dispatch()
        self._watch_expiry()
        return True

    def _enqueue(self, msg: Message, head: bool) -> None:
        # Ready again (published, returned): at the head or the back of its priority level.
        ready = self._ready
        level = ready[min(max(msg.priority, 0), len(ready) - 1)] if len(ready) > 1 else ready[0]
        if head:
            level.appendleft(msg)
        else:
            level.append(msg)
        if msg.expires_at is not None:
            self._expiring += 1

    def _watch_expiry(self) -> None:
        # A message with a TTL is ready: make sure the reaper expires the head in time.
        if self._expiring and self._reaper is None:
            self._reaper = self.world.process(self._reap())

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

    def _dead_letter(self, msg: Message, reason: str) -> None:
        self._record(msg, "dead-lettered", detail=reason)
        target = self.dead_letter
        if target is None:
            return
        copy = dead_letter_copy(msg, self.name, reason)
        if isinstance(target, Queue) and is_dead_letter_cycle(target.name, copy.headers["x-death"]):
            return  # round a cycle without a rejection: RabbitMQ drops it
        target.publish(copy)

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
            if head is None or not self._expiring:
                self._reaper = None  # nothing left that can expire
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

    def _free_channel(self) -> Channel | None:
        # The next consumer (round robin) with room in its prefetch window.
        channels = self.channels
        n = len(channels)
        start = self._next_channel
        for i in range(n):
            channel = channels[(start + i) % n]
            if channel.consuming and len(channel.unacked) < channel.prefetch:
                self._next_channel = (start + i + 1) % n
                return channel
        return None

    def _hand(self, channel: Channel, msg: Message) -> None:
        # Deliver ``msg`` to ``channel`` (the body of the dispatch loop, for one message).
        msg.delivery_count += 1
        if msg.delivery_count > 1:
            msg.redelivered = True
            if self.queue_type == "quorum":
                msg.headers["x-delivery-count"] = msg.delivery_count - 1
        tag = next(self._tags)
        channel.unacked[tag] = msg
        self._record(msg, "delivered", channel.consumer)
        channel._deliver(Delivery(tag, msg))

    def _dispatch(self) -> None:
        channels = self.channels
        if not channels:
            if self._expiring:
                self._expire_head()
            return
        ready = self._ready
        single = ready[0] if len(ready) == 1 else None
        log = self._log
        now = self.world.env.now
        quorum = self.queue_type == "quorum"
        while True:
            if self._expiring:
                # Before every delivery: an expired message reaching the head is dropped,
                # never delivered.
                self._expire_head()
            if single is not None:
                if not single:
                    return
            elif self._peek_head() is None:
                return
            n = len(channels)
            start = self._next_channel
            for i in range(n):
                channel = channels[(start + i) % n]
                if channel.consuming and len(channel.unacked) < channel.prefetch:
                    self._next_channel = (start + i + 1) % n
                    break
            else:
                return  # every consumer's prefetch window is full
            msg = self._pop_head()
            if msg is None:  # pragma: no cover - checked above
                return
            # The body of _hand, inlined: this loop is the per-message hot path.
            msg.delivery_count += 1
            if msg.delivery_count > 1:
                msg.redelivered = True
                if quorum:
                    msg.headers["x-delivery-count"] = msg.delivery_count - 1
            tag = next(self._tags)
            channel.unacked[tag] = msg
            log(now, self.name, msg.msg_id, "delivered", channel.consumer, msg.delivery_count, "")
            channel._deliver(Delivery(tag, msg))

    def _return(self, msg: Message, consumer: str, detail: str, head: bool) -> None:
        # A delivered message comes back (nack/reject with requeue, channel closed). Each
        # return counts towards a quorum queue's delivery limit: this one is the message's
        # ``delivery_count``-th, and more than the limit dead-letters it instead.
        if self.delivery_limit is not None and msg.delivery_count > self.delivery_limit:
            self._dead_letter(msg, "delivery_limit")
            return
        self._record(msg, "requeued", consumer, detail)
        self._enqueue(msg, head)
