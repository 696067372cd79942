"""The conflicts scenario (lesson 11) in the one scenario shape, and the lesson's knobs."""

import math

import pytest

from labsim import ConfigError
from labsim.lessons import check_parameters
from labsim.scenarios import conflicts

SMALL = dict(writes=12, write_gap=0.2, quiet=1.0)


@pytest.mark.parametrize("policy", ["lww-physical", "version-vectors", "crdt"])
def test_summary_level_gives_the_same_summary(policy):
    kwargs = dict(SMALL, policy=policy, partition_start=0.5, partition_end=1.5)
    full = conflicts.run(seed=2, **kwargs)
    lean = conflicts.run(seed=2, record_level="summary", **kwargs)
    assert lean.summary == full.summary
    assert set(conflicts.SCENARIO.summary_tables) <= set(lean.frames) <= set(full.frames)


def test_summary_is_a_pure_function_of_the_frames():
    result = conflicts.run(seed=1, policy="version-vectors", resolver="pick-one", **SMALL)
    assert conflicts.SCENARIO.summarize(result.params, result.frames) == result.summary


def test_the_run_ends_a_quiet_phase_after_the_later_of_last_write_and_heal():
    result = conflicts.run(seed=1, policy="crdt", partition_start=0.5, partition_end=9.0, **SMALL)
    last_write = result.frames["writes"]["time"].max()
    assert last_write < 9.0
    assert 9.0 + 1.0 - 0.1 <= result.frames["divergence"]["time"].max() < 9.0 + 1.0
    faults = result.frames["faults"]
    assert list(zip(faults["time"], faults["action"], strict=True)) == [
        (0.5, "start"),
        (9.0, "end"),
    ]
    assert result.summary["converged"] and result.summary["lost_updates"] == 0


def test_blind_writes_pile_up_one_sibling_per_write_and_union_loses_nothing():
    s = conflicts.run(seed=1, policy="version-vectors", blind=True, **SMALL).summary
    assert s["max_siblings"] == SMALL["writes"]
    assert s["lost_updates"] == 0 and s["final_items"] == SMALL["writes"]
    resolving = conflicts.run(seed=1, policy="version-vectors", **SMALL).summary
    assert resolving["max_siblings"] < s["max_siblings"]


def test_the_final_cart_comes_from_the_recorded_replica_state():
    result = conflicts.run(seed=1, policy="crdt", **SMALL)
    frames = dict(result.frames)
    state = frames["replica_state"].copy()
    r1 = state.index[state["replica"] == "r1"][0]
    state.at[r1, "value"] = frozenset(sorted(state.at[r1, "value"])[1:])  # one item gone
    frames["replica_state"] = state
    tampered = conflicts.SCENARIO.summarize(result.params, frames)
    assert tampered["lost_updates"] == 1 == result.summary["lost_updates"] + 1


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"policy": "newest"}, "policy"),
        ({"resolver": "coin"}, "resolver"),
        ({"replicas": True}, "replicas"),
        ({"replicas": 1}, "replicas"),
        ({"writes": 10**9}, "writes"),
        ({"skew": math.nan}, "skew"),
        ({"fanout": 3}, "fanout"),
        ({"partition_start": -5.0, "partition_end": 3.0}, "partition_start"),
        ({"partition_start": 3.0}, "partition_end"),
        ({"partition_start": 3.0, "partition_end": 2.0}, "partition_end"),
        ({"blind": True}, "blind"),
        ({"blind": 1, "policy": "version-vectors"}, "blind"),
        ({"quiet": 0}, "quiet"),
    ],
)
def test_bad_parameters_are_named(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        conflicts.run(**kwargs)
    assert info.value.parameter == parameter


def test_an_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="replica_count"):
        conflicts.run(replica_count=3)


KNOBS = dict(SEED=5, REPLICAS=3, WRITES=60, SKEWS=[0.0, 1.0], SEEDS=3, PARTITION=(3.0, 12.0))


@pytest.mark.parametrize(
    "bad",
    [
        {"REPLICAS": 1},
        {"WRITES": 0},
        {"SKEWS": [-1.0]},
        {"SEEDS": 0},
        {"PARTITION": (12.0, 3.0)},
        {"PARTITION": (3.0,)},
    ],
)
def test_lesson_knobs_are_checked(bad):
    check_parameters("11_conflict_resolution", KNOBS)
    with pytest.raises(ConfigError) as info:
        check_parameters("11_conflict_resolution", {**KNOBS, **bad})
    assert info.value.parameter == next(iter(bad))
