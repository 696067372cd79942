"""Delivery semantics under chaos: at-most-once, at-least-once, at-least-once with an inbox.

A producer publishes ``messages`` orders over the network to the ``orders`` queue of a
:class:`~labsim.amqp.MessageBroker` served on node ``broker`` (a
:class:`~labsim.amqp.BrokerServer`); three workers process them, each order applying one side
effect (a charge). The same seeded chaos plan hits every semantics (common random numbers):
message loss on the producer's links, worker crashes in the middle of processing, and
occasional crashes right after the side effect and before the acknowledgement. Then everything
heals and the run continues until the queue drains.

* ``at-most-once`` — fire-and-forget publishing, acknowledgement *before* processing: a lost
  publish or a crash mid-processing loses the message; nothing is ever processed twice.
* ``at-least-once`` — publisher confirms with retries and acknowledgement *after* processing:
  nothing is lost, but a lost confirm (the producer resends) or a crash between the effect and
  the ack applies the effect twice.
* ``at-least-once+inbox`` — the same, plus an idempotent consumer: an inbox of processed ids,
  shared by the workers and stored with the effect, turns redeliveries into no-ops —
  exactly-once *effects*.

``run("at-least-once", seed, messages)`` (the lesson's call) and ``run(seed=1, semantics=...)``
are the same run.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.amqp import (
    BrokerServer,
    Confirm,
    FailureModel,
    Inbox,
    MessageBroker,
    Nack,
    Publisher,
    RetryPolicy,
    start_workers,
)
from labsim.checks import check_accounting, check_duplicate_effects, check_lost_messages
from labsim.dists import Exponential
from labsim.faults import Fault, FaultPlan, chaos
from labsim.metrics import percentiles
from labsim.network import Network
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.world import World, ms

__all__ = [
    "SCENARIO",
    "SEMANTICS",
    "DeliveryParams",
    "DeliveryScenario",
    "default_chaos",
    "figures",
    "run",
]

SEMANTICS = ("at-most-once", "at-least-once", "at-least-once+inbox")
WORKERS = ("w1", "w2", "w3")
#: The queue the orders go to (published through the default exchange, keyed by its name).
QUEUE = "orders"
# Share of the chaos plan's length left without faults at its end (the liveness phase).
_HEAL_FRACTION = 0.3


@dataclass(frozen=True)
class DeliveryParams(Params):
    """Parameters of the delivery-semantics scenario (see :func:`labsim.params.describe`)."""

    context = "delivery scenario"

    semantics: str = param("at-least-once", "delivery guarantee of the pipeline", choices=SEMANTICS)
    messages: int = param(500, "orders published", ge=1, le=1_000_000, soft_max=2000)
    rate: float = param(50.0, "orders published per second", gt=0, le=1e5, unit="1/s")
    processing_ms: float = param(30.0, "mean processing time per attempt", gt=0, le=1e5, unit="ms")
    transient: float = param(
        0.05, "probability an attempt fails transiently (retried in place)", ge=0, le=1
    )
    crash_after_effect: float = param(
        0.01,
        "probability a worker crashes between the effect and the ack",
        ge=0,
        le=1,
        step=0.01,
        soft_max=0.1,
    )
    chaos_intensity: float = param(
        1.0, "mean number of workers crashed at once during the fault phase", gt=0, le=100
    )
    loss: float = param(
        0.1,
        "loss probability between producer and broker while the loss fault lasts",
        ge=0,
        le=1,
        step=0.05,
        soft_max=0.5,
    )
    confirm_timeout: float = param(
        0.2, "wait for a publisher confirm before resending", gt=0, le=1e4, unit="s"
    )
    inbox_retention: float | None = param(
        None, "how long the inbox remembers a processed id (none: forever)", gt=0, le=1e6, unit="s"
    )
    prefetch: int = param(5, "unacknowledged deliveries per worker", ge=1, le=10_000)

    @property
    def publish_phase(self) -> float:
        """Seconds over which the orders are published."""
        return self.messages / self.rate

    @property
    def chaos_length(self) -> float:
        """Length of the chaos plan: its fault phase spans the publishing phase."""
        return self.publish_phase / (1 - _HEAL_FRACTION)

    @property
    def horizon(self) -> float:
        """When the run ends: the faults' end, then a publishing phase and 30 s to drain."""
        faults_end = max(self.chaos_length * (1 - _HEAL_FRACTION), self.publish_phase * 0.75)
        return faults_end + self.publish_phase + 30.0


