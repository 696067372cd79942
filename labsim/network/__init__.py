"""A simulated network of named nodes over a networkx graph.

``network.send(src, dst, msg)`` puts ``msg`` into the destination node's ``inbox`` (a SimPy
store) after the link's latency, or hands it to the node's ``receiver`` when one is set (the
request/response endpoint of :mod:`labsim.transport` sets one). Links can lose, duplicate
and reorder messages; partitions (two-way or one-way) drop what crosses them; a crashed node
drops what arrives and its processes are interrupted; a restarted node runs its restart hooks
so models can rebuild state. Each node has a physical clock with skew and drift (``node.clock()``).

Faults are kept as a set of *active* faults (:meth:`Network.start_fault`,
:meth:`Network.end_fault`); the nodes, links, partitions and clocks are recomputed from the
network's own settings plus every active fault whenever one starts or ends, so overlapping
faults stack (rules in :mod:`labsim.faults`). ``crash``, ``restart``, ``partition``,
``partition_one_way`` and ``heal`` are shorthands that start or end such faults, so each of
them is a row of the network's ``faults`` table too.

Delivery is scheduled as one entry of SimPy's event queue (a slotted arrival, in the place
:func:`labsim.world.call_later` would give it) rather than a process per message, which keeps
the network close to the cost of a bare SimPy model (see ``benchmarks/network.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from heapq import heappush as _heappush
from math import log as _log
from typing import Any

import networkx as nx
from simpy.events import NORMAL

from labsim.dists import Distribution, Exponential, as_distribution
from labsim.errors import ConfigError, check_finite, check_positive, check_probability
from labsim.faults.kinds import PARTITION_KINDS, Fault
from labsim.network.active import ActiveFaults
from labsim.network.hosts import Arrival, Crash, Link, Node
from labsim.record import Table
from labsim.world import World, ms

__all__ = ["Crash", "Link", "Network", "Node"]

_new = object.__new__

#: Default one-way link latency: exponential with a 5 ms mean.
DEFAULT_LATENCY = Exponential.from_mean(ms(5))

#: Columns of the ``faults`` table.
FAULT_COLUMNS = ("time", "kind", "action", "target", "value")


def _add_or_none(table: Table) -> Any:
    """The table's ``add``, or ``None`` when the recording level leaves the table out."""
    return table.add if table.enabled else None


