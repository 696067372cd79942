"""The thin driver interface the conformance scripts run against.

A script declares exchanges, queues and bindings, publishes, consumes, settles deliveries and
waits — all through a :class:`Driver`. Two drivers implement it: :class:`~labsim.conformance.
sim.SimDriver` on the lab's RabbitMQ-style model and :class:`~labsim.conformance.real.
RealDriver` on a real RabbitMQ through ``pika``. The base class records every operation and
every observation as one line of text (the *trace*), the same way for both drivers, so two
traces of one script can be compared line by line.

Queue arguments are RabbitMQ's own (``x-queue-type``, ``x-message-ttl``,
``x-dead-letter-exchange``, ``x-dead-letter-routing-key``, ``x-max-length``, ``x-overflow``,
``x-max-priority``, ``x-delivery-limit``): a script reads like code written for RabbitMQ.

Trace lines:

* ``publish m1 -> ex/key: ok`` (or ``refused``: the server nacked the publish);
* ``c1 <- m1 rk=key [redelivered] [x-delivery-count=N] [x-death=REASON@QUEUE[*COUNT]]
  [first=REASON@QUEUE]``: a delivery (``x-death``: the latest entry of the history, with its
  count when the message died there more than once; ``first``: the first dead-lettering, if
  another);
  ``c1 <- (nothing)`` when a take finds none;
* ``count q = N``: ready messages in a queue;
* operations as written: ``c1 ack m1``, ``c1 nack m1 requeue``, ``wait 300ms``, ...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "QUEUE_ARGUMENTS",
    "SETTLE_MS",
    "Delivery",
    "Driver",
]

#: Queue arguments the scripts may use (both drivers accept exactly these).
QUEUE_ARGUMENTS = (
    "x-queue-type",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-overflow",
    "x-max-priority",
    "x-delivery-limit",
)

#: Time a take lets pass first, so the server's asynchronous deliveries have arrived (the
#: model's time advances by the same amount, keeping TTLs comparable).
SETTLE_MS = 60


@dataclass(frozen=True)
class Delivery:
    """One delivery as a consumer sees it.

    Attributes:
        consumer: The consumer's name in the script.
        body: The message body (the scripts use it as the message's identity).
        routing_key: The routing key the delivery carries (changed by dead-lettering with
            ``x-dead-letter-routing-key``).
        redelivered: The ``redelivered`` flag.
        delivery_count: The ``x-delivery-count`` header (quorum queues), ``None`` if absent.
        death: ``"reason@queue"`` for a dead-lettered message (``x-death``), else ``None``.
        first_death: ``"reason@queue"`` of the first dead-lettering when it differs from
            ``death`` (``x-first-death-reason``, ``x-first-death-queue``), else ``None``.
        death_count: The ``count`` of the latest ``x-death`` entry (``None``: no ``x-death``);
            shown only when above 1.
        tag: The driver's handle for settling the delivery (not part of the trace).
    """

    consumer: str
    body: str
    routing_key: str
    redelivered: bool = False
    delivery_count: int | None = None
    death: str | None = None
    first_death: str | None = None
    death_count: int | None = None
    tag: Any = field(default=None, compare=False, repr=False)

    def line(self, consumer: str | None = None) -> str:
        """The trace line (``consumer`` overrides the consumer's name, e.g. ``"*"``)."""
        parts = [f"{consumer or self.consumer} <- {self.body} rk={self.routing_key}"]
        if self.redelivered:
            parts.append("redelivered")
        if self.delivery_count is not None:
            parts.append(f"x-delivery-count={self.delivery_count}")
        if self.death is not None:
            times = f"*{self.death_count}" if self.death_count and self.death_count > 1 else ""
            parts.append(f"x-death={self.death}{times}")
        if self.first_death is not None:
            parts.append(f"first={self.first_death}")
        return " ".join(parts)


class Driver(ABC):
    """A broker the scripts drive: the model or a real server.

    Public methods record the trace and call the ``_``-prefixed primitives each driver
    implements. Consumers are named by the script; a delivery is settled by its body (each
    consumer's latest delivery of that body).
    """

    #: Short name of the system driven (``"model"``, ``"rabbitmq"``).
    kind = "driver"

    def __init__(self) -> None:
        self.events: list[str] = []
        self._tags: dict[tuple[str, str], Any] = {}

    # -- recording wrappers (the script's vocabulary) -----------------------------------------
    def exchange(self, name: str, kind: str) -> None:
        """Declare exchange ``name`` of ``kind`` (``direct``, ``topic`` or ``fanout``)."""
        self.events.append(f"exchange {name} {kind}")
        self._exchange(name, kind)

    def queue(self, name: str, args: dict[str, Any] | None = None) -> str:
        """Declare queue ``name`` with RabbitMQ queue arguments (see :data:`QUEUE_ARGUMENTS`).

        Returns ``"ok"``, or ``"refused"`` when the broker refuses the declaration (the line
        is recorded only when refused, so the usual declarations stay short).
        """
        args = dict(args or {})
        unknown = sorted(set(args) - set(QUEUE_ARGUMENTS))
        if unknown:
            raise ValueError(f"queue {name!r}: unsupported arguments {unknown}")
        shown = " ".join(f"{k}={v}" for k, v in sorted(args.items()))
        outcome = self._queue(name, args)
        line = f"queue {name} {shown}".rstrip()
        self.events.append(line if outcome == "ok" else f"{line}: {outcome}")
        return outcome

    def bind(self, exchange: str, queue: str, key: str = "") -> None:
        """Bind ``queue`` to ``exchange`` with binding key ``key``."""
        self.events.append(f"bind {queue} to {exchange} key={key!r}")
        self._bind(exchange, queue, key)

    def publish(
        self,
        exchange: str,
        key: str,
        body: str,
        *,
        priority: int | None = None,
        expiration_ms: int | None = None,
    ) -> str:
        """Publish ``body``; returns ``"ok"`` or ``"refused"`` (a publisher-confirm nack)."""
        outcome = self._publish(exchange, key, body, priority, expiration_ms)
        extra = "" if priority is None else f" priority={priority}"
        extra += "" if expiration_ms is None else f" expiration={expiration_ms}ms"
        self.events.append(f"publish {body} -> {exchange}/{key}{extra}: {outcome}")
        return outcome

    def consume(self, queue: str, consumer: str, prefetch: int) -> None:
        """Start consumer ``consumer`` on ``queue`` with a prefetch window (manual acks)."""
        self.events.append(f"{consumer} consumes {queue} prefetch={prefetch}")
        self._consume(queue, consumer, prefetch)

    def take(self, consumer: str, settle_ms: int = SETTLE_MS) -> list[Delivery]:
        """Let ``settle_ms`` pass, then record and return what ``consumer`` received."""
        self._wait(settle_ms / 1000)
        got = self._collect(consumer)
        for d in got:
            self._tags[(consumer, d.body)] = d
        self.events.extend(d.line() for d in got)
        if not got:
            self.events.append(f"{consumer} <- (nothing)")
        return got

    def take_unordered(
        self, consumers: list[str], why: str, settle_ms: int = SETTLE_MS
    ) -> list[Delivery]:
        """Like :meth:`take` for several consumers, ignoring who got what and in which order.

        Args:
            consumers: The consumers whose deliveries are pooled.
            why: The allowance: what the server leaves unspecified (kept in the trace).
            settle_ms: Time let pass first.
        """
        self._wait(settle_ms / 1000)
        got = [d for c in consumers for d in self._collect(c)]
        for d in got:
            self._tags[(d.consumer, d.body)] = d
        self.events.append(f"(any order, any consumer: {why})")
        self.events.extend(sorted(d.line("*") for d in got))
        return got

    def ack(self, consumer: str, body: str) -> None:
        """Acknowledge ``consumer``'s latest delivery of ``body``."""
        self.events.append(f"{consumer} ack {body}")
        self._settle(consumer, self._delivery(consumer, body), "ack", False)

    def nack(self, consumer: str, body: str, requeue: bool = True) -> None:
        """Negatively acknowledge (``basic.nack``) with or without requeue."""
        self.events.append(f"{consumer} nack {body}{' requeue' if requeue else ''}")
        self._settle(consumer, self._delivery(consumer, body), "nack", requeue)

    def reject(self, consumer: str, body: str, requeue: bool = False) -> None:
        """Reject (``basic.reject``) with or without requeue."""
        self.events.append(f"{consumer} reject {body}{' requeue' if requeue else ''}")
        self._settle(consumer, self._delivery(consumer, body), "reject", requeue)

    def cancel(self, consumer: str) -> None:
        """Cancel the consumer (``basic.cancel``); its channel stays open."""
        self.events.append(f"{consumer} cancel")
        self._cancel(consumer)

    def close(self, consumer: str) -> None:
        """Close the consumer's channel (its unacknowledged messages return to the queue)."""
        self.events.append(f"{consumer} close")
        self._close(consumer)

    def count(self, queue: str) -> int:
        """Record and return the number of ready messages in ``queue``."""
        n = self._count(queue)
        self.events.append(f"count {queue} = {n}")
        return n

    def wait(self, ms: int) -> None:
        """Let ``ms`` milliseconds pass (simulated for the model, real for the server)."""
        self.events.append(f"wait {ms}ms")
        self._wait(ms / 1000)

    def _delivery(self, consumer: str, body: str) -> Delivery:
        try:
            return self._tags[(consumer, body)]
        except KeyError:
            raise ValueError(f"{consumer} has not taken a delivery of {body!r}") from None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, script: str) -> None:
        """Prepare a clean broker for ``script`` (forget the previous trace)."""
        self.events = []
        self._tags = {}

    def finish(self) -> None:
        """Release what the script declared (override to delete server resources too)."""
        self._tags = {}

    # -- primitives -----------------------------------------------------------------------------
    @abstractmethod
    def _exchange(self, name: str, kind: str) -> None: ...

    @abstractmethod
    def _queue(self, name: str, args: dict[str, Any]) -> str: ...

    @abstractmethod
    def _bind(self, exchange: str, queue: str, key: str) -> None: ...

    @abstractmethod
    def _publish(
        self, exchange: str, key: str, body: str, priority: int | None, expiration_ms: int | None
    ) -> str: ...

    @abstractmethod
    def _consume(self, queue: str, consumer: str, prefetch: int) -> None: ...

    @abstractmethod
    def _collect(self, consumer: str) -> list[Delivery]: ...

    @abstractmethod
    def _settle(self, consumer: str, delivery: Delivery, how: str, requeue: bool) -> None: ...

    @abstractmethod
    def _cancel(self, consumer: str) -> None: ...

    @abstractmethod
    def _close(self, consumer: str) -> None: ...

    @abstractmethod
    def _count(self, queue: str) -> int: ...

    @abstractmethod
    def _wait(self, seconds: float) -> None: ...
