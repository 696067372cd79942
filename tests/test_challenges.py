"""The challenge ladder: references pass, starters and typical wrong solutions fail with a
minimal, replayable plan; shrinking is minimal; reports are deterministic; learner mistakes
are reported, never a harness crash."""

from pathlib import Path

import pytest

from labsim import cli
from labsim.challenges import CHALLENGES, check, get, load_class, starter
from labsim.challenges.grade import run_case
from labsim.faults import FaultPlan

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "notebooks" / "solutions" / "challenges"
WRONG = Path(__file__).resolve().parent / "challenge_files"
SEEDS = 8

#: challenge -> a typical wrong solution.
TYPICAL = {
    "idempotent-consumer": "consumer_window.py",  # a dedupe window that forgets
    "outbox-relay": "relay_delete_first.py",  # deletes the row before publishing it
    "cart-crdt": "cart_max_merge.py",  # max() of quantities: concurrent adds lost
}


@pytest.mark.parametrize("name", sorted(CHALLENGES))
def test_reference_solution_passes(name):
    result = check(name, SOLUTIONS / f"{name}.py", seeds=SEEDS)
    assert result.passed, result.text
    assert "result: PASS" in result.text


@pytest.mark.parametrize("name", sorted(CHALLENGES))
def test_starter_fails_with_a_shrunk_plan(name, tmp_path):
    path = tmp_path / "starter.py"
    path.write_text(starter(name))
    result = check(name, path, seeds=SEEDS)
    assert not result.passed
    assert result.failure is not None and len(result.plan) <= len(result.report.original.plan)
    assert "replay: labsim challenge check" in result.text


@pytest.mark.parametrize("name", sorted(TYPICAL))
def test_typical_wrong_solution_fails_with_at_most_three_faults(name):
    result = check(name, WRONG / TYPICAL[name], seeds=SEEDS)
    assert not result.passed, result.text
    assert len(result.plan) <= 3
    assert result.failure.broken


@pytest.mark.parametrize("name", ["idempotent-consumer", "outbox-relay"])
def test_shrinking_is_minimal(name):
    result = check(name, WRONG / TYPICAL[name], seeds=SEEDS)
    case = result.failure
    assert len(case.plan) >= 1
    cls = load_class(get(name), WRONG / TYPICAL[name])
    for i in range(len(case.plan)):
        fewer = FaultPlan(case.plan.faults[:i] + case.plan.faults[i + 1 :])
        again = run_case(get(name), cls, case.seed, fewer, case.size)
        assert case.broken[0] not in again.broken


def test_replay_of_the_shrunk_case_fails_the_same_way(tmp_path):
    result = check("idempotent-consumer", WRONG / TYPICAL["idempotent-consumer"], seeds=SEEDS)
    case = result.failure
    plan_file = tmp_path / "plan.yaml"
    case.plan.save(plan_file)
    replay = check(
        "idempotent-consumer",
        WRONG / TYPICAL["idempotent-consumer"],
        seed=case.seed,
        plan=FaultPlan.load(plan_file),
        messages=case.size,
    )
    assert not replay.passed
    assert replay.failure.outcome.figures == case.outcome.figures


def test_exhaustive_crash_points_find_an_in_memory_dedupe_set():
    result = check("idempotent-consumer", WRONG / "consumer_memory_set.py", exhaustive=True)
    assert not result.passed
    assert result.report.mode == "exhaustive"
    assert [f.kind for f in result.plan] == ["crash"]
    ok = check("idempotent-consumer", SOLUTIONS / "idempotent-consumer.py", exhaustive=True)
    assert ok.passed and ok.report.runs > 20


def test_cart_laws_are_checked_with_hypothesis(tmp_path):
    path = tmp_path / "sum.py"
    path.write_text(
        (WRONG / "cart_max_merge.py")
        .read_text()
        .replace("max(self.q.get(k, 0), other.q.get(k, 0))", "self.q.get(k, 0) + other.q.get(k, 0)")
    )
    result = check("cart-crdt", path, seeds=2)
    assert not result.report.laws.valid
    assert "idempotent" in result.report.laws.summary


def test_same_file_seed_and_options_print_the_same_report():
    path = WRONG / TYPICAL["outbox-relay"]
    first = check("outbox-relay", path, seeds=SEEDS).text
    assert check("outbox-relay", path, seeds=SEEDS).text == first


def test_an_exception_is_reported_with_its_own_lines(tmp_path):
    path = tmp_path / "boom.py"
    path.write_text(
        "class Consumer:\n"
        "    def __init__(self, store):\n"
        "        self.store = store\n\n"
        "    def handle(self, message):\n"
        "        return {}[message.msg_id]\n"
    )
    result = check("idempotent-consumer", path, seeds=2)
    assert not result.passed
    assert "your class raised KeyError: 'm1'" in result.text
    assert "line 6 in handle: return {}[message.msg_id]" in result.text
    assert "t=0.0" in result.text


def test_an_endless_loop_is_stopped(tmp_path):
    path = tmp_path / "loop.py"
    path.write_text(
        "class Relay:\n"
        "    def __init__(self, outbox, broker):\n"
        "        pass\n\n"
        "    def poll(self):\n"
        "        while True:\n"
        "            pass\n"
    )
    from labsim.challenges.grade import grade

    report = grade(get("outbox-relay"), path, seeds=1, wall_limit=0.5)
    assert not report.passed
    assert "did not finish within 0.5 s" in report.error


def test_a_missing_method_is_named(tmp_path):
    path = tmp_path / "half.py"
    path.write_text("class Cart:\n    def add(self, replica, item):\n        return self\n")
    result = check("cart-crdt", path)
    assert not result.passed
    assert "class Cart has no method remove()" in result.text


def test_cli_list_starter_and_check(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["challenge", "list"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == len(CHALLENGES) and "idempotent-consumer" in out
    assert cli.main(["challenge", "starter", "outbox-relay"]) == 0
    (tmp_path / "mine.py").write_text(capsys.readouterr().out)
    assert cli.main(["challenge", "check", "outbox-relay", "mine.py", "--seeds", "2"]) == 1
    assert "--plan PLAN.yaml" in capsys.readouterr().out and (tmp_path / "PLAN.yaml").is_file()
    sol = str(SOLUTIONS / "outbox-relay.py")
    assert cli.main(["challenge", "check", "outbox-relay", sol, "--seeds", "2"]) == 0
    assert cli.main(["challenge", "check", "no-such", sol]) == 2
    assert cli.main(["challenge", "check", "outbox-relay", "missing.py"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_shrunk_case_is_drawn(tmp_path):
    result = check("idempotent-consumer", WRONG / TYPICAL["idempotent-consumer"], seeds=SEEDS)
    result.draw(tmp_path / "case.png")
    assert (tmp_path / "case.png").stat().st_size > 1000
