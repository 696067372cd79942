import statistics

import networkx as nx
import pytest
import simpy

from labsim import ConfigError, Constant, Exponential, Fault, Network, World, ms


def collect(world, network, name):
    got = []

    def rx():
        while True:
            msg = yield network.node(name).inbox.get()
            got.append((world.now, msg))

    network.node(name).process(rx())
    return got


def test_default_is_a_full_mesh_and_latency_is_applied():
    world = World(seed=1)
    net = Network(world, ["a", "b", "c"], latency=Exponential.from_mean(ms(5)))
    assert net.graph.number_of_edges() == 3
    got = collect(world, net, "b")
    n = 4000

    def tx():
        for i in range(n):
            net.send("a", "b", i)
            yield world.timeout(0.01)

    world.process(tx())
    world.run(until=n * 0.01 + 1)
    frame = world.frame("net.deliveries")
    latency = frame["time"] - frame["sent_at"]
    assert len(got) == n
    # FIFO links only ever delay messages, so the mean is at least the link's mean.
    assert statistics.fmean(latency) == pytest.approx(0.005, rel=0.1)


def test_fifo_links_keep_order_and_reordering_breaks_it():
    def order(reorder):
        world = World(seed=2)
        net = Network(world, ["a", "b"], latency=Exponential.from_mean(ms(5)), reorder=reorder)
        got = collect(world, net, "b")
        for i in range(200):
            net.send("a", "b", i)
        world.run(until=5)
        return [m for _, m in got]

    assert order(False) == list(range(200))
    reordered = order(True)
    assert sorted(reordered) == list(range(200)) and reordered != list(range(200))


def test_loss_and_duplication_rates():
    world = World(seed=3)
    net = Network(world, ["a", "b"], latency=ms(1), loss=0.2, duplicate=0.1)
    got = collect(world, net, "b")
    n = 10_000
    for i in range(n):
        net.send("a", "b", i)
    world.run(until=1)
    drops = world.frame("net.drops")
    assert (drops["reason"] == "loss").sum() == pytest.approx(0.2 * n, rel=0.08)
    distinct = len({m for _, m in got})
    assert len(got) - distinct == pytest.approx(0.1 * distinct, rel=0.1)


def test_two_way_and_one_way_partitions_and_heal():
    world = World(seed=4)
    net = Network(world, ["a", "b", "c"], latency=ms(1))
    got_a, got_b, got_c = (collect(world, net, n) for n in "abc")
    handle = net.partition(["a"], ["b", "c"])
    net.send("a", "b", "cut")
    net.send("b", "c", "same side")
    net.heal(handle)
    net.send("a", "b", "healed")
    one_way = net.partition_one_way("a", "c")
    net.send("a", "c", "dropped")
    net.send("c", "a", "passes")
    world.run(until=1)
    assert [m for _, m in got_b] == ["healed"]
    assert [m for _, m in got_c] == ["same side"]
    assert [m for _, m in got_a] == ["passes"]
    assert net.is_blocked("a", "c") and not net.is_blocked("c", "a")
    net.heal(one_way)
    assert not net.is_blocked("a", "c")
    reasons = world.frame("net.drops")["reason"].tolist()
    assert reasons == ["partition", "partition"]


def test_overlapping_partitions_heal_independently():
    world = World()
    net = Network(world, ["a", "b", "c"], latency=ms(1))
    first = net.partition(["a"], ["b", "c"])
    net.partition(["c"], ["a", "b"])
    net.heal(first)
    assert not net.is_blocked("a", "b")
    assert net.is_blocked("a", "c") and net.is_blocked("b", "c")
    net.heal()
    assert not net.is_blocked("b", "c")


def test_messages_travel_only_along_graph_edges():
    world = World()
    net = Network(world, nx.path_graph(["a", "b", "c"]))
    net.send("a", "b", 1)
    with pytest.raises(ConfigError, match="link"):
        net.send("a", "c", 1)


def test_crash_drops_arrivals_interrupts_processes_and_restart_runs_hooks():
    world = World(seed=5)
    net = Network(world, ["a", "b"], latency=Constant(0.1))
    got = collect(world, net, "b")
    interrupted = []
    restarted = []

    def worker():
        try:
            yield world.timeout(100)
        except simpy.Interrupt as exc:
            interrupted.append((world.now, repr(exc.cause)))
            raise

    net.node("b").process(worker())
    net.node("b").on_restart(lambda node: restarted.append(world.now))

    def script():
        net.send("a", "b", "before")
        yield world.timeout(0.05)
        net.crash("b")  # "before" is in flight and arrives at a dead node
        yield world.timeout(0.1)
        net.restart("b")
        net.node("b").process(collect_again())
        net.send("a", "b", "after")

    after = []

    def collect_again():
        msg = yield net.node("b").inbox.get()
        after.append(msg)

    world.process(script())
    world.run(until=1)
    assert got == []
    assert after == ["after"]
    assert interrupted == [(0.05, "Crash('b')")]
    assert restarted == [pytest.approx(0.15)]
    assert world.frame("net.drops")["reason"].tolist() == ["receiver-down"]


def test_crashed_sender_sends_nothing():
    world = World()
    net = Network(world, ["a", "b"])
    net.crash("a")
    net.send("a", "b", 1)
    world.run(until=1)
    assert world.frame("net.drops")["reason"].tolist() == ["sender-down"]
    with pytest.raises(ConfigError, match="up"):
        net.node("a").process(iter(()))


