"""Challenge (lesson 08): a projector with a durable checkpoint, behind a log with gaps.

Two writers (nodes ``w1`` and ``w2``) append events to the store (node ``store``). A writer
takes the next global position when its transaction begins; the event becomes visible only
when the commit reaches the store (the writer resends it until the store acknowledges).
Partitions and slow links hold commits back, so positions become visible out of order: a
reader can see position 7 while position 6 is still in flight (the commit-order gap).

The learner's projector (node ``projector``) is polled every :data:`POLL` seconds; it reads
visible events and applies each to the read model, keeping its checkpoint in a
:class:`~labsim.challenges.base.Durable` store. The projector crashes: no event may be
applied twice, and none skipped.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pandas as pd

from labsim.challenges.base import Challenge, Crashed, Durable, Node, Outcome, Target
from labsim.checks import CheckResult, check_duplicate_effects
from labsim.eventsourcing.gap import CommitLog, StoredEvent
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.world import World

__all__ = ["CHALLENGE", "StoredEvent", "without_idle"]

#: Seconds between two polls of the projector.
POLL = 0.05
#: Seconds a writer waits for the store's acknowledgement before resending a commit.
RESEND = 0.15
#: Seconds of the run in which writers append (faults heal at 70 % of the duration).
WRITE_PHASE = 2.5

STARTER = '''"""Challenge projection-checkpoint (lesson 08): apply every event exactly once.

Writers commit events with global positions 1, 2, 3, ... but commits become visible OUT OF
ORDER: you can read position 7 while position 6 is still in flight (it will show up later).
Your projector is polled every 50 ms and crashes (``self`` is lost, a new Projector is built
with the same ``store``). Goal: every committed event applied exactly once (none doubled,
none skipped).

