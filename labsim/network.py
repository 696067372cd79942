"""A simulated network of named nodes over a networkx graph.

``network.send(src, dst, msg)`` puts ``msg`` into the destination node's ``inbox`` (a SimPy
store) after the link's latency. Links can lose, duplicate and reorder messages; partitions
(two-way or one-way) drop what crosses them; a crashed node drops what arrives and its
processes are interrupted; a restarted node runs its restart hooks so models can rebuild
state. Each node has a physical clock with skew and drift (``node.clock()``).

Delivery is scheduled with a timeout callback rather than a process per message, which keeps
the network close to the cost of a bare SimPy model (see ``benchmarks/network.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from functools import partial
from typing import Any

import networkx as nx
import simpy

from labsim.dists import Distribution, Exponential, as_distribution
from labsim.errors import ConfigError, check_positive, check_probability
from labsim.world import World, ms

__all__ = ["Crash", "Link", "Network", "Node"]

#: Default one-way link latency: exponential with a 5 ms mean.
DEFAULT_LATENCY = Exponential.from_mean(ms(5))


class Crash:
    """The cause carried by the :class:`simpy.Interrupt` a node's processes get when it crashes."""

    __slots__ = ("node",)

    def __init__(self, node: str):
        self.node = node

    def __repr__(self) -> str:
        return f"Crash({self.node!r})"


class Node:
    """A host on the network: an inbox, a liveness flag, a clock, and the processes it runs."""

    def __init__(self, network: Network, name: str):
        self.network = network
        self.name = name
        self.inbox = simpy.Store(network.world.env)
        self.up = True
        self.skew = 0.0
        self.drift = 0.0
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

    def send(self, dst: str, msg: Any) -> None:
        """Send ``msg`` from this node to ``dst`` (see :meth:`Network.send`)."""
        self.network.send(self.name, dst, msg)


class Link:
    """Per-direction link settings: latency, loss and duplication probabilities, slow factor."""

    __slots__ = ("duplicate", "last_arrival", "latency", "loss", "slow")

    def __init__(self, latency: Distribution, loss: float, duplicate: float):
        self.latency = latency
        self.loss = loss
        self.duplicate = duplicate
        self.slow = 1.0
        self.last_arrival = 0.0


