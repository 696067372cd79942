"""Second exercises: a right answer passes, typical wrong answers get their hint."""

import math

import pytest

from labsim.exercises import (
    QUIZZES,
    check_lww_winner,
    check_moved_partitions,
    check_pending_events,
    check_pubsub_counts,
    check_quiz,
    check_sends_needed,
    check_upcaster,
    check_utilisation,
)


def test_sends_needed():
    assert check_sends_needed(lambda p, c: math.ceil(math.log(1 - c) / math.log(p))).passed
    assert (
        "loss probability"
        in check_sends_needed(lambda p, c: math.ceil(math.log(1 - c) / math.log(1 - p))).message
    )


def test_pubsub_counts():
    assert check_pubsub_counts(lambda m, c, s: m if s == "one group" else m * c).passed
    assert (
        "swapped" in check_pubsub_counts(lambda m, c, s: m * c if s == "one group" else m).message
    )


def test_moved_partitions():
    def right(before, after):
        b = {tp: m for m, tps in before.items() for tp in tps}
        return sum(1 for m, tps in after.items() for tp in tps if tp in b and b[tp] != m)

    assert check_moved_partitions(right).passed

    def counts_new(before, after):
        b = {tp: m for m, tps in before.items() for tp in tps}
        return sum(1 for m, tps in after.items() for tp in tps if b.get(tp) != m)

    assert "new ones" in check_moved_partitions(counts_new).message


def test_upcaster():
    assert check_upcaster(lambda d: {**d, "currency": "EUR"}).passed

    def mutates(d):
        d["currency"] = "EUR"
        return d

    assert "in place" in check_upcaster(mutates).message
    assert "missing" in check_upcaster(lambda d: {"currency": "EUR"}).message


def test_pending_events_and_utilisation():
    assert check_pending_events(lambda lam, w: lam * w).passed
    assert "multiplies" in check_pending_events(lambda lam, w: lam / w).message
    assert check_utilisation(lambda lam, mu, c: lam / (c * mu)).passed
    assert "consumers" in check_utilisation(lambda lam, mu, c: lam / mu).message


def test_lww_winner():
    assert check_lww_winner(lambda ws: max(ws, key=lambda w: (w[1], w[2]))[0]).passed
    assert "arrived last" in check_lww_winner(lambda ws: ws[-1][0]).message
    assert "tie-break" in check_lww_winner(lambda ws: max(ws, key=lambda w: w[1])[0]).message


@pytest.mark.parametrize("topic", list(QUIZZES))
def test_quizzes_pass_with_right_answers_and_explain_wrong_ones(topic):
    right = {q: a for q, (a, _) in QUIZZES[topic].items()}
    assert check_quiz(topic, right).passed
    question, (_, hints) = next(iter(QUIZZES[topic].items()))
    wrong_answer = next(iter(hints))
    result = check_quiz(topic, {**right, question: wrong_answer})
    assert not result.passed and hints[wrong_answer] in result.message
    assert "no answer" in check_quiz(topic, {}).message


def test_unknown_quiz():
    assert "topics" in check_quiz("astrology", {}).message


def test_each_lessons_exercises_live_in_its_topic_module():
    from labsim.exercises import (
        brokers,
        delivery,
        design,
        eventsourcing,
        operations,
        pipeline,
        replication,
        routing,
        sagas,
        scaling,
        tour,
    )

    by_module = {
        tour: ["check_delivered_fraction", "check_sends_needed"],
        brokers: [
            "check_partition_function",
            "check_pubsub_counts",
            "check_idle_consumers",
            "check_moved_partitions",
        ],
        delivery: ["check_backoff", "check_reordered_count"],
        eventsourcing: [
            "check_balance_fold",
            "check_upcaster",
            "check_fresh_probability",
            "check_pending_events",
        ],
        sagas: ["check_compensation_plan", "check_zombies_and_ghosts"],
        replication: ["check_gcounter_merge", "check_lww_winner"],
        scaling: ["check_consumers_needed", "check_utilisation"],
        routing: ["check_topic_match"],
        pipeline: ["check_design_within_budget"],
        operations: ["check_dlq_alert", "check_incident"],
        design: ["check_causal_chain", "check_high_water", "check_schema_policies"],
    }
    for module, names in by_module.items():
        assert sorted(names) == sorted(n for n in module.__all__ if n.startswith("check_")), (
            module.__name__
        )
    assert set(QUIZZES) == {
        "semantics",
        "checkers",
        "step kinds",
        "publishing",
        "broker choice",
        "pipeline interactions",
    }
