import itertools

import pytest

from labsim import ConfigError
from labsim.exercises import (
    check_consumers_needed,
    check_delivered_fraction,
    check_idle_consumers,
    check_partition_function,
)
from labsim.exercises.tour import expected_delivered_fraction
from labsim.kafka import murmur2
from labsim.scenarios import network


def test_right_answer_passes():
    result = check_delivered_fraction(lambda loss, share: (1 - loss) * (1 - share * 2 / 3))
    assert result.passed
    assert str(result).startswith("✓ Correct")


@pytest.mark.parametrize(
    "answer, hint",
    [
        (lambda loss, share: None, "returns None"),
        (lambda loss, share: 1 - loss, "left out the partition"),
        (lambda loss, share: (1 - loss) * (1 - share), "other side"),
        (lambda loss, share: 1 - loss - share * 2 / 3, "multiply"),
        (lambda loss, share: 1 - (1 - loss) * (1 - share * 2 / 3), "lost, not delivered"),
        (lambda loss, share: 1 / 0, "raised"),
        (lambda loss, share: 0.5, "compare with a simulation"),
    ],
)
def test_typical_wrong_answers_fail_with_a_useful_hint(answer, hint):
    result = check_delivered_fraction(answer)
    assert not result.passed
    assert hint in result.message


def test_model_answer_agrees_with_the_simulation():
    # 10 s run, partition for 3 s: share 0.3, plus 5 % loss; 8 seeds of ~2000 messages each.
    fractions = [network.run(seed=s, loss=0.05).summary["delivered_fraction"] for s in range(8)]
    mean = sum(fractions) / len(fractions)
    assert mean == pytest.approx(expected_delivered_fraction(0.05, 0.3), abs=0.01)


def test_model_needs_an_even_node_count():
    with pytest.raises(ConfigError, match="nodes"):
        expected_delivered_fraction(0.1, 0.1, nodes=5)


def test_partition_function_exercise():
    assert check_partition_function(lambda k, n: (murmur2(k.encode()) & 0x7FFFFFFF) % n).passed
    assert "abs()" in check_partition_function(lambda k, n: abs(murmur2(k.encode())) % n).message
    assert "mask first" in check_partition_function(lambda k, n: murmur2(k.encode()) % n).message
    assert "salted" in check_partition_function(lambda k, n: hash(k) % n).message
    assert "returns None" in check_partition_function(lambda k, n: None).message


def test_idle_consumers_exercise():
    assert check_idle_consumers(lambda p, c: max(0, c - p)).passed
    assert "not negative" in check_idle_consumers(lambda p, c: c - p).message
    assert "swap" in check_idle_consumers(lambda p, c: max(0, p - c)).message


def test_consumers_needed_exercise():
    import math

    assert check_consumers_needed(lambda lam, mu, t: math.ceil(lam / (t * mu))).passed
    assert (
        "divide by the target"
        in check_consumers_needed(lambda lam, mu, t: math.ceil(lam / mu)).message
    )
    assert "round up" in check_consumers_needed(lambda lam, mu, t: int(lam / (t * mu))).message


def test_gcounter_merge_exercise():
    from labsim.exercises import check_gcounter_merge

    def right(a, b):
        return {k: max(a.get(k, 0), b.get(k, 0)) for k in set(a) | set(b)}

    assert check_gcounter_merge(right).passed
    assert (
        "idempotent"
        in check_gcounter_merge(
            lambda a, b: {k: a.get(k, 0) + b.get(k, 0) for k in set(a) | set(b)}
        ).message
    )
    assert "overwrite" in check_gcounter_merge(lambda a, b: {**a, **b}).message


def test_balance_fold_exercise():
    from labsim.exercises import check_balance_fold

    def right(events):
        sign = {"money.deposited": 1, "money.withdrawn": -1}
        return sum(sign.get(e.event_type, 0) * e.data.get("amount", 0) for e in events)

    assert check_balance_fold(right).passed
    assert (
        "subtracted"
        in check_balance_fold(lambda events: sum(e.data.get("amount", 0) for e in events)).message
    )


def test_fresh_probability_exercise():
    from labsim.exercises import check_fresh_probability

    assert check_fresh_probability(lambda lags, t: sum(x <= t for x in lags) / len(lags)).passed
    assert (
        "stale"
        in check_fresh_probability(lambda lags, t: sum(x > t for x in lags) / len(lags)).message
    )
    assert (
        "<="
        in check_fresh_probability(lambda lags, t: sum(x < t for x in lags) / len(lags)).message
    )


def test_backoff_exercise():
    from labsim.exercises import check_backoff

    assert check_backoff(lambda a, b, c: min(c, b * 2 ** (a - 1))).passed
    assert "off by one" in check_backoff(lambda a, b, c: min(c, b * 2**a)).message
    assert "cap" in check_backoff(lambda a, b, c: b * 2 ** (a - 1)).message


def test_reordered_count_exercise():
    from labsim.exercises import check_reordered_count

    def right(seqs):
        best, n = None, 0
        for s in seqs:
            if best is not None and s < best:
                n += 1
            best = s if best is None else max(best, s)
        return n

    assert check_reordered_count(right).passed
    assert (
        "highest"
        in check_reordered_count(
            lambda seqs: sum(b < a for a, b in itertools.pairwise(seqs))
        ).message
    )


def test_compensation_plan_exercise():
    from labsim.exercises import check_compensation_plan

    def right(steps, failed):
        return [s.compensation for s in reversed(steps[:failed]) if s.compensation]

    assert check_compensation_plan(right).passed
    assert (
        "reverse"
        in check_compensation_plan(
            lambda steps, failed: [s.compensation for s in steps[:failed] if s.compensation]
        ).message
    )


def test_zombies_and_ghosts_exercise():
    from labsim.exercises import check_zombies_and_ghosts

    assert check_zombies_and_ghosts(lambda c, p: (c - p, p - c)).passed
    assert "swapped" in check_zombies_and_ghosts(lambda c, p: (p - c, c - p)).message
