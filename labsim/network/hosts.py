"""The hosts and links of a simulated network: nodes with an inbox, a clock and processes,
and the messages on their way.

:class:`~labsim.network.Network` creates them; a model reaches a node with
``network.node(name)``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

from labsim.dists import Distribution, Exponential
from labsim.errors import ConfigError

if TYPE_CHECKING:
    from labsim.network import Network

__all__ = ["Arrival", "Crash", "Link", "Node"]


class Crash:
    """The cause carried by the :class:`simpy.Interrupt` a node's processes get when it crashes."""

    __slots__ = ("node",)

    def __init__(self, node: str):
        self.node = node

    def __repr__(self) -> str:
        return f"Crash({self.node!r})"


class Node:
    """A host on the network: an inbox, a liveness flag, a clock, and the processes it runs.

    ``crashes`` counts the crashes so far: a callback started before a crash compares it to
    tell that the node went down meanwhile (its processes are interrupted; callbacks are not).
    """

    def __init__(self, network: Network, name: str):
        self.network = network
        self.name = name
        self.inbox = simpy.Store(network.world.env)
        #: When set (by :class:`labsim.transport.Endpoint`), the network hands each arriving
        #: message to ``receiver(msg)`` at its arrival instead of putting it in the inbox.
        self.receiver: Callable[[Any], Any] | None = None
        self.up = True
        self.skew = 0.0
        # The skew the node has when no clock-skew fault is active (``Network.set_clock``).
        self.base_skew = 0.0
        self.drift = 0.0
        self.crashes = 0
        self._processes: set[simpy.Process] = set()
        self._restart_hooks: list[Callable[[Node], Any]] = []

    def __repr__(self) -> str:
        return f"Node({self.name!r}, up={self.up})"

    def clock(self) -> float:
        """This node's physical clock: ``now * (1 + drift) + skew`` (simulated seconds)."""
        return self.network.world.now * (1.0 + self.drift) + self.skew

    def process(self, generator: Generator[Any, Any, Any]) -> simpy.Process:
        """Run ``generator`` as a process that lives on this node.

        When the node crashes the process receives :class:`simpy.Interrupt` with a
        :class:`Crash` cause; if the generator does not catch it the process simply ends.
        """
        if not self.up:
            raise ConfigError(
                "node", self.name, "a node that is up (restart it first)", "Node.process"
            )
        proc = self.network.world.env.process(self._guard(generator))
        self._processes.add(proc)
        proc.callbacks.append(lambda _e: self._processes.discard(proc))
        return proc

    @staticmethod
    def _guard(generator: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
        try:
            return (yield from generator)
        except simpy.Interrupt as interrupt:
            if isinstance(interrupt.cause, Crash):
                return None
            raise

    def on_restart(self, hook: Callable[[Node], Any]) -> None:
        """Register ``hook(node)``, called each time this node restarts after a crash."""
        self._restart_hooks.append(hook)

    def go_down(self) -> None:
        """Crash this node now: inbox lost, pending gets cancelled, processes interrupted.

        Called by the network when the first crash covering the node starts; model code
        crashes a node with :meth:`Network.crash` (a recorded fault) instead.
        """
        self.up = False
        self.crashes += 1
        self.inbox.items.clear()
        # A get() left pending by an interrupted process would still take the next message
        # (a SimPy pitfall): cancel them so the restarted node's processes receive it.
        for request in list(self.inbox.get_queue):
            request.cancel()
        active = self.network.world.env.active_process
        for proc in list(self._processes):
            if proc.is_alive and proc is not active:
                proc.interrupt(Crash(self.name))

    def go_up(self) -> None:
        """Bring this node back and run its restart hooks (the last covering crash ended)."""
        self.up = True
        for hook in self._restart_hooks:
            hook(self)

    def send(self, dst: str, msg: Any) -> None:
        """Send ``msg`` from this node to ``dst`` (see :meth:`Network.send`)."""
        self.network.send(self.name, dst, msg)


class Arrival:
    """One copy of a message on its way: an entry of SimPy's event queue.

    The queue needs only what ``Environment.step`` reads of an event (``callbacks``, ``_ok``):
    a slotted object carrying the message is cheaper than a SimPy event plus a callback bound
    to the message, and the network sends one per message.
    """

    __slots__ = ("callbacks", "copy", "dst", "msg", "msg_id", "sent_at", "src")

    _ok = True
    _value = None


class Link:
    """Per-direction link settings: latency, loss and duplication probabilities, slow factor.

    ``loss``, ``duplicate`` and ``slow`` are what the link does now (its own settings, the
    ``base_*`` attributes, combined with the active faults); the network recomputes them
    whenever a link fault starts or ends, so change the settings with
    :meth:`Network.configure_links` rather than by assigning them.
    """

    __slots__ = (
        "_latency",
        "base_duplicate",
        "base_loss",
        "base_slow",
        "duplicate",
        "exponential_rate",
        "last_arrival",
        "loss",
        "slow",
    )

    def __init__(self, latency: Distribution, loss: float, duplicate: float):
        self.latency = latency
        self.loss = self.base_loss = loss
        self.duplicate = self.base_duplicate = duplicate
        self.slow = self.base_slow = 1.0
        self.last_arrival = 0.0

    @property
    def latency(self) -> Distribution:
        """The one-way latency distribution."""
        return self._latency

    @latency.setter
    def latency(self, latency: Distribution) -> None:
        self._latency = latency
        #: The rate when the latency is exponential, else 0.0: the network then draws the
        #: delay itself, exactly as ``latency.sample`` would, without two calls per message.
        self.exponential_rate = latency.rate if type(latency) is Exponential else 0.0
