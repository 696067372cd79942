"""Lesson 07's models: the commit-order gap, schema compatibility, late joiners, retention,
replay with upcasters, the boundary, and the exercise checkers (each must be able to fail)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsim import ConfigError, Event, World, causal_graph
from labsim.dists import Exponential
from labsim.eventsourcing import InMemoryEventStore, Order, Repository, replay
from labsim.eventsourcing.backfill import ORDER_UPCASTERS, RevenueByMonth, year_of_orders
from labsim.eventsourcing.boundary import PUBLIC_FIELDS, to_integration
from labsim.eventsourcing.gap import (
    CommitLog,
    GapTimeoutReader,
    HighWaterReader,
    NaiveReader,
    make_reader,
    missed_events,
    simulate,
)
from labsim.eventsourcing.retention import late_joiner, store_growth
from labsim.eventsourcing.schema import (
    EVOLUTIONS,
    POLICIES,
    Field,
    Schema,
    SchemaError,
    allowed,
    can_read,
    compatibility,
)
from labsim.exercises import check_causal_chain, check_high_water, check_schema_policies
from labsim.scenarios import SCENARIOS, event_design

# -- the commit-order gap -------------------------------------------------------------------


def test_naive_reader_skips_a_late_commit_and_the_high_water_reader_does_not():
    log = CommitLog()
    naive, fixed = NaiveReader(), HighWaterReader()
    a, b = log.begin(), log.begin()  # positions 1 and 2 in flight
    log.commit(b)  # 2 becomes visible first
    assert [e.position for e in naive.poll(log)] == [2]
    assert fixed.poll(log) == []  # 1 is still in flight: the mark is 0
    log.commit(a)
    assert naive.poll(log) == []  # 1 is behind its checkpoint: skipped for ever
    assert [e.position for e in fixed.poll(log)] == [1, 2]


def test_under_concurrent_writers_the_naive_reader_misses_events_and_the_fixed_one_none():
    world = World(3)
    simulate(
        world, writers=4, events=300, rate=100.0, commit_time=Exponential.from_mean(0.02), poll=0.01
    )
    world.run(until=6.0)
    frames = world.frames()
    table = missed_events(frames["gap.commits"], frames["gap.applied"]).set_index("reader")
    assert table.loc["naive", "committed"] == 300
    assert table.loc["naive", "missed"] > 0
    assert table.loc["high-water mark", "missed"] == 0
    assert (table["duplicates"] == 0).all()


def test_a_single_writer_has_no_gap_so_even_the_naive_reader_misses_nothing():
    world = World(3)
    simulate(
        world, writers=1, events=100, rate=50.0, commit_time=Exponential.from_mean(0.02), poll=0.01
    )
    world.run(until=6.0)
    frames = world.frames()
    table = missed_events(frames["gap.commits"], frames["gap.applied"]).set_index("reader")
    assert (table["missed"] == 0).all()


def test_a_gap_timeout_shorter_than_slow_commits_skips_them():
    log = CommitLog()
    reader = GapTimeoutReader(timeout=0.1)
    slow, fast = log.begin(), log.begin()
    log.commit(fast)
    assert reader.poll(log, now=0.0) == []  # waits at the hole
    assert [e.position for e in reader.poll(log, now=0.2)] == [2]  # gave the hole up
    log.commit(slow)
    assert reader.poll(log, now=0.3) == []  # position 1 is lost to this reader


def test_aborted_transactions_do_not_block_the_high_water_mark():
    log = CommitLog()
    a, b = log.begin(), log.begin()
    log.abort(a)
    log.commit(b)
    assert log.high_water == 2
    assert [e.position for e in HighWaterReader().poll(log)] == [2]


def test_commit_log_refuses_ending_a_transaction_twice_and_unknown_readers():
    log = CommitLog()
    p = log.begin()
    log.commit(p)
    with pytest.raises(ConfigError, match="position"):
        log.commit(p)
    with pytest.raises(ConfigError, match="reader"):
        make_reader("optimistic")


# Operations on the log: begin, end the oldest/newest open transaction, abort, poll.
_OPS = st.lists(
    st.sampled_from(["begin", "commit-new", "commit-old", "abort", "poll"]), max_size=80
)


@settings(max_examples=200, deadline=None)
@given(_OPS)
def test_high_water_reader_never_skips_and_never_repeats_under_any_interleaving(ops):
    log = CommitLog()
    reader = HighWaterReader()
    applied: list[int] = []
    for op in ops:
        open_ = sorted(log.in_flight)
        if op == "begin":
            log.begin()
        elif op == "commit-new" and open_:
            log.commit(open_[-1])
        elif op == "commit-old" and open_:
            log.commit(open_[0])
        elif op == "abort" and open_:
            log.abort(open_[0])
        elif op == "poll":
            applied += [e.position for e in reader.poll(log)]
    for p in sorted(log.in_flight):
        log.commit(p)
    applied += [e.position for e in reader.poll(log)]
    assert applied == sorted(log.visible)  # every committed event, once, in order


@settings(max_examples=100, deadline=None)
@given(_OPS)
def test_the_naive_reader_only_ever_loses_events_never_repeats_them(ops):
    log = CommitLog()
    reader = NaiveReader()
    applied: list[int] = []
    for op in ops:
        open_ = sorted(log.in_flight)
        if op == "begin":
            log.begin()
        elif op.startswith("commit") and open_:
            log.commit(open_[-1] if op == "commit-new" else open_[0])
        elif op == "poll":
            applied += [e.position for e in reader.poll(log)]
    assert applied == sorted(set(applied))
    assert set(applied) <= set(log.visible)


# -- the scenarios --------------------------------------------------------------------------


def test_commit_gap_scenario_summary_is_a_pure_function_of_its_frames():
    result = event_design.run(seed=2, events=200)
    assert result.summary["naive_missed"] > 0
    assert result.summary["high_water_missed"] == 0
    assert event_design.SCENARIO.summarize(result.params, result.frames) == result.summary
    assert event_design.run(seed=2, events=200).summary == result.summary  # same seed


def test_commit_gap_scenario_rejects_bad_input():
    with pytest.raises(ConfigError, match="writers"):
        event_design.run(writers=0)


def _same(a, b):
    return all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_rolling_deploy_dead_letters_exactly_when_the_upgrade_order_breaks_the_policy():
    dead = {
        (change, order): event_design.run_deploy(change, 1, order=order).summary["dead_lettered"]
        for change in POLICIES
        for order in event_design.ORDERS
    }
    assert dead[("full", "consumers first")] == dead[("full", "producers first")] == 0
    assert dead[("backward", "consumers first")] == 0 < dead[("backward", "producers first")]
    assert dead[("forward", "producers first")] == 0 < dead[("forward", "consumers first")]
    assert dead[("none", "consumers first")] > 0 and dead[("none", "producers first")] > 0
    assert {"commit-gap", "rolling-deploy"} <= set(SCENARIOS)


def test_rolling_deploy_summary_is_pure_and_the_matrix_is_computed_from_rows():
    runs = {}
    for change in POLICIES:
        for order in event_design.ORDERS:
            r = event_design.run_deploy(change, 0, order=order)
            assert _same(event_design.DEPLOY.summarize(r.params, r.frames), r.summary)
            runs[(change, order)] = r.frames["schema.consumed"]
    matrix = event_design.compatibility_matrix(runs)
    assert matrix.loc["full"].eq(1.0).all()
    assert matrix.loc["backward", "v2 event → v1 consumer"] == 0.0
    assert matrix.loc["backward", "v1 event → v2 consumer"] == 1.0
    assert matrix.loc["forward", "v1 event → v2 consumer"] == 0.0
    assert matrix.loc["none", ["v1 event → v2 consumer", "v2 event → v1 consumer"]].eq(0).all()


# -- schemas --------------------------------------------------------------------------------


def test_compatibility_is_computed_from_reads_and_each_evolution_is_named_by_it():
    for name, evo in EVOLUTIONS.items():
        assert evo.policy == name
        assert allowed("none", evo.v1, evo.v2)
        assert allowed(name, evo.v1, evo.v2)
    assert not allowed("full", EVOLUTIONS["backward"].v1, EVOLUTIONS["backward"].v2)
    assert not allowed("backward", EVOLUTIONS["forward"].v1, EVOLUTIONS["forward"].v2)
    with pytest.raises(ConfigError, match="policy"):
        allowed("sideways", EVOLUTIONS["full"].v1, EVOLUTIONS["full"].v2)


def test_schema_read_fills_defaults_ignores_unknown_fields_and_rejects_wrong_types():
    s = Schema("t.happened", 1, (Field("n", "int"), Field("c", "str", "EUR")))
    assert s.read({"n": 2, "extra": 1}) == {"n": 2, "c": "EUR"}
    with pytest.raises(SchemaError, match="missing"):
        s.read({"c": "USD"})
    with pytest.raises(SchemaError, match="expected int"):
        s.read({"n": "2"})
    with pytest.raises(SchemaError, match="expected int"):
        s.read({"n": True})
    assert can_read(s, s) and compatibility(s, s) == "full"


# -- fact versus delta, retention, replay, boundary -----------------------------------------


def test_a_late_joiner_gets_facts_right_from_a_compacted_log_and_deltas_wrong():
    assert late_joiner("fact", "compacted")["keys_wrong"] == 0
    assert late_joiner("delta", "whole history")["keys_wrong"] == 0
    assert late_joiner("delta", "compacted")["keys_wrong"] > 0
    assert late_joiner("delta", "retention")["keys_wrong"] > 0
    compacted = late_joiner("fact", "compacted")
    assert (
        compacted["events_read"]
        == compacted["keys"]
        < late_joiner("delta", "whole history")["events_read"]
    )
    with pytest.raises(ConfigError, match="style"):
        late_joiner("snapshot", "compacted")


def test_snapshot_plus_archive_keeps_the_hot_store_smaller_and_loses_no_event():
    keep = store_growth("keep everything", days=400)
    arch = store_growth("snapshot + archive", days=400)
    assert (keep["hot_mb"].diff().dropna() >= 0).all()
    assert arch["hot_mb"].iloc[-1] < keep["hot_mb"].iloc[-1] / 2
    # every event is somewhere: hot events + archived ones = all written
    assert (arch["hot_events"] + arch["archive_events"] == keep["hot_events"]).all()
    with pytest.raises(ConfigError, match="policy"):
        store_growth("delete old events")


def test_a_new_projection_replays_a_year_only_with_upcasters():
    store = InMemoryEventStore()
    truth = year_of_orders(store, seed=1, days=60, change_day=30)
    up = replay(store, RevenueByMonth(ORDER_UPCASTERS))
    raw = replay(store, RevenueByMonth())
    assert sum(up.state().values()) == truth and up.unreadable == 0
    assert raw.unreadable == 30 * 8 and sum(raw.state().values()) < truth
    # the stored events were not rewritten: the log still holds v1 events
    assert {e.event_version for e in store.read_all(0) if e.event_type == "order.created"} == {1, 2}


def test_integration_events_carry_only_the_contract_and_the_causal_link():
    store = InMemoryEventStore()
    repo = Repository(store, Order)
    with World(0):
        for i in range(3):
            order = Order.create(f"o{i}", "ada", [{"sku": "b", "qty": 2, "price": 5.0}])
            if i < 2:
                order.pay(10.0)
            repo.save(order)
        domain = store.read_all(0)
        public = to_integration(domain)
    assert len(public) == 2 < len(domain)
    paid = {e.event_id for e in domain if e.event_type == "order.paid"}
    for e in public:
        assert tuple(e.data) == PUBLIC_FIELDS and e.causation_id in paid
        assert e.metadata["boundary"] == "public" and e.source == "sales"


# -- exercise checkers: right answers pass, wrong ones fail with a reason -------------------


def _chain(root):
    pay = root.caused("payment.charged", {"amount": 1}, source="payments", timestamp=root.timestamp)
    return [pay, pay.caused("order.shipped", {}, source="shipping", timestamp=root.timestamp + 1)]


def test_causal_chain_checker_accepts_a_chain_and_draws_a_path():
    assert check_causal_chain(_chain)
    root = Event("order.placed", {}, event_id="r", source="orders")
    graph = causal_graph([root, *_chain(root)])
    assert graph.number_of_edges() == 2 and max(d for _, d in graph.out_degree()) == 1


def test_causal_chain_checker_explains_a_fan_a_fresh_correlation_and_a_reused_id():
    def fan(root):
        pay = root.caused("payment.charged", {}, source="payments", timestamp=root.timestamp)
        return [pay, root.caused("order.shipped", {}, source="shipping", timestamp=root.timestamp)]

    def fresh(root):
        pay = Event(
            "payment.charged",
            {},
            causation_id=root.event_id,
            source="payments",
            timestamp=root.timestamp,
        )
        return [pay, pay.caused("order.shipped", {}, source="shipping", timestamp=root.timestamp)]

    def same_id(root):
        pay = root.caused("payment.charged", {}, source="payments", timestamp=root.timestamp)
        return [pay, pay.evolve(event_type="order.shipped", causation_id=pay.event_id)]

    cases = [(fan, "fan, not a chain"), (fresh, "correlation"), (same_id, "share an event_id")]
    for build, hint in cases:
        result = check_causal_chain(build)
        assert not result and hint in result.message
    assert "None" in check_causal_chain(lambda root: None).message
    assert (
        "timestamp"
        in check_causal_chain(lambda r: [e.evolve(timestamp=0.0) for e in _chain(r)]).message
    )


def test_high_water_checker():
    assert check_high_water(lambda a, f: min(f) - 1 if f else a)
    naive = check_high_water(lambda a, f: a)
    assert not naive and "naive" in naive.message
    off = check_high_water(lambda a, f: min(f) if f else a)
    assert not off and "off by one" in off.message


def test_schema_policy_checker_computes_its_answers():
    right = {e.change: name for name, e in EVOLUTIONS.items()}
    assert check_schema_policies(right)
    wrong = {**right, EVOLUTIONS["backward"].change: "full"}
    result = check_schema_policies(wrong)
    assert not result and "v1 consumer cannot read" in result.message
    assert not check_schema_policies({})


# -- laws -----------------------------------------------------------------------------------

_FIELD = st.builds(
    Field,
    st.sampled_from(["a", "b", "c", "d"]),
    st.sampled_from(["int", "str"]),
)
_OPTIONAL = st.sampled_from(["a", "b", "c", "d"]).map(lambda n: Field(n, "int", 0))
_SCHEMA = st.lists(st.one_of(_FIELD, _OPTIONAL), max_size=4, unique_by=lambda f: f.name).map(
    lambda fs: Schema("t.happened", 1, tuple(fs))
)
_DUAL = {"full": "full", "none": "none", "backward": "forward", "forward": "backward"}


@settings(max_examples=200, deadline=None)
@given(_SCHEMA, _SCHEMA)
def test_backward_one_way_is_forward_the_other_way(old, new):
    assert compatibility(new, old) == _DUAL[compatibility(old, new)]
    if allowed("full", old, new):
        assert can_read(old, new) and can_read(new, old)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 30), st.integers(1, 300))
def test_facts_on_a_compacted_log_and_deltas_with_the_whole_history_are_always_right(
    seed, keys, changes
):
    assert (
        late_joiner("fact", "compacted", keys=keys, changes=changes, seed=seed)["keys_wrong"] == 0
    )
    assert (
        late_joiner("delta", "whole history", keys=keys, changes=changes, seed=seed)["keys_wrong"]
        == 0
    )


def test_rolling_deploy_rejects_unknown_changes_and_orders():
    with pytest.raises(ConfigError, match="change"):
        event_design.run_deploy("sideways")
    with pytest.raises(ConfigError, match="order"):
        event_design.run_deploy(order="all at once")


def test_rolling_deploy_records_every_upgrade_and_dead_letters_only_while_versions_mix():
    r = event_design.run_deploy("backward", 0, order="producers first")
    ups, rows = r.frames["schema.upgrades"], r.frames["schema.consumed"]
    assert sorted(ups["instance"]) == ["c1", "c2", "c3", "p1", "p2", "p3"]
    dead = rows[rows["outcome"] == "dead-letter"]
    assert dead["time"].min() >= ups.loc[ups["side"] == "producer", "time"].min()
    assert dead["time"].max() < ups.loc[ups["side"] == "consumer", "time"].max()
