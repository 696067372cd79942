"""The dedupe window: a duplicate that arrives after the inbox forgot its id is applied again.

An idempotent consumer's inbox remembers processed message ids for ``retention`` seconds. One
payment is published, processed, and published again ``delay`` seconds later (a producer
retry): inside the window the duplicate is recognised, after it the payment is charged twice
(lesson 03).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.amqp import Inbox, Message, MessageBroker, Queue, start_workers
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.world import World

__all__ = ["SCENARIO", "LateDuplicateParams", "LateDuplicateScenario", "figures", "run"]


@dataclass(frozen=True)
class LateDuplicateParams(Params):
    """Parameters of the late-duplicate scenario (see :func:`labsim.params.describe`)."""

    context = "late-duplicate scenario"

    retention: float | None = param(
        10.0, "how long the inbox remembers an id (none: forever)", ge=0, le=1e6, unit="s"
    )
    delay: float = param(
        5.0, "time between the two deliveries of the payment", ge=0, le=1e6, unit="s"
    )


def _publish_twice(world: World, queue: Queue, delay: float) -> Generator[Any, Any, None]:
    queue.publish(Message("payment-1"))
    yield world.env.timeout(delay)
    queue.publish(Message("payment-1"))  # the same message again (a producer retry)


class LateDuplicateScenario(Scenario):
    """One payment delivered twice, ``delay`` seconds apart, to a consumer with an inbox.

    Summary figure: ``effects`` (1: the duplicate was recognised; 2: charged twice).
    """

    name = "late-duplicate"
    description = "a duplicate arriving after the inbox's retention window (lesson 03)"
    lesson = "03_delivery_semantics"
    Params = LateDuplicateParams
    summary_tables = ("effects",)

    def build(self, p: LateDuplicateParams, world: World, plan: FaultPlan) -> Network:
        network = Network(world, ["worker", "x"])
        queue = MessageBroker(world).declare_queue("payments")
        start_workers(queue, network, ["worker"], processing=0.01, inbox=Inbox(p.retention))
        world.process(_publish_twice(world, queue, p.delay))
        plan.apply(network)
        return network

    def until(self, p: LateDuplicateParams) -> float:
        # Long enough after the second publish for it to be processed.
        return p.delay + 5

    def summarize(
        self, p: LateDuplicateParams, frames: Mapping[str, pd.DataFrame]
    ) -> dict[str, Any]:
        return {"effects": len(frames["effects"])}


SCENARIO = LateDuplicateScenario()
run = SCENARIO.run
figures = SCENARIO.figures
