"""The joint order pipeline: one world, one fault plan, costs, targets and architecture files."""

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from labsim import ConfigError
from labsim.cli import main
from labsim.exercises import check_quiz
from labsim.exercises.pipeline import TEAM_BUDGET, check_design_within_budget
from labsim.scenarios import SCENARIOS, pipeline
from labsim.scenarios.pipeline import compare

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
ARCH = ROOT / "data" / "architectures"
REFERENCE = ROOT / "notebooks" / "solutions" / "architectures" / "reference.yaml"
CORRECTNESS = ["lost_orders", "double_charges", "ghost_charges", "half_done_sagas"]


def design(name):
    return compare.load_architecture(ARCH / f"{name}.yaml")[0]


def summary(params, seed, **changes):
    return pipeline.run({**params, **changes}, seed, record_level="summary").summary


# -- the targets ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_the_reference_design_meets_every_target_within_budget(seed):
    s = summary(compare.load_architecture(REFERENCE)[0], seed)
    assert s["targets_met"] == len(pipeline.TARGETS), pipeline.scorecard(s)
    assert s["correct"] and s["cost"] <= TEAM_BUDGET < pipeline.BUDGET


@pytest.mark.parametrize("seed", range(3))
def test_the_naive_design_fails_correctness(seed):
    s = summary(design("naive"), seed)
    assert not s["correct"]
    assert all(s[k] > 0 for k in CORRECTNESS), s


@pytest.mark.parametrize("seed", range(3))
def test_the_over_provisioned_design_is_correct_but_over_budget_and_dominated(seed):
    over = summary(design("over-provisioned"), seed)
    textbook = summary(design("textbook"), seed)
    assert over["correct"] and over["cost"] > pipeline.BUDGET
    assert textbook["targets_met"] == len(pipeline.TARGETS)
    # dominated: the textbook design is cheaper and faster under the same chaos
    assert textbook["cost"] < over["cost"]
    assert textbook["write_latency_p99_s"] < over["write_latency_p99_s"]


# -- interactions the isolated stages cannot show -------------------------------------------
def test_with_dual_write_ghosts_reach_the_payment_consumer_and_are_charged():
    base = design("textbook")
    for seed in range(3):
        result = pipeline.run({**base, "publishing": "dual-write"}, seed)
        s, frames = result.summary, result.frames
        committed = set(frames["order_db"]["order"])
        paid = frames["effects"][frames["effects"]["worker"].str.startswith("pay-")]
        ghosts = set(paid["msg_id"].str.removeprefix("evt-")) - committed
        assert s["ghost_charges"] == len(ghosts) > 0
        assert summary(base, seed)["ghost_charges"] == 0  # the outbox: none


def test_without_an_inbox_outbox_redeliveries_become_double_charges():
    # No consumer crashes at all: every duplicate comes from the outbox relay.
    base = {**design("textbook"), "crash_after_effect": 0.0}
    for seed in range(3):
        result = pipeline.run({**base, "inbox": False}, seed)
        published = result.frames["published"]
        resent = set(published.loc[published["event_id"].duplicated(), "order"])
        s = result.summary
        assert s["double_charges"] > 0 and resent
        assert summary(base, seed)["double_charges"] == 0  # with the inbox: none


def test_a_lagging_checkpoint_corrupts_the_read_model_without_charging_anyone():
    base = design("textbook")
    errors = 0
    for seed in range(4):
        s = summary(base, seed, checkpoint_every=50)
        assert s["double_charges"] == 0 and s["lost_orders"] == 0  # nobody charged for it
        errors += s["read_model_errors"]
        assert summary(base, seed)["read_model_errors"] == 0  # checkpoint every event
    assert errors > 0


