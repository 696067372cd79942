"""CRDT laws (hypothesis) and the semantics each type promises."""

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
