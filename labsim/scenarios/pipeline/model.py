"""The joint order pipeline, built from the lab's own components in one world.

::

    clients ─▶ order service (db + dual write | outbox | CDC relay)          labsim.outbox
                 │ publish with confirms, over a lossy link
                 ▼
               broker: fanout exchange "orders"                              labsim.amqp
                 ├─▶ payments queue  ─▶ payment consumers (inbox?, ack, retry, DLQ)
                 ├─▶ inventory queue ─▶ inventory consumers ─▶ rejections ─▶ saga
                 └─▶ read-model queue ─▶ projector (checkpoint every N) ─▶ read model
               saga: orchestrator (saga log?) or inventory's own outbox (choreography)
                 └─▶ refunds queue ─▶ payment consumers (refund)
    clients ◀─ read their own order: none | sync | wait-for-version

Every consumer is a :class:`~labsim.amqp.Worker`; the order service is
:class:`~labsim.outbox.OrderService`; compensations are relayed by
:class:`~labsim.outbox.Relay`. One fault plan (chaos over the consumers, a projector and an
orchestrator crash, loss between the order service and the broker) hits all of it.

Simplifications, said plainly: the inventory's decision reaches the saga in the same step as
its effect (an orchestrator's command and reply messages are counted in the cost, not sent);
with orchestration the refunds wait in the orchestrator's memory unless it keeps a saga log,
and a rejection arriving while it is down is never heard of; with choreography they wait in
the first inventory consumer's durable outbox. The broker itself never crashes.

Recorded tables beside the components' own (``effects``, ``attempts``, ``amqp``,
``orders_committed``, ``order_db``, ``relay``): ``published`` (order events the broker
received, duplicates included), ``stock`` (inventory decisions), ``compensations`` (refunds
the saga sent), ``projected`` (every event the projector applied), ``checkpoints`` and
``client`` (each client's write and its read of its own order).
"""

from __future__ import annotations

import zlib
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from labsim.amqp import (
    BrokerServer,
    Confirm,
    FailureModel,
    Inbox,
    Message,
    MessageBroker,
    Publish,
    Publisher,
    Queue,
    RetryPolicy,
    Worker,
)
from labsim.dists import Exponential
from labsim.faults import FaultPlan
from labsim.kafka import Broker
from labsim.network import Network, Node
from labsim.outbox import EVENTS_QUEUE, OrderService, Relay
from labsim.scenarios.pipeline.design import PipelineDesign
from labsim.world import World, ms

__all__ = ["EXCHANGE", "QUEUES", "Pipeline", "build", "node_names"]

#: The fanout exchange the order events go through.
EXCHANGE = "orders"
#: The queues of the pipeline (``*.dlq`` are added when the design parks dead letters).
QUEUES = ("payments", "inventory", "read-model", "refunds")
#: How long a client waits for its own order to show before giving up.
READ_TIMEOUT = 10.0


def node_names(p: PipelineDesign) -> list[str]:
    """Every node of the pipeline: service, broker, saga, projector, then the consumers."""
    pay = [f"pay-{i}" for i in range(1, p.payment_consumers + 1)]
    inv = [f"inv-{i}" for i in range(1, p.inventory_consumers + 1)]
    return ["order", "broker", "orchestrator", "projector", *pay, *inv]


@dataclass
class Pipeline:
    """What :func:`build` made (for :meth:`finish` and for a curious notebook)."""

    network: Network
    broker: Any  # the MessageBroker, or (the Kafka Broker, the parked event ids)
    service: OrderService
    read_model: ReadModel


class ReadModel:
    """The order-status view: which orders it shows, and who waits to see theirs."""

    def __init__(self, world: World):
        self.world = world
        self.shown: set[str] = set()
        self._waiting: dict[str, simpy.Event] = {}

    def apply(self, order: str) -> None:
        """Show ``order`` (durable: survives the projector's crash) and wake its reader."""
        self.shown.add(order)
        waiter = self._waiting.pop(order, None)
        if waiter is not None:
            waiter.succeed()

    def visible(self, order: str) -> simpy.Event:
        """An event that fires once ``order`` is shown."""
        if order in self.shown:
            event = self.world.env.event()
            event.succeed()
            return event
        return self._waiting.setdefault(order, self.world.env.event())


