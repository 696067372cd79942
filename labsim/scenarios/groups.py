"""A consumer group reading a keyed topic while a member crashes.

A producer writes keyed records at a steady rate to a topic; a consumer group of ``consumers``
members reads it with the chosen assignor and commit policy; at ``crash_at`` member ``c1``'s
node crashes (and restarts after ``restart_after`` seconds, if given) — a crash fault of the
run's :class:`~labsim.faults.FaultPlan`, so it is a row of the ``faults`` table. The summary
counts what the crash cost: duplicates (processed twice), losses (never processed), the
rebalance pauses and the lag spike. Used by notebooks 02 and 12.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.checks import check_log
from labsim.dists import Exponential
from labsim.faults import Fault, FaultPlan
from labsim.kafka import Broker, Consumer, Producer
from labsim.kafka.assignors import ASSIGNORS
from labsim.kafka.config import COMMIT_POLICIES
from labsim.network import Network
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.world import World, ms

__all__ = [
    "MAX_RECORDS",
    "SCENARIO",
    "GroupParams",
    "GroupScenario",
    "figures",
    "final_assignments",
    "idle_consumers",
    "run",
]

#: Most records one run may produce (``rate`` x ``duration``): a bound on memory and time.
MAX_RECORDS = 10_000_000


@dataclass(frozen=True)
class GroupParams(Params):
    """Parameters of the consumer-group scenario (see :func:`labsim.params.describe`)."""

    context = "consumer group scenario"

    partitions: int = param(6, "partitions of the topic", ge=1, le=10_000, soft_max=24)
    consumers: int = param(3, "members of the group, named c1, c2, ...", ge=1, le=1000, soft_max=24)
    strategy: str = param(
        "range", "assignor; cooperative-sticky uses the cooperative protocol", choices=ASSIGNORS
    )
    commit: str = param(
        "after",
        "commit policy: after processing, before processing, or auto (every interval)",
        choices=COMMIT_POLICIES,
    )
    rate: float = param(300.0, "records produced per second", gt=0, le=1e6, unit="1/s")
    keys: int = param(60, "distinct keys (records spread over partitions by key)", ge=1, le=10**6)
    duration: float = param(20.0, "seconds of producing", gt=0, le=1e6, unit="s")
    drain: float = param(
        10.0, "extra seconds for the group to catch up after producing", ge=0, le=1e6, unit="s"
    )
    processing_ms: float = param(
        8.0, "mean processing time per record (exponential)", gt=0, le=1e6, unit="ms"
    )
    max_poll_records: int = param(50, "records per poll at most", ge=1, le=1_000_000)
    crash_at: float | None = param(
        8.0, "when member c1 crashes (none: no crash)", ge=0, le=1e6, unit="s"
    )
    restart_after: float | None = param(
        4.0, "seconds until c1 restarts (none: it stays down)", gt=0, le=1e6, unit="s"
    )
    session_timeout: float = param(
        3.0,
        "silence after which the coordinator drops a member",
        gt=0,
        le=1e6,
        unit="s",
        step=0.5,
        soft_max=10,
    )
    heartbeat_interval: float = param(0.5, "seconds between heartbeats", gt=0, le=1e6, unit="s")
    auto_commit_interval: float = param(2.0, "seconds between auto-commits", gt=0, le=1e6, unit="s")
    latency_ms: float = param(1.0, "mean network latency (exponential)", gt=0, le=1e6, unit="ms")

    def check(self) -> None:
        if self.heartbeat_interval >= self.session_timeout:
            raise self.error(
                "heartbeat_interval", f"less than session_timeout ({self.session_timeout:g})"
            )
        if self.rate * self.duration > MAX_RECORDS:
            raise self.error(
                "rate",
                f"at most {MAX_RECORDS:,} records in all (rate x duration={self.duration:g})",
            )

    @property
    def consumer_names(self) -> list[str]:
        """Consumer node names ``c1`` ... ``cN``."""
        return [f"c{i}" for i in range(1, self.consumers + 1)]


def _produce(world: World, producer: Producer, p: GroupParams) -> Generator[Any, Any, None]:
    rng = world.rng("workload")
    env = world.env
    n = 0
    while True:
        yield env.timeout(rng.expovariate(p.rate))
        if env.now >= p.duration:
            return
        producer.send("events", {"n": n}, key=f"key-{rng.randrange(p.keys)}")
        n += 1


def final_assignments(consumer_events: pd.DataFrame) -> pd.Series:
    """Each consumer's partitions after its latest join (index ``consumer``), as a list."""
    joined = consumer_events[consumer_events["event"] == "joined"]
    return joined.groupby("consumer")["partitions"].last().map(list)