def test_a_projector_that_never_crashes_keeps_its_totals_with_any_checkpoint(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("- {at: 1.0, kind: crash, until: 2.0, nodes: [pay-1]}\n")
    s = summary(design("textbook"), 0, checkpoint_every=50, faults=str(plan))
    assert s["read_model_errors"] == 0


def test_more_consumers_buy_a_quicker_fulfilment_at_a_price():
    base = design("textbook")
    for seed in range(3):
        one = summary(base, seed, payment_consumers=1, inventory_consumers=1)
        two = summary(base, seed, payment_consumers=2, inventory_consumers=2)
        assert two["fulfilment_p99_s"] < one["fulfilment_p99_s"]
        assert two["cost_capacity"] > one["cost_capacity"]


# -- the Kafka-style transport ---------------------------------------------------------------
def test_on_a_topic_the_textbook_design_meets_every_target_and_the_interactions_show():
    base = design("kafka")
    assert base["transport"] == "topic"
    for seed in range(3):
        assert summary(base, seed)["targets_met"] == len(pipeline.TARGETS)
    assert sum(summary(base, s, publishing="dual-write")["ghost_charges"] for s in range(2)) > 0
    no_inbox = [summary(base, s, inbox=False, crash_after_effect=0.0) for s in range(2)]
    assert sum(s["double_charges"] for s in no_inbox) > 0
    lagging = [summary(base, s, checkpoint_every=50) for s in range(2)]
    assert sum(s["read_model_errors"] for s in lagging) > 0
    assert all(s["double_charges"] == 0 for s in lagging)


def test_partitions_are_capacity_that_costs():
    base = design("kafka")
    four, eight = summary(base, 0), summary(base, 0, partitions=8)
    assert eight["cost_capacity"] > four["cost_capacity"]
    result = pipeline.run(base, 1, orders=40)
    assert len(result.frames["queues"]) == 2 * base["partitions"]  # orders and refunds
    again = pipeline.run(base, 1, orders=40)
    assert result.summary == again.summary


# -- shape, determinism, files --------------------------------------------------------------
def test_registered_and_deterministic():
    assert SCENARIOS["pipeline"] is pipeline.SCENARIO
    a = pipeline.run(design("textbook"), 3, orders=60)
    b = pipeline.run(design("textbook"), 3, orders=60)
    assert a.summary == b.summary
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name])
    assert pipeline.SCENARIO.summarize(a.params, a.frames) == a.summary


def test_an_architecture_file_runs_by_path_with_its_seed():
    by_path = pipeline.run(str(ARCH / "textbook.yaml"))
    assert by_path.seed == 0 and by_path.params.publishing == "outbox"
    assert by_path.summary == pipeline.run(design("textbook"), 0).summary


def test_labsim_run_prints_the_summary_and_the_scorecard(capsys):
    assert main(["run", str(ARCH / "naive.yaml")]) == 0
    out = capsys.readouterr().out
    assert "ghost_charges" in out and "Scorecard (seed 0)" in out
    assert "FAIL  ghosts" in out and "targets met" in out


@pytest.mark.parametrize(
    "text, message",
    [
        ("  saga: choreograph\n", "saga='choreograph'.*line 4"),
        ("  sagas: choreography\n", "parameter='sagas'.*line 4"),
        ("  inbox: yes\n", "inbox.*line 4"),
        ("  payment_consumers: 0\n", "payment_consumers.*line 4"),
    ],
)
def test_unknown_choices_name_the_file_and_line(tmp_path, capsys, text, message):
    path = tmp_path / "team.yaml"
    path.write_text(f"scenario: pipeline\nparams:\n  publishing: outbox\n{text}")
    with pytest.raises(ConfigError, match=message) as info:
        compare.load_architecture(path)
    assert str(path) in str(info.value)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("labsim: error:") and "Traceback" not in err and "line 4" in err


def test_an_architecture_file_must_be_a_pipeline_file(tmp_path):
    with pytest.raises(ConfigError, match="pipeline in an architecture file"):
        compare.load_architecture(ROOT / "data" / "scenarios" / "black-friday.yaml")


