"""The CQRS scenario (lesson 08) in the one scenario shape, and the knobs of lessons 06 and 08."""

import math

import pytest

from labsim import ConfigError
from labsim.lessons import check_parameters
from labsim.scenarios import cqrs

SMALL = dict(duration=4.0, rate=20.0)


def test_summary_level_gives_the_same_summary_and_fewer_tables():
    full = cqrs.run(seed=2, crash_at=2.0, checkpoint_every=20, **SMALL)
    lean = cqrs.run(seed=2, crash_at=2.0, checkpoint_every=20, record_level="summary", **SMALL)
    assert lean.summary == full.summary
    assert set(cqrs.SCENARIO.summary_tables) <= set(lean.frames) <= set(full.frames)


def test_summary_is_a_pure_function_of_the_frames():
    result = cqrs.run(seed=1, **SMALL)
    assert cqrs.SCENARIO.summarize(result.params, result.frames) == result.summary
    assert result.summary["events"] == len(result.frames["event_log"]) == 2 * result.orders


def test_totals_are_checked_against_the_recorded_log_and_the_check_can_fail():
    result = cqrs.run(seed=1, **SMALL)
    assert result.summary["totals_correct"]
    frames = dict(result.frames)
    totals = frames["customer_totals"].copy()
    totals.loc[0, "total"] += 12.5  # one payment counted twice
    frames["customer_totals"] = totals
    assert not cqrs.SCENARIO.summarize(result.params, frames)["totals_correct"]


def test_the_projector_crash_is_a_fault_of_the_plan_and_a_row_of_the_faults_table():
    result = cqrs.run(seed=3, crash_at=1.5, restart_after=1.0, **SMALL)
    assert [(f.kind, f.at, f.until, f.nodes) for f in result.plan] == [
        ("crash", 1.5, 2.5, ("projector",))
    ]
    faults = result.frames["faults"]
    assert list(zip(faults["time"], faults["kind"], faults["action"], strict=True)) == [
        (1.5, "crash", "start"),
        (2.5, "crash", "end"),
    ]
    assert len(cqrs.run(seed=3, **SMALL).plan) == 0


def test_a_lagging_checkpoint_applies_events_twice_after_the_crash():
    lazy = cqrs.run(seed=3, crash_at=2.0, checkpoint_every=50, **SMALL).summary
    atomic = cqrs.run(seed=3, crash_at=2.0, checkpoint_every=1, **SMALL).summary
    assert lazy["double_applied"] > 0 and not lazy["totals_correct"]
    assert atomic["double_applied"] == 0 and atomic["totals_correct"]


def test_an_inline_projection_has_no_lag_and_an_empty_projected_table():
    result = cqrs.run(seed=1, strategy="sync", **SMALL)
    assert result.frames["projected"].empty
    assert result.summary["lag_mean_s"] == 0 and result.summary["stale_reads"] == 0


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"rate": True}, "rate"),
        ({"rate": math.nan}, "rate"),
        ({"rate": 0}, "rate"),
        ({"rate": 1e9}, "rate"),
        ({"duration": 1e7}, "duration"),
        ({"customers": 2.5}, "customers"),
        ({"strategy": "hope"}, "strategy"),
        ({"crash_at": -1.0}, "crash_at"),
        ({"restart_after": 0}, "restart_after"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
        ({"burst_length": 20, "burst_every": 10}, "burst_length"),
    ],
)
def test_bad_parameters_are_named(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        cqrs.run(**kwargs)
    assert info.value.parameter == parameter


def test_an_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="speed"):
        cqrs.run(speed=3)


LESSON_05 = dict(SEED=1, DEPOSITS=12, HISTORY=1234, SNAPSHOT_INTERVALS=[10, 50, 100])
LESSON_06 = dict(
    SEED=4, RATE=40.0, BURST_FACTOR=4.0, PROCESSING_MS=5.0, LOAD_RATES=[10.0, 95.0], CRASH_AT=12.0
)


@pytest.mark.parametrize(
    "notebook, knobs, bad",
    [
        ("06_event_sourcing", LESSON_05, {"HISTORY": -1}),
        ("06_event_sourcing", LESSON_05, {"DEPOSITS": True}),
        ("06_event_sourcing", LESSON_05, {"SNAPSHOT_INTERVALS": [10, 0]}),
        ("08_cqrs_lag", LESSON_06, {"RATE": -1.0}),
        ("08_cqrs_lag", LESSON_06, {"LOAD_RATES": []}),
        ("08_cqrs_lag", LESSON_06, {"CRASH_AT": None}),
    ],
)
def test_lesson_knobs_are_checked(notebook, knobs, bad):
    check_parameters(notebook, knobs)
    with pytest.raises(ConfigError) as info:
        check_parameters(notebook, {**knobs, **bad})
    assert info.value.parameter == next(iter(bad))
