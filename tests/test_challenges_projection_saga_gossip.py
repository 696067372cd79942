"""Challenges projection-checkpoint (lesson 08), saga-orchestrator (lesson 09) and broadcast
(lesson 11): references pass, starters fail with a shrunk plan, typical wrong solutions fail
with a minimal plan of at most three faults, reports are deterministic."""

from pathlib import Path

import pytest

from labsim.challenges import CHALLENGES, check, get, load_class
from labsim.challenges.grade import run_case
from labsim.faults import FaultPlan

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "notebooks" / "solutions" / "challenges"
WRONG = Path(__file__).resolve().parent / "challenge_files"
SEEDS = 8

#: challenge -> typical wrong solutions.
TYPICAL = {
    "projection-checkpoint": [
        "projection_checkpoint_past_gap.py",  # advances its checkpoint over a commit-order gap
        "projection_checkpoint_save_first.py",  # saves the checkpoint before applying
    ],
    "saga-orchestrator": [
        "saga_orchestrator_in_memory.py",  # no durable log: a crash mid-saga leaves it half done
    ],
    "broadcast": [
        "broadcast_send_once.py",  # sends once to every peer, no retry: a partition loses values
    ],
}
NAMES = sorted(TYPICAL)
WRONG_FILES = [(name, f) for name in NAMES for f in TYPICAL[name]]


def test_the_challenges_are_registered():
    for name in NAMES:
        ch = get(name)
        assert name in CHALLENGES and ch.targets and ch.fault_kinds and ch.invariant


# References passing and starters failing are checked for every challenge in test_challenges.py.


@pytest.mark.parametrize(("name", "file"), WRONG_FILES)
def test_typical_wrong_solution_fails_with_a_minimal_plan(name, file):
    result = check(name, WRONG / file, seeds=SEEDS)
    assert not result.passed, result.text
    case = result.failure
    assert 1 <= len(case.plan) <= 3 and case.broken
    cls = load_class(get(name), WRONG / file)
    for i in range(len(case.plan)):
        fewer = FaultPlan(case.plan.faults[:i] + case.plan.faults[i + 1 :])
        again = run_case(get(name), cls, case.seed, fewer, case.size)
        assert case.broken[0] not in again.broken


@pytest.mark.parametrize("name", NAMES)
def test_same_file_seed_and_options_print_the_same_report(name):
    path = WRONG / TYPICAL[name][0]
    first = check(name, path, seeds=SEEDS).text
    assert check(name, path, seeds=SEEDS).text == first


def test_projection_gap_is_a_skip_and_the_replay_fails_the_same_way(tmp_path):
    name, path = "projection-checkpoint", WRONG / "projection_checkpoint_past_gap.py"
    result = check(name, path, seeds=SEEDS)
    assert result.failure.broken == ["skipped <= 0"]
    plan_file = tmp_path / "plan.yaml"
    result.plan.save(plan_file)
    replay = check(
        name,
        path,
        seed=result.failure.seed,
        plan=FaultPlan.load(plan_file),
        messages=result.failure.size,
    )
    assert replay.failure.outcome.figures == result.failure.outcome.figures


def test_projection_exhaustive_crash_points():
    bad = check(
        "projection-checkpoint", WRONG / "projection_checkpoint_save_first.py", exhaustive=True
    )
    assert not bad.passed and [f.kind for f in bad.plan] == ["crash"]
    assert bad.failure.broken == ["skipped <= 0"]
    ok = check("projection-checkpoint", SOLUTIONS / "projection-checkpoint.py", exhaustive=True)
    assert ok.passed and ok.report.runs > 20


def test_saga_exhaustive_crash_points_find_request_ids_that_restart():
    name = "saga-orchestrator"
    bad = check(name, WRONG / "saga_orchestrator_fresh_ids.py", exhaustive=True)
    assert not bad.passed and [f.kind for f in bad.plan] == ["crash"]
    assert bad.failure.broken == ["double_steps <= 0"]


def test_saga_reference_survives_a_crash_at_every_step():
    ok = check("saga-orchestrator", SOLUTIONS / "saga-orchestrator.py", exhaustive=True, messages=2)
    assert ok.passed and ok.report.runs > 20


def test_broadcast_flooding_the_whole_state_breaks_the_message_budget():
    result = check("broadcast", WRONG / "broadcast_flood_state.py", seeds=2)
    assert not result.passed
    assert result.figures["missing"] == 0
    assert result.figures["messages_per_op"] > 20
    assert "messages_per_op <= 20" in result.failure.broken


def test_broadcast_latency_does_not_count_time_under_faults():
    from labsim.challenges.gossip import fault_time
    from labsim.faults import Fault

    plan = FaultPlan(
        (
            Fault(1.0, "loss", 2.0, nodes=("n1",), value=0.5),
            Fault(1.5, "partition", 2.5, groups=(("n1",), ("n2", "n3", "n4", "n5"))),
            Fault(2.2, "heal"),
        )
    )
    assert fault_time(plan, 0.0, 5.0) == pytest.approx(1.2)
    assert fault_time(plan, 1.8, 3.0) == pytest.approx(0.4)
