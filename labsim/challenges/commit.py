"""Challenge (lesson 02): when to commit offsets of a Kafka-style partition.

A producer appends one record every :data:`GAP` seconds to a partition on node ``broker``.
Two consumers of one group (nodes ``c1`` and ``c2``) share it: the owner polls every
:data:`POLL` seconds, gets up to :data:`MAX_POLL` records from its position and hands them to
the learner's ``handle``. The position starts at the group's committed offset, which only
``partition.commit(offset)`` moves (the offset of the next record to read, as in Kafka).
Consumers crash; when the owner has been down for :data:`SESSION` seconds the group
rebalances and the other consumer takes the partition over from the committed offset.

The learner decides when to commit relative to processing, and may keep an idempotence
store (a database both consumers share, which survives crashes). Targets: no record lost,
every record's effect applied exactly once, and at most :data:`MAX_POLL` records processed
again per crash (no replay of the whole partition).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.challenges.base import Challenge, Crashed, Durable, Node, Outcome, Target
from labsim.checks import CheckResult, check_duplicate_effects, check_lost_messages
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.world import World

__all__ = ["CHALLENGE", "GAP", "MAX_POLL", "POLL", "SESSION", "Record"]

#: Seconds between two appended records.
GAP = 0.01
#: Seconds between two polls of the owner.
POLL = 0.005
#: Most records one poll returns.
MAX_POLL = 4
#: Seconds the owner may be down before the group hands the partition to the other consumer.
SESSION = 0.05
CONSUMERS = ("c1", "c2")

STARTER = '''"""Challenge commit-strategy (lesson 02): commit offsets without losing or doubling.

Two consumers of a group share one partition; the owner polls up to 4 records at a time and
calls ``handle(records)``. It starts from the group's committed offset, which only
``partition.commit(offset)`` moves (the offset of the NEXT record to read). Consumers crash:
``self`` is lost, and after 50 ms the other consumer takes the partition over from the
committed offset (a rebalance). ``store`` is a database both consumers share; it survives.

Goal: no record lost, each record's effect applied exactly once, and at most 4 records
processed again per crash.

Check it:  labsim challenge check commit-strategy THIS_FILE.py
"""


class Consumer:
    def __init__(self, partition, store):
        """Each call below is one step (a crash may fall between two of them).

        partition.commit(offset)                 the group's committed offset := offset
        store.get(key, default=None) -> value    read (shared by both consumers, durable)
        store.put(key, value)                    write
        store.apply(key, value)                  the record's effect: once per record
        with store.transaction(): ...            puts and applies inside: all or none
        """
        self.partition = partition
        self.store = store

    def handle(self, records):
        """Process a batch: each record has ``offset``, ``key`` and ``value``."""
        for record in records:
            self.store.apply(record.key, record.value)
        self.partition.commit(records[-1].offset + 1)
'''


@dataclass(frozen=True)
class Record:
    """A record of the partition.

    Attributes:
        offset: Its offset (0, 1, 2, ...).
        key: Its key (``"r<offset>"``; unique per record).
        value: Its payload (an int).
    """

    offset: int
    key: str
    value: int


class _Partition:
    """The group's committed offset as a consumer sees it (a commit is one step)."""

    def __init__(self, node: Node, group: dict[str, Any], record: Any):
        self._node = node
        self._group = group
        self._record = record

    def commit(self, offset: int) -> None:
        self._node.step("commit", offset)
        self._group["committed"] = int(offset)
        self._record(self._node.t, self._node.name, int(offset))


