"""Producers, brokers and consumer groups running together over the simulated network."""

import pytest

from labsim import ConfigError, Constant, Exponential, Network, World, ms
from labsim.checks import check_log
from labsim.kafka import Broker, Consumer, ConsumerConfig, Producer
from labsim.scenarios import groups


def setup(seed=0, nodes=("broker", "p", "c1", "c2"), partitions=4):
    world = World(seed)
    net = Network(world, list(nodes), latency=Exponential.from_mean(ms(1)))
    broker = Broker(net)
    broker.create_topic("t", partitions=partitions)
    return world, net, broker


def produce(world, producer, n, gap=0.002, keys=10):
    results = []

    def run():
        for i in range(n):
            results.append(producer.send("t", i, key=f"k{i % keys}"))
            yield world.timeout(gap)

    world.process(run())
    return results


@pytest.mark.parametrize("idempotent", [False, True])
def test_lost_acks_make_retries_duplicate_unless_idempotent(idempotent):
    world, net, broker = setup(seed=3)
    net.link("broker", "p").loss = 0.3  # acknowledgements get lost, requests do not
    producer = Producer(
        net,
        "p",
        broker,
        idempotent=idempotent,
        retries=20,
        request_timeout=0.05,
        retry_backoff=0.01,
    )
    events = produce(world, producer, 300)
    world.run(until=30)
    assert all(e.triggered and e.value.ok for e in events)
    frames = world.frames()
    appended = frames["log"]
    duplicates = len(appended) - appended["msg_id"].nunique()
    if idempotent:
        assert duplicates == 0
        assert len(appended) == 300
    else:
        assert duplicates > 10
    retried = frames["produce_requests"]["attempt"].max()
    assert retried > 1


def test_idempotent_producer_keeps_per_key_order_under_request_loss():
    # Requests get lost, so a later batch can overtake an earlier one that is retried.
    sends = {}
    for idempotent in (False, True):
        w, n, b = setup(seed=5)
        n.link("p", "broker").loss = 0.2
        producer = Producer(
            n,
            "p",
            b,
            idempotent=idempotent,
            retries=50,
            request_timeout=0.02,
            retry_backoff=0.005,
            linger=0.001,
        )
        produce(w, producer, 400, gap=0.0005, keys=3)
        w.run(until=30)
        f = w.frames()
        consumed = f["log"].assign(member="x", generation=1)
        sends[idempotent] = check_log(f["log"], consumed, f["acks"], f["sends"])
    assert "nonmonotonic-send" in set(sends[False].anomalies["anomaly"])
    assert sends[True].valid, sends[True].summary


def test_group_members_share_all_partitions_and_consume_everything_once():
    world, net, broker = setup(nodes=("broker", "p", "c1", "c2", "c3"), partitions=6)
    producer = Producer(net, "p", broker)
    produce(world, producer, 600)
    consumers = [
        Consumer(net, c, broker, ["t"], heartbeat_interval=0.2, session_timeout=1.0)
        for c in ("c1", "c2", "c3")
    ]
    world.run(until=5)
    assigned = sorted(tp for c in consumers for tp in c.assignment)
    assert assigned == [("t", p) for p in range(6)]
    f = world.frames()
    result = check_log(f["log"], f["consumed"], f["acks"], f["sends"])
    assert result.valid, result.summary
    assert len(f["consumed"]) == 600
    assert len(f["rebalances"]) == 1  # the initial delay gathers all three members


def test_crash_triggers_a_session_timeout_rebalance_and_a_restart_rejoins():
    r = groups.run(seed=2, crash_at=5.0, restart_after=4.0, duration=12, drain=5)
    reasons = r.frames["rebalances"]["reason"].tolist()
    assert reasons[0] == "join"
    assert "session-timeout" in reasons
    timeout_row = r.frames["rebalances"].set_index("reason").loc["session-timeout"]
    # Detected one session timeout after the last heartbeat, which came at most one heartbeat
    # interval before the crash.
    p = r.params
    assert 5.0 + p.session_timeout - p.heartbeat_interval <= timeout_row["start"]
    assert timeout_row["start"] <= 5.0 + p.session_timeout + 0.1
    assert reasons.count("join") >= 2  # the restarted member joins as a new member
    assert r.summary["lost"] == 0


