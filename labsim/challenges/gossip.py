"""Challenge (lesson 11): broadcast through partitions, within latency and message budgets.

Five nodes (``n1`` to ``n5``, every pair linked) each run the learner's ``Broadcaster``.
Clients ask random nodes to broadcast values; every node must come to see every value.
Partitions cut the nodes into two sides and lossy links drop messages, then everything
heals. Three budgets: no (node, value) pair missing at the end; latency (the time until
every node saw a value), counted in fault-free time (time while some fault of the plan was
active is not counted), with a bounded median and maximum; and a bounded number of network
messages per broadcast.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pandas as pd

from labsim.challenges.base import Challenge, Node, Outcome, Target, guard
from labsim.checks import CheckResult
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.world import World

__all__ = ["CHALLENGE", "NODES", "fault_time"]

NODES = ("n1", "n2", "n3", "n4", "n5")
#: Seconds between two ticks of a node.
TICK = 0.1
#: Seconds of the run in which clients broadcast.
WRITE_PHASE = 2.5
#: Messages per broadcast allowed (one to every peer and its acknowledgement is 8).
MESSAGES_PER_OP = 20

STARTER = '''"""Challenge broadcast (lesson 11): every node sees every value, on a message budget.

Five nodes, every pair linked. Clients call ``broadcast(value)`` on some node; every node's
``read()`` must come to contain every value, although partitions and lossy links drop
messages. Budgets (latency: until every node has the value, not counting time while a
fault is active): no value missing at the end, median latency <= 0.1 s, maximum latency
<= 0.35 s, at most 20 network messages per broadcast.

Check it:  labsim challenge check broadcast THIS_FILE.py
"""


class Broadcaster:
    def __init__(self, node_id, peers, net):
        """``peers``: the other node ids. ``net.send(dst, msg)`` sends any value to ``dst``
        (it arrives as ``receive(src, msg)`` there, unless lost on the way)."""
        self.node_id = node_id
        self.peers = peers
        self.net = net
        self.values = set()

    def broadcast(self, value):
        """A client asks this node to broadcast ``value`` (an int)."""
        self.values.add(value)

    def receive(self, src, msg):
        """A message from node ``src``."""

    def tick(self):
        """Called every 100 ms."""

    def read(self):
        """Every value this node has seen."""
        return set(self.values)
'''


class _Net:
    """A node's sending handle: ``send(dst, msg)`` puts ``(src, msg)`` on the network."""

    def __init__(self, network: Network, name: str):
        self._network = network
        self._name = name

    def send(self, dst: str, msg: Any) -> None:
        if dst not in NODES or dst == self._name:
            raise ValueError(
                f"send to {dst!r}: one of the peers {[n for n in NODES if n != self._name]}"
            )
        self._network.send(self._name, dst, (self._name, msg))


def fault_time(plan: FaultPlan, start: float, end: float) -> float:
    """Seconds of ``[start, end]`` during which some fault of ``plan`` was active."""
    heal = min((f.at for f in plan if f.kind == "heal"), default=float("inf"))
    spans = sorted(
        (f.at, min(f.until if f.until is not None else heal, heal))
        for f in plan
        if f.kind != "heal"
    )
    covered, reach = 0.0, start
    for a, b in spans:
        a, b = max(a, reach), min(b, end)
        if b > a:
            covered += b - a
            reach = b
    return covered


def _run(cls: type, world: World, network: Network, plan: FaultPlan, size: int) -> Outcome:
    ops = world.table("challenge.broadcasts", ("time", "node", "value")).add
    seen_rows = world.table("challenge.seen", ("time", "node", "value")).add
    nodes = {n: Node(world, network, n, plan, lambda: None) for n in NODES}
    steps = world.table("challenge.steps", ("time", "node", "step", "detail")).add
    peers = {n: [p for p in NODES if p != n] for n in NODES}
    inst = {n: guard(nodes[n], cls, n, list(peers[n]), _Net(network, n)) for n in NODES}
    seen: dict[str, set[Any]] = {n: set() for n in NODES}
    rng = world.rng("challenge.broadcast")

    def observe(n: str) -> None:
        values = guard(nodes[n], inst[n].read)
        for v in sorted(set(values) - seen[n], key=repr):
            seen[n].add(v)
            seen_rows(world.now, n, v)

    def client() -> Generator[Any, Any, None]:
        for value in range(1, size + 1):
            yield world.timeout(rng.uniform(0.0, 2 * WRITE_PHASE / size))
            n = rng.choice(NODES)
            ops(world.now, n, value)
            steps(world.now, n, "broadcast", value)
            guard(nodes[n], inst[n].broadcast, value)
            observe(n)

    def receiver(n: str) -> Generator[Any, Any, None]:
        inbox = network.node(n).inbox
        while True:
            src, msg = yield inbox.get()
            guard(nodes[n], inst[n].receive, src, msg)
            observe(n)

    def ticker(n: str) -> Generator[Any, Any, None]:
        yield world.timeout(TICK * NODES.index(n) / len(NODES))
        while True:
            guard(nodes[n], inst[n].tick)
            observe(n)
            yield world.timeout(TICK)

    for n in NODES:
        network.node(n).process(receiver(n))
        network.node(n).process(ticker(n))
    world.process(client())
    end = 5.0
    world.run(until=end)
    frames = world.frames()
    sent = frames["challenge.broadcasts"]
    got = frames["challenge.seen"]
    missing, fault_free = [], []
    for t0, value in zip(sent["time"], sent["value"], strict=True):
        mine = got[got["value"] == value]
        lacking = sorted(set(NODES) - set(mine["node"]))
        missing += [{"node": n, "value": value} for n in lacking]
        done = end if lacking else float(mine["time"].max())
        fault_free.append(done - t0 - fault_time(plan, t0, done))
    lost = CheckResult(
        "missing values",
        not missing,
        pd.DataFrame(missing, columns=["node", "value"]),
        f"{len(sent)} broadcasts, {len(missing)} (node, value) pairs never seen",
    )
    msgs = len(frames["net.sends"]) / max(len(sent), 1)
    budget = CheckResult(
        "messages",
        msgs <= MESSAGES_PER_OP,
        pd.DataFrame(),
        f"{len(frames['net.sends'])} messages for {len(sent)} broadcasts",
    )
    figures = {
        "missing": float(len(missing)),
        "median_latency": float(pd.Series(fault_free).median()) if fault_free else 0.0,
        "max_latency": max(fault_free, default=0.0),
        "messages_per_op": msgs,
    }
    return Outcome(figures, [lost, budget], frames, list(NODES), end)


CHALLENGE = Challenge(
    name="broadcast",
    lesson="11_conflict_resolution",
    goal="broadcast values to every node through partitions on a latency and message budget",
    invariant="every node sees every broadcast value once faults heal, quickly (median and "
    "fault-free maximum latency bounded) and at a bounded number of messages per broadcast",
    targets=(
        Target("missing", "<=", 0, "(node, value) pairs never seen"),
        Target("median_latency", "<=", 0.1, "s until every node saw a value (median)"),
        Target("max_latency", "<=", 0.35, "s until every node saw a value (maximum)"),
        Target("messages_per_op", "<=", MESSAGES_PER_OP, "network messages per broadcast"),
    ),
    fault_kinds=("partition", "loss"),
    class_name="Broadcaster",
    methods=("broadcast", "receive", "tick", "read"),
    starter=STARTER,
    runner=_run,
    nodes=NODES,
    duration=4.0,
    size=12,
)
