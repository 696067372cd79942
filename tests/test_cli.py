"""The labsim command line."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from labsim.cli import main
from labsim.scenarios import SCENARIOS, capstone

ROOT = Path(__file__).resolve().parents[1]


def test_list_names_every_scenario_with_a_description(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name, info in SCENARIOS.items():
        assert name in out and info.description in out


def test_every_registered_scenario_has_run_figures_and_a_params_class():
    for info in SCENARIOS.values():
        module = info.load()
        assert callable(module.run) and callable(module.figures)
        assert info.defaults()


def test_run_writes_a_summary_row(tmp_path, capsys):
    out = tmp_path / "run.csv"
    code = main(
        ["run", "network", "-p", "loss=0.2", "-p", "duration=2", "--seed", "4", "--out", str(out)]
    )
    assert code == 0
    row = pd.read_csv(out).iloc[0]
    assert row["loss"] == 0.2 and row["seed"] == 4 and 0.6 < row["delivered_fraction"] < 0.95


def test_run_a_named_parameter_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["run", "data/scenarios/flaky-network.yaml", "-p", "duration=2"]) == 0
    out = capsys.readouterr().out
    assert "delivered_fraction" in out and "reorder" in out


def test_sweep_with_grid_and_seed_range(tmp_path):
    out = tmp_path / "sweep.csv"
    code = main(
        [
            "sweep",
            "network",
            "--grid",
            "loss=0,0.3",
            "-p",
            "duration=1",
            "--seeds",
            "1-3",
            "--out",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    frame = pd.read_csv(out)
    assert len(frame) == 6 and sorted(frame["seed"].unique()) == [1, 2, 3]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "nope"], "one of network"),
        (["run", "groups", "-p", "colour=red"], "no parameter 'colour'"),
        (["run", "groups", "-p", "rate"], "key=value"),
        (["run", "network", "-p", "loss=2"], "loss=2"),
        (["sweep", "network", "--grid", "loss=0", "--seeds", "a-b"], "--seeds"),
        (["run", "missing.yaml"], "no such file"),
    ],
)
def test_mistakes_exit_2_and_say_what_exists(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_console_script_is_installed():
    labsim = Path(sys.executable).parent / "labsim"
    out = subprocess.run([str(labsim), "list"], capture_output=True, text=True, check=True)
    assert "capstone" in out.stdout


def test_capstone_scorecard_grades_designs():
    naive = capstone.run(seed=2)
    good = capstone.run(
        dict(
            partitions=8,
            consumers=8,
            strategy="cooperative-sticky",
            commit="after",
            semantics="at-least-once+inbox",
            publishing="outbox",
            saga_log=True,
            read_strategy="wait-for-version",
            checkpoint_every=1,
            session_timeout=1.0,
        ),
        seed=2,
    )
    assert naive.summary["targets_met"] < good.summary["targets_met"] == len(capstone.TARGETS)
    text = capstone.scorecard(good)
    assert "Score: 6 / 6" in text and "FAIL" in capstone.scorecard(naive)
