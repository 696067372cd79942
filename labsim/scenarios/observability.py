"""An order pipeline to operate: one world, one clock, one network, one incident (lesson 13).

The shop publishes ``order.placed`` records to a keyed Kafka topic (lesson 02); a consumer group
(``c1``, ``c2``...) accepts each order once (an idempotent consumer, by order id) and then:

* appends ``order.accepted`` to the event store, which a projection worker on node
  ``projector`` follows into the order-status read model (lesson 08);
* starts the order saga, choreographed by the order, inventory, payment and shipping services
  (lesson 09), its first event caused by the acceptance;
* queues a confirmation e-mail on a RabbitMQ-style queue, sent by workers ``n1``, ``n2`` through
  the ``mailer`` node; an e-mail that keeps failing (the mailer is down, or the address is
  malformed: one order in ``poison_every``) is retried and then dead-lettered (lesson 03).

Every message carries the envelope's ``correlation_id`` (the order id) and ``causation_id``,
so one order can be followed across the services (the ``trace`` table holds the shop's and the
consumers' events; the sagas' are in ``saga_messages``).

The run's fault plan holds at most one **incident**, from :data:`INCIDENTS`: a crash of a
consumer, of the payment service, of the mailer or of the projector. ``incident="hidden"``
picks one (and its start) from the seed, for the "find the incident" exercise: the learner
reads the dashboard, not ``result.plan``.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd

from labsim.amqp import FailureModel, Message, MessageBroker, RetryPolicy
from labsim.amqp.workers import Worker
from labsim.dists import Distribution, Exponential
from labsim.events import Event
from labsim.eventsourcing import InMemoryEventStore, OrderSummaries, ProjectionWorker
from labsim.eventsourcing.projections import projected_table, record_event_log
from labsim.faults import Fault, FaultPlan
from labsim.kafka import Broker, Consumer, Producer
from labsim.network import Network, Node
from labsim.params import Params, param
from labsim.sagas import Inventory, Orders, OutboxEntry, Payments, Shipping
from labsim.sagas.messages import SAGA_MESSAGE_COLUMNS
from labsim.scenarios.base import Scenario
from labsim.scenarios.sagas import SUBSCRIPTIONS
from labsim.world import World, ms, stream_seed

__all__ = [
    "DLQ",
    "HIDDEN_WINDOW",
    "INCIDENTS",
    "SCENARIO",
    "Incident",
    "ObservabilityParams",
    "ObservabilityScenario",
    "figures",
    "incident_of",
    "run",
]

#: Name of the dead-letter queue of the e-mail queue.
DLQ = "emails.dlq"
#: Earliest and latest start of a hidden incident (seconds).
HIDDEN_WINDOW = (15.0, 35.0)


class Incident(NamedTuple):
    """One incident of the catalogue: a fault kind on a node, and what it means."""

    kind: str
    target: str
    factor: float | None
    meaning: str


#: The incidents a run can have (``incident`` parameter), by name.
INCIDENTS: dict[str, Incident] = {
    "consumer-crash": Incident("crash", "c2", None, "consumer c2's node crashes"),
    "payment-crash": Incident("crash", "payment", None, "the payment service crashes"),
    "mailer-outage": Incident("crash", "mailer", None, "the e-mail provider (mailer) is down"),
    "projector-crash": Incident("crash", "projector", None, "the read-model projector crashes"),
}


@dataclass(frozen=True)
class ObservabilityParams(Params):
    """Parameters of the observability scenario (see :func:`labsim.params.describe`)."""

    context = "observability scenario"

    incident: str = param(
        "consumer-crash",
        "the run's incident (hidden: one picked by the seed)",
        choices=("none", "hidden", *INCIDENTS),
    )
    incident_at: float = param(
        20.0, "when a named incident starts", ge=0, le=1e6, unit="s", step=1, soft_max=50
    )
    incident_for: float = param(
        10.0, "how long the incident lasts", gt=0, le=1e6, unit="s", step=1, soft_max=30
    )
    rate: float = param(20.0, "orders per second", gt=0, le=1000, unit="1/s", soft_max=60)
    duration: float = param(60.0, "seconds of orders", gt=0, le=3600, unit="s", soft_max=120)
    partitions: int = param(6, "partitions of the orders topic", ge=1, le=64)
    consumers: int = param(3, "members of the order consumer group", ge=1, le=16)
    processing_ms: float = param(
        40.0, "mean time a consumer takes per order (exponential)", gt=0, le=1e4, unit="ms"
    )
    session_timeout: float = param(
        6.0, "silence after which the group drops a member", gt=0, le=600, unit="s"
    )
    poison_every: int = param(
        150, "one e-mail in this many has a malformed address (0: none)", ge=0, le=10**6
    )

    def check(self) -> None:
        if self.incident == "consumer-crash" and self.consumers < 2:
            raise self.error("consumers", "at least 2 for the consumer-crash incident (c2)")

    @property
    def consumer_names(self) -> list[str]:
        """Consumer node names ``c1`` ... ``cN``."""
        return [f"c{i}" for i in range(1, self.consumers + 1)]


class _Timed(Distribution):
    """A processing-time distribution that records every draw as a busy interval."""

    __slots__ = ("base", "env", "name", "rows")

    def __init__(self, base: Distribution, world: World, name: str):
        self.base, self.env, self.name = base, world.env, name
        self.rows = world.table("processing", ("time", "consumer", "duration")).add

    def sample(self, rng: random.Random) -> float:
        duration = self.base.sample(rng)
        self.rows(self.env.now, self.name, duration)
        return duration

    @property
    def mean(self) -> float:
        return self.base.mean


class _Mailer(Worker):
    """An e-mail worker: an attempt fails while the ``mailer`` node is down."""

    def __init__(self, *args: Any, mailer: Node, **options: Any):
        self.mailer = mailer  # set first: Worker.__init__ starts the worker
        super().__init__(*args, **options)

    def _attempt_fails(self, msg: Message, duration: float) -> str | None:
        failure = super()._attempt_fails(msg, duration)
        if failure is None and not self.mailer.up:
            return "mailer-down"
        return failure


class _Pipeline(NamedTuple):
    network: Network
    store: InMemoryEventStore
    orders: Orders


def _shop(
    world: World, producer: Producer, p: ObservabilityParams, trace: Any
) -> Generator[Any, Any, None]:
    rng = world.rng("shop")
    n = 0
    while True:
        yield world.env.timeout(rng.expovariate(p.rate))
        if world.now >= p.duration:
            return
        n += 1
        order = f"o{n}"
        qty = 1 + rng.randrange(3)
        # Decided when the order is placed, so every incident sees the same malformed addresses.
        malformed = bool(p.poison_every) and rng.randrange(p.poison_every) == 0
        placed = Event(
            "order.placed",
            {"order": order, "qty": qty, "amount": round(qty * 19.99, 2), "malformed": malformed},
            source="shop",
            correlation_id=order,
        )
        trace(world.now, placed.event_id, placed.event_type, order, None, "shop", "orders")
        producer.send("orders", placed, key=order)


def _accept(world: World, p: ObservabilityParams, s: _Pipeline, emails: Any, trace: Any) -> Any:
    seen: set[str] = set()

    def handle(record: Any, consumer: Consumer) -> None:
        placed: Event = record.value
        order = placed.data["order"]
        if order in seen:  # a redelivered record: the order service is idempotent
            return
        seen.add(order)
        accepted = placed.caused("order.accepted", {"order": order}, source=consumer.name)
        trace(world.now, accepted.event_id, accepted.event_type, order, placed.event_id,
              consumer.name, "")  # fmt: skip
        s.store.append(f"order-{order}", [accepted])
        created = accepted.caused("order.created", {"saga": order, **placed.data}, source="order")
        s.orders.place_caused(created)
        emails.publish(Message(order, body={"malformed": placed.data["malformed"]}))

    return handle


class _TracedOrders(Orders):
    """The order service, whose ``order.created`` is caused by the order's acceptance."""

    def place_caused(self, created: Event) -> None:
        """Create the order and emit ``created`` (an event caused by the acceptance)."""
        data = dict(created.data)
        self._create(data)
        targets = list(self.subscribers.get(created.event_type, []))
        self.outbox.append(OutboxEntry(created, targets))
        for target in targets:
            self._messages.record(created, target)


