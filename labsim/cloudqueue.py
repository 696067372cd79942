"""An SQS-style cloud queue: visibility timeout, at-least-once, no order.

A small model of a managed cloud queue (Amazon SQS standard queues are the example; Azure
Storage Queues and Google Cloud Tasks behave alike):

* a producer **sends**; a consumer **polls** (``receive``) and gets up to ``max_messages``
  visible messages, each with a fresh **receipt handle**;
* a received message is **invisible** for the queue's ``visibility_timeout``; the consumer
  **deletes** it with its receipt handle when done. If it does not (slow, crashed, or it let
  go with :meth:`CloudQueue.change_visibility` to 0), the message becomes visible again and
  another receive gets it — **at-least-once**;
* the queue keeps **no order**: a receive takes visible messages in a random order (SQS
  standard queues promise only best effort);
* a deletion with an old receipt handle (the message was received again since) does nothing;
* each receive counts ``receive_count`` (SQS's ``ApproximateReceiveCount``); with a redrive
  policy (``max_receive_count``, ``dead_letter``) a message received more than
  ``max_receive_count`` times is moved to the dead-letter queue instead of being received
  again;
* a message older than ``retention`` (SQS: 4 days by default) is deleted, consumed or not;
  a deleted message is gone — there is nothing to replay.

Recorded table ``cloudqueue``: time, queue, msg_id, event (sent, received, deleted,
visible-again, dead-lettered, expired), consumer, receive_count.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from labsim.errors import ConfigError, check_int, check_non_negative, check_positive
from labsim.world import World

__all__ = ["DEFAULT_RETENTION", "LOG_COLUMNS", "CloudQueue", "Received"]

#: Columns of the ``cloudqueue`` table.
LOG_COLUMNS = ("time", "queue", "msg_id", "event", "consumer", "receive_count")
#: SQS's default message retention: 4 days, in seconds.
DEFAULT_RETENTION = 4 * 24 * 3600.0


@dataclass(slots=True)
class _Entry:
    msg_id: Any
    body: Any
    key: Any
    sent_at: float
    visible_at: float
    receive_count: int = 0
    handle: int | None = None
    consumer: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Received:
    """One message handed to a consumer by :meth:`CloudQueue.receive`.

    Attributes:
        handle: The receipt handle: what :meth:`CloudQueue.delete` takes.
        msg_id: The message id.
        body: The payload.
        key: The sender's key (a cloud queue ignores it: no ordering by key).
        receive_count: How many times the message has been received, this time included.
    """

    handle: int
    msg_id: Any
    body: Any
    key: Any
    receive_count: int


class CloudQueue:
    """An SQS-style queue (see the module docs for the rules).

    Args:
        world: The world (records the ``cloudqueue`` table; draws the receive order from the
            stream ``cloudqueue-NAME``).
        name: Queue name.
        visibility_timeout: Seconds a received message stays invisible (SQS default 30 s).
        max_receive_count: Redrive policy: receives before a message is dead-lettered
            (``None``: no limit).
        dead_letter: The dead-letter queue (a :class:`CloudQueue`), needed with
            ``max_receive_count``.
        retention: Seconds a message is kept at most (consumed or not).
    """

    def __init__(
        self,
        world: World,
        name: str,
        *,
        visibility_timeout: float = 30.0,
        max_receive_count: int | None = None,
        dead_letter: CloudQueue | None = None,
        retention: float = DEFAULT_RETENTION,
    ):
        ctx = f"cloud queue {name!r}"
        self.world = world
        self.name = name
        self.visibility_timeout = check_non_negative("visibility_timeout", visibility_timeout, ctx)
        if max_receive_count is not None:
            check_int("max_receive_count", max_receive_count, 1, ctx)
            if dead_letter is None:
                raise ConfigError(
                    "dead_letter", None, "a CloudQueue when max_receive_count is set", ctx
                )
        self.max_receive_count = max_receive_count
        self.dead_letter = dead_letter
        self.retention = check_positive("retention", retention, ctx)
        self._messages: dict[Any, _Entry] = {}
        self._handles = itertools.count(1)
        self._rng = world.rng(f"cloudqueue-{name}")
        self._log = world.table("cloudqueue", LOG_COLUMNS).add

    def __repr__(self) -> str:
        return f"CloudQueue({self.name!r}, stored={len(self)})"

    def __len__(self) -> int:
        """Messages stored (visible or in flight)."""
        return len(self._messages)

    def _record(self, entry: _Entry, event: str, consumer: str | None = None) -> None:
        self._log(self.world.env.now, self.name, entry.msg_id, event, consumer, entry.receive_count)

    def send(self, msg_id: Any, body: Any = None, key: Any = None) -> None:
        """Store a message (visible at once). Sending an id already stored is refused."""
        if msg_id in self._messages:
            raise ConfigError("msg_id", msg_id, "an id not already in the queue", self.name)
        now = self.world.env.now
        entry = _Entry(msg_id, body, key, now, now)
        self._messages[msg_id] = entry
        self._record(entry, "sent")

    def _expire(self, now: float) -> None:
        for entry in [e for e in self._messages.values() if now - e.sent_at >= self.retention]:
            del self._messages[entry.msg_id]
            self._record(entry, "expired")

    def visible(self) -> int:
        """Messages a receive could take now."""
        now = self.world.env.now
        self._expire(now)
        return sum(e.visible_at <= now for e in self._messages.values())

    def receive(self, consumer: str, max_messages: int = 1) -> list[Received]:
        """Take up to ``max_messages`` visible messages, in no particular order.

        Each becomes invisible for ``visibility_timeout``; a message whose receive count would
        exceed ``max_receive_count`` goes to the dead-letter queue instead.
        """
        check_int("max_messages", max_messages, 1, self.name)
        now = self.world.env.now
        self._expire(now)
        ready = [e for e in self._messages.values() if e.visible_at <= now]
        self._rng.shuffle(ready)
        out: list[Received] = []
        for entry in ready:
            if len(out) == max_messages:
                break
            if entry.handle is not None:
                # It was received before and not deleted: visible again since visible_at.
                self._log(
                    entry.visible_at,
                    self.name,
                    entry.msg_id,
                    "visible-again",
                    entry.consumer,
                    entry.receive_count,
                )
            if self.max_receive_count is not None and entry.receive_count >= self.max_receive_count:
                del self._messages[entry.msg_id]
                self._record(entry, "dead-lettered")
                assert self.dead_letter is not None  # checked in __init__
                self.dead_letter.send(entry.msg_id, entry.body, entry.key)
                continue
            entry.receive_count += 1
            entry.handle = next(self._handles)
            entry.consumer = consumer
            entry.visible_at = now + self.visibility_timeout
            self._record(entry, "received", consumer)
            out.append(
                Received(entry.handle, entry.msg_id, entry.body, entry.key, entry.receive_count)
            )
        return out

    def _current(self, handle: int) -> _Entry | None:
        for entry in self._messages.values():
            if entry.handle == handle:
                return entry
        return None

    def delete(self, handle: int) -> bool:
        """Delete the message received with ``handle``; ``False`` if the handle is stale.

        A handle is stale once its message was received again (or deleted, or expired).
        """
        entry = self._current(handle)
        if entry is None:
            return False
        del self._messages[entry.msg_id]
        self._record(entry, "deleted", entry.consumer)
        return True

    def change_visibility(self, handle: int, timeout: float) -> bool:
        """Make the message visible again after ``timeout`` seconds (0: at once, a "nack")."""
        check_non_negative("timeout", timeout, self.name)
        entry = self._current(handle)
        if entry is None:
            return False
        entry.visible_at = self.world.env.now + timeout
        return True
