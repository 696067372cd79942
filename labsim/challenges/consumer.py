"""Challenge 1 (lesson 03): an idempotent consumer behind an at-least-once broker.

The broker (on node ``broker``) sends each message to the consumer (node ``consumer``) and
sends it again when no ack came back within :data:`ACK_TIMEOUT`; the consumer acks after
``handle`` returns. Links duplicate and lose messages (and acks), and the consumer crashes:
the learner's ``handle`` must apply each message's effect exactly once, and lose none.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from labsim.challenges.base import Challenge, Crashed, Durable, Node, Outcome, Target
from labsim.checks import check_duplicate_effects, check_lost_messages
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.world import World

__all__ = ["ACK_TIMEOUT", "CHALLENGE", "Message"]

#: Seconds the broker waits for an ack before sending a message again.
ACK_TIMEOUT = 0.2
#: Seconds between two published messages.
GAP = 0.05
#: Seconds between the end of ``handle`` and the ack (acks go out in small batches).
ACK_DELAY = 0.02

STARTER = '''"""Challenge idempotent-consumer (lesson 03): apply each message's effect exactly once.

The broker delivers at least once: a message may arrive twice (duplication, a lost ack, a
crash before the ack). Your consumer acks when ``handle`` returns. When the node crashes,
``self`` is lost and a new Consumer is built with the same ``store``.

Check it:  labsim challenge check idempotent-consumer THIS_FILE.py
"""


class Consumer:
    def __init__(self, store):
        """``store`` survives crashes. Each call on it is one step (a crash may fall between).

        store.get(key, default=None) -> value      read a value
        store.put(key, value)                      write a value
        store.apply(msg_id, amount)                the side effect: must happen once per message
        with store.transaction(): ...              puts and applies inside happen all or none
        """
        self.store = store

    def handle(self, message):
        """Process one delivery: ``message.msg_id`` (str) and ``message.data["amount"]``."""
        self.store.apply(message.msg_id, message.data["amount"])
'''


@dataclass(frozen=True)
class Message:
    """A message as the consumer receives it.

    Attributes:
        msg_id: The message id (the same on every redelivery).
        data: Its payload (``{"amount": int}``).
    """

    msg_id: str
    data: dict[str, Any]


def _run(cls: type, world: World, network: Network, plan: FaultPlan, size: int) -> Outcome:
    published = world.table("challenge.published", ("time", "msg_id")).add
    effects = world.table("challenge.effects", ("time", "msg_id", "value")).add
    consumer = Node(world, network, "consumer", plan, lambda: None)
    store = Durable(consumer, lambda k, v: effects(consumer.t, k, v))
    consumer.make = lambda: cls(store)
    unacked: dict[str, tuple[Message, float]] = {}

    def publisher() -> Generator[Any, Any, None]:
        for i in range(1, size + 1):
            msg = Message(f"m{i}", {"amount": i})
            published(world.now, msg.msg_id)
            unacked[msg.msg_id] = (msg, -1.0)
            yield world.timeout(GAP)

    def broker() -> Generator[Any, Any, None]:
        inbox = network.node("broker").inbox
        while True:
            for msg_id, (msg, sent) in list(unacked.items()):
                if sent < 0 or world.now - sent >= ACK_TIMEOUT:
                    unacked[msg_id] = (msg, world.now)
                    network.send("broker", "consumer", msg)
            while inbox.items:
                unacked.pop((yield inbox.get()), None)
            yield world.timeout(0.025)

    def consume() -> Generator[Any, Any, None]:
        inbox = consumer.node.inbox
        while True:
            msg = yield inbox.get()
            if consumer.call("handle", msg) is Crashed:
                return
            yield world.timeout(consumer.spent() + ACK_DELAY)
            network.send("consumer", "broker", msg.msg_id)

    def restart(_node: Any) -> None:
        consumer.build()
        consumer.node.process(consume())

    consumer.build()
    consumer.node.on_restart(restart)
    consumer.node.process(consume())
    world.process(publisher())
    world.process(broker())
    end = 2.0 + size * GAP
    world.run(until=end)
    frames = world.frames()
    dup = check_duplicate_effects(frames["challenge.effects"])
    lost = check_lost_messages(frames["challenge.published"], frames["challenge.effects"])
    counts = frames["challenge.effects"]["msg_id"].value_counts()
    figures = {
        "duplicate_effects": float((counts - 1).clip(lower=0).sum()),
        "lost": float(len(lost.anomalies)),
    }
    return Outcome(figures, [dup, lost], frames, ["broker", "consumer"], end)


CHALLENGE = Challenge(
    name="idempotent-consumer",
    lesson="03_delivery_semantics",
    goal="apply each message's effect exactly once behind an at-least-once broker",
    invariant="every published message has its effect applied exactly once (no loss, no double)",
    targets=(
        Target("duplicate_effects", "<=", 0, "effects applied more than once"),
        Target("lost", "<=", 0, "published messages never applied"),
    ),
    fault_kinds=("duplication", "loss", "crash"),
    class_name="Consumer",
    methods=("handle",),
    starter=STARTER,
    runner=_run,
    nodes=("broker", "consumer"),
    protect=("broker",),
    duration=1.0,
    size=8,
    exhaustive_node="consumer",
)
