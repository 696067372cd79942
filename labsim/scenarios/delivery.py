"""Delivery semantics under chaos: at-most-once, at-least-once, at-least-once with an inbox.

A producer publishes ``messages`` orders over the network to a broker queue; three workers
process them, each order applying one side effect (a charge). The same seeded chaos plan hits
every semantics (common random numbers): message loss on the producer's links, worker crashes
in the middle of processing, and occasional crashes right after the side effect and before the
acknowledgement. Then everything heals and the run continues until the queue drains.

* ``at-most-once`` — fire-and-forget publishing, acknowledgement *before* processing: a lost
  publish or a crash mid-processing loses the message; nothing is ever processed twice.
* ``at-least-once`` — publisher confirms with retries and acknowledgement *after* processing:
  nothing is lost, but a lost confirm (the producer resends) or a crash between the effect and
  the ack applies the effect twice.
* ``at-least-once+inbox`` — the same, plus an idempotent consumer: an inbox of processed ids,
  shared by the workers and stored with the effect, turns redeliveries into no-ops —
  exactly-once *effects*.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from labsim.broker.amqp import Message, MessageBroker
from labsim.broker.rpc import Endpoint, Request, Response
from labsim.checks import check_accounting, check_duplicate_effects, check_lost_messages
from labsim.consumers import FailureModel, Inbox, RetryPolicy, Worker
from labsim.dists import Exponential
from labsim.errors import check_choice, check_int, check_positive, check_probability
from labsim.faults import Fault, FaultPlan, chaos
from labsim.metrics import percentiles
from labsim.network import Network
from labsim.result import Result, make_params
from labsim.world import World, ms

__all__ = ["SEMANTICS", "DeliveryParams", "figures", "run"]

SEMANTICS = ("at-most-once", "at-least-once", "at-least-once+inbox")
WORKERS = ("w1", "w2", "w3")


@dataclass(frozen=True)
class DeliveryParams:
    """Parameters of the delivery-semantics scenario.

    Attributes:
        semantics: One of :data:`SEMANTICS`.
        messages: Orders published.
        rate: Orders per second.
        processing_ms: Mean processing time per attempt, milliseconds.
        transient: Probability an attempt fails transiently (retried in place).
        crash_after_effect: Probability a worker crashes between effect and ack.
        chaos_intensity: Mean number of workers crashed at once during the fault phase.
        loss: Message loss probability between producer and broker while the loss fault lasts.
        confirm_timeout: Seconds the producer waits for a publisher confirm before resending.
        inbox_retention: Seconds the inbox remembers a processed id (``None``: forever).
        prefetch: Unacknowledged deliveries per worker.
    """

    semantics: str = "at-least-once"
    messages: int = 500
    rate: float = 50.0
    processing_ms: float = 30.0
    transient: float = 0.05
    crash_after_effect: float = 0.01
    chaos_intensity: float = 1.0
    loss: float = 0.1
    confirm_timeout: float = 0.2
    inbox_retention: float | None = None
    prefetch: int = 5

    def __post_init__(self) -> None:
        c = "delivery scenario"
        check_choice("semantics", self.semantics, SEMANTICS, c)
        check_int("messages", self.messages, 1, c)
        check_positive("rate", self.rate, c)
        check_positive("processing_ms", self.processing_ms, c)
        check_probability("transient", self.transient, c)
        check_probability("crash_after_effect", self.crash_after_effect, c)
        check_positive("chaos_intensity", self.chaos_intensity, c)
        check_probability("loss", self.loss, c)
        check_positive("confirm_timeout", self.confirm_timeout, c)
        if self.inbox_retention is not None:
            check_positive("inbox_retention", self.inbox_retention, c)
        check_int("prefetch", self.prefetch, 1, c)

    @property
    def publish_phase(self) -> float:
        """Seconds over which the orders are published."""
        return self.messages / self.rate


def default_chaos(p: DeliveryParams, seed: int) -> FaultPlan:
    """The chaos plan of a run: worker crashes during publishing, message loss between the
    producer and the broker for the middle half of the publishing phase, then healing."""
    crashes = chaos(
        seed,
        duration=p.publish_phase / 0.7,
        kinds=("crash",),
        intensity=p.chaos_intensity,
        nodes=list(WORKERS),
    )
    loss = Fault(
        p.publish_phase * 0.25,
        "loss",
        p.publish_phase * 0.75,
        nodes=("producer", "broker"),
        value=p.loss,
    )
    return FaultPlan((*crashes.faults, loss))


def run(
    semantics: str | DeliveryParams | Mapping[str, Any] = "at-least-once",
    seed: int = 0,
    messages: int | None = None,
    **overrides: Any,
) -> Result:
    """Run one semantics under the default chaos plan: ``run("at-least-once", seed, messages)``.

    ``semantics`` may also be a :class:`DeliveryParams` or a dict of parameters; keyword
    arguments override single parameters.

    Summary: ``published``, ``processed`` (distinct orders with an effect), ``lost``,
    ``duplicate_effects`` (extra effects beyond one per order), ``dead_lettered``,
    ``vanished`` (accounting), ``latency_p50_s``, ``latency_p99_s`` (publish → first effect).
    """
    if isinstance(semantics, str):
        params: Any = None
        overrides = {"semantics": semantics, **overrides}
    else:
        params = semantics
    if messages is not None:
        overrides["messages"] = messages
    p = make_params(DeliveryParams, params, overrides)
    world = World(seed)
    network = Network(world, ["producer", "broker", *WORKERS], latency=Exponential.from_mean(ms(2)))
    broker = MessageBroker(world)
    dlq = broker.declare_queue("orders.dlq")
    queue = broker.declare_queue("orders", dead_letter=dlq)
    at_most_once = p.semantics == "at-most-once"
    inbox = Inbox(p.inbox_retention) if p.semantics == "at-least-once+inbox" else None
    failures = FailureModel(
        transient=p.transient, crash_after_effect=0.0 if at_most_once else p.crash_after_effect
    )
    for name in WORKERS:
        node = network.node(name)
        Worker(
            world,
            lambda n=name, nd=node: queue.subscribe(n, p.prefetch, nd),
            node,
            processing=Exponential.from_mean(ms(p.processing_ms)),
            failures=failures,
            retry=RetryPolicy("exponential", base_delay=0.02, max_attempts=6),
            ack="before" if at_most_once else "after",
            inbox=inbox,
        )

    def serve() -> Generator[Any, Any, None]:
        inbox_ = network.node("broker").inbox
        while True:
            request = yield inbox_.get()
            if isinstance(request, Request) and request.kind == "publish":
                queue.publish(Message(request.payload))
                if not at_most_once:  # publisher confirm
                    network.send("broker", request.src, Response(request.corr, "ack"))

    network.node("broker").process(serve())
    endpoint = Endpoint.of(network, "producer")
    published = world.table("published", ("time", "msg_id", "attempts", "confirmed")).add

    def publish_one(msg_id: int) -> Generator[Any, Any, None]:
        start = world.now
        if at_most_once:
            network.send("producer", "broker", Request("publish", 0, "producer", msg_id))
            published(start, msg_id, 1, False)
            return
        attempts = 0
        while True:
            attempts += 1
            reply = yield from endpoint.call("broker", "publish", msg_id, p.confirm_timeout)
            if reply is not None:
                break
        published(start, msg_id, attempts, True)

    def producer() -> Generator[Any, Any, None]:
        rng = world.rng("producer")
        for i in range(p.messages):
            yield world.env.timeout(rng.expovariate(p.rate))
            network.node("producer").process(publish_one(i))

    world.process(producer())
    plan = default_chaos(p, seed)
    plan.apply(network)
    world.run(until=plan.heal_time + p.publish_phase + 30.0)
    frames = world.frames()
    effects = frames.get("effects")
    amqp = frames["amqp"]
    dead = amqp[(amqp["queue"] == "orders") & (amqp["event"] == "dead-lettered")]["msg_id"]
    in_flight = [m.msg_id for level in queue._ready for m in level] + [
        m.msg_id for c in queue.channels for m in c.unacked.values()
    ]
    intents = range(p.messages)
    lost = check_lost_messages(intents, effects, dead)
    dups = check_duplicate_effects(effects)
    accounting = check_accounting(intents, effects, dead, in_flight)
    pub = frames["published"].drop_duplicates("msg_id").set_index("msg_id")["time"]
    first = effects.groupby("msg_id")["time"].min()
    latency = (first - pub.reindex(first.index)).dropna()
    summary = {
        "published": p.messages,
        "processed": int(effects["msg_id"].nunique()),
        "lost": len(lost.anomalies),
        "duplicate_effects": int((dups.anomalies["effects"] - 1).sum())
        if len(dups.anomalies)
        else 0,
        "dead_lettered": int(dead.nunique()),
        "vanished": len(accounting.anomalies),
        "latency_p50_s": percentiles(latency, (50,))["p50"],
        "latency_p99_s": percentiles(latency, (99,))["p99"],
    }
    frames["chaos"] = plan.to_frame()
    return Result("delivery", p, seed, summary, frames)


def figures(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``run(params, seed).summary`` for sweeps."""
    return run(dict(params), seed).summary
