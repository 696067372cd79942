"""The poison loop: a message that always fails, nacked with requeue, blocks its queue.

One consumer (prefetch 1) sits behind a poison message. Nacked with requeue, the message goes
back to the head of a classic queue and is redelivered at once, forever, and nothing behind it
is processed. A delivery limit is a quorum-queue feature, so with one the queue is a quorum
queue, as in RabbitMQ: it puts a returned message at the back (3.10) and dead-letters it when
it is returned more than ``delivery_limit`` times — after ``delivery_limit + 1`` deliveries —
and the queue moves (lesson 03).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.amqp import FailureModel, Message, MessageBroker, start_workers
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.world import World

__all__ = ["POISON", "SCENARIO", "PoisonLoopParams", "PoisonLoopScenario", "figures", "run"]

#: Id of the message that always fails (published first, ahead of ``order-1``, ``order-2``...).
POISON = "poison"


@dataclass(frozen=True)
class PoisonLoopParams(Params):
    """Parameters of the poison-loop scenario (see :func:`labsim.params.describe`)."""

    context = "poison-loop scenario"

    delivery_limit: int | None = param(
        None,
        "quorum queue: dead-letter a message returned more often (none: classic, no limit)",
        ge=1,
        le=1000,
    )
    messages: int = param(20, "messages in the queue, the poison one first", ge=2, le=1_000_000)
    duration: float = param(2.0, "simulated time of the run", gt=0, le=1e6, unit="s")


class PoisonLoopScenario(Scenario):
    """A poison message at the head of a queue with one consumer.

    Summary figures: ``poison_deliveries``, ``others_processed`` (of ``messages - 1``),
    ``dead_lettered``.
    """

    name = "poison-loop"
    description = (
        "a poison message nacked with requeue, with or without a delivery limit (lesson 03)"
    )
    lesson = "03_delivery_semantics"
    Params = PoisonLoopParams
    summary_tables = ("amqp",)

    def build(self, p: PoisonLoopParams, world: World, plan: FaultPlan) -> Network:
        network = Network(world, ["worker", "other"])
        broker = MessageBroker(world)
        broker.declare_queue("dlq")
        limited = p.delivery_limit is not None  # a delivery limit needs a quorum queue
        queue = broker.declare_queue(
            "orders",
            queue_type="quorum" if limited else "classic",
            dead_letter="dlq",
            delivery_limit=p.delivery_limit,
        )
        start_workers(
            queue,
            network,
            ["worker"],
            processing=0.01,
            failures=FailureModel(poison={POISON}),
            mode="requeue",
        )
        queue.publish(Message(POISON))
        for i in range(1, p.messages):
            queue.publish(Message(f"order-{i}"))
        plan.apply(network)
        return network

    def until(self, p: PoisonLoopParams) -> float:
        return p.duration

    def summarize(self, p: PoisonLoopParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        amqp = frames["amqp"]
        orders = amqp[amqp["queue"] == "orders"]
        delivered = orders[orders["event"] == "delivered"]
        return {
            "poison_deliveries": int((delivered["msg_id"] == POISON).sum()),
            "others_processed": int(
                ((orders["event"] == "acked") & (orders["msg_id"] != POISON)).sum()
            ),
            "dead_lettered": int((orders["event"] == "dead-lettered").sum()),
        }


SCENARIO = PoisonLoopScenario()
run = SCENARIO.run
figures = SCENARIO.figures
