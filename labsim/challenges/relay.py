"""Challenge 6 (lesson 10): the relay of a transactional outbox.

The service (node ``service``) commits each order and its outbox row in one transaction.
The learner's relay (node ``relay``) is polled every :data:`POLL` seconds; it reads pending
outbox rows, publishes them to the broker (node ``broker``, which confirms only when it is
reachable) and deletes them. The relay crashes and is partitioned from the broker: no order
may stay unpublished (a zombie), nothing may be published that was not committed (a ghost),
and duplicates stay bounded (at most one extra publish per relay crash).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.challenges.base import Challenge, Crashed, Node, Outcome, Target
from labsim.checks import CheckResult, check_delivery
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.world import World

__all__ = ["CHALLENGE", "Entry"]

#: Seconds between two polls of the relay.
POLL = 0.05
#: Seconds between two committed orders.
GAP = 0.3

STARTER = '''"""Challenge outbox-relay (lesson 10): publish every committed outbox row.

Orders are committed together with an outbox row. Your relay is polled every 50 ms. It
crashes (``self`` is lost, a new Relay is built) and the broker is sometimes unreachable.
Goal: no zombie (a committed order never published), no ghost, and at most one duplicate
publish per relay crash.

Check it:  labsim challenge check outbox-relay THIS_FILE.py
"""


class Relay:
    def __init__(self, outbox, broker):
        """Each call below is one step (a crash may fall between two of them).

        outbox.pending(limit=10) -> list of entries, oldest first (entry.entry_id, entry.data)
        outbox.delete(entry_id)         remove a row from the outbox (durable)
        broker.publish(entry) -> bool   True when the broker confirmed it
        """
        self.outbox = outbox
        self.broker = broker

    def poll(self):
        """Called every 50 ms: move pending outbox rows to the broker."""
'''


@dataclass(frozen=True)
class Entry:
    """An outbox row.

    Attributes:
        entry_id: The order id (also the message id once published).
        data: Its payload.
    """

    entry_id: str
    data: dict[str, Any]


class _Outbox:
    """The outbox table as the relay sees it (every call is a step of the relay)."""

    def __init__(self, node: Node):
        self._node = node
        self.rows: dict[str, Entry] = {}

    def pending(self, limit: int = 10) -> list[Entry]:
        self._node.step("pending")
        return list(self.rows.values())[: max(int(limit), 0)]

    def delete(self, entry_id: str) -> None:
        self._node.step("delete", entry_id)
        self.rows.pop(entry_id, None)


class _Broker:
    """The broker client of the relay: a publish is confirmed when the broker is reachable."""

    def __init__(self, node: Node, network: Network, record: Any):
        self._node = node
        self._network = network
        self._record = record

    def publish(self, entry: Entry) -> bool:
        self._node.step("publish", entry.entry_id)
        net = self._network
        net.send("relay", "broker", entry.entry_id)
        ok = (
            net.node("broker").up
            and not net.is_blocked("relay", "broker")
            and not net.is_blocked("broker", "relay")
        )
        if ok:
            self._record(self._node.t, entry.entry_id)
        return ok


def _run(cls: type, world: World, network: Network, plan: FaultPlan, size: int) -> Outcome:
    committed = world.table("challenge.committed", ("time", "msg_id")).add
    published = world.table("challenge.published", ("time", "msg_id")).add
    relay = Node(world, network, "relay", plan, lambda: None)
    outbox = _Outbox(relay)
    broker = _Broker(relay, network, published)
    relay.make = lambda: cls(outbox, broker)

    def service() -> Generator[Any, Any, None]:
        for i in range(1, size + 1):
            entry = Entry(f"order-{i}", {"total": 10 * i})
            outbox.rows[entry.entry_id] = entry  # one transaction: order row + outbox row
            committed(world.now, entry.entry_id)
            yield world.timeout(GAP)

    def polling() -> Generator[Any, Any, None]:
        while True:
            if relay.call("poll") is Crashed:
                return
            yield world.timeout(relay.spent() + POLL)

    def restart(_node: Any) -> None:
        relay.build()
        relay.node.process(polling())

    relay.build()
    relay.node.on_restart(restart)
    relay.node.process(polling())
    world.process(service())
    end = 4.0 + size * GAP
    world.run(until=end)
    frames = world.frames()
    commits, pubs = frames["challenge.committed"], frames["challenge.published"]
    delivery = check_delivery(commits, pubs, allow_duplicates=True)
    faults = frames["faults"]
    crashes = int(((faults["kind"] == "crash") & (faults["action"] == "start")).sum())
    counts = pubs["msg_id"].value_counts()
    extra = int((counts - 1).clip(lower=0).sum())
    dup = counts[counts > 1]
    duplicates = CheckResult(
        "duplicates",
        extra <= crashes,
        pd.DataFrame({"msg_id": dup.index, "published": dup.to_numpy()}),
        f"{extra} extra publishes for {crashes} relay crash(es)",
    )
    kinds = delivery.anomalies["anomaly"]
    figures = {
        "zombies": float((kinds == "lost").sum()),
        "ghosts": float((kinds == "unexpected").sum()),
        "excess_duplicates": float(extra - crashes),
    }
    return Outcome(figures, [delivery, duplicates], frames, ["service", "relay", "broker"], end)


CHALLENGE = Challenge(
    name="outbox-relay",
    lesson="10_outbox_cdc",
    goal="relay committed outbox rows to the broker through crashes and partitions",
    invariant="every committed order is published (no zombie), nothing uncommitted is "
    "(no ghost), at most one extra publish per relay crash",
    targets=(
        Target("zombies", "<=", 0, "committed orders never published"),
        Target("ghosts", "<=", 0, "published orders never committed"),
        Target("excess_duplicates", "<=", 0, "extra publishes beyond one per relay crash"),
    ),
    fault_kinds=("crash", "partition"),
    class_name="Relay",
    methods=("poll",),
    starter=STARTER,
    runner=_run,
    nodes=("service", "relay", "broker"),
    protect=("service", "broker"),
    duration=4.0,
    size=8,
    exhaustive_node="relay",
)
