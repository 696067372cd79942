"""The retry experiments of lesson 03 as scenarios: retry storm, poison loop, late duplicate."""

import math

import pytest

from labsim import ConfigError
from labsim.scenarios import late_duplicate, poison_loop, retry_storm

SMALL = {
    retry_storm: dict(workers=8, messages=40),
    poison_loop: dict(delivery_limit=2, messages=5),
    late_duplicate: dict(delay=12.0),
}


def same_summary(a, b):
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
        for k in a
    )


@pytest.mark.parametrize("module", list(SMALL), ids=lambda m: m.SCENARIO.name)
def test_summary_level_gives_the_same_summary_and_is_pure(module):
    full = module.run(seed=1, **SMALL[module])
    lean = module.run(seed=1, record_level="summary", **SMALL[module])
    assert same_summary(lean.summary, full.summary)
    assert same_summary(module.SCENARIO.summarize(full.params, full.frames), full.summary)
    assert module.figures(SMALL[module], 1) == lean.summary


def test_retry_storm_takes_the_jitter_first():
    assert retry_storm.run("equal", 2, workers=4, messages=10).params.jitter == "equal"


def test_poison_loop_counts_come_from_the_queue_events():
    # A quorum queue with a delivery limit of 2 dead-letters the message at its 3rd return,
    # so it is delivered 3 times, as RabbitMQ 3.10 does (tests/test_conformance_model.py).
    result = poison_loop.run(seed=0, delivery_limit=2, messages=5)
    assert result.summary == {"poison_deliveries": 3, "others_processed": 4, "dead_lettered": 1}


def test_poison_loop_uses_a_quorum_queue_only_with_a_delivery_limit():
    def first_orders(result):
        amqp = result.frames["amqp"]
        delivered = amqp[(amqp["queue"] == "orders") & (amqp["event"] == "delivered")]
        return delivered["msg_id"].tolist()[:3]

    # Classic (no limit): the poison message comes back to the head and blocks the queue.
    assert first_orders(poison_loop.run(seed=0, messages=5)) == ["poison"] * 3
    # Quorum (limit): a returned message goes to the back, behind the waiting orders.
    limited = first_orders(poison_loop.run(seed=0, delivery_limit=2, messages=5))
    assert limited == ["poison", "order-1", "order-2"]


def test_an_inbox_that_never_forgets_stops_every_late_duplicate():
    assert late_duplicate.run(retention=None, delay=1000.0).summary["effects"] == 1
    assert late_duplicate.run(retention=0.0, delay=1.0).summary["effects"] == 2


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: retry_storm.run("some"), "jitter"),
        (lambda: retry_storm.run(workers=True), "workers"),
        (lambda: retry_storm.run(workers=10**6), "workers"),
        (lambda: retry_storm.run(base_delay=float("nan")), "base_delay"),
        (lambda: retry_storm.run(outage_start=3.0, outage_end=1.0), "outage_end"),
        (lambda: poison_loop.run(delivery_limit=0), "delivery_limit"),
        (lambda: poison_loop.run(delivery_limit=True), "delivery_limit"),
        (lambda: poison_loop.run(messages=1), "messages"),
        (lambda: poison_loop.run(duration=math.inf), "duration"),
        (lambda: late_duplicate.run(retention=-1.0), "retention"),
        (lambda: late_duplicate.run(delay=float("nan")), "delay"),
        (lambda: late_duplicate.run(delay=1e9), "delay"),
    ],
)
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.parameter == parameter


@pytest.mark.parametrize("module", list(SMALL), ids=lambda m: m.SCENARIO.name)
def test_unknown_parameter_is_named(module):
    with pytest.raises(ConfigError, match="jitters"):
        module.run(jitters="full")