def _run(cls: type, world: World, network: Network, plan: FaultPlan, size: int) -> Outcome:
    produced = world.table("challenge.published", ("time", "msg_id")).add
    effects = world.table("challenge.effects", ("time", "msg_id", "value")).add
    delivered = world.table("challenge.deliveries", ("time", "node", "offset")).add
    commits = world.table("challenge.commits", ("time", "node", "offset")).add
    steps = world.table("challenge.steps", ("time", "node", "step", "detail")).add
    log: list[Record] = []
    group: dict[str, Any] = {"committed": 0, "owner": "c1", "down_since": None}
    nodes: dict[str, Node] = {}
    shared: dict[Any, Any] = {}
    for name in CONSUMERS:
        node = Node(world, network, name, plan, lambda: None)
        store = Durable(node, lambda k, v, node=node: effects(node.t, k, v))
        store._data = shared  # one database for the whole group
        part = _Partition(node, group, commits)
        node.make = lambda part=part, store=store: cls(part, store)
        nodes[name] = node

    def consume(name: str) -> Generator[Any, Any, None]:
        node = nodes[name]
        position = group["committed"]
        steps(world.now, name, "assigned", f"from offset {position}")
        while group["owner"] == name:
            batch = log[position : position + MAX_POLL]
            if batch:
                for r in batch:
                    delivered(world.now, name, r.offset)
                if node.call("handle", list(batch)) is Crashed:
                    return
                position += len(batch)
            yield world.timeout(node.spent() + POLL)

    def start(name: str) -> None:
        nodes[name].build()
        nodes[name].node.process(consume(name))

    def restart(n: Any) -> None:
        if group["owner"] == n.name:
            start(n.name)
        else:
            nodes[n.name].build()

    def coordinator() -> Generator[Any, Any, None]:
        while True:
            owner = group["owner"]
            if network.node(owner).up:
                group["down_since"] = None
            else:
                if group["down_since"] is None:
                    group["down_since"] = world.now
                other = next(c for c in CONSUMERS if c != owner)
                if world.now - group["down_since"] >= SESSION and network.node(other).up:
                    group["owner"], group["down_since"] = other, None
                    steps(world.now, other, "rebalance", f"{owner} -> {other}")
                    start(other)
            yield world.timeout(POLL)

    def producer() -> Generator[Any, Any, None]:
        for i in range(size):
            log.append(Record(i, f"r{i}", i + 1))
            produced(world.now, f"r{i}")
            yield world.timeout(GAP)

    for name in CONSUMERS:
        network.node(name).on_restart(restart)
    nodes["c2"].build()
    start("c1")
    world.process(producer())
    world.process(coordinator())
    end = 1.0 + size * GAP
    world.run(until=end)
    frames = world.frames()
    return _measure(frames, end)


def _measure(frames: dict[str, pd.DataFrame], end: float) -> Outcome:
    dup = check_duplicate_effects(frames["challenge.effects"])
    lost = check_lost_messages(frames["challenge.published"], frames["challenge.effects"])
    counts = frames["challenge.effects"]["msg_id"].value_counts()
    faults = frames["faults"]
    crashes = int(((faults["kind"] == "crash") & (faults["action"] == "start")).sum())
    per = frames["challenge.deliveries"]["offset"].value_counts().sort_index()
    again = int((per - 1).clip(lower=0).sum())
    bound = MAX_POLL * crashes
    twice = per[per > 1]
    reprocessing = CheckResult(
        "reprocessing",
        again <= bound,
        pd.DataFrame({"offset": twice.index, "processed": twice.to_numpy()}),
        f"{again} record(s) processed again for {crashes} crash(es) (bound {MAX_POLL} per crash)",
    )
    figures = {
        "lost": float(len(lost.anomalies)),
        "duplicate_effects": float((counts - 1).clip(lower=0).sum()),
        "excess_reprocessing": float(again - bound),
    }
    return Outcome(figures, [lost, dup, reprocessing], frames, ["broker", *CONSUMERS], end)


CHALLENGE = Challenge(
    name="commit-strategy",
    lesson="02_consumer_groups",
    goal="commit a partition's offsets so that crashes and rebalances lose and double nothing",
    invariant="every record's effect is applied exactly once (none lost), and at most "
    f"{MAX_POLL} records are processed again per consumer crash",
    targets=(
        Target("lost", "<=", 0, "records whose effect was never applied"),
        Target("duplicate_effects", "<=", 0, "effects applied more than once"),
        Target("excess_reprocessing", "<=", 0, f"records processed again beyond {MAX_POLL}/crash"),
    ),
    fault_kinds=("crash",),
    class_name="Consumer",
    methods=("handle",),
    starter=STARTER,
    runner=_run,
    nodes=("broker", *CONSUMERS),
    protect=("broker",),
    duration=0.5,
    size=30,
    exhaustive_node="c1",
)
