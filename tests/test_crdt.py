"""CRDT laws (hypothesis) and the semantics each type promises."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsim import ConfigError
from labsim.replication.crdt import (
    GCounter,
    GSet,
    LWWRegister,
    MVRegister,
    ORSet,
    PNCounter,
    TwoPSet,
    VersionVector,
)

REPLICAS = ["r1", "r2", "r3"]
ELEMENTS = ["a", "b", "c"]

replica = st.sampled_from(REPLICAS)
element = st.sampled_from(ELEMENTS)


def op_strategy(kind):
    if kind is GCounter:
        return st.tuples(st.just("increment"), replica, st.integers(0, 5))
    if kind is PNCounter:
        return st.tuples(st.sampled_from(["increment", "decrement"]), replica, st.integers(0, 5))
    if kind is GSet:
        return st.tuples(st.just("add"), element)
    if kind is TwoPSet:
        return st.tuples(st.sampled_from(["add", "remove"]), element)
    if kind is LWWRegister:
        return st.tuples(st.just("assign"), element, st.integers(0, 20), replica)
    if kind is MVRegister:
        return st.tuples(st.just("assign"), element, replica)
    return st.one_of(
        st.tuples(st.just("add"), element, replica), st.tuples(st.just("remove"), element)
    )


def apply(state, ops):
    for name, *args in ops:
        state = getattr(state, name)(*args)
    return state


KINDS = [GCounter, PNCounter, GSet, TwoPSet, LWWRegister, MVRegister, ORSet]


@st.composite
def states(draw, kind):
    """A state reached by operations at several replicas and some merges between them."""
    replicas = [apply(kind(), draw(st.lists(op_strategy(kind), max_size=6))) for _ in range(3)]
    for _ in range(draw(st.integers(0, 3))):
        i, j = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        replicas[i] = apply(
            replicas[i].merge(replicas[j]), draw(st.lists(op_strategy(kind), max_size=3))
        )
    return replicas[draw(st.integers(0, 2))]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_merge_is_commutative_associative_idempotent(kind, data):
    a, b, c = (data.draw(states(kind)) for _ in range(3))
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert a.merge(a) == a
    assert a.merge(b).value == b.merge(a).value


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_replicas_converge_under_any_delivery_order_duplication_and_loss(kind, data):
    # Each replica applies its own operations, then gossips its state as messages that may
    # arrive in any order, twice, or be lost and retransmitted later.
    final = [apply(kind(), data.draw(st.lists(op_strategy(kind), max_size=8))) for _ in REPLICAS]
    messages = [(src, dst) for src in range(3) for dst in range(3) if src != dst]
    deliveries = data.draw(st.lists(st.sampled_from(messages), max_size=12))  # dup + reorder
    held = list(final)
    for src, dst in deliveries:
        held[dst] = held[dst].merge(final[src])
    # Retransmission after heal: every message that was lost is finally delivered.
    order = data.draw(st.permutations(messages))
    for src, dst in order:
        held[dst] = held[dst].merge(final[src])
    everything = final[0].merge(final[1]).merge(final[2])
    assert held[0] == held[1] == held[2] == everything


def test_operations_return_new_objects_with_value_semantics():
    a = GCounter()
    b = a.increment("r1")
    assert a.value == 0 and b.value == 1 and a != b
    assert GCounter().increment("r1", 2) == GCounter().increment("r1").increment("r1")
    assert hash(b) == hash(GCounter().increment("r1"))


def test_counters():
    r1 = PNCounter().increment("r1", 5).decrement("r1", 2)
    r2 = PNCounter().increment("r2", 1)
    assert r1.merge(r2).value == 4
    g = GCounter().increment("r1", 3)
    assert g.merge(GCounter().increment("r1", 1)).value == 3  # max per replica, not a sum
    with pytest.raises(ConfigError, match="amount"):
        GCounter().increment("r1", -1)


def test_two_phase_set_removal_is_final_gset_never_removes():
    s = TwoPSet().add("x").remove("x").add("x")
    assert s.value == frozenset()
    g = GSet().add("x").merge(GSet().add("y"))
    assert g.value == {"x", "y"}
    assert not hasattr(g, "remove")


def test_or_set_add_wins_over_concurrent_remove_and_re_add_works():
    base = ORSet().add("milk", "r1")
    removed_at_r1 = base.remove("milk")
    re_added_at_r2 = base.add("milk", "r2")
    assert removed_at_r1.merge(re_added_at_r2).value == {"milk"}
    assert base.remove("milk").add("milk", "r1").value == {"milk"}  # unlike a 2P-set
    # A remove that has seen the add wins.
    assert base.merge(removed_at_r1).value == frozenset()


def test_lww_register_keeps_the_greatest_timestamp_and_breaks_ties_by_replica():
    a = LWWRegister().assign("old", 1.0, "r1").assign("new", 2.0, "r2")
    assert a.value == "new"
    assert a.assign("late", 1.5, "r3").value == "new"  # the older stamp loses silently
    tie_r1 = LWWRegister().assign("x", 5.0, "r1")
    tie_r2 = LWWRegister().assign("y", 5.0, "r2")
    assert tie_r1.merge(tie_r2).value == tie_r2.merge(tie_r1).value == "y"


def test_mv_register_keeps_concurrent_writes_as_siblings():
    a = MVRegister().assign("red", "r1")
    b = MVRegister().assign("blue", "r2")
    both = a.merge(b)
    assert both.value == {"red", "blue"}
    resolved = both.assign("purple", "r1")
    assert resolved.value == {"purple"}
    assert resolved.merge(a).merge(b).value == {"purple"}  # it has seen both siblings


@pytest.mark.parametrize(
    "a, b", [(GCounter(), PNCounter()), (ORSet(), GSet()), (LWWRegister(), MVRegister())]
)
def test_merging_different_types_is_a_clear_error(a, b):
    with pytest.raises(ConfigError, match=type(a).__name__):
        a.merge(b)


@pytest.mark.parametrize(
    "bad", [math.nan, float("nan"), np.float64("nan"), math.inf, (1.0, math.nan)]
)
def test_lww_register_refuses_nan_and_infinite_timestamps(bad):
    # Before: a NaN stamp was accepted and merge depended on the argument order.
    with pytest.raises(ConfigError) as info:
        LWWRegister().assign("x", bad, "r1")
    assert info.value.parameter == "timestamp" and "LWWRegister.assign" in str(info.value)
    with pytest.raises(ConfigError, match="timestamp"):
        LWWRegister("x", bad, "r1")  # built directly, too


@pytest.mark.parametrize(
    "first, second",
    [
        (1.0, (1.0, 0)),
        ((1.0, 0), 2),
        ((1.0, 0), (1.0, 0, 0)),
    ],
)
def test_lww_register_refuses_mixed_timestamp_kinds(first, second):
    a = LWWRegister().assign("a", first, "r1")
    b = LWWRegister().assign("b", second, "r2")
    for x, y in ((a, b), (b, a)):
        with pytest.raises(ConfigError) as info:
            x.merge(y)
        assert info.value.parameter == "timestamp" and "LWWRegister.merge" in str(info.value)
    with pytest.raises(ConfigError, match=r"LWWRegister\.assign"):
        a.assign("c", second, "r3")


@pytest.mark.parametrize("bad", ["5", None, True, [1, 2], (), ("a", 1), (True, 1)])
def test_lww_register_refuses_timestamps_that_are_not_numbers_or_tuples_of_numbers(bad):
    with pytest.raises(ConfigError, match=r"LWWRegister.assign: timestamp="):
        LWWRegister().assign("x", bad, "r1")


def test_lww_register_takes_numpy_stamps_as_python_numbers():
    reg = LWWRegister().assign("x", np.float32(1.5), np.int64(3))
    assert reg.timestamp == 1.5 and type(reg.timestamp) is float
    assert reg.replica == 3 and type(reg.replica) is int
    hlc = LWWRegister().assign("y", (np.float64(2.0), np.int64(1)), "r1")
    assert hlc.timestamp == (2.0, 1) and type(hlc.timestamp[1]) is int
    assert hlc.merge(LWWRegister().assign("z", (2.0, 2), "r2")).value == "z"
    assert (
        LWWRegister().assign("i", 3, "r1").merge(LWWRegister().assign("f", 2.5, "r2")).value == "i"
    )


def test_pn_counter_decrement_errors_name_decrement():
    # Before: the message said GCounter.increment.
    with pytest.raises(ConfigError) as info:
        PNCounter().decrement("r1", -2)
    assert "PNCounter.decrement" in str(info.value) and "increment" not in str(info.value)
    with pytest.raises(ConfigError, match=r"PNCounter\.increment"):
        PNCounter().increment("r1", -2)


OPERATIONS = {
    "GCounter.increment": lambda replica, amount: GCounter().increment(replica, amount),
    "PNCounter.increment": lambda replica, amount: PNCounter().increment(replica, amount),
    "PNCounter.decrement": lambda replica, amount: PNCounter().decrement(replica, amount),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize(
    "amount", [-1, np.int64(-1), math.nan, 1.5, 2.0, True, np.bool_(True), "2", None]
)
def test_counter_operations_refuse_bad_amounts_naming_the_operation(operation, amount):
    with pytest.raises(ConfigError) as info:
        OPERATIONS[operation]("r1", amount)
    assert info.value.parameter == "amount"
    assert str(info.value).startswith(operation + ":")


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_counter_operations_take_numpy_amounts(operation):
    state = OPERATIONS[operation]("r1", np.int64(3))
    assert abs(state.value) == 3 and type(abs(state.value)) is int
    assert state == OPERATIONS[operation]("r1", 3)


REPLICA_OPERATIONS = {
    "GCounter.increment": lambda r: GCounter().increment(r),
    "PNCounter.increment": lambda r: PNCounter().increment(r),
    "PNCounter.decrement": lambda r: PNCounter().decrement(r),
    "LWWRegister.assign": lambda r: LWWRegister().assign("v", 1.0, r),
    "MVRegister.assign": lambda r: MVRegister().assign("v", r),
    "ORSet.add": lambda r: ORSet().add("milk", r),
    "VersionVector.increment": lambda r: VersionVector().increment(r),
}


@pytest.mark.parametrize("operation", sorted(REPLICA_OPERATIONS))
@pytest.mark.parametrize("replica", [None, "", True, 1.5, math.nan, ["r1"], ("r", 1)])
def test_operations_refuse_bad_replica_ids_naming_the_operation(operation, replica):
    with pytest.raises(ConfigError) as info:
        REPLICA_OPERATIONS[operation](replica)
    assert info.value.parameter == "replica"
    assert str(info.value).startswith(operation + ":")


@pytest.mark.parametrize(
    "operation, call",
    [
        ("GSet.add", lambda e: GSet().add(e)),
        ("TwoPSet.add", lambda e: TwoPSet().add(e)),
        ("TwoPSet.remove", lambda e: TwoPSet().remove(e)),
        ("ORSet.add", lambda e: ORSet().add(e, "r1")),
        ("ORSet.remove", lambda e: ORSet().remove(e)),
        ("MVRegister.assign", lambda e: MVRegister().assign(e, "r1")),
    ],
)
@pytest.mark.parametrize("element", [["a"], {"a": 1}, {"a"}, math.nan])
def test_set_elements_and_mv_values_must_be_hashable_and_equal_to_themselves(
    operation, call, element
):
    # Before: a list raised a bare TypeError ("unhashable type") and NaN was added for good.
    with pytest.raises(ConfigError) as info:
        call(element)
    assert str(info.value).startswith(operation + ":")


def test_version_vector_of_checks_its_counts():
    assert VersionVector.of({"r1": np.int64(2)}).get("r1") == 2
    with pytest.raises(ConfigError, match=r"VersionVector\.of"):
        VersionVector.of({"r1": -1})
    with pytest.raises(ConfigError, match=r"VersionVector\.of"):
        VersionVector.of([("r1", 1)])
    with pytest.raises(ConfigError, match=r"VersionVector\.merge"):
        VersionVector().merge({"r1": 1})