def incident_of(plan: FaultPlan) -> tuple[str, float] | None:
    """The incident a run's plan holds, as ``(name in INCIDENTS, start)`` (``None``: none)."""
    for fault in plan:
        for name, incident in INCIDENTS.items():
            if fault.kind == incident.kind and fault.nodes == (incident.target,):
                return name, float(fault.at)
    return None


def _hidden(seed: int) -> tuple[str, float]:
    rng = random.Random(stream_seed(seed, "hidden-incident"))
    name = rng.choice(sorted(INCIDENTS))
    return name, round(rng.uniform(*HIDDEN_WINDOW), 1)


class ObservabilityScenario(Scenario):
    """The order pipeline of lesson 13, with at most one incident.

    Summary figures: ``orders``, ``accepted``, ``sagas_confirmed``, ``sagas_cancelled``,
    ``sagas_unfinished``, ``emails_sent``, ``dead_lettered``, ``projected`` (events visible in
    the read model), ``incident_faults`` (rows of the ``faults`` table that start a fault).
    """

    name = "observability"
    description = "an order pipeline with one (possibly hidden) incident, to operate (lesson 13)"
    lesson = "13_observability"
    Params = ObservabilityParams
    summary_tables = ("trace", "saga_messages", "amqp", "projected", "faults", "lag")
    positional = ("incident",)

    def fault_plan(self, p: ObservabilityParams, seed: int) -> FaultPlan:
        """The incident as a one-fault plan (empty for ``incident="none"``)."""
        name, start = p.incident, p.incident_at
        if name == "none":
            return FaultPlan(())
        if name == "hidden":
            name, start = _hidden(seed)
        incident = INCIDENTS[name]
        until = start + p.incident_for
        nodes = (incident.target,)
        return FaultPlan((Fault(start, incident.kind, until, nodes=nodes, value=incident.factor),))

    def build(self, p: ObservabilityParams, world: World, plan: FaultPlan) -> _Pipeline:
        services = ("order", "inventory", "payment", "shipping")
        names = ["broker", "shop", *p.consumer_names, *services, "n1", "n2", "mailer", "projector"]
        network = Network(world, names, latency=Exponential.from_mean(ms(1.0)))
        node = network.node
        # Kafka: the orders topic and its consumer group.
        broker = Broker(network, metrics_interval=0.5)
        broker.create_topic("orders", partitions=p.partitions)
        producer = Producer(network, "shop", broker, linger=0.005)
        # The saga's services (choreography); stock is plentiful, some cards are declined.
        orders = _TracedOrders(node("order"))
        saga = (
            orders,
            Inventory(node("inventory"), stock=10**9),
            Payments(node("payment"), decline_rate=0.1),
            Shipping(node("shipping")),
        )
        for service in saga:
            service.subscribers = SUBSCRIPTIONS
        # The read side.
        store = InMemoryEventStore()
        projected_table(world)
        ProjectionWorker(world, store, OrderSummaries(), node=node("projector"), processing=ms(5))
        # E-mails: retried in place, then dead-lettered.
        amqp = MessageBroker(world)
        amqp.declare_queue(DLQ)
        emails = amqp.declare_queue("emails", dead_letter=DLQ)
        for name in ("n1", "n2"):
            _Mailer(
                node(name),
                lambda n=name: emails.subscribe(n, 5, node(n)),
                mailer=node("mailer"),
                processing=Exponential.from_mean(ms(20)),
                failures=FailureModel(poison=lambda m: bool(m.body["malformed"])),
                retry=RetryPolicy("exponential", base_delay=0.2, max_delay=2.0, max_attempts=4),
            )
        trace = world.table("trace", SAGA_MESSAGE_COLUMNS).add
        pipeline = _Pipeline(network, store, orders)
        handler = _accept(world, p, pipeline, emails, trace)
        for name in p.consumer_names:
            Consumer(
                network,
                name,
                broker,
                ["orders"],
                processing=_Timed(Exponential.from_mean(ms(p.processing_ms)), world, name),
                handler=handler,
                session_timeout=p.session_timeout,
                heartbeat_interval=p.session_timeout / 6,
                max_poll_records=50,
            )
        world.process(_shop(world, producer, p, trace))
        plan.apply(network)
        return pipeline

    def until(self, p: ObservabilityParams) -> float:
        return p.duration + 5.0  # the last orders finish; the dashboard stops at duration

    def finish(self, p: ObservabilityParams, system: _Pipeline, world: World) -> None:
        record_event_log(world, system.store)

    def summarize(
        self, p: ObservabilityParams, frames: Mapping[str, pd.DataFrame]
    ) -> dict[str, Any]:
        trace, messages, amqp = frames["trace"], frames["saga_messages"], frames["amqp"]
        ends = messages.drop_duplicates("event_id")
        mails = amqp[amqp["queue"] == "emails"]
        faults = frames["faults"]
        return {
            "orders": int((trace["event_type"] == "order.placed").sum()),
            "accepted": int((trace["event_type"] == "order.accepted").sum()),
            "sagas_confirmed": int((ends["event_type"] == "order.confirmed").sum()),
            "sagas_cancelled": int((ends["event_type"] == "order.cancelled").sum()),
            "sagas_unfinished": int((trace["event_type"] == "order.accepted").sum())
            - int(ends["event_type"].isin(["order.confirmed", "order.cancelled"]).sum()),
            "emails_sent": int((mails["event"] == "acked").sum()),
            "dead_lettered": int((mails["event"] == "dead-lettered").sum()),
            "projected": len(frames["projected"]),
            "incident_faults": int((faults["action"] == "start").sum()),
        }


SCENARIO = ObservabilityScenario()
run = SCENARIO.run
figures = SCENARIO.figures
