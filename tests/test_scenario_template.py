"""The one scenario shape: run, figures, sweep, record levels, positional calls, registry."""

import pkgutil

import numpy as np
import pandas as pd
import pytest

import labsim.scenarios
from labsim import ConfigError, Fault
from labsim.scenarios import SCENARIOS, Scenario, network

SMALL = dict(duration=1.0, rate=20.0)


def test_every_scenario_module_is_registered():
    helpers = {"base", "files"}
    modules = {m.name for m in pkgutil.iter_modules(labsim.scenarios.__path__)} - helpers
    registered = {type(s).__module__.rsplit(".", 1)[1] for s in SCENARIOS.values()}
    assert modules <= registered, f"not registered: {sorted(modules - registered)}"


def test_summary_is_a_pure_function_of_the_frames():
    result = network.run(seed=3, **SMALL)
    again = network.SCENARIO.summarize(result.params, result.frames)
    assert again == result.summary


def test_summary_level_keeps_only_what_the_summary_reads_and_gives_the_same_summary():
    full = network.run(seed=3, **SMALL)
    lean = network.run(seed=3, record_level="summary", **SMALL)
    assert lean.summary == full.summary
    assert set(lean.frames) <= set(full.frames)
    with pytest.raises(ConfigError, match="record_level"):
        network.run(record_level="everything")


def test_the_result_carries_the_fault_plan_it_applied():
    result = network.run(seed=1, **SMALL, partition_start=0.2, partition_end=0.5)
    assert [f.kind for f in result.plan] == ["partition"]
    assert list(result.frames["faults"]["kind"]) == ["partition", "partition"]


def test_sweep_adapter_validates_the_whole_grid_before_the_first_run(monkeypatch):
    calls = []
    real = network.SCENARIO.figures
    monkeypatch.setattr(network.SCENARIO, "figures", lambda p, s: calls.append(p) or real(p, s))
    with pytest.raises(ConfigError, match="loss"):
        network.SCENARIO.sweep({"loss": [0.0, 0.5, 2.0], "duration": [0.5]}, seeds=[0])
    assert calls == []


def test_sweep_takes_numpy_grids_and_seeds():
    table = network.SCENARIO.sweep(
        {"loss": np.arange(0.0, 0.3, 0.1), "duration": [0.5]}, seeds=np.arange(2), progress=False
    )
    assert isinstance(table, pd.DataFrame) and len(table) == 6
    assert sorted(table["seed"].unique()) == [0, 1]


def test_positional_arguments_are_refused_where_none_are_declared():
    with pytest.raises(ConfigError, match="arguments"):
        network.run(None, 0, 5)


def test_a_parameter_given_twice_is_an_error():
    class Twice(network.NetworkScenario):
        positional = ("nodes", "rate")

    with pytest.raises(ConfigError, match="rate"):
        Twice().run(None, 0, 10.0, rate=5.0)


def test_nan_partition_end_is_refused_not_silently_ignored():
    with pytest.raises(ConfigError, match="partition_end"):
        network.run(partition_end=float("nan"))


def test_overlapping_crashes_keep_the_node_down_until_the_outer_one_ends():
    result = network.run(
        seed=1,
        duration=8.0,
        rate=200.0,
        partition_start=None,
        partition_end=None,
        extra_faults=(Fault(1, "crash", 5, nodes=("n1",)), Fault(2, "crash", 3, nodes=("n1",))),
    )
    d = result.frames["net.deliveries"]
    assert len(d[(d["dst"] == "n1") & d["time"].between(1.001, 4.999)]) == 0
    assert len(d[(d["dst"] == "n1") & (d["time"] > 5.01)]) > 0


def test_every_scenario_declares_every_parameter_with_a_doc_and_bounded_sizes():
    for scenario in SCENARIOS.values():
        assert isinstance(scenario, Scenario)
        for row in scenario.describe().itertuples():
            assert row.doc, f"{scenario.name}.{row.name} has no doc"
            if row.type == "int":
                assert "]" in row.accepted or ")" in row.accepted, (
                    f"{scenario.name}.{row.name}: an integer parameter needs an upper bound"
                )
