"""The broker's lag sampler sleeps through quiet stretches and still writes every sample.

The reference is the sampler as it was: a process waking on every interval and writing what
it reads from the broker. Both run in one world (the reference started right after the
broker, so its samples fall at the same times) through bursts, idle stretches, a consumer
leaving, a topic growing, a new topic and a broker crash; the tables must be equal.
"""

from __future__ import annotations

import pandas as pd
import pytest

from labsim import Constant, Exponential, Network, World, ms
from labsim.kafka import Broker, Consumer, Producer

COLUMNS = ["time", "group", "topic", "partition", "end_offset", "committed", "lag"]


def reference_sampler(world: World, broker: Broker, interval: float, rows: list):
    """The sampler that wakes on every interval (what the lag table always held)."""

    def run():
        env = world.env
        while True:
            yield env.timeout(interval)
            if not broker.node.up or broker.node.crashes:
                return  # a crash of the broker node ends the broker's sampler too
            now = env.now
            for group in broker.groups.values():
                topics = {t for m in group.members.values() for t in m.topics} | {
                    topic for topic, _ in group.committed
                }
                for name in sorted(topics):
                    topic = broker.topics.get(name)
                    if topic is None:
                        continue
                    for p, log in enumerate(topic.partitions):
                        done = group.committed.get((name, p), 0)
                        rows.append(
                            (now, group.name, name, p, log.end_offset, done, log.end_offset - done)
                        )

    world.process(run())


def bursty_world(seed: int, *, crash_broker_at: float | None = None):
    world = World(seed)
    names = ["broker", "p", "c1", "c2", "c3", "c4", "c5"]
    net = Network(world, names, latency=Exponential.from_mean(ms(2)))
    broker = Broker(net, metrics_interval=0.1)
    reference: list = []
    reference_sampler(world, broker, 0.1, reference)
    broker.create_topic("t", partitions=3)
    producer = Producer(net, "p", broker)
    for name in ("c1", "c2"):
        Consumer(net, name, broker, ["t"], processing=Exponential.from_mean(ms(3)))
    # A slow group: its commits come long after the appends, in otherwise quiet stretches.
    Consumer(net, "c3", broker, ["t"], group="slow", processing=Constant(0.15), max_poll_records=2)

    def workload():
        rng = world.rng("workload")
        for burst in range(4):
            for i in range(30):
                producer.send("t", i, key=f"k{rng.randrange(12)}")
                yield world.timeout(rng.expovariate(200))
            yield world.timeout(1.0 + burst / 2)  # nothing appended (the slow group commits)
            if burst == 1:
                broker.topic("t").add_partitions(4)  # in a quiet stretch
            if burst == 2:
                broker.create_topic("u", partitions=2)
                Consumer(net, "c4", broker, ["u"], group="other")
            if burst == 3:
                Consumer(net, "c5", broker, ["t"], group="late")  # joins in a quiet stretch
            yield world.timeout(1.0)

    world.process(workload())
    if crash_broker_at is not None:

        def crash():
            yield world.timeout(crash_broker_at)
            net.crash("broker")

        world.process(crash())
    return world, broker, reference


def _frame(rows: list) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_sleeping_sampler_writes_the_table_the_waking_sampler_wrote(seed):
    world, broker, reference = bursty_world(seed)
    world.run(until=20)
    lag = world.frame("lag")
    pd.testing.assert_frame_equal(lag, _frame(reference), check_dtype=False)
    ticks = lag["time"].nunique()
    assert ticks > 150
    # It slept through the quiet stretches (the slow group's commits wake it now and then).
    assert broker.lag_sampler.wake_ups < 0.75 * ticks


def test_reads_in_the_middle_of_a_run_and_later_runs_see_every_sample():
    world, _broker, reference = bursty_world(4)
    seen = []
    for until in (1.3, 3.05, 7.5, 12.0, 20.0):
        world.run(until=until)
        seen.append(len(world.frame("lag")))
        assert len(world.frame("lag")) == len(reference)  # read twice: nothing written twice
    pd.testing.assert_frame_equal(world.frame("lag"), _frame(reference), check_dtype=False)
    assert seen == sorted(seen) and seen[0] > 0


def test_a_broker_crash_in_a_quiet_stretch_ends_the_samples_where_the_waking_sampler_stopped():
    world, _broker, reference = bursty_world(5, crash_broker_at=3.456)
    world.run(until=15)
    lag = world.frame("lag")
    pd.testing.assert_frame_equal(lag, _frame(reference), check_dtype=False)
    assert lag["time"].max() < 3.456 < lag["time"].max() + 0.1


def test_no_sampler_runs_when_the_recording_level_leaves_the_table_out():
    world = World(0, record_level="off")
    broker = Broker(Network(world, ["broker"]), metrics_interval=0.1)
    assert broker.lag_sampler is None
    world.run(until=1)
    assert len(world.frame("lag")) == 0
