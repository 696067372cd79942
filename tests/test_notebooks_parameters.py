"""Every notebook runs through papermill with another seed and smaller sizes.

No lesson may depend on its default seed to run: a learner (or an instructor preparing a
session) changes ``SEED`` first, and every claim a lesson checks (``labsim.claims``) must hold
for that seed too. The same run puts every figure through the figure check
(``LABSIM_FIGURE_CHECK=1``: titles, axis labels, legends that draw, whole-number ticks on
counts). The stored outputs are checked separately by nbval.
"""

from pathlib import Path

import pytest

papermill = pytest.importorskip("papermill")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
OTHER_SEED = 20261126

#: Smaller sizes per notebook, so the whole check stays quick.
SMALL = {
    "00_tour": {"SWEEP_SEEDS": 2, "SWEEP_LOSSES": [0.0, 0.3]},
    "01_events_and_brokers": {"MESSAGES": 90},
    "02_consumer_groups": {"COMMIT_SEEDS": 1},
    "03_delivery_semantics": {"MESSAGES": 200, "SEEDS": 1},
    "04_network_faults": {"DURATION": 3.0},
    "05_rabbitmq_and_brokers": {"PREFETCHES": [1, 5, 300], "BACKLOG": 300, "MESSAGES": 150},
    "06_event_sourcing": {"HISTORY": 321, "DEPOSITS": 6, "SNAPSHOT_INTERVALS": [10, 100]},
    "07_event_design": {"EVENTS": 200, "WRITER_COUNTS": [1, 4], "DAYS": 365},
    "08_cqrs_lag": {"LOAD_RATES": [10.0, 60.0]},
    "09_sagas": {"SAGAS": 50},
    "10_outbox_cdc": {"ORDERS": 120},
    "11_conflict_resolution": {"WRITES": 30, "SEEDS": 1, "SKEWS": [0.0, 2.0]},
    "12_scaling_and_backpressure": {"MESSAGES": 2000, "ARRIVAL_RATES": [1.0, 3.0], "GRID": [1, 3]},
    "13_observability": {"INCIDENT_FOR": 8.0},
    "14_challenges": {"SEEDS": 3},
    "15_capstone": {"ROBUSTNESS_SEEDS": [OTHER_SEED], "SWEEP_ORDERS": 60},
}


def test_every_notebook_has_small_parameters():
    names = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == sorted(SMALL), "add the new notebook to SMALL"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_notebook_runs_with_another_seed(name, tmp_path, monkeypatch):
    monkeypatch.setenv("LABSIM_PROGRESS", "0")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # no display needed to check that it runs
    monkeypatch.setenv("LABSIM_FIGURE_CHECK", "1")  # every plt.show() checks its figure
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(tmp_path / f"{name}.ipynb"),
        parameters={"SEED": OTHER_SEED, **SMALL[name]},
        kernel_name="python3",
        # A private directory: lesson 14 writes (and removes) files next to itself, and the
        # same lesson runs under nbval in notebooks/ at the same time on another worker.
        cwd=str(tmp_path),
        progress_bar=False,
        log_output=False,
    )
