"""The conformance driver on the lab's RabbitMQ-style model (:mod:`labsim.amqp`).

Each script runs in a fresh :class:`~labsim.World` with one
:class:`~labsim.amqp.broker.MessageBroker`. Waiting advances simulated time; every other
operation is instantaneous, and the events it schedules at the current time (deliveries,
requeues) run before the driver returns.

Translations (the model names things its own way; nothing here changes what it does):

* queue arguments become :meth:`~labsim.amqp.broker.MessageBroker.declare_queue` options:
  ``x-queue-type`` → ``queue_type``, ``x-message-ttl`` (ms) → ``message_ttl`` (s),
  ``x-max-length`` → ``max_length``, ``x-overflow`` → ``overflow``, ``x-max-priority`` →
  ``max_priority``, ``x-delivery-limit`` → ``delivery_limit``, ``x-dead-letter-exchange`` →
  ``dead_letter_exchange``, ``x-dead-letter-routing-key`` → ``dead_letter_routing_key``; a
  declaration the model refuses (a :class:`~labsim.ConfigError`) is a refused declaration;
* the model's headers are RabbitMQ's: ``x-delivery-count`` (quorum queues), ``x-death`` (the
  history, newest first; the trace shows its latest entry as ``x-death=reason@queue``, with
  ``*N`` when it counts N deaths) and ``x-first-death-reason`` / ``x-first-death-queue``
  (shown as ``first=reason@queue`` when they differ from the latest), read as the real driver
  reads them;
* :meth:`SimDriver.cancel` is the model's :meth:`~labsim.amqp.queues.Channel.cancel`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from labsim.amqp import Channel, Message, MessageBroker
from labsim.conformance.driver import Delivery, Driver
from labsim.errors import ConfigError
from labsim.world import World

__all__ = ["SimDriver"]

#: RabbitMQ queue argument -> (declare_queue option, conversion).
_OPTIONS: dict[str, tuple[str, Any]] = {
    "x-queue-type": ("queue_type", str),
    "x-message-ttl": ("message_ttl", lambda ms: ms / 1000),
    "x-max-length": ("max_length", int),
    "x-overflow": ("overflow", str),
    "x-max-priority": ("max_priority", int),
    "x-delivery-limit": ("delivery_limit", int),
    "x-dead-letter-exchange": ("dead_letter_exchange", str),
    "x-dead-letter-routing-key": ("dead_letter_routing_key", str),
}


class SimDriver(Driver):
    """Runs conformance scripts on the model (see the module docs for the translations)."""

    kind = "model"

    def __init__(self, seed: int = 0):
        super().__init__()
        self.seed = seed
        self.start("")

    def start(self, script: str) -> None:
        """A fresh world and broker for ``script``."""
        super().start(script)
        self.world = World(seed=self.seed)
        self.broker = MessageBroker(self.world)
        self._channels: dict[str, Channel] = {}
        self._inbox: dict[str, list[Delivery]] = {}

    # -- helpers --------------------------------------------------------------------------------
    def _run_now(self) -> None:
        """Run what is scheduled at the current simulated time (deliveries, requeues)."""
        env = self.world.env
        with self.world:
            while env.peek() <= env.now:
                env.step()

    def _collector(self, consumer: str, queue: str, channel: Channel) -> Generator[Any, Any, None]:
        inbox = self._inbox[consumer]
        while True:
            item = yield channel.get()
            tag, msg = item.tag, item.message  # a labsim.amqp.Delivery
            inbox.append(self._snapshot(consumer, queue, tag, msg))

    def _snapshot(self, consumer: str, queue: str, tag: int, msg: Message) -> Delivery:
        headers = msg.headers
        count = headers.get("x-delivery-count")
        death = first = None
        history = headers.get("x-death")
        if history:
            latest = history[0]  # newest first
            death = f"{latest['reason']}@{latest['queue']}"
            first = f"{headers['x-first-death-reason']}@{headers['x-first-death-queue']}"
            if first == death:
                first = None
        return Delivery(
            consumer=consumer,
            body=str(msg.body),
            routing_key=msg.routing_key,
            redelivered=bool(msg.redelivered),
            delivery_count=None if count is None else int(count),
            death=death,
            first_death=first,
            death_count=history[0]["count"] if history else None,
            tag=tag,
        )

    # -- primitives -----------------------------------------------------------------------------
    def _exchange(self, name: str, kind: str) -> None:
        self.broker.declare_exchange(name, kind)

    def _queue(self, name: str, args: dict[str, Any]) -> str:
        options = {_OPTIONS[k][0]: _OPTIONS[k][1](v) for k, v in args.items()}
        try:
            self.broker.declare_queue(name, **options)
        except ConfigError:
            return "refused"
        return "ok"

    def _bind(self, exchange: str, queue: str, key: str) -> None:
        self.broker.bind(exchange, queue, key)

    def _publish(
        self, exchange: str, key: str, body: str, priority: int | None, expiration_ms: int | None
    ) -> str:
        ttl = None if expiration_ms is None else expiration_ms / 1000
        msg = Message(body, body, priority=priority or 0, ttl=ttl)
        routed = self.broker.publish(exchange, key, msg)
        self._run_now()
        return "refused" if routed.refused else "ok"

    def _consume(self, queue: str, consumer: str, prefetch: int) -> None:
        channel = self.broker.queue(queue).subscribe(consumer, prefetch=prefetch)
        self._channels[consumer] = channel
        self._inbox[consumer] = []
        self.world.process(self._collector(consumer, queue, channel))
        self._run_now()

    def _collect(self, consumer: str) -> list[Delivery]:
        self._run_now()
        inbox = self._inbox[consumer]
        got = list(inbox)
        inbox.clear()  # in place: the collector process appends to this list
        return got

    def _settle(self, consumer: str, delivery: Delivery, how: str, requeue: bool) -> None:
        channel = self._channels[consumer]
        if how == "ack":
            channel.ack(delivery.tag)
        elif how == "nack":
            channel.nack(delivery.tag, requeue=requeue)
        else:
            channel.reject(delivery.tag, requeue=requeue)
        self._run_now()

    def _cancel(self, consumer: str) -> None:
        self._channels[consumer].cancel()
        self._run_now()

    def _close(self, consumer: str) -> None:
        self._channels[consumer].close()
        self._run_now()

    def _count(self, queue: str) -> int:
        self._run_now()
        return len(self.broker.queue(queue))

    def _wait(self, seconds: float) -> None:
        self.world.run(until=self.world.now + seconds)