class Network(ActiveFaults):
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
    ``{name}.deliveries`` (msg_id, time, src, dst, sent_at, copy), ``{name}.drops``
    (msg_id, time, src, dst, reason) and the faults table (its name is
    :attr:`faults_table`: ``faults`` for the network named ``net``, else ``{name}.faults``):
    time, kind, action (``start``/``end``), target, value — one row per fault that starts or
    ends, however it was started.
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
        self._env = world.env
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
        # Active faults by handle, in the order they started (clock skews need that order).
        self._active: dict[int, Fault] = {}
        self._fault_seq = 0
        self._blocked: set[tuple[str, str]] = set()
        #: Name of the table recording every fault that starts or ends on this network.
        self.faults_table = "faults" if name == "net" else f"{name}.faults"
        self._fault_rows = world.table(self.faults_table, FAULT_COLUMNS, level="summary").add
        self._rng = world.rng(f"{name}.links")
        # The callbacks of every arrival: SimPy reads the list and never changes it.
        self._deliver = [self._arrive]
        self._seq = 0
        # Times and ids stored as compact numbers: a long run sends millions of messages.
        # ``None`` when the recording level leaves them out: no call at all per message.
        self._sends = _add_or_none(
            world.recorder.table(
                f"{name}.sends",
                ("msg_id", "time", "src", "dst"),
                typed={"msg_id": "q", "time": "d"},
            )
        )
        self._deliveries = _add_or_none(
            world.recorder.table(
                f"{name}.deliveries",
                ("msg_id", "time", "src", "dst", "sent_at", "copy"),
                typed={"msg_id": "q", "time": "d", "sent_at": "d", "copy": "q"},
            )
        )
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

    def link_keys(self, nodes: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """The directed links ``(src, dst)`` a link target names.

        Args:
            nodes: ``()`` for every link, ``(node,)`` for the links to and from ``node``,
                ``(a, b)`` for the link between ``a`` and ``b``, both directions.
        """
        nodes = tuple(nodes)
        if not nodes:
            return list(self.links)
        if len(nodes) == 1:
            name = self.node(nodes[0]).name
            return [pair for pair in self.links if name in pair]
        if len(nodes) == 2:
            self.link(nodes[0], nodes[1])
            self.link(nodes[1], nodes[0])
            return [(nodes[0], nodes[1]), (nodes[1], nodes[0])]
        raise ConfigError("nodes", nodes, "(), (node,) or (src, dst)", self.name)

    # -- sending ----------------------------------------------------------------------------
    def send(self, src: str, dst: str, msg: Any) -> int:
        """Send ``msg`` from ``src`` to ``dst``; it lands in ``dst``'s inbox after the latency.

        Returns:
            The network-level message id (as in the recorded tables).
        """
        pair = (src, dst)
        link = self.links.get(pair)
        if link is None:
            link = self.link(src, dst)  # raises a ConfigError naming the bad node or link
        self._seq = msg_id = self._seq + 1
        env = self._env
        now = env._now
        sends = self._sends
        if sends is not None:
            sends(msg_id, now, src, dst)
        if not self.nodes[src].up:
            self._drops(msg_id, now, src, dst, "sender-down")
            return msg_id
        if pair in self._blocked:
            self._drops(msg_id, now, src, dst, "partition")
            return msg_id
        rng = self._rng
        loss = link.loss
        if loss and rng.random() < loss:
            self._drops(msg_id, now, src, dst, "loss")
            return msg_id
        duplicate = link.duplicate
        twice = duplicate and rng.random() < duplicate
        self._schedule(link, msg_id, src, dst, msg, now, 0)
        if twice:
            self._schedule(link, msg_id, src, dst, msg, now, 1)
        return msg_id

    def _schedule(
        self, link: Link, msg_id: int, src: str, dst: str, msg: Any, now: float, copy: int
    ) -> None:
        """Schedule the arrival of one copy of a message (drawing its latency)."""
        rng, rate = self._rng, link.exponential_rate
        # An exponential latency drawn as ``rng.expovariate(rate)`` draws it, two calls fewer.
        delay = -_log(1.0 - rng.random()) / rate if rate else link.latency.sample(rng)
        arrival = now + delay * link.slow
        if not self.reorder:
            # FIFO link: never arrive before a message sent earlier on the same link.
            if arrival < link.last_arrival:
                arrival = link.last_arrival
            link.last_arrival = arrival
        # One Arrival in the queue, at the place call_later(env, arrival - now, ...) gives it.
        event = _new(Arrival)
        event.callbacks = self._deliver
        event.msg_id, event.src, event.dst, event.msg, event.sent_at = msg_id, src, dst, msg, now
        event.copy = copy
        env = self._env
        _heappush(env._queue, (now + (arrival - now), NORMAL, next(env._eid), event))

    def _arrive(self, arrival: Arrival) -> None:
        node = self.nodes[arrival.dst]
        now = self._env._now
        if not node.up:
            self._drops(arrival.msg_id, now, arrival.src, arrival.dst, "receiver-down")
            return
        deliveries = self._deliveries
        if deliveries is not None:
            deliveries(arrival.msg_id, now, arrival.src, arrival.dst, arrival.sent_at, arrival.copy)
        receiver = node.receiver
        if receiver is None:
            node.inbox.put(arrival.msg)
        else:
            receiver(arrival.msg)

    # -- faults (shorthands; the bookkeeping is in ActiveFaults) -------------------------
    def partition(self, *groups: Iterable[str]) -> int:
        """Cut every link between different ``groups`` (two-way); nodes in no group form one more.

        A ``partition`` fault: recorded, and in force until :meth:`heal` ends it.

        Returns:
            A handle for :meth:`heal` to remove just this partition.
        """
        named = tuple(tuple(self.node(n).name for n in g) for g in groups)
        if not named:
            raise ConfigError("groups", groups, "at least one group of node names", self.name)
        return self._start_lasting(Fault(self.world.env.now, "partition", groups=named))

    def partition_one_way(self, src: str, dst: str) -> int:
        """Drop messages ``src -> dst`` while ``dst -> src`` still works; returns a handle.

        A ``one-way-partition`` fault: recorded, and in force until :meth:`heal` ends it.
        """
        self.link(src, dst)
        return self._start_lasting(Fault(self.world.env.now, "one-way-partition", nodes=(src, dst)))

    def _start_lasting(self, fault: Fault) -> int:
        handle = self.start_fault(fault)
        assert handle is not None  # lasting kinds always return a handle
        return handle

    def heal(self, handle: int | None = None) -> None:
        """End one partition (by the handle :meth:`partition` returned) or, by default, all.

        ``heal()`` is a ``heal`` fault (recorded, ending every active partition and one-way
        partition); ``heal(handle)`` ends that partition only (a no-op if already ended).
        """
        if handle is None:
            self.start_fault(Fault(self.world.env.now, "heal"))
            return
        fault = self._active.get(handle)
        if fault is not None and fault.kind not in PARTITION_KINDS:
            raise ConfigError(
                "handle", handle, "a handle returned by partition or partition_one_way", self.name
            )
        self.end_fault(handle)

    def is_blocked(self, src: str, dst: str) -> bool:
        """Whether a partition currently drops ``src -> dst``."""
        return (src, dst) in self._blocked

    def crash(self, name: str) -> int:
        """Crash node ``name``: inbox lost, arrivals dropped, its processes interrupted.

        A ``crash`` fault: recorded, and in force until :meth:`restart` (or
        ``end_fault(handle)``) ends it. Crashing a node that is down already adds one more
        crash covering it.

        Returns:
            A handle for :meth:`end_fault` to end just this crash.
        """
        return self._start_lasting(
            Fault(self.world.env.now, "crash", nodes=(self.node(name).name,))
        )

    def restart(self, name: str) -> None:
        """Restart node ``name``: a ``restart`` fault, ending every crash active on it.

        The node's restart hooks run if it was down (nothing else happens if it was up).
        """
        self.start_fault(Fault(self.world.env.now, "restart", nodes=(self.node(name).name,)))

    def set_clock(self, name: str, skew: float | None = None, drift: float | None = None) -> None:
        """Set a node's clock skew (seconds) and/or drift (fractional rate error, > -1).

        The skew is the node's own: while a clock-skew fault is active on the node, the
        fault's skew counts, and the node returns to this one when it ends.
        """
        node = self.node(name)
        if skew is not None:
            node.base_skew = check_finite("skew", skew, self.name)
            self._refresh("clocks")
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
        """Change link settings: all links (``nodes=()``), a node's links, or a pair (both ways).

        These are the links' own settings: while link faults are active, a link loses and
        duplicates at the larger of its setting and the faults' values, and its slow factor is
        the faults' (see :mod:`labsim.faults`).
        """
        if slow is not None:
            check_positive("slow", slow, self.name)
        if loss is not None:
            check_probability("loss", loss, self.name)
        if duplicate is not None:
            check_probability("duplicate", duplicate, self.name)
        dist = as_distribution(latency, "latency") if latency is not None else None
        for pair in self.link_keys(tuple(nodes)):
            link = self.links[pair]
            if dist is not None:
                link.latency = dist
            if loss is not None:
                link.base_loss = float(loss)
            if duplicate is not None:
                link.base_duplicate = float(duplicate)
            if slow is not None:
                link.base_slow = float(slow)
        self._refresh("links")