class _Projector:
    """Applies order events to the read model; checkpoints (and acknowledges) every N events.

    The checkpoint records which events the read model holds, so a duplicate of an event
    applied before the last checkpoint (or since, while the projector stays up) is skipped.
    A crash forgets what was applied since the checkpoint, not its effect on the read model:
    the broker redelivers those events and the projector applies them again.
    """

    def __init__(self, node: Node, queue: Queue, read_model: ReadModel, every: int):
        self.node, self.queue, self.read_model, self.every = node, queue, read_model, every
        self.checkpointed: set[str] = set()  # durable, written with each checkpoint
        self.since: set[str] = set()  # applied since the checkpoint: lost in a crash
        world = node.network.world
        self.env = world.env
        self._projected = world.table("projected", ("time", "order", "event_id")).add
        self._checkpoints = world.table("checkpoints", ("time", "events")).add
        node.on_restart(lambda _n: self._start())
        self._start()

    def _start(self) -> None:
        self.since = set()
        channel = self.queue.subscribe("projector", self.every, self.node)
        self.node.process(self._run(channel))

    def _checkpoint(self, channel: Any, tags: list[int]) -> None:
        for tag in tags:
            channel.ack(tag)
        self.checkpointed |= self.since
        self.since = set()
        self._checkpoints(self.env.now, len(tags))
        tags.clear()

    def _run(self, channel: Any) -> Generator[Any, Any, None]:
        env = self.env
        tags: list[int] = []
        get = channel.get()
        while True:
            if tags:  # idle for a moment with events to checkpoint: checkpoint them
                got = yield get | env.timeout(0.25)
                if get not in got:
                    self._checkpoint(channel, tags)
                    continue
            else:
                yield get
            delivery, get = get.value, channel.get()
            yield env.timeout(ms(2))
            order, event_id = delivery.message.body, delivery.message.msg_id
            if event_id not in self.checkpointed and event_id not in self.since:
                self._projected(env.now, order, event_id)
                self.read_model.apply(order)
                self.since.add(event_id)
            tags.append(delivery.tag)
            if len(tags) >= self.every:
                self._checkpoint(channel, tags)


class _Compensations:
    """Refunds the saga still has to send, relayed at least once to the refunds queue.

    ``durable=False`` keeps them in memory: a crash of their node forgets them, and a
    rejection that arrives while the node is down is never heard of.
    """

    def __init__(self, node: Node, durable: bool, publisher: Any = None):
        self.node, self.durable = node, durable
        world = node.network.world
        self.pending: dict[str, bool] = {}
        self.publisher = publisher or Publisher(node, "broker", confirm_timeout=0.1)
        self._sent = world.table("compensations", ("time", "order", "node")).add
        if not durable:
            node.on_restart(lambda _n: self.pending.clear())
        Relay(
            node,
            pending=lambda: [o for o, sent in self.pending.items() if not sent],
            send=self._send,
            mark_sent=self._mark,
            interval=0.05,
        )

    def rejected(self, order: str) -> None:
        if self.node.up or self.durable:
            self.pending.setdefault(order, False)

    def _send(self, order: str) -> Generator[Any, Any, bool]:
        answer = yield from self.publisher.publish("refunds", f"refund-{order}", order)
        return isinstance(answer, Confirm)

    def _mark(self, order: str) -> None:
        self.pending[order] = True
        self._sent(self.node.network.world.now, order, self.node.name)


def out_of_stock(seed: int, order: str, share: float) -> bool:
    """Whether the inventory rejects ``order``: the same orders for every design of a seed."""
    return zlib.crc32(f"{seed}/{order}".encode()) / 2**32 < share


def _broker(world: World, node: Node, p: PipelineDesign) -> MessageBroker:
    broker = MessageBroker(world)
    broker.declare_exchange(EXCHANGE, "fanout")
    for name in QUEUES:
        dead = f"{name}.dlq" if p.dlq and name != "read-model" else None
        if dead is not None:
            broker.declare_queue(dead)
        broker.declare_queue(name, dead_letter=dead)
        if name != "refunds":
            broker.bind(EXCHANGE, name)
    published = world.table("published", ("order", "event_id", "time")).add

    def on_publish(msg: Publish) -> None:
        if msg.exchange == EXCHANGE:
            published(msg.body, msg.msg_id, world.now)

    BrokerServer(node, broker, on_publish=on_publish)
    return broker


