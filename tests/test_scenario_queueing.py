"""Lesson 12's scenarios in the one scenario shape: M/M/c (queueing) and backpressure."""

import math

import pytest

from labsim import ConfigError, ConfigWarning
from labsim.result import Result
from labsim.scenarios import queueing, scaling


def test_mmc_contract_positional_and_by_keyword():
    a = queueing.mmc(3.0, 1.0, 4, 500, 7)
    b = queueing.mmc(arrival_rate=3.0, service_rate=1.0, consumers=4, messages=500, seed=7)
    assert isinstance(a, Result) and a.wait_mean == b.wait_mean
    assert a.wait_mean == a.summary["wait_mean"] > 0
    assert a.erlang_c_wait == queueing.erlang_c_wait(3.0, 1.0, 4)
    assert a.utilisation == pytest.approx(0.75)
    assert len(a.frames["queue.processed"]) == 500 and len(a.frames["queue.length"]) > 0


def test_mmc_is_the_queueing_scenario():
    by_mmc = queueing.mmc(3.0, 1.0, 4, 500, 7)
    by_run = queueing.run(seed=7, arrival_rate=3.0, consumers=4, messages=500)
    assert by_mmc.summary == by_run.summary
    assert by_mmc.scenario == "queueing"


def test_queueing_summary_level_gives_the_same_summary():
    full = queueing.run(seed=2, messages=400)
    lean = queueing.run(seed=2, messages=400, record_level="summary")
    assert lean.summary == full.summary
    assert queueing.SCENARIO.summarize(full.params, full.frames) == full.summary


def test_queueing_figures_feed_a_sweep():
    table = queueing.SCENARIO.sweep({"arrival_rate": [2.0, 3.0], "messages": [200]}, [0, 1])
    assert len(table) == 4 and {"wait_mean", "little_relative_error"} <= set(table.columns)


def test_backpressure_summary_level_gives_the_same_summary():
    for policy in scaling.BACKPRESSURE_POLICIES:
        full = scaling.run(policy, 3, duration=30.0)
        lean = scaling.run(policy, 3, duration=30.0, record_level="summary")
        assert lean.summary == full.summary, policy
        assert scaling.SCENARIO.summarize(full.params, full.frames) == full.summary


def test_backpressure_policies_put_the_excess_in_different_places():
    runs = {
        p: scaling.backpressure(p, seed=1, duration=60.0) for p in scaling.BACKPRESSURE_POLICIES
    }
    unbounded, block, drop = (runs[p].summary for p in scaling.BACKPRESSURE_POLICIES)
    assert unbounded["refused"] == block["refused"] == 0 < drop["refused"]
    assert block["max_length"] <= 20 and drop["max_length"] <= 20 < unbounded["max_length"]
    assert block["producer_behind_max_s"] > 1.0
    assert unbounded["producer_behind_max_s"] == drop["producer_behind_max_s"] == 0.0
    assert unbounded["wait_mean_s"] > block["wait_mean_s"]
    # Accepted counts come from the queue's end state, refused ones from the producer's rows.
    arrivals = runs["drop"].frames["arrivals"]
    assert drop["accepted"] == (arrivals["outcome"] == "accepted").sum()
    assert runs["drop"].frames["queue.state"]["published"].item() == drop["accepted"]


BAD = [
    (queueing, {"arrival_rate": True}, "arrival_rate"),
    (queueing, {"arrival_rate": math.nan}, "arrival_rate"),
    (queueing, {"service_rate": 0}, "service_rate"),
    (queueing, {"consumers": 0}, "consumers"),
    (queueing, {"consumers": 3.5}, "consumers"),
    (queueing, {"messages": 5}, "messages"),
    (queueing, {"messages": 10**9}, "messages"),
    (queueing, {"rho": 0.5}, "parameter"),
    (scaling, {"policy": "pray"}, "policy"),
    (scaling, {"capacity": 0}, "capacity"),
    (scaling, {"capacity": False}, "capacity"),
    (scaling, {"duration": math.inf}, "duration"),
    (scaling, {"arrival_rate": 1e5, "duration": 1e6}, "arrival_rate"),
    (scaling, {"buffer": 3}, "parameter"),
]


@pytest.mark.parametrize("module, overrides, parameter", BAD)
def test_bad_parameters_name_the_parameter_and_the_scenario(module, overrides, parameter):
    with pytest.raises(ConfigError) as info:
        module.run(**overrides)
    assert info.value.parameter == parameter
    assert module.SCENARIO.Params.context in str(info.value)


def test_lag_grid_sweeps_the_group_scenario_without_a_crash():
    grid = scaling.lag_grid([1, 2], [2], seeds=[0], duration=1.0)
    assert len(grid) == 2 and grid["crash_at"].isna().all()
    assert {"max_lag", "latency_mean_s"} <= set(grid.columns)


def test_unstable_queue_warns_once_per_run():
    with pytest.warns(ConfigWarning, match="rho"):
        queueing.run(arrival_rate=5.0, consumers=4, messages=100)


LESSON_10 = dict(
    SEED=11,
    SERVICE_RATE=1.0,
    POOL=4,
    ARRIVAL_RATES=[1.0, 2.0, 3.0, 3.4, 3.7],
    MESSAGES=8000,
    GRID=[1, 2, 3, 6],
    OVERLOAD=12.0,
    CAPACITY=20,
)


@pytest.mark.parametrize(
    "knob, value",
    [
        ("ARRIVAL_RATES", [1.0, 4.0]),
        ("ARRIVAL_RATES", []),
        ("POOL", 0),
        ("MESSAGES", 5),
        ("GRID", [0, 1]),
        ("CAPACITY", 2.5),
        ("OVERLOAD", math.nan),
    ],
)
def test_lesson_10_knobs_are_checked(knob, value):
    from labsim.lessons import check_parameters

    check_parameters("12_scaling_and_backpressure", LESSON_10)
    with pytest.raises(ConfigError) as info:
        check_parameters("12_scaling_and_backpressure", {**LESSON_10, knob: value})
    assert info.value.parameter == knob