def default_chaos(p: DeliveryParams, seed: int) -> FaultPlan:
    """The chaos plan of a run: worker crashes during publishing, message loss between the
    producer and the broker for the middle half of the publishing phase, then healing."""
    crashes = chaos(
        seed,
        duration=p.chaos_length,
        kinds=("crash",),
        intensity=p.chaos_intensity,
        nodes=list(WORKERS),
        heal_fraction=_HEAL_FRACTION,
    )
    loss = Fault(
        p.publish_phase * 0.25,
        "loss",
        p.publish_phase * 0.75,
        nodes=("producer", "broker"),
        value=p.loss,
    )
    return FaultPlan((*crashes.faults, loss))


def _start_producer(network: Network, p: DeliveryParams) -> None:
    # The producer's connection and table exist before its process starts, as in every run.
    world = network.world
    publisher = Publisher(network.node("producer"), "broker", confirm_timeout=p.confirm_timeout)
    published = world.table("published", ("time", "msg_id", "attempts", "confirmed")).add

    def publish_one(msg_id: int) -> Generator[Any, Any, None]:
        start = world.now
        if p.semantics == "at-most-once":
            publisher.send(QUEUE, msg_id)
            published(start, msg_id, 1, False)
            return
        attempts = 0
        while True:
            attempts += 1
            match (yield from publisher.publish(QUEUE, msg_id)):
                case Confirm():
                    break
                case Nack() | None:  # refused, or no answer in time: publish again
                    continue
        published(start, msg_id, attempts, True)

    def producer() -> Generator[Any, Any, None]:
        rng = world.rng("producer")
        for i in range(p.messages):
            yield world.env.timeout(rng.expovariate(p.rate))
            network.node("producer").process(publish_one(i))

    world.process(producer())


class DeliveryScenario(Scenario):
    """One delivery semantics under the default chaos plan.

    Summary figures: ``published``, ``processed`` (distinct orders with an effect), ``lost``
    (published, never processed nor dead-lettered), ``duplicate_effects`` (extra effects beyond
    one per order), ``dead_lettered``, ``vanished`` (neither processed, dead-lettered nor still
    in a queue), ``latency_p50_s``, ``latency_p99_s`` (publish → first effect).
    """

    name = "delivery"
    description = "at-most-once / at-least-once / +inbox under a chaos plan (lesson 03)"
    lesson = "03_delivery_semantics"
    Params = DeliveryParams
    summary_tables = ("amqp", "amqp_state", "effects", "published")
    positional = ("semantics", "messages")

    def fault_plan(self, p: DeliveryParams, seed: int) -> FaultPlan:
        """The default chaos plan (:func:`default_chaos`)."""
        return default_chaos(p, seed)

    def build(self, p: DeliveryParams, world: World, plan: FaultPlan) -> MessageBroker:
        network = Network(
            world, ["producer", "broker", *WORKERS], latency=Exponential.from_mean(ms(2))
        )
        broker = MessageBroker(world)
        dlq = broker.declare_queue(f"{QUEUE}.dlq")
        queue = broker.declare_queue(QUEUE, dead_letter=dlq)
        at_most_once = p.semantics == "at-most-once"
        start_workers(
            queue,
            network,
            WORKERS,
            p.prefetch,
            processing=Exponential.from_mean(ms(p.processing_ms)),
            failures=FailureModel(
                transient=p.transient,
                crash_after_effect=0.0 if at_most_once else p.crash_after_effect,
            ),
            retry=RetryPolicy("exponential", base_delay=0.02, max_attempts=6),
            ack="before" if at_most_once else "after",
            inbox=Inbox(p.inbox_retention) if p.semantics == "at-least-once+inbox" else None,
        )
        BrokerServer(network.node("broker"), broker)
        _start_producer(network, p)
        plan.apply(network)
        return broker

    def until(self, p: DeliveryParams) -> float:
        return p.horizon

    def finish(self, p: DeliveryParams, system: MessageBroker, world: World) -> None:
        system.record_state()  # what is still queued or unacknowledged counts as in flight

    def summarize(self, p: DeliveryParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        effects = frames["effects"]
        amqp = frames["amqp"]
        dead = amqp[(amqp["queue"] == QUEUE) & (amqp["event"] == "dead-lettered")]["msg_id"]
        state = frames["amqp_state"]
        in_flight = state.loc[state["queue"] == QUEUE, "msg_id"]
        intents = range(p.messages)
        lost = check_lost_messages(intents, effects, dead)
        dups = check_duplicate_effects(effects)
        accounting = check_accounting(intents, effects, dead, in_flight)
        pub = frames["published"].drop_duplicates("msg_id").set_index("msg_id")["time"]
        first = effects.groupby("msg_id")["time"].min()
        latency = (first - pub.reindex(first.index)).dropna()
        return {
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


SCENARIO = DeliveryScenario()
run = SCENARIO.run
figures = SCENARIO.figures
