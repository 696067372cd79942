"""The room check (``make check-room``): each check passes here and fails, with what to do, when
its condition is not met."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import room_check


def test_python_check_passes_here_and_fails_for_an_old_python():
    assert room_check.check_python().ok
    old = room_check.check_python((3, 8, 10))
    assert not old.ok
    assert "3.8.10 is too old" in old.found
    assert "what to do: install Python 3.10+" in old.line()


def test_disk_check_fails_when_less_than_the_minimum_is_free(tmp_path):
    assert room_check.check_disk(tmp_path, minimum_gb=0.0).ok
    short = room_check.check_disk(tmp_path, minimum_gb=1e9)
    assert not short.ok
    assert short.line().startswith("FAIL  free disk:")
    assert "what to do: free some space" in short.line()


def test_environment_check_names_the_missing_environment_and_the_command(tmp_path):
    missing = room_check.check_environment(tmp_path / "nowhere" / "python")
    assert not missing.ok
    assert "is missing" in missing.found
    assert "make install" in missing.fix


def test_environment_check_reports_a_broken_environment(tmp_path):
    # An interpreter that exits with an import error stands for a half-installed .venv.
    broken = tmp_path / "python"
    broken.write_text(
        "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'simpy'\" >&2\nexit 1\n"
    )
    broken.chmod(0o755)
    outcome = room_check.check_environment(broken)
    assert not outcome.ok
    assert "No module named 'simpy'" in outcome.found
    assert "make install" in outcome.fix


def test_environment_and_plot_checks_pass_in_this_environment():
    python = Path(sys.executable)
    environment = room_check.check_environment(python)
    assert environment.ok, environment.line()
    assert environment.found.startswith("labsim ")
    plots = room_check.check_plots(python)
    assert plots.ok, plots.line()
    assert "marks drawn by" in plots.found
