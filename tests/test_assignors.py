from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsim import ConfigError
from labsim.kafka import ASSIGNORS, assign


def tp(topic, *ps):
    return [(topic, p) for p in ps]


def test_range_matches_kafka_javadoc_example():
    # RangeAssignor javadoc: C0, C1 subscribe to t0, t1, each with 3 partitions.
    subs = {"C0": ["t0", "t1"], "C1": ["t0", "t1"]}
    assert assign("range", subs, {"t0": 3, "t1": 3}) == {
        "C0": tp("t0", 0, 1) + tp("t1", 0, 1),
        "C1": tp("t0", 2) + tp("t1", 2),
    }


def test_roundrobin_matches_kafka_javadoc_examples():
    subs = {"C0": ["t0", "t1"], "C1": ["t0", "t1"]}
    assert assign("roundrobin", subs, {"t0": 3, "t1": 3}) == {
        "C0": tp("t0", 0, 2) + tp("t1", 1),
        "C1": tp("t0", 1) + tp("t1", 0, 2),
    }
    # Unequal subscriptions: t0 has 1 partition, t1 2, t2 3.
    subs = {"C0": ["t0"], "C1": ["t0", "t1"], "C2": ["t0", "t1", "t2"]}
    assert assign("roundrobin", subs, {"t0": 1, "t1": 2, "t2": 3}) == {
        "C0": tp("t0", 0),
        "C1": tp("t1", 0),
        "C2": tp("t1", 1) + tp("t2", 0, 1, 2),
    }


def test_range_spreads_extra_partitions_to_the_first_members():
    out = assign("range", {"a": ["t"], "b": ["t"], "c": ["t"]}, {"t": 7})
    assert out == {"a": tp("t", 0, 1, 2), "b": tp("t", 3, 4), "c": tp("t", 5, 6)}


@pytest.mark.parametrize("strategy", ASSIGNORS)
def test_more_consumers_than_partitions_leaves_some_idle(strategy):
    subs = {f"c{i}": ["t"] for i in range(5)}
    out = assign(strategy, subs, {"t": 3})
    assert sorted(p for ps in out.values() for p in ps) == tp("t", 0, 1, 2)
    assert sum(1 for ps in out.values() if not ps) == 2


def test_sticky_keeps_partitions_when_a_member_leaves_or_joins():
    subs = {m: ["t"] for m in "abc"}
    first = assign("sticky", subs, {"t": 9})
    after_leave = assign("sticky", {"a": ["t"], "b": ["t"]}, {"t": 9}, first)
    for m in "ab":
        assert set(first[m]) <= set(after_leave[m])  # survivors keep everything they had
    after_join = assign("sticky", {m: ["t"] for m in "abcd"}, {"t": 9}, first)
    kept = sum(len(set(first[m]) & set(after_join[m])) for m in "abc")
    assert kept == 9 - len(after_join["d"])  # only what the newcomer takes moves
    # Range, by contrast, reshuffles.
    range_after = assign("range", {m: ["t"] for m in "abcd"}, {"t": 9})
    assert sum(len(set(first[m]) & set(range_after[m])) for m in "abc") < kept


def test_cooperative_sticky_has_the_same_target_as_sticky():
    subs = {m: ["t", "u"] for m in "abc"}
    prev = assign("sticky", {"a": ["t", "u"], "b": ["t", "u"]}, {"t": 4, "u": 3})
    assert assign("cooperative-sticky", subs, {"t": 4, "u": 3}, prev) == assign(
        "sticky", subs, {"t": 4, "u": 3}, prev
    )


members = st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=6, unique=True)


@settings(max_examples=150, deadline=None)
@given(
    strategy=st.sampled_from(ASSIGNORS),
    first=members,
    second=members,
    parts=st.dictionaries(st.sampled_from(["t", "u", "v"]), st.integers(1, 12), min_size=1),
)
def test_every_partition_assigned_exactly_once_and_balanced(strategy, first, second, parts):
    topics = sorted(parts)
    prev = assign(strategy, {m: topics for m in first}, parts)
    out = assign(strategy, {m: topics for m in second}, parts, prev)
    counts = Counter(p for ps in out.values() for p in ps)
    assert set(counts) == {(t, p) for t, n in parts.items() for p in range(n)}
    assert set(counts.values()) == {1}
    assert set(out) == set(second)
    loads = [len(ps) for ps in out.values()]
    if strategy in ("sticky", "cooperative-sticky", "roundrobin"):
        assert max(loads) - min(loads) <= 1
    if strategy in ("sticky", "cooperative-sticky"):
        # Stickiness: a surviving member keeps at least min(previous, fair share) partitions.
        fair = sum(parts.values()) // len(second)
        for m in set(first) & set(second):
            assert len(set(prev[m]) & set(out[m])) >= min(len(prev[m]), fair)


@pytest.mark.parametrize(
    "args, parameter",
    [
        (("zigzag", {"a": ["t"]}, {"t": 1}), "strategy"),
        (("range", {"a": ["missing"]}, {"t": 1}), "subscriptions['a']"),
        (("range", {"a": []}, {"t": 1}), "subscriptions['a']"),
        (("range", {"a": "t"}, {"t": 1}), "subscriptions['a']"),
        (("range", {"a": ["t"]}, {"t": 0}), "partitions['t']"),
    ],
)
def test_bad_assign_input(args, parameter):
    with pytest.raises(ConfigError) as info:
        assign(*args)
    assert info.value.parameter == parameter