class Network:
    """Named nodes joined by links, inside one :class:`~labsim.World`.

    Args:
        world: The world the network lives in.
        nodes: Node names (a full mesh is built) or a :class:`networkx.Graph`; each graph edge
            is a two-way link. Messages travel only along edges.
        latency: One-way link latency: a distribution or a number of seconds (> 0).
        loss: Probability a message is lost on a link.
        duplicate: Probability a message is delivered twice.
        reorder: When ``False`` (default) each link is FIFO; when ``True`` each message takes
            its own independent delay, so later messages can overtake earlier ones.
        name: Prefix of the recorded tables and random streams.

    Recorded tables (``world.frames()``): ``{name}.sends`` (msg_id, time, src, dst),
    ``{name}.deliveries`` (msg_id, time, src, dst, sent_at, copy) and ``{name}.drops``
    (msg_id, time, src, dst, reason).
    """

    def __init__(
        self,
        world: World,
        nodes: Iterable[str] | nx.Graph,
        *,
        latency: Distribution | float = DEFAULT_LATENCY,
        loss: float = 0.0,
        duplicate: float = 0.0,
        reorder: bool = False,
        name: str = "net",
    ):
        self.world = world
        self.name = name
        if isinstance(latency, (int, float)) and not isinstance(latency, bool):
            check_positive("latency", latency, "Network")
        self.default_latency = as_distribution(latency, "latency")
        self.default_loss = check_probability("loss", loss, "Network")
        self.default_duplicate = check_probability("duplicate", duplicate, "Network")
        self.reorder = bool(reorder)
        if isinstance(nodes, nx.Graph):
            graph = nx.Graph(nodes)
        else:
            names = list(nodes)
            graph = nx.complete_graph(names) if len(names) > 1 else nx.Graph()
            graph.add_nodes_from(names)
        if graph.number_of_nodes() == 0:
            raise ConfigError("nodes", nodes, "at least one node name", "Network")
        for n in graph.nodes:
            if not isinstance(n, str) or not n:
                raise ConfigError("nodes", n, "non-empty string node names", "Network")
        self.graph = graph
        self.nodes: dict[str, Node] = {n: Node(self, n) for n in graph.nodes}
        self.links: dict[tuple[str, str], Link] = {}
        for a, b in graph.edges:
            for pair in ((a, b), (b, a)):
                self.links[pair] = Link(
                    self.default_latency, self.default_loss, self.default_duplicate
                )
        self._cuts: dict[int, set[tuple[str, str]]] = {}
        self._cut_seq = 0
        self._blocked: set[tuple[str, str]] = set()
        self._rng = world.rng(f"{name}.links")
        self._seq = 0
        self._sends = world.table(f"{name}.sends", ("msg_id", "time", "src", "dst")).add
        self._deliveries = world.table(
            f"{name}.deliveries", ("msg_id", "time", "src", "dst", "sent_at", "copy")
        ).add
        self._drops = world.table(
            f"{name}.drops", ("msg_id", "time", "src", "dst", "reason"), level="summary"
        ).add

    # -- lookup -----------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        """Return the node ``name`` (ConfigError listing the nodes if unknown)."""
        try:
            return self.nodes[name]
        except (KeyError, TypeError):
            raise ConfigError("node", name, f"one of {sorted(self.nodes)}", self.name) from None

    def link(self, src: str, dst: str) -> Link:
        """Return the directed link ``src -> dst``."""
        try:
            return self.links[(src, dst)]
        except (KeyError, TypeError):
            self.node(src)
            self.node(dst)
            raise ConfigError(
                "link",
                (src, dst),
                "a pair of nodes joined by an edge of the network graph",
                self.name,
            ) from None

    def _links_for(self, nodes: tuple[str, ...]) -> list[Link]:
        if not nodes:
            return list(self.links.values())
        if len(nodes) == 1:
            self.node(nodes[0])
            return [lk for (a, b), lk in self.links.items() if nodes[0] in (a, b)]
        if len(nodes) == 2:
            return [self.link(nodes[0], nodes[1]), self.link(nodes[1], nodes[0])]
        raise ConfigError("nodes", nodes, "(), (node,) or (src, dst)", self.name)

    # -- sending ----------------------------------------------------------------------------
    def send(self, src: str, dst: str, msg: Any) -> int:
        """Send ``msg`` from ``src`` to ``dst``; it lands in ``dst``'s inbox after the latency.

        Returns:
            The network-level message id (as in the recorded tables).
        """
        link = self.links.get((src, dst))
        if link is None:
            link = self.link(src, dst)  # raises a ConfigError naming the bad node or link
        self._seq += 1
        msg_id = self._seq
        now = self.world.env.now
        self._sends(msg_id, now, src, dst)
        if not self.nodes[src].up:
            self._drops(msg_id, now, src, dst, "sender-down")
            return msg_id
        if (src, dst) in self._blocked:
            self._drops(msg_id, now, src, dst, "partition")
            return msg_id
        rng = self._rng
        if link.loss and rng.random() < link.loss:
            self._drops(msg_id, now, src, dst, "loss")
            return msg_id
        copies = 2 if link.duplicate and rng.random() < link.duplicate else 1
        for copy in range(copies):
            arrival = now + link.latency.sample(rng) * link.slow
            if not self.reorder:
                # FIFO link: never arrive before a message sent earlier on the same link.
                if arrival < link.last_arrival:
                    arrival = link.last_arrival
                link.last_arrival = arrival
            timeout = self.world.env.timeout(arrival - now)
            timeout.callbacks.append(partial(self._arrive, msg_id, src, dst, msg, now, copy))
        return msg_id

    def _arrive(
        self,
        msg_id: int,
        src: str,
        dst: str,
        msg: Any,
        sent_at: float,
        copy: int,
        _event: simpy.Event,
    ) -> None:
        node = self.nodes[dst]
        if not node.up:
            self._drops(msg_id, self.world.env.now, src, dst, "receiver-down")
            return
        self._deliveries(msg_id, self.world.env.now, src, dst, sent_at, copy)
        node.inbox.put(msg)

    # -- faults -----------------------------------------------------------------------------
    def partition(self, *groups: Iterable[str]) -> int:
        """Cut every link between different ``groups`` (two-way); nodes in no group form one more.

        Returns:
            A handle for :meth:`heal` to remove just this partition.
        """
        named = [tuple(self.node(n).name for n in g) for g in groups]
        if not named:
            raise ConfigError("groups", groups, "at least one group of node names", self.name)
        seen = [n for g in named for n in g]
        rest = tuple(n for n in self.nodes if n not in seen)
        if rest:
            named.append(rest)
        side = {n: i for i, g in enumerate(named) for n in g}
        return self._add_cut({(a, b) for a, b in self.links if side[a] != side[b]})

    def partition_one_way(self, src: str, dst: str) -> int:
        """Drop messages ``src -> dst`` while ``dst -> src`` still works; returns a handle."""
        self.link(src, dst)
        return self._add_cut({(src, dst)})

    def _add_cut(self, pairs: set[tuple[str, str]]) -> int:
        self._cut_seq += 1
        self._cuts[self._cut_seq] = pairs
        self._blocked = set().union(*self._cuts.values())
        return self._cut_seq

    def heal(self, handle: int | None = None) -> None:
        """Remove one partition (by the handle :meth:`partition` returned) or, by default, all."""
        if handle is None:
            self._cuts.clear()
        else:
            self._cuts.pop(handle, None)
        self._blocked = set().union(*self._cuts.values())

    def is_blocked(self, src: str, dst: str) -> bool:
        """Whether a partition currently drops ``src -> dst``."""
        return (src, dst) in self._blocked

    def crash(self, name: str) -> None:
        """Crash node ``name``: inbox lost, arrivals dropped, its processes interrupted."""
        node = self.node(name)
        if not node.up:
            return
        node.up = False
        node.inbox.items.clear()
        # A get() left pending by an interrupted process would still take the next message
        # (a SimPy pitfall): cancel them so the restarted node's processes receive it.
        for request in list(node.inbox.get_queue):
            request.cancel()
        active = self.world.env.active_process
        for proc in list(node._processes):
            if proc.is_alive and proc is not active:
                proc.interrupt(Crash(name))

    def restart(self, name: str) -> None:
        """Restart a crashed node and run its restart hooks (no-op if it is up)."""
        node = self.node(name)
        if node.up:
            return
        node.up = True
        for hook in node._restart_hooks:
            hook(node)

    def set_clock(self, name: str, skew: float | None = None, drift: float | None = None) -> None:
        """Set a node's clock skew (seconds) and/or drift (fractional rate error, > -1)."""
        node = self.node(name)
        if skew is not None:
            if not isinstance(skew, (int, float)) or isinstance(skew, bool):
                raise ConfigError("skew", skew, "a number of seconds", self.name)
            node.skew = float(skew)
        if drift is not None:
            if not isinstance(drift, (int, float)) or isinstance(drift, bool) or drift <= -1:
                raise ConfigError("drift", drift, "a number > -1 (e.g. 1e-4)", self.name)
            node.drift = float(drift)

    def configure_links(
        self,
        nodes: tuple[str, ...] = (),
        *,
        latency: Any = None,
        loss: float | None = None,
        duplicate: float | None = None,
        slow: float | None = None,
    ) -> None:
        """Change link settings: all links (``nodes=()``), a node's links, or a pair (both ways)."""
        if slow is not None:
            check_positive("slow", slow, self.name)
        if loss is not None:
            check_probability("loss", loss, self.name)
        if duplicate is not None:
            check_probability("duplicate", duplicate, self.name)
        dist = as_distribution(latency, "latency") if latency is not None else None
        for link in self._links_for(tuple(nodes)):
            if dist is not None:
                link.latency = dist
            if loss is not None:
                link.loss = loss
            if duplicate is not None:
                link.duplicate = duplicate
            if slow is not None:
                link.slow = slow