def test_eager_pauses_every_member_cooperative_only_the_moved_partitions():
    eager = groups.run(seed=4, strategy="sticky", duration=12, drain=5)
    coop = groups.run(seed=4, strategy="cooperative-sticky", duration=12, drain=5)

    def survivor_pauses(result):
        p = result.frames["pauses"]
        rebalance = result.frames["rebalances"].set_index("reason").loc["session-timeout"]
        during = p[(p["start"] >= rebalance["start"]) & (p["end"] <= rebalance["end"] + 0.5)]
        return during[during["consumer"] != "c1"]

    assert (survivor_pauses(eager)["partitions_paused"] > 0).all()
    assert (survivor_pauses(coop)["partitions_paused"] == 0).all()
    assert len(survivor_pauses(coop)) >= 2


def test_commit_after_duplicates_and_commit_before_loses_after_a_crash():
    after = [groups.run(seed=s, commit="after", duration=12, drain=5).summary for s in range(4)]
    before = [groups.run(seed=s, commit="before", duration=12, drain=5).summary for s in range(4)]
    assert sum(s["lost"] for s in after) == 0
    assert sum(s["duplicates"] for s in after) > 0
    assert sum(s["duplicates"] for s in before) == 0
    assert sum(s["lost"] for s in before) > 0


def test_more_consumers_than_partitions_leaves_members_idle():
    r = groups.run(seed=1, consumers=8, partitions=6, crash_at=None, duration=5, drain=2)
    assert r.summary["idle_consumers"] == 2


def test_slow_processing_exceeds_max_poll_interval_and_the_member_leaves():
    world, net, broker = setup(partitions=2)
    producer = Producer(net, "p", broker)
    produce(world, producer, 50)
    Consumer(
        net,
        "c1",
        broker,
        ["t"],
        processing=Constant(0.2),
        max_poll_records=20,
        max_poll_interval=1.0,
        heartbeat_interval=0.1,
        session_timeout=0.5,
    )
    Consumer(
        net,
        "c2",
        broker,
        ["t"],
        processing=Constant(0.001),
        heartbeat_interval=0.1,
        session_timeout=0.5,
    )
    world.run(until=10)
    events = world.frame("consumer_events")
    left = events[events["event"] == "left"]
    assert set(left["reason"]) == {"max-poll-interval-exceeded"}
    assert set(left["consumer"]) == {"c1"}
    assert "leave" in set(world.frame("rebalances")["reason"])


def test_auto_offset_reset_latest_skips_existing_records():
    world, net, broker = setup(partitions=1)
    producer = Producer(net, "p", broker)
    produce(world, producer, 100, gap=0.001)

    def late_consumers():
        yield world.timeout(1.0)
        Consumer(
            net,
            "c1",
            broker,
            ["t"],
            auto_offset_reset="latest",
            config=ConsumerConfig(group="late"),
        )
        Consumer(net, "c2", broker, ["t"], config=ConsumerConfig(group="early"))
        # "latest" means the end of the log when the member gets its partition: records
        # appended before that are skipped, so wait for the join before producing more.
        yield world.timeout(1.0)
        for i in range(5):
            producer.send("t", f"new-{i}", key="x")
            yield world.timeout(0.5)

    world.process(late_consumers())
    world.run(until=6)
    consumed = world.frame("consumed")
    assert (consumed["group"] == "late").sum() == 5
    assert (consumed["group"] == "early").sum() == 105


def test_lag_is_sampled_per_partition():
    r = groups.run(seed=1, crash_at=None, duration=5, drain=3)
    lag = r.frames["lag"]
    assert set(lag["partition"]) == set(range(6))
    assert (lag["lag"] >= 0).all()
    assert lag.sort_values("time").groupby("partition")["lag"].last().sum() == 0


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"strategy": "zigzag"}, "strategy"),
        ({"commit": "sometimes"}, "commit"),
        ({"max_poll_records": 0}, "max_poll_records"),
        ({"heartbeat_interval": 5, "session_timeout": 1}, "heartbeat_interval"),
        ({"auto_offset_reset": "middle"}, "auto_offset_reset"),
        ({"processing": -1}, "processing"),
    ],
)
def test_bad_consumer_settings(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        ConsumerConfig(**kwargs)
    assert info.value.parameter == parameter


def test_subscribing_to_a_missing_topic_or_no_topic_is_named():
    _, net, broker = setup()
    with pytest.raises(ConfigError, match="nope"):
        Consumer(net, "c1", broker, ["nope"])
    with pytest.raises(ConfigError, match="topics"):
        Consumer(net, "c1", broker, [])
    with pytest.raises(ConfigError, match="partitions"):
        broker.create_topic("zero", partitions=0)
    with pytest.raises(ConfigError, match="topic option"):
        broker.create_topic("x", retention="forever")