def test_clock_skew_and_drift():
    world = World()
    net = Network(world, ["a", "b"])
    net.set_clock("a", skew=0.5, drift=0.01)
    world.run(until=10)
    assert net.node("a").clock() == pytest.approx(10 * 1.01 + 0.5)
    assert net.node("b").clock() == 10
    with pytest.raises(ConfigError, match="drift"):
        net.set_clock("a", drift=-1)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"loss": 1.5}, "loss"),
        ({"loss": -0.1}, "loss"),
        ({"duplicate": 2}, "duplicate"),
        ({"latency": 0}, "latency"),
        ({"latency": -1}, "latency"),
    ],
)
def test_bad_network_settings(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        Network(World(), ["a", "b"], **kwargs)
    assert info.value.parameter == parameter


def test_unknown_node_names_are_listed():
    net = Network(World(), ["a", "b"])
    with pytest.raises(ConfigError, match=r"'zz'.*'a', 'b'"):
        net.send("a", "zz", 1)
    with pytest.raises(ConfigError, match="zz"):
        net.crash("zz")
    with pytest.raises(ConfigError, match="nodes"):
        Network(World(), [])


def test_configure_links_validates_and_applies():
    world = World()
    net = Network(world, ["a", "b", "c"], latency=Constant(0.01))
    net.configure_links(("a",), slow=10)
    assert net.link("a", "b").slow == 10 and net.link("b", "c").slow == 1
    with pytest.raises(ConfigError, match="slow"):
        net.configure_links(slow=0)
    with pytest.raises(ConfigError, match="loss"):
        net.configure_links(loss=3)


# -- faults started directly by model code ---------------------------------------------------


def test_direct_crash_and_restart_are_rows_of_the_faults_table():
    world = World()
    net = Network(world, ["broker", "c1"])

    def crash_process():  # the shape of the scenarios' hand-written crashes
        yield world.timeout(2)
        net.crash("c1")
        yield world.timeout(1.5)
        net.restart("c1")

    world.process(crash_process())
    world.run(until=5)
    rows = world.frame("faults")
    assert rows[["time", "kind", "action", "target"]].values.tolist() == [
        [2, "crash", "start", "c1"],
        [3.5, "restart", "start", "c1"],
        [3.5, "crash", "end", "c1"],
    ]


def test_direct_partition_and_heal_are_rows_of_the_faults_table():
    world = World()
    net = Network(world, ["a", "b", "c"])
    first = net.partition(["a"], ["b", "c"])
    net.partition_one_way("b", "c")
    net.heal(first)
    net.heal(first)  # already healed: nothing happens, nothing recorded
    net.heal()
    rows = world.frame("faults")
    assert rows[["kind", "action", "target"]].values.tolist() == [
        ["partition", "start", "a | b,c"],
        ["one-way-partition", "start", "b->c"],
        ["partition", "end", "a | b,c"],
        ["heal", "start", "all"],
        ["one-way-partition", "end", "b->c"],
    ]
    assert net.active_faults == {}


def test_faults_table_belongs_to_the_network():
    world = World()
    Network(world, ["a", "b"])
    other = Network(world, ["x", "y"], name="lan")
    other.crash("x")
    assert other.faults_table == "lan.faults"
    assert len(world.frame("faults")) == 0
    assert world.frame("lan.faults")["kind"].tolist() == ["crash"]


def test_crashes_stack_and_restart_ends_them_all():
    world = World()
    net = Network(world, ["a", "b"])
    restarts = []
    net.node("b").on_restart(lambda node: restarts.append(world.now))
    interrupted = []

    def worker():
        try:
            yield world.timeout(100)
        except simpy.Interrupt:
            interrupted.append(world.now)
            raise

    net.node("b").process(worker())

    def script():
        first = net.crash("b")
        second = net.crash("b")  # down already: one more crash covers it
        yield world.timeout(1)
        assert net.end_fault(first) and not net.node("b").up
        assert not net.end_fault(first)  # ended already
        net.end_fault(second)
        assert net.node("b").up
        net.crash("b")
        net.crash("b")
        yield world.timeout(1)
        net.restart("b")

    world.process(script())
    world.run(until=5)
    assert net.node("b").up and net.active_faults == {}
    assert interrupted == [0]  # the second crash of a down node interrupts nothing
    assert restarts == [1, 2]  # one hook call per transition down -> up


def test_settings_changed_during_a_fault_apply_once_it_ends():
    world = World()
    net = Network(world, ["a", "b"])
    loss = net.start_fault(Fault(0, "loss", value=0.5))
    skew = net.start_fault(Fault(0, "clock-skew", nodes=("a",), value=2.0))
    net.configure_links(loss=0.1, slow=3)
    net.set_clock("a", skew=0.5)
    assert net.link("a", "b").loss == 0.5 and net.link("a", "b").slow == 3
    assert net.node("a").skew == 2.0
    net.end_fault(loss)
    net.end_fault(skew)
    assert net.link("a", "b").loss == 0.1 and net.node("a").skew == 0.5
    net.configure_links(loss=0.9)
    assert net.link("b", "a").loss == 0.9


def test_heal_with_a_handle_that_is_not_a_partition():
    net = Network(World(), ["a", "b"])
    crash = net.crash("a")
    with pytest.raises(ConfigError, match="handle"):
        net.heal(crash)
    with pytest.raises(ConfigError, match="ghost"):
        net.start_fault(Fault(0, "loss", nodes=("a", "ghost"), value=0.1))
    with pytest.raises(ConfigError, match="skew"):
        net.set_clock("a", skew=float("nan"))


def test_a_restart_hook_may_crash_another_node():
    world = World()
    net = Network(world, ["a", "b", "c"])
    net.node("b").on_restart(lambda node: net.crash("c"))
    net.crash("b")
    net.restart("b")
    assert net.node("b").up and not net.node("c").up
    assert [f.nodes for f in net.active_faults.values()] == [("c",)]
