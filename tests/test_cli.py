"""The labsim command line."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from labsim.cli import main, parameter_tables
from labsim.scenarios import SCENARIOS, Scenario, network

ROOT = Path(__file__).resolve().parents[1]


def test_list_names_every_scenario_with_a_description(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name, scenario in SCENARIOS.items():
        assert name in out and scenario.description in out


def test_the_registry_holds_scenario_objects_with_declared_parameters():
    for name, scenario in SCENARIOS.items():
        assert isinstance(scenario, Scenario) and scenario.name == name
        assert scenario.defaults() and len(scenario.describe()) == len(scenario.defaults())


def test_list_verbose_shows_every_parameter_with_range_and_unit(capsys):
    assert main(["list", "-v"]) == 0
    out = capsys.readouterr().out
    for scenario in SCENARIOS.values():
        for name in scenario.defaults():
            assert name in out
    assert "in (0, 100000]" in out and "1/s" in out


def test_readme_parameter_tables_are_generated_from_the_declarations():
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- parameters:start -->", "<!-- parameters:end -->"
    stored = readme.split(start)[1].split(end)[0].strip()
    assert stored == parameter_tables(markdown=True).strip(), (
        "README parameter tables are stale: run `labsim list --markdown` and paste them"
    )


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


def _yaml(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


BAD_FILES = {
    "misspelt-key": ("scenario: network\nparmas:\n  loss: 0.1\n", "parmas"),
    "unknown-param": ("scenario: network\nparams:\n  colour: red\n", "line 3"),
    "float-seed": ("scenario: network\nseed: 1.7\n", "seed='1.7'"),
    "bool-seed": ("scenario: network\nseed: true\n", "seed='true'"),
    "text-seed": ("scenario: network\nseed: abc\n", "seed='abc'"),
    "list-params": ("scenario: network\nparams: [1, 2]\n", "params=[1, 2]"),
    "yaml-bool": ("scenario: network\nparams:\n  reorder: yes\n", "reorder='yes'"),
    "quoted-number": ("scenario: network\nparams:\n  rate: '5'\n", "rate='5'"),
    "no-scenario": ("seed: 1\n", "scenario"),
    "bad-yaml": ("scenario: [network\n", "valid YAML"),
    "empty": ("", "empty"),
    "binary": (b"\x00\x01\x02", "binary"),
    "not-utf8": (b"scenario: n\xe9twork\n", "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_parameter_files_exit_2_with_one_line(case, tmp_path, capsys):
    text, message = BAD_FILES[case]
    assert main(["run", _yaml(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_values_in_files_are_read_by_declared_type(tmp_path, capsys):
    path = _yaml(
        tmp_path, "scenario: network\nparams:\n  nodes: 010\n  rate: 1e3\n  duration: 0.2\n"
    )
    assert main(["run", path]) == 0
    out = capsys.readouterr().out
    assert "nodes                 10" in out and "1000.0" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "nope"], "one of network"),
        (["run", "network", "-p", "colour=red"], "parameter='colour'"),
        (["run", "network", "-p", "rate"], "key=value"),
        (["run", "network", "-p", "loss=2"], "loss=2"),
        (["run", "network", "-p", "partition_end=abc"], "partition_end='abc'"),
        (["run", "network", "-p", "extra_faults=5"], "extra_faults=5"),
        (["run", "network", "-p", "reorder=yes-please"], "true or false"),
        (["run", "network", "-p", "reorder=flase"], "true or false"),
        (["run", "network", "-p", "rate=1:30"], "rate='1:30'"),
        (["run", "network", "-p", "nodes=1000000000"], "nodes=1000000000"),
        (["run", "network", "-p", "rate=nan"], "rate=nan"),
        (["run", "network", "--seed", "abc"], "seed='abc'"),
        (["run", "network", "--seed", "-1"], "seed"),
        (["run", "network", "--out", "/missing/dir/x.csv"], "does not exist"),
        (["run", "network", "--out", "/tmp"], "directory"),
        (["sweep", "network", "--grid", "loss=0", "--seeds", "a-b"], "--seeds"),
        (["sweep", "network", "--seeds", "5-1"], "backwards"),
        (["sweep", "network", "--seeds", "0-20000000"], "at most"),
        (["sweep", "network", "--grid", "loss=0,2"], "loss=2.0"),
        (["sweep", "network", "--grid", "loss=0", "-p", "loss=0.1"], "both"),
        (["run", "missing.yaml"], "no such file"),
        (["run", "data/"], "directory"),
        (["run"], "required"),
        (["frob"], "invalid choice"),
    ],
)
def test_mistakes_exit_2_and_say_what_exists(argv, message, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_out_path_is_checked_before_the_run(monkeypatch, capsys):
    def must_not_run(*args, **kwargs):
        raise AssertionError("the run started before --out was checked")

    monkeypatch.setattr(network.SCENARIO, "run", must_not_run)
    monkeypatch.setattr(network.SCENARIO, "figures", must_not_run)
    assert main(["run", "network", "--out", "/missing/dir/x.csv"]) == 2
    assert main(["sweep", "network", "--out", "/missing/dir/x.csv"]) == 2


def test_a_sweep_checks_its_whole_grid_before_the_first_run(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(network.SCENARIO, "figures", lambda p, s: calls.append(p) or {})
    assert main(["sweep", "network", "--grid", "loss=0,0.5", "--grid", "nodes=2,3,1"]) == 2
    assert calls == [] and "nodes=1" in capsys.readouterr().err


def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(network.SCENARIO, "run", interrupted)
    assert main(["run", "network"]) == 130
    assert capsys.readouterr().err == "labsim: interrupted\n"


def test_console_script_is_installed():
    labsim = Path(sys.executable).parent / "labsim"
    out = subprocess.run([str(labsim), "list"], capture_output=True, text=True, check=True)
    assert "pipeline" in out.stdout
