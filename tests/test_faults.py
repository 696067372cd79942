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


# -- overlapping faults ----------------------------------------------------------------------


def test_inner_crash_ending_keeps_the_node_down_in_the_network_scenario():
    from labsim.scenarios import network as scenario

    result = scenario.run(
        seed=1,
        duration=8.0,
        rate=50.0,
        partition_start=None,
        partition_end=None,
        extra_faults=(Fault(1, "crash", 5, nodes=("n1",)), Fault(2, "crash", 3, nodes=("n1",))),
    )
    deliveries = result.frames["net.deliveries"]
    to_n1 = deliveries[deliveries["dst"] == "n1"]["time"]
    assert ((to_n1 >= 1) & (to_n1 < 5)).sum() == 0
    assert (to_n1 >= 5).sum() > 0  # and it is back afterwards


def test_inner_crash_ending_keeps_the_node_down():
    world = World()
    net = network(world)
    hooks = []
    net.node("a").on_restart(lambda node: hooks.append(world.now))
    FaultPlan((Fault(1, "crash", 5, nodes=("a",)), Fault(2, "crash", 3, nodes=("a",)))).apply(net)
    world.run(until=4)
    assert not net.node("a").up
    world.run(until=6)
    assert net.node("a").up
    assert hooks == [5]  # restart hooks run on the one transition down -> up


def test_inner_loss_ending_keeps_the_outer_loss():
    world = World(seed=7)
    net = network(world, ("a", "b"))
    FaultPlan((Fault(1, "loss", 5, value=0.5), Fault(2, "loss", 3, value=0.9))).apply(net)

    def sender():
        yield world.timeout(3.0)
        for i in range(4000):
            net.send("a", "b", i)
            yield world.timeout(1 / 4000)

    world.process(sender())
    world.run(until=4.5)
    assert net.link("a", "b").loss == 0.5
    sends = world.frame("net.sends")
    drops = world.frame("net.drops")
    window = sends[(sends["time"] >= 3) & (sends["time"] < 4)]
    lost = drops[drops["msg_id"].isin(window["msg_id"]) & (drops["reason"] == "loss")]
    assert len(lost) / len(window) == pytest.approx(0.5, abs=0.03)


def test_stronger_default_loss_is_kept_under_a_weaker_fault():
    world = World()
    net = Network(world, ["a", "b"], latency=Constant(0.01), loss=0.3)
    FaultPlan((Fault(1, "loss", 2, value=0.1), Fault(1, "slow-link", 2, value=0.5))).apply(net)
    world.run(until=1.5)
    assert net.link("a", "b").loss == 0.3
    assert net.link("a", "b").slow == 0.5  # a slow-link factor counts even below 1
    world.run(until=3)
    assert net.link("a", "b").loss == 0.3 and net.link("a", "b").slow == 1


def test_the_same_fault_twice_in_a_plan_is_two_activations():
    world = World()
    net = network(world)
    cut = Fault(1, "partition", 3, groups=(("a",),))
    skew = Fault(1, "clock-skew", 3, nodes=("b",), value=0.5)
    crash = Fault(1, "crash", 3, nodes=("c",))
    FaultPlan((cut, cut, skew, skew, crash, crash)).apply(net)
    world.run(until=2)
    assert net.is_blocked("a", "b") and net.node("b").skew == 0.5 and not net.node("c").up
    assert len(net.active_faults) == 6
    world.run(until=4)
    assert not net.is_blocked("a", "b") and net.node("b").skew == 0 and net.node("c").up
    assert net.active_faults == {}
    actions = world.frame("faults").groupby("action").size().to_dict()
    assert actions == {"start": 6, "end": 6}


def test_overlapping_clock_skews_latest_started_wins():
    world = World()
    net = network(world)
    net.set_clock("a", skew=0.1)  # the node's own skew
    FaultPlan(
        (
            Fault(1, "clock-skew", 3, nodes=("a",), value=0.5),
            Fault(2, "clock-skew", 5, nodes=("a",), value=-0.2),
        )
    ).apply(net)
    skews = []

    def probe():
        for t in (1.5, 2.5, 4, 6):
            yield world.timeout(t - world.now)
            skews.append(net.node("a").skew)

    world.process(probe())
    world.run(until=7)
    assert skews == [0.5, -0.2, -0.2, 0.1]


def test_heal_and_restart_end_what_is_active_and_are_recorded():
    world = World()
    net = network(world)
    FaultPlan(
        (
            Fault(1, "partition", 5, groups=(("a",),)),
            Fault(1, "one-way-partition", nodes=("b", "c")),
            Fault(1, "crash", 5, nodes=("b",)),
            Fault(1.5, "crash", nodes=("b",)),
            Fault(2, "heal"),
            Fault(2, "restart", nodes=("b",)),
        )
    ).apply(net)
    world.run(until=3)
    assert net.active_faults == {}
    assert not net.is_blocked("a", "b") and not net.is_blocked("b", "c") and net.node("b").up
    world.run(until=6)  # the ends due at 5 find nothing left to end
    rows = world.frame("faults")
    assert rows[["time", "kind", "action"]].values.tolist() == [
        [1, "partition", "start"],
        [1, "one-way-partition", "start"],
        [1, "crash", "start"],
        [1.5, "crash", "start"],
        [2, "heal", "start"],
        [2, "partition", "end"],
        [2, "one-way-partition", "end"],
        [2, "restart", "start"],
        [2, "crash", "end"],
        [2, "crash", "end"],
    ]
    intervals = fault_intervals(rows, end=6)
    assert intervals[["kind", "start", "end"]].values.tolist() == [
        ["crash", 1, 2],
        ["one-way-partition", 1, 2],
        ["partition", 1, 2],
        ["crash", 1.5, 2],
    ]


