"""The consumer-group scenario in the one scenario shape: record levels, faults, bad input."""

import math
import time

import pytest

from labsim import ConfigError
from labsim.scenarios import groups

SMALL = dict(duration=4.0, drain=2.0, crash_at=1.5, restart_after=1.0, rate=150.0)


def test_summary_level_gives_the_same_summary_and_the_summary_is_a_function_of_the_frames():
    full = groups.run(seed=5, **SMALL)
    lean = groups.run(seed=5, record_level="summary", **SMALL)
    assert lean.summary == full.summary
    assert groups.SCENARIO.summarize(full.params, full.frames) == full.summary
    assert set(groups.SCENARIO.summary_tables) <= set(lean.frames)


def test_the_crash_is_a_fault_of_the_plan_and_rows_of_the_faults_table():
    result = groups.run(seed=5, **SMALL)
    assert [(f.kind, f.at, f.until, f.nodes) for f in result.plan] == [("crash", 1.5, 2.5, ("c1",))]
    faults = result.frames["faults"]
    assert list(zip(faults["kind"], faults["action"], faults["time"], strict=True)) == [
        ("crash", "start", 1.5),
        ("crash", "end", 2.5),
    ]
    # The restarted member comes back as a new member: a second "join" rebalance.
    assert list(result.frames["rebalances"]["reason"]).count("join") >= 2


def test_a_crash_without_restart_has_no_end_and_no_crash_has_no_fault():
    down = groups.run(seed=5, **{**SMALL, "restart_after": None})
    assert [f.until for f in down.plan] == [None]
    assert list(down.frames["faults"]["action"]) == ["start"]
    calm = groups.run(seed=5, **{**SMALL, "crash_at": None})
    assert len(calm.plan) == 0 and len(calm.frames["faults"]) == 0


def test_idle_consumers_come_from_the_typed_assignment_size():
    result = groups.run(seed=1, consumers=5, partitions=3, crash_at=None, duration=2, drain=1)
    events = result.frames["consumer_events"]
    assert events["assigned"].dtype.kind == "i"
    joined = events[events["event"] == "joined"].groupby("consumer")["assigned"].last()
    assert joined.sum() == 3 and (joined == 0).sum() == 2
    assert result.summary["idle_consumers"] == 2
    final = groups.final_assignments(events)
    assert sorted(tp for tps in final for tp in tps) == [("events", p) for p in range(3)]
    assert sum(tps == [] for tps in final) == 2


def test_consumer_events_are_typed_columns():
    result = groups.run(seed=5, commit="before", **SMALL)
    events = result.frames["consumer_events"]
    assert {"generation", "partitions", "assigned", "reason"} <= set(events.columns)
    assert "detail" not in events.columns  # no text standing in for values
    assert events["generation"].dtype.kind == "i"
    assert all(isinstance(tps, tuple) for tps in events["partitions"])
    joined = events[events["event"] == "joined"]
    assert (joined["partitions"].map(len) == joined["assigned"]).all()
    assert joined["reason"].isna().all()
    failed = events[events["event"] == "commit-failed"]
    assert set(failed["reason"]) <= {"timeout", "illegal-generation"}


def test_a_huge_partition_count_is_refused_at_once():
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        groups.run(partitions=1_000_000_000)
    assert info.value.parameter == "partitions" and "10000" in str(info.value)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "overrides, parameter",
    [
        ({"partitions": True}, "partitions"),
        ({"consumers": 2.0}, "consumers"),
        ({"rate": math.nan}, "rate"),
        ({"rate": -1.0}, "rate"),
        ({"processing_ms": math.inf}, "processing_ms"),
        ({"crash_at": -1.0}, "crash_at"),
        ({"restart_after": 0.0}, "restart_after"),
        ({"strategy": "zigzag"}, "strategy"),
        ({"commit": "sometimes"}, "commit"),
        ({"heartbeat_interval": 5.0, "session_timeout": 1.0}, "heartbeat_interval"),
        ({"rate": 1e6, "duration": 1e6}, "rate"),
        ({"members": 3}, "parameter"),
    ],
)
def test_bad_parameters_name_the_parameter(overrides, parameter):
    with pytest.raises(ConfigError) as info:
        groups.run(**overrides)
    assert info.value.parameter == parameter
    assert "consumer group scenario" in str(info.value)


LESSON_02 = dict(
    SEED=3, PARTITIONS=6, CONSUMERS=3, CRASH_AT=8.0, SESSION_TIMEOUT=3.0, COMMIT_SEEDS=4
)


@pytest.mark.parametrize(
    "knob, value",
    [("SESSION_TIMEOUT", 0.5), ("CRASH_AT", None), ("PARTITIONS", 10**9), ("COMMIT_SEEDS", 0)],
)
def test_lesson_02_knobs_are_checked(knob, value):
    from labsim.lessons import check_parameters

    check_parameters("02_consumer_groups", LESSON_02)
    with pytest.raises(ConfigError) as info:
        check_parameters("02_consumer_groups", {**LESSON_02, knob: value})
    assert info.value.parameter == knob


def test_the_lesson_sliders_take_their_ranges_from_the_declarations():
    pytest.importorskip("ipywidgets")
    from labsim.params import slider

    timeout = slider(groups.GroupParams, "session_timeout", value=3.0)
    assert (timeout.min, timeout.max, timeout.step) == (0.5, 10.0, 0.5)
    strategy = slider(groups.GroupParams, "strategy", value="sticky")
    assert list(strategy.options) == ["range", "roundrobin", "sticky", "cooperative-sticky"]
