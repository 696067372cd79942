"""Lesson 01's broker experiments as one scenario: queue vs pub/sub, key order, a hot key."""

import math

import pytest

from labsim import ConfigError
from labsim.kafka import kafka_partition
from labsim.scenarios import brokers


def test_summary_level_gives_the_same_summary_and_the_summary_is_a_function_of_the_frames():
    small = dict(messages=120, keys=5, hot_share=0.4, processing_ms=2.0, drain=1.0)
    full = brokers.run(seed=2, **small)
    lean = brokers.run(seed=2, record_level="summary", **small)
    assert lean.summary == full.summary
    assert brokers.SCENARIO.summarize(full.params, full.frames) == full.summary


def test_one_group_shares_the_records_and_a_group_per_consumer_copies_them():
    runs = brokers.queue_vs_pubsub(messages=60, consumers=3, partitions=3, seed=4)
    queue, pubsub = (runs[label].summary for label in brokers.SETUPS)
    assert queue["processed"] == queue["distinct_processed"] == 60
    assert pubsub["processed"] == 180 and pubsub["received_min"] == pubsub["received_max"] == 60
    table = brokers.received(runs)
    assert list(table.index) == ["c1", "c2", "c3"]
    assert table["one group (queue)"].sum() == 60
    assert (table["group per consumer (pub/sub)"] == 60).all()


def test_order_holds_per_key_not_across_keys():
    result = brokers.key_order(messages=200, keys=4, seed=1)
    assert result.summary["per_key_order_violations"] == 0
    assert result.summary["cross_key_order_violations"] > 0
    order = brokers.processing_order(result.frames["consumed"])
    assert order["time"].is_monotonic_increasing and len(order) == 200
    assert (order.groupby("key")["partition"].nunique() == 1).all()


def test_the_hot_key_partition_holds_the_share_and_the_lag():
    result = brokers.hot_key(hot_share=0.6, messages=600, partitions=4, seed=3)
    s = result.summary
    assert s["hot_partition"] == kafka_partition(brokers.HOT_KEY, 4)
    table = brokers.per_partition(result)
    assert table["records"].sum() == s["records"] == 600
    assert table.loc[table["holds hot key"], "records"].item() == s["hot_partition_records"]
    assert s["hot_partition_records"] > 0.5 * 600
    assert s["hot_partition_max_lag"] > s["other_max_lag"]


def test_without_a_hot_key_the_hot_figures_are_neutral():
    s = brokers.run(seed=0, messages=50, drain=1.0).summary
    assert s["hot_partition"] == -1 and s["hot_partition_records"] == 0
    assert s["hot_partition_max_lag"] == 0


def test_keys_moved_when_a_topic_grows():
    assert 0.5 < brokers.keys_moved(1000, 6, 8) < 1.0
    with pytest.raises(ConfigError, match="after"):
        brokers.keys_moved(10, 6, 6)


@pytest.mark.parametrize(
    "overrides, parameter",
    [
        ({"messages": True}, "messages"),
        ({"messages": 0}, "messages"),
        ({"partitions": 1_000_000_000}, "partitions"),
        ({"rate": math.nan}, "rate"),
        ({"hot_share": 1.5}, "hot_share"),
        ({"keys": 0}, "keys"),
        ({"processing_ms": -2.0}, "processing_ms"),
        ({"groups": "many"}, "groups"),
        ({"messages": 10_000_000, "rate": 1.0}, "rate"),
        ({"topic": "orders"}, "parameter"),
    ],
)
def test_bad_parameters_name_the_parameter(overrides, parameter):
    with pytest.raises(ConfigError) as info:
        brokers.run(**overrides)
    assert info.value.parameter == parameter
    assert "brokers scenario" in str(info.value)


def test_the_lesson_helpers_validate_through_the_scenario():
    with pytest.raises(ConfigError) as info:
        brokers.hot_key(hot_share=-0.1)
    assert info.value.parameter == "hot_share"
    with pytest.raises(ConfigError) as info:
        brokers.key_order(keys=0)
    assert info.value.parameter == "keys"


LESSON_01 = dict(SEED=7, MESSAGES=300, CONSUMERS=3, KEYS=4, HOT_SHARE=0.5, PARTITIONS=6)


@pytest.mark.parametrize(
    "knob, value",
    [("HOT_SHARE", 1.5), ("HOT_SHARE", None), ("KEYS", 0), ("MESSAGES", True), ("SEED", -1)],
)
def test_lesson_01_knobs_are_checked(knob, value):
    from labsim.lessons import check_parameters

    check_parameters("01_events_and_brokers", LESSON_01)
    with pytest.raises(ConfigError) as info:
        check_parameters("01_events_and_brokers", {**LESSON_01, knob: value})
    assert info.value.parameter == knob


def test_the_hot_share_slider_takes_its_range_from_the_declaration():
    pytest.importorskip("ipywidgets")
    from labsim.params import slider

    control = slider(brokers.BrokersParams, "hot_share", value=0.5)
    assert (control.min, control.max, control.step, control.value) == (0.0, 0.9, 0.1, 0.5)
