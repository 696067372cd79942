"""Consumers that process messages: retry policies, a failure model, an idempotent inbox.

A :class:`Worker` takes deliveries from a queue channel and runs the handler:

* the :class:`FailureModel` decides whether an attempt fails (transient failures, poison
  messages that always fail, a downstream outage, processing timeouts) and whether the worker
  crashes *after* applying the side effect but *before* acknowledging — the classic source of
  duplicate effects under at-least-once delivery;
* the :class:`RetryPolicy` decides what happens after a failed attempt: retry at once, after a
  fixed delay, or with exponential backoff (with full, equal or no jitter), up to
  ``max_attempts``; ``mode="in-place"`` retries while holding the message,
  ``mode="requeue"`` nacks it back to the queue, ``mode="dead-letter"`` gives it to the
  dead-letter queue (a delayed retry queue when that queue has a TTL and dead-letters back);
* an :class:`Inbox` remembers processed message ids for ``retention`` seconds; a duplicate
  delivery inside that window is acknowledged without repeating the side effect.

Recorded tables: ``attempts`` (every processing attempt and its outcome) and ``effects`` (every
side effect applied).
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable, Container, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from labsim.amqp.broker import Channel, Message, Queue
from labsim.dists import Distribution, as_distribution
from labsim.errors import (
    ConfigError,
    check_choice,
    check_int,
    check_non_negative,
    check_probability,
)
from labsim.faults import RandomCrashes
from labsim.network import Network, Node
from labsim.world import World

__all__ = [
    "JITTER",
    "RETRY_KINDS",
    "FailureModel",
    "Inbox",
    "RetryPolicy",
    "Worker",
    "start_workers",
]

RETRY_KINDS = ("none", "immediate", "fixed", "exponential")
JITTER = ("none", "full", "equal")


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry a failed attempt.

    Attributes:
        kind: ``"none"``, ``"immediate"``, ``"fixed"`` or ``"exponential"``.
        base_delay: Delay after the first failure (fixed / exponential), seconds.
        max_delay: Cap on the exponential delay, seconds.
        jitter: ``"none"``, ``"full"`` (uniform in [0, d]) or ``"equal"`` (d/2 + uniform
            in [0, d/2]).
        max_attempts: Attempts in all, the first included (>= 1).
    """

    kind: str = "exponential"
    base_delay: float = 0.1
    max_delay: float = 10.0
    jitter: str = "full"
    max_attempts: int = 5

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, RETRY_KINDS, "RetryPolicy")
        check_non_negative("base_delay", self.base_delay, "RetryPolicy")
        check_non_negative("max_delay", self.max_delay, "RetryPolicy")
        check_choice("jitter", self.jitter, JITTER, "RetryPolicy")
        check_int("max_attempts", self.max_attempts, 1, "RetryPolicy")

    def delay(self, attempt: int, rng: random.Random) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); ``None`` = give up."""
        if self.kind == "none" or attempt >= self.max_attempts:
            return None
        if self.kind == "immediate":
            return 0.0
        d = (
            self.base_delay
            if self.kind == "fixed"
            else min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        )
        if self.jitter == "full":
            return rng.uniform(0, d)
        if self.jitter == "equal":
            return d / 2 + rng.uniform(0, d / 2)
        return d


@dataclass(frozen=True)
class FailureModel:
    """How handling a message can go wrong.

    Attributes:
        transient: Probability an attempt fails for a passing reason.
        poison: Message ids that always fail (or a predicate ``msg -> bool``).
        outage: ``(start, end)``: every attempt fails in this interval (a downstream outage).
        timeout: Attempts longer than this fail (seconds; ``None``: no limit).
        crash_after_effect: Probability the worker's node crashes after the side effect,
            before the acknowledgement.
        restart_after: Seconds until a supervisor restarts a node crashed that way.
    """

    transient: float = 0.0
    poison: Container[Any] | Callable[[Message], bool] = frozenset()
    outage: tuple[float, float] | None = None
    timeout: float | None = None
    crash_after_effect: float = 0.0
    restart_after: float = 1.0

    def __post_init__(self) -> None:
        check_non_negative("restart_after", self.restart_after, "FailureModel")
        check_probability("transient", self.transient, "FailureModel")
        check_probability("crash_after_effect", self.crash_after_effect, "FailureModel")
        if self.timeout is not None:
            check_non_negative("timeout", self.timeout, "FailureModel")
        if self.outage is not None and not (
            len(self.outage) == 2 and self.outage[0] <= self.outage[1]
        ):
            raise ConfigError(
                "outage", self.outage, "(start, end) with start <= end", "FailureModel"
            )

    def is_poison(self, msg: Message) -> bool:
        """Whether ``msg`` always fails."""
        if callable(self.poison):
            return bool(self.poison(msg))
        return msg.msg_id in self.poison


class Inbox:
    """Processed message ids, kept for ``retention`` seconds (``None``: forever).

    Stored together with the side effect (think: one database transaction), so a duplicate
    delivery inside the window is recognised and not applied again. After the window a late
    duplicate gets through.
    """

    def __init__(self, retention: float | None = None):
        if retention is not None:
            check_non_negative("retention", retention, "Inbox")
        self.retention = retention
        self._seen: OrderedDict[Any, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        if self.retention is None:
            return
        while self._seen:
            at = next(iter(self._seen.values()))
            if now - at <= self.retention:
                return
            self._seen.popitem(last=False)

    def seen(self, msg_id: Any, now: float) -> bool:
        """Whether ``msg_id`` was processed within the retention window."""
        self._expire(now)
        return msg_id in self._seen

    def remember(self, msg_id: Any, now: float) -> None:
        """Record that ``msg_id`` was processed at ``now``."""
        self._seen[msg_id] = now
        self._seen.move_to_end(msg_id)

    def __len__(self) -> int:
        return len(self._seen)


class Worker:
    """A long-lived consumer process on a node.

    Args:
        world: The world.
        channel_factory: ``() -> Channel``; called at start and after each restart (a new
            connection), e.g. ``lambda: queue.subscribe("w1", prefetch=10, node=node)``.
        node: Node the worker runs on (crashes close its channel; a restart resubscribes).
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
        world: World,
        channel_factory: Callable[[], Channel],
        node: Node,
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
        self.world = world
        self.channel_factory = channel_factory
        self.node = node
        self.name = name or node.name
        self.processing = as_distribution(processing, "processing")
        self.failures = failures or FailureModel()
        self.retry = retry or RetryPolicy(kind="none")
        self.mode = check_choice("mode", mode, ("in-place", "requeue", "dead-letter"), "Worker")
        self.ack_mode = check_choice("ack", ack, ("after", "before"), "Worker")
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
            tag, msg = yield channel.get()
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
    workers = []
    for name in names:
        node = network.node(name)
        workers.append(
            Worker(
                queue.world,
                lambda n=name, nd=node: queue.subscribe(n, prefetch, nd),
                node,
                **options,
            )
        )
    return workers
