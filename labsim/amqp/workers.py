"""Workers: long-lived consumers that take deliveries from a queue and apply a side effect.

A :class:`Worker` lives on a network node. It subscribes to a queue (a :class:`Channel`), takes
each :class:`~labsim.amqp.message.Delivery`, runs the handler — which may fail as its
:class:`~labsim.amqp.retry.FailureModel` says — and then acknowledges, retries or gives the
message back:

* ``mode="in-place"`` retries while holding the message, as the
  :class:`~labsim.amqp.retry.RetryPolicy` says, and dead-letters it once the policy gives up;
* ``mode="requeue"`` nacks it with requeue: back to the head of a classic queue (see the
  poison loop), to the back of a quorum queue, which may have a delivery limit;
* ``mode="dead-letter"`` gives it to the dead-letter queue (a delayed retry queue when that
  queue has a TTL and dead-letters back).

``ack="after"`` acknowledges after the side effect (at-least-once), ``ack="before"`` as soon as
the message arrives (at-most-once). An :class:`~labsim.amqp.inbox.Inbox` makes the worker
idempotent. A crash of the node closes the channel (the broker requeues what was
unacknowledged); the restarted node subscribes again.

Recorded tables: ``attempts`` (every processing attempt and its outcome) and ``effects`` (every
side effect applied).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

from labsim.amqp.inbox import Inbox
from labsim.amqp.message import Message
from labsim.amqp.queues import Channel, Queue
from labsim.amqp.retry import FailureModel, RetryPolicy
from labsim.dists import Distribution, as_distribution
from labsim.errors import ConfigError, check_choice
from labsim.faults import RandomCrashes
from labsim.network import Network, Node

__all__ = ["ACK_MODES", "FAILURE_MODES", "Worker", "start_workers"]

#: What a worker does with a message after a failed attempt.
FAILURE_MODES = ("in-place", "requeue", "dead-letter")
#: When a worker acknowledges: after the side effect (at-least-once) or before (at-most-once).
ACK_MODES = ("after", "before")


class Worker:
    """A long-lived consumer process on a node.

    Args:
        node: Node the worker runs on (crashes close its channel; a restart resubscribes);
            the world is ``node.network.world``.
        channel_factory: ``() -> Channel``; called at start and after each restart (a new
            connection), e.g. ``lambda: queue.subscribe("w1", prefetch=10, node=node)``.
        name: Worker name (rows and random streams).
        processing: Processing time per attempt (distribution or seconds).
        failures: The :class:`FailureModel`.
        retry: The :class:`RetryPolicy`.
        mode: After a failure: ``"in-place"``, ``"requeue"`` or ``"dead-letter"``.
        ack: ``"after"`` (at-least-once) or ``"before"`` processing (at-most-once).
        inbox: An :class:`Inbox` for idempotent processing (``None``: none).
        on_effect: Called ``on_effect(msg)`` each time the side effect is applied.
    """

    def __init__(
        self,
        node: Node,
        channel_factory: Callable[[], Channel],
        *,
        name: str | None = None,
        processing: Distribution | float = 0.01,
        failures: FailureModel | None = None,
        retry: RetryPolicy | None = None,
        mode: str = "in-place",
        ack: str = "after",
        inbox: Inbox | None = None,
        on_effect: Callable[[Message], Any] | None = None,
    ):
        world = node.network.world
        self.world = world
        self.channel_factory = channel_factory
        self.node = node
        self.name = name or node.name
        self.processing = as_distribution(processing, "processing")
        self.failures = failures or FailureModel()
        self.retry = retry or RetryPolicy(kind="none")
        self.mode = check_choice("mode", mode, FAILURE_MODES, "Worker")
        self.ack_mode = check_choice("ack", ack, ACK_MODES, "Worker")
        self.inbox = inbox
        self.on_effect = on_effect
        self._rng = world.rng(f"worker-{self.name}")
        f = self.failures
        # Skip the failure checks on the hot path when nothing can fail.
        self._fallible = bool(f.transient or f.poison or f.outage or f.timeout is not None)
        self._attempts = world.table(
            "attempts", ("time", "worker", "msg_id", "attempt", "delivery", "outcome")
        ).add
        self._effects = world.table("effects", ("time", "worker", "msg_id", "delivery")).add
        node.on_restart(lambda _n: self._start())
        self._start()

    def _start(self) -> None:
        self.channel = self.channel_factory()
        self.node.process(self._run(self.channel))

    def _attempt_fails(self, msg: Message, duration: float) -> str | None:
        f = self.failures
        if not self._fallible:
            return None
        now = self.world.env.now
        if f.is_poison(msg):
            return "poison"
        if f.outage is not None and f.outage[0] <= now < f.outage[1]:
            return "downstream-down"
        if f.timeout is not None and duration > f.timeout:
            return "timeout"
        if f.transient and self._rng.random() < f.transient:
            return "transient"
        return None

    def _run(self, channel: Channel) -> Generator[Any, Any, None]:
        env = self.world.env
        while True:
            delivery = yield channel.get()
            tag, msg = delivery.tag, delivery.message
            if self.ack_mode == "before":
                channel.ack(tag)
            attempt = 0
            while True:
                attempt += 1
                duration = self.processing.sample(self._rng)
                if self.failures.timeout is not None:
                    duration_wait = min(duration, self.failures.timeout)
                else:
                    duration_wait = duration
                yield env.timeout(duration_wait)
                failure = self._attempt_fails(msg, duration)
                self._attempts(
                    env.now, self.name, msg.msg_id, attempt, msg.delivery_count, failure or "ok"
                )
                if failure is None:
                    if not self._succeed(channel, tag, msg):
                        return  # crashed between the effect and the ack
                    break
                if self.mode != "in-place":
                    if self.ack_mode == "after":
                        channel.nack(tag, requeue=self.mode == "requeue")
                    break
                delay = self.retry.delay(attempt, self._rng)
                if delay is None:
                    if self.ack_mode == "after":
                        channel.nack(tag, requeue=False)  # give up: dead-letter it
                    break
                if delay:
                    yield env.timeout(delay)

    def _succeed(self, channel: Channel, tag: int, msg: Message) -> bool:
        """Apply the side effect (unless the inbox has seen it) and acknowledge.

        Returns ``False`` when the worker crashed between the effect and the ack.
        """
        now = self.world.env.now
        inbox = self.inbox
        if inbox is None or not inbox.seen(msg.msg_id, now):
            self._effects(now, self.name, msg.msg_id, msg.delivery_count)
            if inbox is not None:
                inbox.remember(msg.msg_id, now)
            if self.on_effect is not None:
                self.on_effect(msg)
        crash = self.failures.crash_after_effect
        if crash and self._rng.random() < crash:
            # Crash between the side effect and the ack: the broker will redeliver.
            RandomCrashes(
                self.node.network, self.node.name, 0.0, 0.0, self.failures.restart_after, self._rng
            ).crash_now()
            return False
        if self.ack_mode == "after":
            channel.ack(tag)
        return True


def start_workers(
    queue: Queue, network: Network, names: Sequence[str], prefetch: int = 1, **options: Any
) -> list[Worker]:
    """One :class:`Worker` per node in ``names``, competing for ``queue``.

    Each worker subscribes as the consumer named after its node, with ``prefetch``
    unacknowledged deliveries, and subscribes again after each restart of its node.
    ``options`` are the :class:`Worker` keywords (``processing``, ``failures``, ``retry``...).
    """
    if queue.world is not network.world:
        raise ConfigError(
            "network", network, f"a network in the world of queue {queue.name!r}", "start_workers"
        )
    workers = []
    for name in names:
        node = network.node(name)
        workers.append(
            Worker(node, lambda n=name, nd=node: queue.subscribe(n, prefetch, nd), **options)
        )
    return workers