def test_fault_intervals_of_stacked_faults_of_one_kind_on_one_target():
    world = World()
    net = network(world)
    FaultPlan(
        (
            Fault(1, "loss", 5, value=0.5),
            Fault(2, "loss", 3, value=0.9),
            Fault(1, "crash", 6, nodes=("a",)),
            Fault(2, "crash", 4, nodes=("a",)),
        )
    ).apply(net)
    world.run(until=7)
    intervals = fault_intervals(world.frame("faults"), end=7)
    assert sorted(map(tuple, intervals[["kind", "start", "end"]].values.tolist())) == [
        ("crash", 1, 6),
        ("crash", 2, 4),
        ("loss", 1, 5),
        ("loss", 2, 3),
    ]


def test_random_crashes_are_recorded_and_stack_with_planned_crashes():
    import random

    from labsim.faults import RandomCrashes

    world = World()
    net = network(world)
    FaultPlan((Fault(1.5, "crash", 4, nodes=("a",)),)).apply(net)
    crashes = RandomCrashes(net, "a", rate=1.0, until=10, restart_after=1.0, rng=random.Random(1))

    def component():
        yield world.timeout(1)
        assert crashes.maybe()

    world.process(component())
    world.run(until=3)
    assert not net.node("a").up  # its own crash ended at 2, the planned one still covers it
    world.run(until=5)
    assert net.node("a").up
    rows = world.frame("faults")
    assert rows[["time", "kind", "action", "target"]].values.tolist() == [
        [1, "crash", "start", "a"],
        [1.5, "crash", "start", "a"],
        [2, "crash", "end", "a"],
        [4, "crash", "end", "a"],
    ]


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"at": float("nan"), "kind": "heal"}, "at"),
        ({"at": float("inf"), "kind": "heal"}, "at"),
        ({"at": 1, "kind": "crash", "until": float("nan"), "nodes": ("a",)}, "until"),
        ({"at": 1, "kind": "crash", "until": float("inf"), "nodes": ("a",)}, "until"),
        ({"at": 1, "kind": "crash", "until": "2", "nodes": ("a",)}, "until"),
        ({"at": 1, "kind": "clock-skew", "nodes": ("a",), "value": float("nan")}, "value"),
        ({"at": 1, "kind": "loss", "value": float("nan")}, "value"),
        ({"at": 1, "kind": "crash", "nodes": "a"}, "nodes"),
        ({"at": 1, "kind": "partition", "groups": ("ab", "c")}, "groups"),
        ({"at": 1, "kind": "partition", "groups": "ab"}, "groups"),
        ({"at": 1, "kind": "one-way-partition", "nodes": ("a",)}, "nodes"),
        ({"at": 1, "kind": "loss", "nodes": ("a", "b", "c"), "value": 0.1}, "nodes"),
    ],
)
def test_bad_fault_values_are_config_errors(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        Fault(**kwargs)
    assert info.value.parameter == parameter


def test_non_finite_until_in_yaml_names_the_line():
    with pytest.raises(ConfigError, match="line 2"):
        FaultPlan.from_yaml(
            "- {at: 1, kind: heal}\n- {at: 1, kind: crash, until: .nan, nodes: [a]}"
        )


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"duration": 10, "kinds": []}, "kinds"),
        ({"duration": 10, "kinds": "loss"}, "kinds"),
        ({"duration": 10, "kinds": ["heal"]}, "kinds"),
        ({"duration": 10, "nodes": "n1n2"}, "nodes"),
        ({"duration": 10, "protect": "a"}, "protect"),
        ({"duration": float("inf")}, "duration"),
        ({"duration": float("nan")}, "duration"),
    ],
)
def test_more_bad_chaos(kwargs, parameter):
    args = {"seed": 1, "nodes": ["a", "b"], **kwargs}
    with pytest.raises(ConfigError) as info:
        chaos(**args)
    assert info.value.parameter == parameter


def test_chaos_plans_are_unchanged():
    # Notebook outputs depend on these plans: a seed's plan must never change.
    plan = chaos(5, 30, ["partition", "loss", "crash", "clock-skew"], 1.0, nodes=["a", "b", "c"])
    rounded = [
        (round(f.at, 3), f.kind, None if f.until is None else round(f.until, 3), f.target, f.value)
        for f in plan
    ]
    assert rounded == [
        (0.113, "loss", 2.087, "b", 0.357),
        (1.111, "loss", 2.818, "c", 0.3),
        (2.089, "crash", 3.669, "a", None),
        (2.757, "clock-skew", 6.943, "c", -0.071),
        (2.927, "clock-skew", 6.353, "b", 0.143),
        (5.497, "crash", 9.418, "b", None),
        (8.001, "clock-skew", 10.385, "c", 0.263),
        (10.47, "partition", 11.573, "a | b,c", None),
        (10.802, "crash", 17.161, "a", None),
        (21.0, "heal", None, "all", None),
    ]
    # Loss on b and loss on c overlap on the link b-c over [1.111, 2.818): it keeps the
    # stronger loss, and the end of b's loss leaves c's in force.
    world = World()
    net = network(world)
    plan.apply(net)
    world.run(until=1.5)
    assert net.link("b", "c").loss == 0.357
    world.run(until=2.5)
    assert net.link("b", "c").loss == 0.3 and net.link("a", "b").loss == 0


def test_point_fault_kinds_of_the_frame_helper_match_the_kind_table():
    from labsim.faults import KINDS
    from labsim.metrics import POINT_FAULT_KINDS

    assert set(POINT_FAULT_KINDS) == {name for name, kind in KINDS.items() if not kind.lasting}
