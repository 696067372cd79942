"""Workers, retry policies, the inbox, delivery semantics under chaos, and their checkers."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsim import ConfigError, World
from labsim.amqp import FailureModel, Inbox, RetryPolicy
from labsim.checks import (
    check_accounting,
    check_duplicate_effects,
    check_lost_messages,
    check_order,
)
from labsim.scenarios import delivery, late_duplicate, poison_loop, retry_storm


def test_retry_policy_delays():
    rng = World(1).rng("r")
    assert RetryPolicy("none").delay(1, rng) is None
    assert RetryPolicy("immediate", max_attempts=3).delay(2, rng) == 0.0
    assert RetryPolicy("immediate", max_attempts=3).delay(3, rng) is None
    assert RetryPolicy("fixed", base_delay=0.5, jitter="none").delay(4, rng) == 0.5
    exp = RetryPolicy("exponential", base_delay=0.1, max_delay=1.0, jitter="none", max_attempts=10)
    assert [exp.delay(a, rng) for a in (1, 2, 3, 4, 5, 6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    full = RetryPolicy("exponential", base_delay=1.0, jitter="full", max_attempts=10)
    equal = RetryPolicy("exponential", base_delay=1.0, jitter="equal", max_attempts=10)
    samples = [full.delay(3, rng) for _ in range(500)]
    assert min(samples) >= 0 and max(samples) <= 4.0 and 1.5 < sum(samples) / 500 < 2.5
    samples = [equal.delay(3, rng) for _ in range(500)]
    assert min(samples) >= 2.0 and max(samples) <= 4.0


@pytest.mark.parametrize(
    "make, parameter",
    [
        (lambda: RetryPolicy("forever"), "kind"),
        (lambda: RetryPolicy(jitter="some"), "jitter"),
        (lambda: RetryPolicy(max_attempts=0), "max_attempts"),
        (lambda: RetryPolicy(base_delay=-1), "base_delay"),
        (lambda: FailureModel(transient=2), "transient"),
        (lambda: FailureModel(outage=(5, 1)), "outage"),
        (lambda: Inbox(retention=-1), "retention"),
        (lambda: delivery.run("exactly-once"), "semantics"),
        (lambda: delivery.run("at-least-once", 0, 0), "messages"),
    ],
)
def test_bad_settings(make, parameter):
    with pytest.raises(ConfigError) as info:
        make()
    assert info.value.parameter == parameter


def test_inbox_forgets_after_its_retention_window():
    inbox = Inbox(retention=10)
    inbox.remember("m", 0.0)
    assert inbox.seen("m", 5.0)
    assert not inbox.seen("m", 10.5)
    forever = Inbox()
    forever.remember("m", 0.0)
    assert forever.seen("m", 1e9)


def test_each_semantics_shows_its_characteristic_failure():
    most = delivery.run("at-most-once", 0, 500).summary
    least = delivery.run("at-least-once", 0, 500).summary
    inbox = delivery.run("at-least-once+inbox", 0, 500).summary
    assert most["lost"] > 0 and most["duplicate_effects"] == 0
    assert least["lost"] == 0 and least["duplicate_effects"] > 0
    assert inbox["lost"] == 0 and inbox["duplicate_effects"] == 0
    assert least["vanished"] == inbox["vanished"] == 0


def test_same_chaos_plan_for_every_semantics():
    plans = {s: delivery.run(s, 4, 200).plan for s in delivery.SEMANTICS}
    first = plans["at-most-once"]
    assert first.faults
    for plan in plans.values():
        pd.testing.assert_frame_equal(plan.to_frame(), first.to_frame())


def test_an_expired_dedupe_window_lets_a_late_duplicate_through():
    effects = [late_duplicate.run(retention=10.0, delay=d).summary["effects"] for d in (5, 30)]
    assert effects == [1, 2]
    assert late_duplicate.run(retention=None, delay=300.0).summary["effects"] == 1


def test_poison_loop_blocks_the_queue_until_a_delivery_limit_dead_letters_it():
    stuck = poison_loop.run(delivery_limit=None).summary
    assert stuck["others_processed"] == 0 and stuck["poison_deliveries"] > 50
    freed = poison_loop.run(delivery_limit=3).summary
    # A quorum queue dead-letters a message returned more often than the limit: 3 -> 4 deliveries.
    assert freed["poison_deliveries"] == 4 and freed["dead_lettered"] == 1
    assert freed["others_processed"] == 19


def test_jitter_flattens_a_retry_storm():
    none = retry_storm.run("none").summary
    full = retry_storm.run("full").summary
    assert full["peak_per_50ms"] < none["peak_per_50ms"]
    # the downstream has a capacity: the lock-step waves cost overloaded calls
    assert none["peak_per_50ms"] > retry_storm.RetryStormParams().capacity
    assert 3 * full["overloaded"] < none["overloaded"]


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    intensity=st.floats(0.3, 3.0),
    loss=st.floats(0.0, 0.5),
    crash_after_effect=st.floats(0.0, 0.05),
)
def test_random_fault_plans_never_break_the_promises(seed, intensity, loss, crash_after_effect):
    args = {
        "chaos_intensity": intensity,
        "loss": loss,
        "crash_after_effect": crash_after_effect,
        "messages": 120,
    }
    least = delivery.run("at-least-once", seed, **args).summary
    assert least["lost"] == 0 and least["vanished"] == 0
    inbox = delivery.run("at-least-once+inbox", seed, **args).summary
    assert inbox["lost"] == 0 and inbox["duplicate_effects"] == 0
    assert inbox["processed"] == 120


# -- checkers ---------------------------------------------------------------------------------
def effects(ids):
    return pd.DataFrame({"msg_id": ids})


def test_duplicate_effects_checker():
    assert check_duplicate_effects(effects([1, 2, 3])).valid
    result = check_duplicate_effects(effects([1, 2, 2, 2, 3]))
    assert not result.valid
    assert result.anomalies.to_dict("records") == [{"msg_id": 2, "effects": 3}]


def test_lost_messages_checker_counts_dead_letters_as_accounted_for():
    assert not check_lost_messages([1, 2, 3], effects([1])).valid
    result = check_lost_messages([1, 2, 3], effects([1]), dead_lettered=[2])
    assert result.anomalies["msg_id"].tolist() == [3]
    assert check_lost_messages([1, 2], effects([1, 2])).valid


def test_accounting_checker_finds_vanished_messages():
    ok = check_accounting([1, 2, 3, 4], effects([1]), dead_lettered=[2], in_flight=[3, 4])
    assert ok.valid and "1 processed + 1 dead-lettered + 2 in flight + 0 vanished" in ok.summary
    bad = check_accounting([1, 2, 3, 4], effects([1]), dead_lettered=[2], in_flight=[3])
    assert not bad.valid and bad.anomalies["msg_id"].tolist() == [4]


def test_order_checker_reports_reordering_not_duplicates():
    arrivals = pd.DataFrame(
        {"src": ["a"] * 4, "dst": ["b"] * 4, "msg_id": [1, 2, 2, 3], "time": [0.1, 0.2, 0.3, 0.4]}
    )
    assert check_order(arrivals).valid
    swapped = arrivals.assign(msg_id=[1, 3, 2, 4])
    result = check_order(swapped)
    assert not result.valid and result.anomalies["seq"].tolist() == [2]
    with pytest.raises(ConfigError, match="src"):
        check_order(arrivals.drop(columns="src"))


def test_delayed_retry_queue_brings_a_failed_message_back_after_its_ttl():
    from labsim import Network, World
    from labsim.amqp import Message, MessageBroker

    world = World(1)
    network = Network(world, ["w", "x"])
    broker = MessageBroker(world)
    work = broker.declare_queue("work")
    # The retry queue has no consumer: its TTL expires messages back into "work".
    retry = broker.declare_queue("work.retry", message_ttl=2.0, dead_letter="work")
    work.dead_letter = retry
    node = network.node("w")
    attempts = []

    def flaky(msg):
        attempts.append(world.now)

    from labsim.amqp import FailureModel, Worker

    Worker(
        node,
        lambda: work.subscribe("w", 1, node),
        processing=0.01,
        failures=FailureModel(outage=(0.0, 1.0)),
        mode="dead-letter",
        on_effect=flaky,
    )
    work.publish(Message("m1"))
    world.run(until=10)
    tries = world.frame("attempts")
    assert tries["outcome"].tolist() == ["downstream-down", "ok"]
    assert tries["time"].iloc[1] == pytest.approx(2.02, abs=0.01)  # back after the 2 s TTL
    assert len(attempts) == 1


def test_processing_timeout_counts_as_a_failure():
    from labsim import Network, World
    from labsim.amqp import FailureModel, Message, MessageBroker, RetryPolicy, Worker

    world = World(2)
    network = Network(world, ["w", "x"])
    broker = MessageBroker(world)
    broker.declare_queue("dlq")
    q = broker.declare_queue("q", dead_letter="dlq")
    node = network.node("w")
    Worker(
        node,
        lambda: q.subscribe("w", 1, node),
        processing=0.5,
        failures=FailureModel(timeout=0.1),
        retry=RetryPolicy("fixed", 0.1, jitter="none", max_attempts=3),
    )
    q.publish(Message("slow"))
    world.run(until=5)
    outcomes = world.frame("attempts")["outcome"].tolist()
    assert outcomes == ["timeout", "timeout", "timeout"]
    assert len(broker.queue("dlq")) == 1
