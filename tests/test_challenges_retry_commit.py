"""Challenges retry-policy (lesson 03) and commit-strategy (lesson 02): references pass,
starters and typical wrong solutions fail with a minimal plan, reports are deterministic."""

from pathlib import Path

import pytest

from labsim.challenges import CHALLENGES, check, get, load_class
from labsim.challenges.grade import run_case
from labsim.faults import FaultPlan

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "notebooks" / "solutions" / "challenges"
WRONG = Path(__file__).resolve().parent / "challenge_files"
SEEDS = 8

#: challenge -> its typical wrong solution.
TYPICAL = {
    "retry-policy": "retry-policy_no_jitter.py",  # exponential backoff in lock-step waves
    "commit-strategy": "commit-strategy_commit_first.py",  # commit, then process
}
NAMES = sorted(TYPICAL)


def test_both_are_on_the_ladder():
    for name in NAMES:
        ch = CHALLENGES[name]
        assert ch.targets and ch.fault_kinds == ("crash",) and ch.invariant
    assert get("retry-policy").lesson.startswith("03")
    assert get("commit-strategy").lesson.startswith("02")


# References passing and starters failing are checked for every challenge in test_challenges.py.


@pytest.mark.parametrize("name", NAMES)
def test_typical_wrong_solution_fails_with_a_minimal_plan(name):
    result = check(name, WRONG / TYPICAL[name], seeds=SEEDS)
    assert not result.passed, result.text
    case = result.failure
    assert 1 <= len(case.plan) <= 3
    cls = load_class(get(name), WRONG / TYPICAL[name])
    for i in range(len(case.plan)):
        fewer = FaultPlan(case.plan.faults[:i] + case.plan.faults[i + 1 :])
        again = run_case(get(name), cls, case.seed, fewer, case.size)
        assert not again.broken, (i, again.broken)


def test_no_jitter_fails_on_the_storm_bound():
    result = check("retry-policy", WRONG / TYPICAL["retry-policy"], seeds=SEEDS)
    assert "storm <= 15" in result.failure.broken
    assert result.failure.outcome.figures["storm"] > 15
    assert "[FAIL] storm" in result.text


def test_commit_first_loses_records():
    result = check("commit-strategy", WRONG / TYPICAL["commit-strategy"], seeds=SEEDS)
    assert result.failure.broken == ["lost <= 0"]
    exhaustive = check("commit-strategy", WRONG / TYPICAL["commit-strategy"], exhaustive=True)
    assert not exhaustive.passed and [f.kind for f in exhaustive.plan] == ["crash"]
    ok = check("commit-strategy", SOLUTIONS / "commit-strategy.py", exhaustive=True)
    assert ok.passed and ok.report.runs > 20


def test_never_committing_breaks_the_reprocessing_bound(tmp_path):
    path = tmp_path / "never.py"
    path.write_text(
        "class Consumer:\n"
        "    def __init__(self, partition, store):\n"
        "        self.store = store\n\n"
        "    def handle(self, records):\n"
        "        for r in records:\n"
        "            with self.store.transaction():\n"
        "                if not self.store.get(r.key):\n"
        "                    self.store.apply(r.key, r.value)\n"
        "                    self.store.put(r.key, True)\n"
    )
    result = check("commit-strategy", path, seeds=SEEDS)
    assert result.failure.broken == ["excess_reprocessing <= 0"]
    assert len(result.plan) == 1


@pytest.mark.parametrize("name", NAMES)
def test_same_file_and_seeds_print_the_same_report(name):
    path = WRONG / TYPICAL[name]
    first = check(name, path, seeds=SEEDS).text
    assert check(name, path, seeds=SEEDS).text == first


def test_replay_of_the_shrunk_retry_case_fails_the_same_way(tmp_path):
    path = WRONG / TYPICAL["retry-policy"]
    case = check("retry-policy", path, seeds=SEEDS).failure
    case.plan.save(tmp_path / "plan.yaml")
    again = check(
        "retry-policy",
        path,
        seed=case.seed,
        plan=FaultPlan.load(tmp_path / "plan.yaml"),
        messages=case.size,
    )
    assert again.failure.outcome.figures == case.outcome.figures


def test_a_bad_delay_is_reported(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text(
        "class RetryPolicy:\n"
        "    def __init__(self, rng):\n"
        "        pass\n\n"
        "    def delay(self, attempt):\n"
        "        return -1\n"
    )
    result = check("retry-policy", path, seeds=2)
    assert not result.passed
    assert "delay(2) returned -1" in result.text


def test_giving_up_leaves_calls_unfinished(tmp_path):
    path = tmp_path / "quit.py"
    path.write_text(
        "class RetryPolicy:\n"
        "    def __init__(self, rng):\n"
        "        pass\n\n"
        "    def delay(self, attempt):\n"
        "        return None\n"
    )
    result = check("retry-policy", path, seeds=SEEDS)
    assert result.failure.broken == ["unfinished <= 0"]


def test_the_shrunk_retry_case_is_drawn(tmp_path):
    result = check("retry-policy", WRONG / TYPICAL["retry-policy"], seeds=SEEDS)
    result.draw(tmp_path / "case.png")
    assert (tmp_path / "case.png").stat().st_size > 1000