Check it:  labsim challenge check projection-checkpoint THIS_FILE.py
"""


class Projector:
    def __init__(self, log, store):
        """Each call below is one step (a crash may fall between two of them).

        log.read(after, limit=10) -> visible events with position > after, by position
                                     (event.position: int, event.data: dict)
        store.get(key, default=None) / store.put(key, value)   durable values
        store.apply(position, data)   update the read model: must happen once per event
        with store.transaction(): ...   puts and applies inside happen all or none
        """
        self.log = log
        self.store = store
        self.position = 0

    def poll(self):
        """Called every 50 ms: bring the read model up to date."""
        for event in self.log.read(self.position):
            self.store.apply(event.position, event.data)
            self.position = event.position
'''


class _Log(CommitLog):
    """The store's global log as the projector sees it (every read is a step).

    Positions are taken when a writer's transaction begins and become visible at commit:
    :class:`~labsim.eventsourcing.gap.CommitLog`, the log lesson 07 follows with a naive and
    a high-water-mark reader.
    """

    def __init__(self, node: Node):
        super().__init__()
        self._node = node

    def read(self, after: int = 0, limit: int | None = 10) -> list[StoredEvent]:
        self._node.step("read", f"after {after}")
        return super().read(after, 10 if limit is None else limit)


def _run(cls: type, world: World, network: Network, plan: FaultPlan, size: int) -> Outcome:
    committed = world.table("challenge.committed", ("time", "position", "writer")).add
    store_rows = world.table("challenge.steps", ("time", "node", "step", "detail")).add
    effects = world.table("challenge.effects", ("time", "msg_id", "value")).add
    projector = Node(world, network, "projector", plan, lambda: None)
    log = _Log(projector)
    store = Durable(projector, lambda k, v: effects(projector.t, k, v))
    projector.make = lambda: cls(log, store)
    pending: dict[str, dict[int, tuple[StoredEvent, float]]] = {"w1": {}, "w2": {}}

    def writer(name: str, offset: int) -> Generator[Any, Any, None]:
        gap = WRITE_PHASE / size
        yield world.timeout(gap * offset)
        for _ in range(offset, size, 2):
            position = log.begin()  # the position is taken when the transaction begins
            event = StoredEvent(position, {"amount": position})
            pending[name][event.position] = (event, world.now)
            network.send(name, "store", event)
            yield world.timeout(2 * gap)

    def resender(name: str) -> Generator[Any, Any, None]:
        inbox = network.node(name).inbox
        while True:
            while inbox.items:
                pending[name].pop((yield inbox.get()), None)
            for pos, (event, sent) in list(pending[name].items()):
                if world.now - sent >= RESEND:
                    pending[name][pos] = (event, world.now)
                    network.send(name, "store", event)
            yield world.timeout(0.025)

    def store_process() -> Generator[Any, Any, None]:
        inbox = network.node("store").inbox
        while True:
            event = yield inbox.get()
            if event.position not in log.visible:
                log.commit(event.position, event.data)
                committed(world.now, event.position, "w1" if event.position % 2 else "w2")
                store_rows(world.now, "store", "visible", event.position)
            network.send("store", "w1" if event.position % 2 else "w2", event.position)

    polls: list[tuple[float, float]] = []

    def polling() -> Generator[Any, Any, None]:
        while True:
            if projector.call("poll") is Crashed:
                return
            polls.append((world.now, world.now + projector.spent()))
            yield world.timeout(projector.spent() + POLL)

    def restart(_node: Any) -> None:
        projector.build()
        projector.node.process(polling())

    projector.build()
    projector.node.on_restart(restart)
    projector.node.process(polling())
    for i, name in enumerate(("w1", "w2")):
        world.process(writer(name, i))
        world.process(resender(name))
    world.process(store_process())
    end = 5.0
    world.run(until=end)
    frames = world.frames()
    frames["challenge.steps"] = without_idle(frames["challenge.steps"], "projector", polls)
    applied = frames["challenge.effects"]
    dup = check_duplicate_effects(applied)
    missing = sorted(set(frames["challenge.committed"]["position"]) - set(applied["msg_id"]))
    skipped = CheckResult(
        "skipped events",
        not missing,
        pd.DataFrame({"position": missing}),
        f"{len(frames['challenge.committed'])} committed, {len(missing)} never applied",
    )
    counts = applied["msg_id"].value_counts()
    figures = {
        "double_applied": float((counts - 1).clip(lower=0).sum()),
        "skipped": float(len(missing)),
    }
    nodes = ["w1", "w2", "store", "projector"]
    return Outcome(figures, [dup, skipped], frames, nodes, end)


def without_idle(
    steps: pd.DataFrame, node: str, windows: list[tuple[float, float]]
) -> pd.DataFrame:
    """``steps`` without the calls of ``node`` (one ``(start, end)`` window each) that only
    read: they fill the trace and add no crash point worth trying (nothing was written)."""
    if not windows or steps.empty:
        return steps
    starts = pd.Series([a for a, _ in windows])
    ends = pd.Series([b for _, b in windows]).to_numpy()
    times = steps["time"]
    pos = (starts.searchsorted(times, side="left") - 1).clip(min=0)
    window = pd.Series(pos, index=steps.index).where(
        (times > starts.to_numpy()[pos]) & (times <= ends[pos] + 1e-12) & (steps["node"] == node)
    )
    writes = steps["step"].where(~steps["step"].isin(["get", "read"])).notna()
    busy = set(window[writes & window.notna()])
    drop = window.notna() & ~window.isin(busy)
    return steps[~drop].reset_index(drop=True)


CHALLENGE = Challenge(
    name="projection-checkpoint",
    lesson="08_cqrs_lag",
    goal="keep a projection's checkpoint through crashes and out-of-order commits",
    invariant="every committed event is applied to the read model exactly once, although "
    "the projector crashes and positions become visible out of order (commit-order gaps)",
    targets=(
        Target("double_applied", "<=", 0, "events applied more than once"),
        Target("skipped", "<=", 0, "committed events never applied"),
    ),
    fault_kinds=("crash", "partition", "slow-link"),
    class_name="Projector",
    methods=("poll",),
    starter=STARTER,
    runner=_run,
    nodes=("w1", "w2", "store", "projector"),
    protect=("w1", "w2", "store"),
    duration=4.0,
    size=10,
    exhaustive_node="projector",
)
