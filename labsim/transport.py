"""Request/response over the simulated network.

Clients (producers, consumers) talk to the broker with :class:`Request` messages and wait for
the matching :class:`Response`, or give up after a timeout — so latency, loss and partitions
on the network show up as slow or failed requests, as they would in a real client.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from labsim.network import Network, Node

__all__ = ["Endpoint", "Request", "Response"]


class Request:
    """A request from ``src`` with correlation id ``corr``."""

    __slots__ = ("corr", "kind", "payload", "src")

    def __init__(self, kind: str, corr: int, src: str, payload: Any):
        self.kind = kind
        self.corr = corr
        self.src = src
        self.payload = payload

    def __repr__(self) -> str:
        return f"Request({self.kind!r}, corr={self.corr}, src={self.src!r})"


class Response:
    """The answer to the request with correlation id ``corr``."""

    __slots__ = ("corr", "payload")

    def __init__(self, corr: int, payload: Any):
        self.corr = corr
        self.payload = payload

    def __repr__(self) -> str:
        return f"Response(corr={self.corr})"


class Endpoint:
    """The client side of RPC on one node: sends requests, routes responses to their waiters.

    One endpoint per node (use :meth:`of`); it owns the node's inbox. After a crash the
    pending requests are forgotten and, on restart, the endpoint starts listening again.
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
        """The endpoint of ``node`` (created on first use)."""
        registry = network.__dict__.setdefault("_endpoints", {})
        endpoint = registry.get(node)
        if endpoint is None:
            endpoint = registry[node] = cls(network, node)
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
                    waiter.succeed(msg.payload)
            elif isinstance(msg, Request) and self._server is not None:
                self._server(msg)

    def serve(self, handler: Callable[[Request], Any]) -> None:
        """Hand every incoming :class:`Request` to ``handler`` (a node both calls and serves)."""
        self._server = handler

    def call(self, dst: str, kind: str, payload: Any, timeout: float) -> Generator[Any, Any, Any]:
        """Send a request and wait: returns the response payload, or ``None`` on timeout.

        Use as ``reply = yield from endpoint.call(...)`` inside a process.
        """
        self._corr += 1
        corr = self._corr
        env = self.network.world.env
        waiter = env.event()
        self._pending[corr] = waiter
        self.network.send(self.node.name, dst, Request(kind, corr, self.node.name, payload))
        timer = env.timeout(timeout)
        result = yield waiter | timer
        if waiter in result:
            return result[waiter]
        self._pending.pop(corr, None)
        return None
