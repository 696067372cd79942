"""Request/response over the simulated network.

A client sends a :class:`Request` carrying one typed message, its ``body`` (a model's own
frozen dataclass, such as :class:`labsim.kafka.messages.Produce`), and waits for the
:class:`Response` with the same correlation id, or gives up after a timeout — so latency, loss
and partitions on the network show up as slow or failed requests, as in a real client. A
server receives each request, looks at the type of its body (``match``) and answers with
:meth:`Endpoint.reply`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary, WeakValueDictionary

import simpy

from labsim.network import Network, Node

__all__ = ["Endpoint", "Request", "Response"]


@dataclass(frozen=True, slots=True)
class Request:
    """A request from node ``src``, with correlation id ``corr``, carrying the message ``body``."""

    body: Any
    corr: int
    src: str


@dataclass(frozen=True, slots=True)
class Response:
    """The answer ``body`` to the request with correlation id ``corr``."""

    corr: int
    body: Any


# The endpoint of each node, per network. Weak both ways: a finished run's network and its
# endpoints go away together (each endpoint is kept alive by its node's restart hook).
_ENDPOINTS: WeakKeyDictionary[Network, WeakValueDictionary[str, Endpoint]] = WeakKeyDictionary()


class Endpoint:
    """The request/response side of one node: calls out, routes responses, serves requests.

    One endpoint per node (use :meth:`of`); it owns the node's inbox. After a crash the
    pending calls are forgotten and, on restart, the endpoint starts listening again.
    """

    def __init__(self, network: Network, node: str):
        self.network = network
        self.node: Node = network.node(node)
        self._pending: dict[int, simpy.Event] = {}
        self._corr = 0
        self._server: Callable[[Request], Any] | None = None
        self.node.process(self._dispatch())
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
        self._pending.clear()
        node.process(self._dispatch())

    def _dispatch(self) -> Generator[Any, Any, None]:
        inbox = self.node.inbox
        while True:
            msg = yield inbox.get()
            if isinstance(msg, Response):
                waiter = self._pending.pop(msg.corr, None)
                if waiter is not None and not waiter.triggered:
                    waiter.succeed(msg.body)
            elif isinstance(msg, Request) and self._server is not None:
                self._server(msg)

    def serve(self, handler: Callable[[Request], Any]) -> None:
        """Hand every incoming :class:`Request` to ``handler`` (a node both calls and serves)."""
        self._server = handler

    def reply(self, request: Request, body: Any) -> None:
        """Answer ``request`` with the message ``body``."""
        self.network.send(self.node.name, request.src, Response(request.corr, body))

    def call(self, dst: str, body: Any, timeout: float) -> Generator[Any, Any, Any]:
        """Send ``body`` to node ``dst`` and wait: returns the reply's body, ``None`` on timeout.

        Use as ``reply = yield from endpoint.call(...)`` inside a process.
        """
        self._corr += 1
        corr = self._corr
        env = self.network.world.env
        waiter = env.event()
        self._pending[corr] = waiter
        self.network.send(self.node.name, dst, Request(body, corr, self.node.name))
        timer = env.timeout(timeout)
        result = yield waiter | timer
        if waiter in result:
            return result[waiter]
        self._pending.pop(corr, None)
        return None