def idle_consumers(consumer_events: pd.DataFrame) -> int:
    """Members whose latest assignment is empty (from ``consumer_events``' ``assigned``)."""
    joined = consumer_events[consumer_events["event"] == "joined"]
    return int((joined.groupby("consumer")["assigned"].last() == 0).sum())


class GroupScenario(Scenario):
    """A consumer group under a member crash; summary from the broker and client tables.

    Summary figures: ``produced``, ``processed``, ``duplicates`` (offsets processed more than
    once), ``lost`` (acknowledged, never processed), ``rebalances``, ``pause_total_s``
    (member-seconds paused), ``max_lag`` (largest total lag of the group),
    ``latency_mean_s`` (produce to end of processing) and ``idle_consumers`` (members whose
    last assignment was empty).
    """

    name = "groups"
    description = "a consumer group reading a keyed topic while a member crashes (lesson 02)"
    lesson = "02_consumer_groups"
    Params = GroupParams
    summary_tables = (
        "log",
        "consumed",
        "acks",
        "sends",
        "pauses",
        "rebalances",
        "lag",
        "consumer_events",
    )

    def fault_plan(self, p: GroupParams, seed: int) -> FaultPlan:
        """Member ``c1`` crashes at ``crash_at``, until ``crash_at + restart_after`` or for good."""
        if p.crash_at is None:
            return FaultPlan(())
        until = None if p.restart_after is None else p.crash_at + p.restart_after
        return FaultPlan((Fault(p.crash_at, "crash", until, nodes=(p.consumer_names[0],)),))

    def build(
        self, p: GroupParams, world: World, plan: FaultPlan
    ) -> tuple[Network, Broker, list[Consumer]]:
        names = ["broker", "producer", *p.consumer_names]
        network = Network(world, names, latency=Exponential.from_mean(ms(p.latency_ms)))
        broker = Broker(network, metrics_interval=0.25)
        broker.create_topic("events", partitions=p.partitions)
        producer = Producer(network, "producer", broker, linger=0.005)
        consumers = [
            Consumer(
                network,
                name,
                broker,
                ["events"],
                strategy=p.strategy,
                commit=p.commit,
                processing=Exponential.from_mean(ms(p.processing_ms)),
                max_poll_records=p.max_poll_records,
                session_timeout=p.session_timeout,
                heartbeat_interval=p.heartbeat_interval,
                auto_commit_interval=p.auto_commit_interval,
            )
            for name in p.consumer_names
        ]
        world.process(_produce(world, producer, p))
        plan.apply(network)
        return network, broker, consumers

    def until(self, p: GroupParams) -> float:
        return p.duration + p.drain

    def summarize(self, p: GroupParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        consumed = frames["consumed"]
        check = check_log(
            frames["log"], consumed, frames["acks"], frames["sends"], allow=("duplicate-delivery",)
        )
        kinds = check.anomalies["anomaly"].value_counts()
        pauses = frames["pauses"]
        paused = pauses[pauses["partitions_paused"] > 0]
        lag = frames["lag"].groupby("time")["lag"].sum()
        latency = consumed["time"] - consumed["produced_at"]
        return {
            "produced": int((frames["acks"]["outcome"] == "ok").sum()),
            "processed": len(consumed),
            "duplicates": len(consumed) - len(consumed.drop_duplicates(["partition", "offset"])),
            "lost": int(kinds.get("lost-write", 0)),
            "rebalances": len(frames["rebalances"]),
            "pause_total_s": float((paused["end"] - paused["start"]).sum()),
            "max_lag": int(lag.max()) if len(lag) else 0,
            "latency_mean_s": float(latency.mean()) if len(latency) else float("nan"),
            "idle_consumers": idle_consumers(frames["consumer_events"]),
        }


SCENARIO = GroupScenario()
run = SCENARIO.run
figures = SCENARIO.figures