def _workers(network: Network, broker: MessageBroker, p: PipelineDesign, on_reject: Any) -> None:
    world = network.world
    retry = RetryPolicy(kind=p.retry, base_delay=0.05, max_delay=1.0, max_attempts=5)
    failures = FailureModel(
        transient=p.transient, crash_after_effect=p.crash_after_effect, restart_after=1.0
    )
    processing = Exponential.from_mean(ms(p.processing_ms))
    inboxes = {q: Inbox() if p.inbox else None for q in ("payments", "inventory", "refunds")}
    stock = world.table("stock", ("time", "order", "outcome")).add

    def reserve(msg: Message) -> None:
        rejected = out_of_stock(world.seed, msg.body, p.out_of_stock)
        stock(world.now, msg.body, "rejected" if rejected else "reserved")
        if rejected:
            on_reject(msg.body)

    def start(queue: str, node: str, name: str, on_effect: Any = None) -> None:
        q, n = broker.queue(queue), network.node(node)
        Worker(
            n,
            lambda: q.subscribe(name, 1, n),
            name=name,
            processing=processing,
            failures=failures,
            retry=retry,
            ack=p.commit,
            inbox=inboxes[queue],
            on_effect=on_effect,
        )

    for i in range(1, p.payment_consumers + 1):
        start("payments", f"pay-{i}", f"pay-{i}")
        start("refunds", f"pay-{i}", f"refund-{i}")
    for i in range(1, p.inventory_consumers + 1):
        start("inventory", f"inv-{i}", f"inv-{i}", reserve)


def _clients(
    world: World, service: OrderService, read_model: ReadModel, p: PipelineDesign
) -> Generator[Any, Any, None]:
    env = world.env
    rng = world.rng("clients")
    rows = world.table("client", ("order", "start", "write_done", "read_done", "saw_own", "ok")).add

    def place(order: str) -> Generator[Any, Any, bool]:
        yield env.timeout(ms(2))  # the local transaction
        yield from service.place(order)
        return order in service.orders

    def client(order: str) -> Generator[Any, Any, None]:
        start = env.now
        ok = yield service.node.process(place(order))
        if not ok:  # crashed, or the dual write undid it: the client is told it failed
            rows(order, start, env.now, env.now, False, False)
            return
        if p.read_strategy == "sync":  # the write returns once the read model shows it
            yield read_model.visible(order) | env.timeout(READ_TIMEOUT)
        write_done = env.now
        if p.read_strategy == "wait-for-version":  # the read waits for the order to show
            yield read_model.visible(order) | env.timeout(READ_TIMEOUT)
        rows(order, start, write_done, env.now, order in read_model.shown, True)

    for n in range(p.orders):
        yield env.timeout(rng.expovariate(p.rate))
        if service.node.up:  # a request to a crashed service fails at once
            world.process(client(f"o{n}"))
        else:
            rows(f"o{n}", env.now, env.now, env.now, False, False)


def build(p: PipelineDesign, world: World, plan: FaultPlan) -> Pipeline:
    """Create every component of the pipeline in ``world``, start the clients, apply ``plan``."""
    network = Network(world, node_names(p), latency=Exponential.from_mean(ms(5)))
    topic = p.transport == "topic"
    broker: Any = None if topic else _broker(world, network.node("broker"), p)
    service = OrderService(
        network.node("order"),
        "broker",
        design=p.publishing,
        crash_rate=p.crash_rate,
        faults_until=p.fault_phase,
        relay_interval=0.002 if p.publishing == "cdc" else 0.05,
        exchange=EXCHANGE,
    )
    saga_node = network.node("orchestrator" if p.saga == "orchestration" else "inv-1")
    durable = p.saga_log or p.saga == "choreography"  # choreography: inventory's own outbox
    read_model = ReadModel(world)
    if topic:
        from labsim.scenarios.pipeline.topic import TopicPublisher, start_topic_stages

        kafka = Broker(network, "broker", metrics_interval=None)
        service.publisher = TopicPublisher(network, "order", kafka, {EVENTS_QUEUE: "orders"})
        saga = _Compensations(
            saga_node,
            durable,
            TopicPublisher(network, saga_node.name, kafka, {"refunds": "refunds"}),
        )
        parked = start_topic_stages(network, kafka, p, read_model, saga.rejected, out_of_stock)
        broker = (kafka, parked)
    else:
        saga = _Compensations(saga_node, durable)
        _workers(network, broker, p, saga.rejected)
        _Projector(
            network.node("projector"), broker.queue("read-model"), read_model, p.checkpoint_every
        )
    plan.apply(network)
    world.process(_clients(world, service, read_model, p))
    return Pipeline(network, broker, service, read_model)
