"""The stage-by-stage capstone scenario (one lesson scenario per stage), and the knobs of
lesson 15, which is built on the joint pipeline (tests/test_scenario_pipeline.py)."""

import math

import pytest

from labsim import ConfigError
from labsim.lessons import check_parameters
from labsim.scenarios import capstone


@pytest.fixture(scope="module")
def naive():
    return capstone.run(seed=2)


def test_summary_level_gives_the_same_summary(naive):
    lean = capstone.run(seed=2, record_level="summary")
    assert lean.summary == naive.summary
    assert lean.frames["ingest_lag"].empty and not naive.frames["ingest_lag"].empty


def test_summary_is_a_pure_function_of_the_stage_rows(naive):
    assert capstone.SCENARIO.summarize(naive.params, naive.frames) == naive.summary
    stages = naive.frames["stages"]
    assert set(stages["stage"]) == {"ingest", "payments", "publishing", "fulfilment", "read side"}


def test_the_scorecard_grades_the_summary_against_every_target(naive):
    text = capstone.scorecard(naive)
    lines = text.splitlines()
    assert lines[0] == "Scorecard (seed 2)" and len(lines) == len(capstone.TARGETS) + 2
    met = sum(line.startswith("  PASS") for line in lines)
    assert lines[-1] == f"Score: {met} / {len(capstone.TARGETS)} targets met"
    assert met == naive.summary["targets_met"]


def test_a_design_is_validated_like_any_parameters():
    design = capstone.CapstoneDesign(partitions=8, consumers=8, saga_log=True)
    assert capstone.SCENARIO.params(design) == design
    assert capstone.SCENARIO.params({"partitions": 8, "consumers": 8, "saga_log": True}) == design


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"partitions": 0}, "partitions"),
        ({"consumers": True}, "consumers"),
        ({"strategy": "random"}, "strategy"),
        ({"commit": "never"}, "commit"),
        ({"semantics": "exactly-once"}, "semantics"),
        ({"publishing": "hope"}, "publishing"),
        ({"saga_style": "freestyle"}, "saga_style"),
        ({"saga_log": 1}, "saga_log"),
        ({"read_strategy": "guess"}, "read_strategy"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
        ({"session_timeout": math.nan}, "session_timeout"),
        ({"session_timeout": 1e9}, "session_timeout"),
    ],
)
def test_bad_designs_are_named(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        capstone.run(**kwargs)
    assert info.value.parameter == parameter


def test_an_unknown_design_knob_is_named():
    with pytest.raises(ConfigError, match="replicas"):
        capstone.run(replicas=3)


KNOBS = dict(
    SEED=1,
    PUBLISHING="dual-write",
    TRANSPORT="queue",
    PARTITIONS=4,
    PAYMENT_CONSUMERS=1,
    INVENTORY_CONSUMERS=1,
    INBOX=False,
    COMMIT="after",
    RETRY="none",
    DLQ=False,
    SAGA="orchestration",
    SAGA_LOG=False,
    CHECKPOINT_EVERY=50,
    READ_STRATEGY="none",
    ROBUSTNESS_SEEDS=[1, 2, 3],
    SWEEP_ORDERS=100,
)


@pytest.mark.parametrize(
    "bad",
    [
        {"SAGA": "freestyle"},
        {"PAYMENT_CONSUMERS": 0},
        {"SAGA_LOG": "yes"},
        {"ROBUSTNESS_SEEDS": []},
        {"RETRY": "forever"},
        {"TRANSPORT": "carrier-pigeon"},
    ],
)
def test_lesson_knobs_are_checked(bad):
    check_parameters("15_capstone", KNOBS)
    with pytest.raises(ConfigError) as info:
        check_parameters("15_capstone", {**KNOBS, **bad})
    assert info.value.parameter == next(iter(bad))
