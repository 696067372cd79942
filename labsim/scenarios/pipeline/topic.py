"""The pipeline's Kafka-style transport: one keyed topic read by a consumer group per stage.

With ``transport: topic`` the order events go to the topic ``orders`` (``partitions``
partitions, keyed by event id so each order stays on one partition) on a
:class:`~labsim.kafka.Broker`; the payment, inventory and projector stages are consumer groups
of :class:`~labsim.kafka.Consumer` members, and refunds go through the topic ``refunds``. The
consumers' commit policy is the design's ``commit``.

What the lab's Kafka consumer has no room for is done in its record handler, said plainly:

* a failed attempt is retried at once, up to five attempts in all (retries take no simulated
  time here); what still fails is parked (``dlq``) or skipped;
* an inbox is checked before the effect, exactly as the queue transport's workers do;
* a crash right after the effect, before the commit, crashes the consumer's node there;
* the projector keeps its checkpoint with the read model (it never commits offsets): after a
  crash it reads the topic from the start and skips what its checkpoint holds, so what it
  applied since the checkpoint is applied again.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from labsim.amqp import Confirm, Inbox
from labsim.dists import Exponential
from labsim.faults import RandomCrashes
from labsim.kafka import Broker, Consumer, Producer
from labsim.network import Crash, Network, Node
from labsim.scenarios.pipeline.design import PipelineDesign
from labsim.world import ms

__all__ = ["TOPICS", "TopicPublisher", "start_topic_stages"]

#: The topics of the topic transport.
TOPICS = ("orders", "refunds")
_ATTEMPTS = 5


class TopicPublisher:
    """A Kafka producer behind the publisher interface the order service and the saga use.

    ``publish(routing_key, msg_id, body)`` sends ``body`` keyed by ``msg_id`` to the topic the
    routing key names and returns a :class:`~labsim.amqp.Confirm` once acknowledged, ``None``
    when the send failed (no retries: a timeout counts as a failure, as with the queue).
    """

    def __init__(self, network: Network, node: str, broker: Broker, topics: dict[str, str]):
        self.topics = topics
        self.producer = Producer(
            network, node, broker, name=f"producer-{node}", retries=0, request_timeout=0.1
        )

    def publish(self, routing_key: str, msg_id: Any, body: Any = None) -> Generator[Any, Any, Any]:
        topic = self.topics[routing_key]
        result = yield self.producer.send(topic, body, key=msg_id)
        return Confirm(msg_id, (topic,)) if result.ok else None


def _handler(
    network: Network,
    node: Node,
    name: str,
    p: PipelineDesign,
    inbox: Inbox | None,
    parked: list[str],
    on_effect: Callable[[str], Any] | None,
) -> Callable[[Any, Consumer], None]:
    world = network.world
    rng = world.rng(f"worker-{name}")
    attempts = world.table(
        "attempts", ("time", "worker", "msg_id", "attempt", "delivery", "outcome")
    ).add
    effects = world.table("effects", ("time", "worker", "msg_id", "delivery")).add
    crashes = RandomCrashes(network, node.name, 0.0, 0.0, 1.0, rng)
    tries = 1 if p.retry == "none" else _ATTEMPTS

    def handle(record: Any, consumer: Consumer) -> None:
        now, event_id = world.now, record.key
        for attempt in range(1, tries + 1):
            failed = p.transient and rng.random() < p.transient
            attempts(now, name, event_id, attempt, 1, "transient" if failed else "ok")
            if not failed:
                break
        else:
            if p.dlq:
                parked.append(event_id)
            return
        if inbox is None or not inbox.seen(event_id, now):
            effects(now, name, event_id, 1)
            if inbox is not None:
                inbox.remember(event_id, now)
            if on_effect is not None:
                on_effect(record.value)
        if p.crash_after_effect and rng.random() < p.crash_after_effect:
            crashes.crash_now()  # the effect is done, the commit is not
            raise simpy.Interrupt(Crash(node.name))

    return handle


def _projector(network: Network, broker: Broker, read_model: Any, every: int) -> None:
    world = network.world
    node = network.node("projector")
    projected = world.table("projected", ("time", "order", "event_id")).add
    checkpoints = world.table("checkpoints", ("time", "events")).add
    state: dict[str, set[str]] = {"checkpointed": set(), "since": set()}

    def handle(record: Any, consumer: Consumer) -> None:
        event_id, order = record.key, record.value
        if event_id in state["checkpointed"] or event_id in state["since"]:
            return
        projected(world.now, order, event_id)
        read_model.apply(order)
        state["since"].add(event_id)
        if len(state["since"]) >= every:
            state["checkpointed"] |= state["since"]
            checkpoints(world.now, len(state["since"]))
            state["since"] = set()

    def forget(_node: Node) -> None:
        state["since"] = set()

    node.on_restart(forget)
    Consumer(
        network,
        "projector",
        broker,
        ["orders"],
        group="projector",
        handler=handle,
        commit="auto",
        auto_commit_interval=1e9,
        processing=ms(2),
        max_poll_records=every,
        session_timeout=2.0,
        heartbeat_interval=0.5,
    )


def start_topic_stages(
    network: Network,
    broker: Broker,
    p: PipelineDesign,
    read_model: Any,
    on_reject: Callable[[str], Any],
    out_of_stock: Callable[[int, str, float], bool],
) -> list[str]:
    """The topics and every consumer group on ``broker``; returns the parked event ids."""
    world = network.world
    seed = world.seed
    for topic in TOPICS:
        broker.create_topic(topic, partitions=p.partitions)
    parked: list[str] = []
    inboxes = {g: Inbox() if p.inbox else None for g in ("payments", "inventory", "refunds")}
    stock = world.table("stock", ("time", "order", "outcome")).add

    def reserve(order: str) -> None:
        rejected = out_of_stock(seed, order, p.out_of_stock)
        stock(world.now, order, "rejected" if rejected else "reserved")
        if rejected:
            on_reject(order)

    def start(group: str, topic: str, node: str, name: str, on_effect: Any = None) -> None:
        n = network.node(node)
        Consumer(
            network,
            node,
            broker,
            [topic],
            group=group,
            name=name,
            commit=p.commit,
            handler=_handler(network, n, name, p, inboxes[group], parked, on_effect),
            processing=Exponential.from_mean(ms(p.processing_ms)),
            max_poll_records=10,
            session_timeout=2.0,
            heartbeat_interval=0.5,
        )

    for i in range(1, p.payment_consumers + 1):
        start("payments", "orders", f"pay-{i}", f"pay-{i}")
        start("refunds", "refunds", f"pay-{i}", f"refund-{i}")
    for i in range(1, p.inventory_consumers + 1):
        start("inventory", "orders", f"inv-{i}", f"inv-{i}", reserve)
    _projector(network, broker, read_model, p.checkpoint_every)
    return parked
