"""A RabbitMQ-style message broker: exchanges, queues, prefetch, acks, dead-lettering.

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

Exchanges route published messages to queues: ``fanout`` (every bound queue), ``direct``
(binding key equals routing key) or ``topic`` (``*`` matches one dot-separated word, ``#`` zero
or more).

Recorded table ``amqp``: time, queue, msg_id, event (published, delivered, acked, requeued,
dead-lettered, expired, dropped, refused), consumer, delivery_count, detail. At the end of a
run, :meth:`MessageBroker.record_state` writes what is still in each queue to the table
``amqp_state``: queue, msg_id, state (``ready`` or ``unacked``), consumer, delivery_count.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Generator
from typing import Any

import simpy

from labsim.errors import ConfigError, check_choice, check_int, check_non_negative
from labsim.network import Node
from labsim.world import World

__all__ = [
    "STATE_COLUMNS",
    "Channel",
    "Exchange",
    "Message",
    "MessageBroker",
    "Queue",
    "topic_matches",
]

#: Columns of the ``amqp_state`` table (:meth:`Queue.record_state`).
STATE_COLUMNS = ("queue", "msg_id", "state", "consumer", "delivery_count")


class Message:
    """A message in a queue (mutable bookkeeping: delivery count, redelivered flag)."""

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


class Channel:
    """One consumer's subscription to a queue, with its prefetch window.

    ``get()`` returns an event that fires with the next ``(tag, message)``. Deliveries are
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
        self.buffer: deque[tuple[int, Message]] = deque()  # delivered, not yet taken by get()
        self._waiter: simpy.Event | None = None
        self.open = True

    @property
    def free(self) -> int:
        """Deliveries this channel can still take."""
        return self.prefetch - len(self.unacked) if self.open else 0

    def get(self) -> simpy.Event:
        """Event giving the next ``(tag, message)`` delivered to this consumer."""
        event = self.queue.world.env.event()
        if self.buffer:
            event.succeed(self.buffer.popleft())
        else:
            self._waiter = event
        return event

    def _deliver(self, item: tuple[int, Message]) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.succeed(item)
        else:
            self.buffer.append(item)

    def ack(self, tag: int) -> None:
        """Acknowledge: the message is done."""
        self.queue._settle(self, tag, "ack")

    def nack(self, tag: int, requeue: bool = True) -> None:
        """Negative acknowledgement: requeue at the head, or dead-letter."""
        self.queue._settle(self, tag, "requeue" if requeue else "dead-letter")

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
        self._log = world.table(
            "amqp", ("time", "queue", "msg_id", "event", "consumer", "delivery_count", "detail")
        ).add
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
            raise ConfigError("msg", msg, "a labsim.amqp.broker.Message", self.name)
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
            channel._deliver((tag, msg))

    def _settle(self, channel: Channel, tag: int, outcome: str) -> None:
        msg = channel.unacked.pop(tag, None)
        if msg is None:
            raise ConfigError(
                "tag", tag, f"an unacknowledged delivery tag of {channel.consumer}", self.name
            )
        if outcome == "ack":
            self._log(
                self.world.env.now,
                self.name,
                msg.msg_id,
                "acked",
                channel.consumer,
                msg.delivery_count,
                "",
            )
        elif outcome == "requeue":
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


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more words."""
    p_words = pattern.split(".") if pattern else []
    k_words = key.split(".") if key else []

    def match(i: int, j: int) -> bool:
        if i == len(p_words):
            return j == len(k_words)
        if p_words[i] == "#":
            return any(match(i + 1, jj) for jj in range(j, len(k_words) + 1))
        if j == len(k_words):
            return False
        return (p_words[i] == "*" or p_words[i] == k_words[j]) and match(i + 1, j + 1)

    return match(0, 0)


class Exchange:
    """Routes published messages to bound queues (``fanout``, ``direct`` or ``topic``)."""

    def __init__(self, name: str, kind: str = "direct"):
        self.name = name
        self.kind = check_choice("kind", kind, ("fanout", "direct", "topic"), f"exchange {name}")
        self.bindings: list[tuple[Queue, str]] = []

    def route(self, routing_key: str) -> list[Queue]:
        """The queues a message with ``routing_key`` goes to."""
        out = []
        for queue, key in self.bindings:
            matched = (
                self.kind == "fanout"
                or (self.kind == "direct" and key == routing_key)
                or (self.kind == "topic" and topic_matches(key, routing_key))
            )
            if matched and queue not in out:
                out.append(queue)
        return out


class MessageBroker:
    """Declares queues and exchanges by name and publishes through exchanges."""

    def __init__(self, world: World):
        self.world = world
        self.queues: dict[str, Queue] = {}
        self.exchanges: dict[str, Exchange] = {}

    def declare_queue(self, name: str, **options: Any) -> Queue:
        """Create queue ``name`` (options as :class:`Queue`; ``dead_letter`` may be a name)."""
        if name in self.queues:
            return self.queues[name]
        dlx = options.pop("dead_letter", None)
        if isinstance(dlx, str):
            dlx = self.queue(dlx)
        queue = Queue(self.world, name, dead_letter=dlx, **options)
        self.queues[name] = queue
        return queue

    def record_state(self) -> None:
        """Write every queue's remaining messages to ``amqp_state`` (:meth:`Queue.record_state`).

        The table exists afterwards even when every queue is empty.
        """
        self.world.table("amqp_state", STATE_COLUMNS)
        for queue in self.queues.values():
            queue.record_state()

    def queue(self, name: str) -> Queue:
        """The queue ``name`` (ConfigError listing the queues if missing)."""
        try:
            return self.queues[name]
        except KeyError:
            raise ConfigError(
                "queue", name, f"a declared queue, one of {sorted(self.queues)}", "MessageBroker"
            ) from None

    def declare_exchange(self, name: str, kind: str = "direct") -> Exchange:
        """Create exchange ``name`` of ``kind``."""
        exchange = self.exchanges.get(name)
        if exchange is None:
            exchange = self.exchanges[name] = Exchange(name, kind)
        elif exchange.kind != kind:
            raise ConfigError("kind", kind, f"{exchange.kind!r} (as declared before)", name)
        return exchange

    def bind(self, exchange: str, queue: str, key: str = "") -> None:
        """Bind ``queue`` to ``exchange`` with a binding key."""
        try:
            ex = self.exchanges[exchange]
        except KeyError:
            raise ConfigError(
                "exchange",
                exchange,
                f"a declared exchange, one of {sorted(self.exchanges)}",
                "MessageBroker.bind",
            ) from None
        ex.bindings.append((self.queue(queue), key))

    def publish(self, exchange: str, routing_key: str, msg: Message) -> list[str]:
        """Publish through an exchange; returns the names of the queues that got a copy."""
        try:
            ex = self.exchanges[exchange]
        except KeyError:
            raise ConfigError(
                "exchange",
                exchange,
                f"a declared exchange, one of {sorted(self.exchanges)}",
                "MessageBroker.publish",
            ) from None
        msg.routing_key = routing_key
        routed = []
        for queue in ex.route(routing_key):
            if queue.publish(msg.copy()):
                routed.append(queue.name)
        return routed
