"""A consumer group reading a keyed topic while a member crashes.

A producer writes keyed records at a steady rate to a topic; a consumer group of ``consumers``
members reads it with the chosen assignor and commit policy; at ``crash_at`` one member's
node crashes (and restarts after ``restart_after`` seconds, if given). The summary counts what
the crash cost: duplicates (processed twice), losses (never processed), the rebalance pauses
and the lag spike. Used by notebook 02 and by the tests of the consumer group.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from labsim.broker import Broker, Consumer, Producer
from labsim.broker.assignors import ASSIGNORS
from labsim.broker.consumer import COMMIT_POLICIES
from labsim.checks import check_log
from labsim.dists import Exponential
from labsim.errors import ConfigError, check_choice, check_int, check_non_negative, check_positive
from labsim.network import Network
from labsim.result import Result, make_params
from labsim.world import World, ms

__all__ = ["GroupParams", "figures", "run"]


@dataclass(frozen=True)
class GroupParams:
    """Parameters of the consumer-group scenario.

    Attributes:
        partitions: Partitions of the topic.
        consumers: Members of the group (named ``c1`` ...).
        strategy: Assignor; ``cooperative-sticky`` uses the cooperative protocol.
        commit: Commit policy: ``"after"``, ``"before"`` or ``"auto"``.
        rate: Records per second produced.
        keys: Distinct keys (records are spread over partitions by key).
        duration: Seconds of producing; the run lasts ``duration + drain`` seconds.
        drain: Extra seconds for the group to catch up after the producer stops.
        processing_ms: Mean processing time per record (exponential), milliseconds.
        max_poll_records: Records per poll.
        crash_at: When member ``c1`` crashes (``None``: no crash).
        restart_after: Seconds until it restarts (``None``: stays down).
        session_timeout: Seconds of silence before the coordinator drops a member.
        heartbeat_interval: Seconds between heartbeats.
        auto_commit_interval: Seconds between auto-commits.
        latency_ms: Mean network latency, milliseconds.
    """

    partitions: int = 6
    consumers: int = 3
    strategy: str = "range"
    commit: str = "after"
    rate: float = 300.0
    keys: int = 60
    duration: float = 20.0
    drain: float = 10.0
    processing_ms: float = 8.0
    max_poll_records: int = 50
    crash_at: float | None = 8.0
    restart_after: float | None = 4.0
    session_timeout: float = 3.0
    heartbeat_interval: float = 0.5
    auto_commit_interval: float = 2.0
    latency_ms: float = 1.0

    def __post_init__(self) -> None:
        c = "consumer group scenario"
        check_int("partitions", self.partitions, 1, c)
        check_int("consumers", self.consumers, 1, c)
        check_choice("strategy", self.strategy, ASSIGNORS, c)
        check_choice("commit", self.commit, COMMIT_POLICIES, c)
        check_positive("rate", self.rate, c)
        check_int("keys", self.keys, 1, c)
        check_positive("duration", self.duration, c)
        check_non_negative("drain", self.drain, c)
        check_positive("processing_ms", self.processing_ms, c)
        check_int("max_poll_records", self.max_poll_records, 1, c)
        if self.crash_at is not None:
            check_non_negative("crash_at", self.crash_at, c)
        if self.restart_after is not None:
            check_positive("restart_after", self.restart_after, c)
        check_positive("session_timeout", self.session_timeout, c)
        check_positive("heartbeat_interval", self.heartbeat_interval, c)
        if self.heartbeat_interval >= self.session_timeout:
            raise ConfigError(
                "heartbeat_interval",
                self.heartbeat_interval,
                f"less than session_timeout ({self.session_timeout})",
                c,
            )
        check_positive("auto_commit_interval", self.auto_commit_interval, c)
        check_positive("latency_ms", self.latency_ms, c)

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


def _crash(world: World, network: Network, p: GroupParams) -> Generator[Any, Any, None]:
    yield world.env.timeout(p.crash_at)
    network.crash("c1")
    if p.restart_after is not None:
        yield world.env.timeout(p.restart_after)
        network.restart("c1")


def build(p: GroupParams, world: World) -> tuple[Network, Broker, list[Consumer]]:
    """Set the scenario up in ``world`` without running it."""
    names = ["broker", "producer", *p.consumer_names]
    network = Network(world, names, latency=Exponential.from_mean(ms(p.latency_ms)))
    broker = Broker(world, network, metrics_interval=0.25)
    broker.create_topic("events", partitions=p.partitions)
    producer = Producer(world, network, "producer", broker, linger=0.005)
    consumers = [
        Consumer(
            world,
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
    if p.crash_at is not None:
        world.process(_crash(world, network, p))
    return network, broker, consumers


def run(
    params: GroupParams | Mapping[str, Any] | None = None, seed: int = 0, **overrides: Any
) -> Result:
    """Run the scenario. Summary: ``produced``, ``processed``, ``duplicates``, ``lost``,
    ``rebalances``, ``pause_total_s`` (member-seconds paused), ``max_lag``, ``idle_consumers``.
    """
    p = make_params(GroupParams, params, overrides)
    world = World(seed)
    build(p, world)
    world.run(until=p.duration + p.drain)
    frames = world.frames()
    check = check_log(
        frames["log"],
        frames["consumed"],
        frames["acks"],
        frames["sends"],
        allow=("duplicate-delivery",),
    )
    kinds = check.anomalies["anomaly"].value_counts()
    pauses = frames["pauses"]
    paused = pauses[pauses["partitions_paused"] > 0]
    lag = frames["lag"].groupby("time")["lag"].sum() if len(frames["lag"]) else None
    joined = frames["consumer_events"]
    last_assignment = joined[joined["event"] == "joined"].groupby("consumer")["detail"].last()
    summary = {
        "produced": int((frames["acks"]["outcome"] == "ok").sum()),
        "processed": len(frames["consumed"]),
        "duplicates": int(
            len(frames["consumed"])
            - len(frames["consumed"].drop_duplicates(["partition", "offset"]))
        ),
        "lost": int(kinds.get("lost", 0)),
        "rebalances": len(frames["rebalances"]),
        "pause_total_s": float((paused["end"] - paused["start"]).sum()),
        "max_lag": int(lag.max()) if lag is not None else 0,
        "idle_consumers": int((last_assignment == "[]").sum()),
    }
    return Result("groups", p, seed, summary, frames)


def figures(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``run(params, seed).summary`` for sweeps."""
    return run(dict(params), seed).summary
