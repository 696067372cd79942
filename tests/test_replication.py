import pandas as pd
import pytest

from labsim import ConfigError, Network, World
from labsim.checks import check_convergence, check_lost_updates, time_to_converge
from labsim.replication import HybridClock, LamportClock, ReplicatedStore
from labsim.scenarios import conflicts


def test_lamport_clock_ticks_and_jumps_past_received_times():
    clock = LamportClock()
    assert [clock.tick(), clock.tick()] == [1, 2]
    assert clock.observe(10) == 11
    assert clock.observe(3) == 12
    with pytest.raises(ConfigError, match="received"):
        clock.observe(-1)


def test_hybrid_clock_never_runs_backwards_and_respects_causality_under_skew():
    physical = {"a": 100.0, "b": 50.0}  # b's clock is 50 s behind
    a = HybridClock(lambda: physical["a"])
    b = HybridClock(lambda: physical["b"])
    sent = a.now()
    received = b.observe(sent)
    assert received > sent  # the receive is ordered after the send despite b's slow clock
    later = b.now()
    assert later > received
    physical["a"] = 99.0  # a's clock steps backwards
    assert a.now() > sent
    with pytest.raises(ConfigError, match="received"):
        b.observe(5)


def make_store(policy="lww-physical", **kwargs):
    world = World(1)
    net = Network(world, ["r1", "r2", "r3"], latency=0.001)
    return world, net, ReplicatedStore(world, net, ["r1", "r2", "r3"], policy=policy, **kwargs)


def test_gossip_makes_replicas_converge():
    world, _, store = make_store("crdt", gossip_interval=0.1)
    store.add_item("r1", "cart", "a")
    store.add_item("r2", "cart", "b")
    assert store.distinct_states() == 3
    world.run(until=2)
    assert store.distinct_states() == 1
    assert store.read("r3", "cart") == {"a", "b"}


def test_concurrent_writes_lww_loses_one_version_vectors_keep_siblings():
    world, _, lww = make_store("lww-hlc")
    lww.write("r1", "k", "x")
    lww.write("r2", "k", "y")
    world.run(until=2)
    assert lww.read("r3", "k") in {"x", "y"}
    world, _, vv = make_store("version-vectors")
    vv.write("r1", "k", "x")
    vv.write("r2", "k", "y")
    world.run(until=2)
    assert vv.read("r3", "k") == {"x", "y"}
    assert vv.max_siblings() == 2
    vv.write("r3", "k", "resolved")  # a write with context supersedes both siblings
    world.run(until=4)
    assert vv.read("r1", "k") == {"resolved"}


def test_blind_writes_pile_up_siblings():
    _, _, vv = make_store("version-vectors")
    for i in range(5):
        vv.write("r1", "k", i, blind=True)
    assert vv.max_siblings() == 5


def test_lww_by_physical_clock_loses_more_writes_as_skew_grows_hlc_does_not():
    def lost(policy, skew):
        return sum(
            conflicts.run(seed=s, policy=policy, skew=skew, write_gap=1.0, writes=40).summary[
                "lost_updates"
            ]
            for s in range(3)
        )

    physical = [lost("lww-physical", skew) for skew in (0.0, 1.0, 4.0)]
    hlc = [lost("lww-hlc", skew) for skew in (0.0, 1.0, 4.0)]
    assert physical[0] < physical[1] < physical[2]
    assert hlc[0] == hlc[1] == hlc[2]  # HLC ignores skew: only true concurrency loses


@pytest.mark.parametrize("policy, resolver", [("crdt", "union"), ("version-vectors", "union")])
def test_crdt_and_union_merge_lose_nothing_and_converge_after_a_partition(policy, resolver):
    r = conflicts.run(
        seed=2, policy=policy, resolver=resolver, partition_start=3.0, partition_end=12.0
    )
    assert r.summary["lost_updates"] == 0
    assert r.summary["converged"]
    assert r.summary["final_items"] == r.params.writes


def test_pick_one_resolution_loses_updates():
    r = conflicts.run(seed=2, policy="version-vectors", resolver="pick-one")
    assert r.summary["lost_updates"] > 0


def test_convergence_checker_fails_when_replicas_end_diverged():
    diverged = pd.DataFrame({"time": [0.0, 1.0, 2.0, 3.0], "distinct_states": [3, 2, 1, 2]})
    result = check_convergence(diverged, quiet_from=1.0)
    assert not result.valid
    assert result.anomalies["time"].tolist() == [1.0, 3.0]
    healed = diverged.assign(distinct_states=[3, 2, 2, 1])
    assert check_convergence(healed, quiet_from=1.0).valid
    assert time_to_converge(healed, 1.0) == 2.0


def test_lost_update_checker_fails_on_a_missing_acknowledged_item():
    writes = pd.DataFrame({"key": ["cart"] * 3, "item": ["a", "b", "c"]})
    result = check_lost_updates(writes, {"cart": {"a", "c"}})
    assert not result.valid
    assert result.anomalies["item"].tolist() == ["b"]
    assert check_lost_updates(writes, {"cart": {"a", "b", "c"}}).valid


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"policy": "newest"}, "policy"),
        ({"gossip_interval": -1}, "gossip_interval"),
        ({"gossip_interval": 0}, "gossip_interval"),
        ({"fanout": 3}, "fanout"),
        ({"fanout": 0}, "fanout"),
        ({"resolver": "coin"}, "resolver"),
    ],
)
def test_bad_store_settings(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        make_store(**kwargs)
    assert info.value.parameter == parameter


def test_wrong_operation_for_the_policy_is_named():
    _, _, store = make_store("crdt")
    with pytest.raises(ConfigError, match="register policy"):
        store.write("r1", "k", 1)
    _, _, lww = make_store("lww-hlc")
    with pytest.raises(ConfigError, match="crdt"):
        lww.update("r1", "k", lambda s: s)
    with pytest.raises(ConfigError, match="replica"):
        lww.read("r9", "k")


def test_record_state_writes_each_replicas_value_and_metadata_as_rows():
    world, _, vv = make_store("version-vectors")
    vv.write("r1", "k", "x", item="x")
    vv.write("r2", "k", "y", blind=True, item="y")
    vv.record_state()
    state = world.frame("replica_state")
    assert list(state["replica"]) == ["r1", "r2"]
    assert list(state["value"]) == [frozenset({"x"}), frozenset({"y"})]
    assert (state["metadata_size"] > 0).all()
    assert list(world.frame("writes")["item"]) == ["x", "y"]
