"""Request/response over the simulated network.

A client sends a :class:`Request` carrying one typed message, its ``body`` (a model's own
frozen dataclass, such as :class:`labsim.kafka.messages.Produce`), and waits for the
:class:`Response` with the same correlation id, or gives up after a timeout — so latency, loss
and partitions on the network show up as slow or failed requests, as in a real client. A
server receives each request, looks at the type of its body (``match``) and answers with
:meth:`Endpoint.reply`.

Cost: the network hands each message straight to the endpoint (one scheduled event per hop,
no inbox put and get), a reply wakes the caller with one event, and the request timeouts of a
node share one timer armed at the earliest pending deadline instead of one timeout per call.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar
from weakref import WeakKeyDictionary, WeakValueDictionary

from simpy.events import PENDING, Event

from labsim.network import Network, Node

__all__ = ["Endpoint", "Request", "Response", "delay_until", "quick_init"]

_new = object.__new__

_C = TypeVar("_C", bound=type)


def quick_init(cls: _C) -> _C:
    """Give a frozen, slotted dataclass an ``__init__`` that sets its slots directly.

    A frozen dataclass's own ``__init__`` goes through ``object.__setattr__`` for each field,
    which costs more than the rest of building the message; this one stores each argument
    with the slot's descriptor instead. Everything else stays: the fields and their order, the
    read-only attributes, equality, hashing, ``repr`` and ``match``. Apply it on top of
    ``@dataclass(frozen=True, slots=True)`` to a class whose fields all have no default.
    """
    fields = dataclasses.fields(cls)
    if not fields:
        return cls
    if (
        hasattr(cls, "__post_init__")
        or any(
            f.default is not dataclasses.MISSING
            or f.default_factory is not dataclasses.MISSING
            or not f.init
            for f in fields
        )
        or not all(hasattr(getattr(cls, f.name, None), "__set__") for f in fields)
    ):
        raise TypeError(f"quick_init: {cls.__name__} is not a slotted dataclass without defaults")
    names = [f.name for f in fields]
    setters = {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    body = "; ".join(f"_set_{n}(self, {n})" for n in names)
    source = (
        f"def make({', '.join(setters)}):\n"
        f"    def __init__(self, {', '.join(names)}):\n"
        f"        {body}\n"
        f"    return __init__\n"
    )
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    init = namespace["make"](**setters)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[misc]
    return cls


@quick_init
@dataclass(frozen=True, slots=True)
class Request:
    """A request from node ``src``, with correlation id ``corr``, carrying the message ``body``."""

    body: Any
    corr: int
    src: str


@quick_init
@dataclass(frozen=True, slots=True)
class Response:
    """The answer ``body`` to the request with correlation id ``corr``."""

    corr: int
    body: Any


def delay_until(now: float, when: float) -> float:
    """The delay that makes ``now + delay`` exactly ``when`` in floating point (SimPy adds).

    ``when - now`` alone can land one unit in the last place early or late; a timer meant to
    fire at a deadline computed earlier must fire at that very time.
    """
    delay = when - now
    while now + delay < when:
        delay = math.nextafter(delay, math.inf)
    while delay > 0 and now + delay > when:
        delay = math.nextafter(delay, -math.inf)
    return max(delay, 0.0)


# The endpoint of each node, per network. Weak both ways: a finished run's network and its
# endpoints go away together (each endpoint is kept alive by its node's restart hook).
_ENDPOINTS: WeakKeyDictionary[Network, WeakValueDictionary[str, Endpoint]] = WeakKeyDictionary()


class Endpoint:
    """The request/response side of one node: calls out, routes responses, serves requests.

    One endpoint per node (use :meth:`of`); it receives everything the network delivers to
    the node. After a crash the pending calls forget their replies (each still times out)
    and, on restart, the endpoint serves again.
    """

    def __init__(self, network: Network, node: str):
        self.network = network
        self.node: Node = network.node(node)
        self._env = network.world.env
        # corr -> callback for the reply; corr -> callback for the timeout (both pending).
        self._pending: dict[int, Callable[[Any], Any]] = {}
        self._timeouts: dict[int, Callable[[Any], Any]] = {}
        # Pending (deadline, corr) by timeout: requests sent with one timeout have rising
        # deadlines, so each is a FIFO queue (a node uses a timeout or two: cheaper than a heap).
        self._deadlines: dict[float, deque[tuple[float, int]]] = {}
        self._timer_at: float | None = None
        self._timer_token = 0
        self._corr = 0
        self._server: Callable[[Request], Any] | None = None
        self._name = self.node.name
        self._send = network.send
        self.node.receiver = self._receive
        self.node.on_restart(self._restart)

    @classmethod
    def of(cls, network: Network, node: str) -> Endpoint:
        """The endpoint of ``node`` on ``network`` (created on first use)."""
        endpoints = _ENDPOINTS.setdefault(network, WeakValueDictionary())
        endpoint = endpoints.get(node)
        if endpoint is None:
            endpoint = cls(network, node)
            endpoints[node] = endpoint
        return endpoint

    def _restart(self, node: Node) -> None:
        self._pending.clear()  # replies to calls made before the crash are ignored

    def _receive(self, msg: Any) -> None:
        if isinstance(msg, Response):
            callback = self._pending.pop(msg.corr, None)
            if callback is not None:
                del self._timeouts[msg.corr]
                callback(msg.body)
        elif isinstance(msg, Request) and self._server is not None:
            self._server(msg)

    def serve(self, handler: Callable[[Request], Any]) -> None:
        """Hand every incoming :class:`Request` to ``handler`` (a node both calls and serves)."""
        self._server = handler

    def reply(self, request: Request, body: Any) -> None:
        """Answer ``request`` with the message ``body``."""
        self._send(self._name, request.src, Response(request.corr, body))

    def request(self, dst: str, body: Any, timeout: float, callback: Callable[[Any], Any]) -> None:
        """Send ``body`` to node ``dst``; call ``callback(reply_body)``, or ``callback(None)``
        after ``timeout`` seconds without a reply — from an event callback, once.

        The callback must not block (it is not a process); use :meth:`call` in a process.
        """
        self._corr = corr = self._corr + 1
        deadline = self._env._now + timeout
        self._pending[corr] = self._timeouts[corr] = callback
        queue = self._deadlines.get(timeout)
        if queue is None:
            queue = self._deadlines[timeout] = deque()
        queue.append((deadline, corr))
        timer_at = self._timer_at
        if timer_at is None or timer_at > deadline:
            self._arm(deadline)
        name = self._name
        self._send(name, dst, Request(body, corr, name))

    def call(self, dst: str, body: Any, timeout: float) -> Generator[Any, Any, Any]:
        """Send ``body`` to node ``dst`` and wait: returns the reply's body, ``None`` on timeout.

        Use as ``reply = yield from endpoint.call(...)`` inside a process.
        """
        # ``env.event()`` without its ``__init__`` call: one such event per call.
        waiter = _new(Event)
        waiter.env = self._env
        waiter.callbacks = []
        waiter._value = PENDING
        self.request(dst, body, timeout, waiter.succeed)
        return (yield waiter)

    # -- the shared request timer -----------------------------------------------------------
    def _arm(self, deadline: float) -> None:
        if self._timer_at is not None and self._timer_at <= deadline:
            return
        self._timer_at = deadline
        self._timer_token += 1
        token = self._timer_token
        timer = self._env.timeout(delay_until(self._env.now, deadline))
        timer.callbacks.append(lambda _event: self._expire(token))

    def _expire(self, token: int) -> None:
        if token != self._timer_token:
            return  # replaced by a timer armed for an earlier deadline
        self._timer_at = None
        now = self._env.now
        queues, timeouts = self._deadlines.values(), self._timeouts
        while True:
            # Every request due by now, in (deadline, corr) order, each timed out unless it
            # was answered; a callback may send a request due at once (a zero timeout).
            due = []
            for queue in queues:
                while queue and queue[0][0] <= now:
                    due.append(queue.popleft())
            if not due:
                break
            due.sort()
            for _deadline, corr in due:
                callback = timeouts.pop(corr, None)
                if callback is not None:
                    self._pending.pop(corr, None)
                    callback(None)
        earliest = None
        for timeout, queue in list(self._deadlines.items()):
            while queue and queue[0][1] not in timeouts:
                queue.popleft()  # answered already
            if not queue:
                del self._deadlines[timeout]  # a timeout no request uses now
            elif earliest is None or queue[0][0] < earliest:
                earliest = queue[0][0]
        if earliest is not None:
            self._arm(earliest)
