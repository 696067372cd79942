import pytest

from labsim import ConfigError, Constant, Fault, FaultPlan, Network, World, chaos
from labsim.faults import FAULT_KINDS, fault_intervals


def network(world, nodes=("a", "b", "c")):
    return Network(world, list(nodes), latency=Constant(0.01))


def test_plan_applies_and_undoes_every_reversible_kind():
    world = World()
    net = network(world)
    plan = FaultPlan(
        (
            Fault(1, "partition", 2, groups=(("a",), ("b", "c"))),
            Fault(1, "one-way-partition", 2, nodes=("b", "c")),
            Fault(1, "slow-link", 2, nodes=("a", "b"), value=5),
            Fault(1, "loss", 2, value=0.5),
            Fault(1, "duplication", 2, nodes=("c",), value=0.25),
            Fault(1, "crash", 2, nodes=("c",)),
            Fault(1, "clock-skew", 2, nodes=("a",), value=0.3),
        )
    )
    plan.apply(net)
    world.run(until=1.5)
    assert net.is_blocked("a", "b") and net.is_blocked("b", "c") and not net.is_blocked("c", "b")
    assert net.link("a", "b").slow == 5 and net.link("b", "a").slow == 5
    assert net.link("a", "c").loss == 0.5
    assert net.link("c", "b").duplicate == 0.25 and net.link("a", "b").duplicate == 0
    assert not net.nodes["c"].up
    assert net.node("a").clock() == pytest.approx(1.8)
    world.run(until=3)
    assert not any(net.is_blocked(a, b) for a, b in net.links)
    assert all(lk.slow == 1 and lk.loss == 0 and lk.duplicate == 0 for lk in net.links.values())
    assert net.nodes["c"].up
    assert net.node("a").clock() == 3
    faults = world.frame("faults")
    assert (faults["action"] == "start").sum() == 7 and (faults["action"] == "end").sum() == 7


def test_heal_and_restart_kinds():
    world = World()
    net = network(world)
    FaultPlan(
        (
            Fault(1, "partition", groups=(("a",),)),
            Fault(1, "crash", nodes=("b",)),
            Fault(2, "heal"),
            Fault(2, "restart", nodes=("b",)),
        )
    ).apply(net)
    world.run(until=1.5)
    assert net.is_blocked("a", "b") and not net.nodes["b"].up
    world.run(until=3)
    assert not net.is_blocked("a", "b") and net.nodes["b"].up


def test_plan_prints_as_a_table_and_round_trips_through_yaml(tmp_path):
    plan = FaultPlan(
        (
            Fault(5, "crash", 9, nodes=("b",)),
            Fault(1, "partition", 4, groups=(("a",), ("b", "c"))),
            Fault(2, "loss", 3, nodes=("a", "b"), value=0.2),
        )
    )
    text = str(plan)
    assert (
        "partition" in text and "a | b,c" in text and text.index("partition") < text.index("crash")
    )
    assert list(plan.to_frame()["at"]) == [1, 2, 5]
    path = tmp_path / "plan.yaml"
    plan.save(path)
    assert FaultPlan.load(path) == plan
    assert plan.heal_time == 9


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"at": 1, "kind": "meteor"}, "kind"),
        ({"at": -1, "kind": "heal"}, "at"),
        ({"at": 5, "kind": "crash", "until": 4, "nodes": ("a",)}, "until"),
        ({"at": 5, "kind": "crash", "until": 5, "nodes": ("a",)}, "until"),
        ({"at": 1, "kind": "heal", "until": 2}, "until"),
        ({"at": 1, "kind": "loss", "value": 1.5}, "value"),
        ({"at": 1, "kind": "slow-link", "value": 0}, "value"),
        ({"at": 1, "kind": "crash"}, "nodes"),
        ({"at": 1, "kind": "partition"}, "groups"),
        ({"at": 1, "kind": "clock-skew", "nodes": ("a",)}, "value"),
    ],
)
def test_bad_faults(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        Fault(**kwargs)
    assert info.value.parameter == parameter


def test_unknown_node_in_a_plan_is_named_when_applied():
    world = World()
    plan = FaultPlan((Fault(1, "crash", nodes=("ghost",)),))
    with pytest.raises(ConfigError, match="ghost"):
        plan.apply(network(world))


def test_malformed_yaml_names_file_and_line(tmp_path):
    bad_syntax = tmp_path / "syntax.yaml"
    bad_syntax.write_text("- at: 1\n  kind: crash\n  nodes: [a\n")
    with pytest.raises(ConfigError, match=r"syntax\.yaml, line \d"):
        FaultPlan.load(bad_syntax)
    bad_kind = tmp_path / "kind.yaml"
    bad_kind.write_text("- at: 1\n  kind: heal\n- at: 2\n  kind: meteor\n")
    with pytest.raises(ConfigError, match=r"kind\.yaml, line 3") as info:
        FaultPlan.load(bad_kind)
    assert "meteor" in str(info.value)
    bad_key = tmp_path / "key.yaml"
    bad_key.write_text("- at: 1\n  kind: heal\n  when: now\n")
    with pytest.raises(ConfigError, match=r"key\.yaml, line 1.*|when"):
        FaultPlan.load(bad_key)
    not_a_list = tmp_path / "map.yaml"
    not_a_list.write_text("at: 1\n")
    with pytest.raises(ConfigError, match="list"):
        FaultPlan.load(not_a_list)


def test_chaos_is_seeded_and_heals_before_the_end():
    nodes = ["a", "b", "c", "d"]
    kinds = [k for k in FAULT_KINDS if k not in ("heal", "restart")]
    plan = chaos(3, 100, kinds, intensity=1.0, nodes=nodes, protect=["a"])
    assert plan == chaos(3, 100, kinds, intensity=1.0, nodes=nodes, protect=["a"])
    assert plan != chaos(4, 100, kinds, intensity=1.0, nodes=nodes, protect=["a"])
    assert len(plan) > 3
    assert plan.heal_time <= 70 + 1e-9
    assert plan.faults[-1].kind == "heal"
    assert all(f.nodes != ("a",) for f in plan if f.kind == "crash")
    # Applying it leaves a healthy network after the heal phase.
    world = World()
    net = network(world, nodes)
    plan.apply(net)
    world.run(until=100)
    assert all(n.up for n in net.nodes.values())
    assert not any(net.is_blocked(a, b) for a, b in net.links)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"duration": 0}, "duration"),
        ({"duration": 10, "intensity": -1}, "intensity"),
        ({"duration": 10, "kinds": ["meteor"]}, "kinds"),
        ({"duration": 10, "nodes": ["a"]}, "nodes"),
    ],
)
def test_bad_chaos(kwargs, parameter):
    args = {"seed": 1, "nodes": ["a", "b"], **kwargs}
    with pytest.raises(ConfigError) as info:
        chaos(**args)
    assert info.value.parameter == parameter


def test_fault_intervals_pair_starts_and_ends():
    world = World()
    net = network(world)
    FaultPlan((Fault(1, "crash", 2, nodes=("a",)), Fault(3, "loss", value=0.1))).apply(net)
    world.run(until=5)
    intervals = fault_intervals(world.frame("faults"), end=5)
    assert intervals[["kind", "start", "end"]].values.tolist() == [
        ["crash", 1, 2],
        ["loss", 3, 5],
    ]