# -- sweeps and the Pareto front ------------------------------------------------------------
def test_a_200_run_design_sweep_gives_the_same_frame_on_a_process_pool():
    grid = {
        "checkpoint_every": [1, 5, 10, 25, 50],
        "inbox": [False, True],
        "retry": ["none", "immediate"],
        "publishing": ["outbox"],
    }
    seeds, size = range(10), {"orders": 30, "rate": 30.0}  # 20 designs x 10 seeds, small
    serial = compare.sweep_designs(grid, seeds, **size)
    assert len(serial) == 200
    with ProcessPoolExecutor(2) as pool:
        pooled = compare.sweep_designs(grid, seeds, pool, **size)
    pd.testing.assert_frame_equal(serial, pooled)
    assert serial["correct"].any() and not serial["correct"].all()


@pytest.mark.cluster
def test_a_design_sweep_on_a_dask_local_cluster_matches_serial():
    distributed = pytest.importorskip("distributed")
    grid, size = {"inbox": [False, True], "publishing": ["dual-write", "cdc"]}, {"orders": 30}
    serial = compare.sweep_designs(grid, [0, 1], **size)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_cluster = compare.sweep_designs(grid, [0, 1], client.get_executor(), **size)
    pd.testing.assert_frame_equal(serial, on_cluster)


def test_the_pareto_front_keeps_only_undominated_correct_designs():
    frame = pd.DataFrame(
        {
            "cost": [1.0, 2.0, 3.0, 0.5, 2.0],
            "write_latency_p99_s": [0.5, 0.1, 0.2, 0.01, 0.5],
            "correct": [True, True, True, False, True],
        }
    )
    assert compare.pareto_front(frame).tolist() == [True, True, False, False, False]


def test_compare_puts_every_team_on_one_plot(tmp_path, capsys):
    files = [ARCH / f"{n}.yaml" for n in ("naive", "textbook", "over-provisioned")]
    teams = compare.compare(files, seeds=[0, 1], orders=100)
    assert teams["architecture"].tolist() == ["naive", "textbook", "over-provisioned"]
    assert teams["correct"].tolist() == [False, True, True]
    assert teams["within_budget"].tolist() == [True, True, False]
    assert compare.pareto_front(teams).tolist() == [False, True, False]
    ax = compare.pareto_plot(teams, label="architecture")
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    png = tmp_path / "teams.png"
    assert main(["compare", *map(str, files), "--seeds", "0", "--plot", str(png)]) == 0
    assert png.stat().st_size > 0 and "over-provisioned" in capsys.readouterr().out


# -- the capstone's exercise ----------------------------------------------------------------
def test_the_budget_exercise_passes_the_reference_and_explains_failures():
    assert check_design_within_budget(compare.load_architecture(REFERENCE)[0], seeds=[0, 1])
    over = check_design_within_budget(design("textbook"), seeds=[0])
    assert not over and "over the team budget" in over.message and "storage" in over.message
    naive = check_design_within_budget(design("naive"), seeds=[0])
    assert not naive and "'lost orders' fails" in naive.message and "outbox" in naive.message
    bad = check_design_within_budget({"saga": "freestyle"})
    assert not bad and "not valid" in bad.message


def test_the_interactions_quiz():
    right = {
        "textbook design, but publishing by dual write": "ghosts",
        "textbook design, but no inbox": "double charges",
        "textbook design, but checkpoint every 50 events": "read model",
    }
    assert check_quiz("pipeline interactions", right)
    wrong = check_quiz(
        "pipeline interactions",
        {**right, "textbook design, but checkpoint every 50 events": "double charges"},
    )
    assert not wrong and "charges no one" in wrong.message


def test_a_design_written_as_yaml_reads_back_the_same(tmp_path):
    mine = {**design("textbook"), "payment_consumers": 3, "dlq": False}
    path = tmp_path / "team.yaml"
    path.write_text(compare.to_yaml(mine, seed=4, title="team blue"))
    choices = {k: pipeline.SCENARIO.defaults()[k] for k in pipeline.DESIGN_CHOICES}
    assert compare.load_architecture(path) == ({**choices, **mine}, 4)
    assert compare.load_architecture("naive") == compare.load_architecture(ARCH / "naive.yaml")
