"""Overlapping faults: the network's state at any time is what the plan says should be active.

The reference below is written from the rules in the docstring of :mod:`labsim.faults` alone,
as a sweep over the plan's start and end times; it shares no code with the network.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsim import Constant, Fault, FaultPlan, Network, World
from labsim.faults import fault_intervals

NODES = ("a", "b", "c", "d")
PAIRS = [(x, y) for x in NODES for y in NODES if x != y]
DEFAULT_LOSS = 0.2
DEFAULT_DUPLICATE = 0.1
BASE_SKEW = {"a": 0.25}  # set with set_clock: what "a" returns to when no skew is active
LINK_KINDS = ("loss", "duplication", "slow-link")
LASTING = ("partition", "one-way-partition", *LINK_KINDS, "crash", "clock-skew")
POINT = ("heal", "restart")
PARTITIONS = ("partition", "one-way-partition")
STEP = 0.5  # faults start and end on this grid; probes look between grid points
HORIZON = 16.0

times = st.integers(0, 20).map(lambda k: k * STEP)
node = st.sampled_from(NODES)


@st.composite
def faults(draw: Any) -> Fault:
    kind = draw(st.sampled_from(LASTING + POINT))
    at = draw(times)
    until = None
    if kind in LASTING and draw(st.integers(0, 4)):  # mostly with an end
        until = at + draw(st.integers(1, 10)) * STEP
    nodes: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    value = None
    if kind in ("crash", "restart", "clock-skew"):
        nodes = (draw(node),)
    elif kind == "one-way-partition":
        nodes = tuple(draw(st.permutations(NODES))[:2])
    elif kind in LINK_KINDS:
        nodes = draw(st.sampled_from([(), *((n,) for n in NODES), *PAIRS]))
    elif kind == "partition":
        order = draw(st.permutations(NODES))
        cut = draw(st.integers(1, 3))
        rest = draw(st.integers(cut, 4))  # nodes after ``rest`` are in no group
        groups = (tuple(order[:cut]),) + ((tuple(order[cut:rest]),) if rest > cut else ())
    if kind in ("loss", "duplication"):
        value = draw(st.sampled_from([0.0, 0.05, 0.15, 0.3, 0.6, 0.9]))
    elif kind == "slow-link":
        value = draw(st.sampled_from([0.5, 2.0, 5.0, 20.0]))
    elif kind == "clock-skew":
        value = draw(st.sampled_from([-1.0, -0.5, 0.5, 1.5]))
    return Fault(at, kind, until, nodes=nodes, groups=groups, value=value)


@st.composite
def plans(draw: Any) -> FaultPlan:
    listed = draw(st.lists(faults(), min_size=1, max_size=12))
    # Sometimes the very same Fault object more than once.
    again = draw(st.lists(st.sampled_from(listed), max_size=3))
    return FaultPlan(tuple(listed + again))


# -- the reference ---------------------------------------------------------------------------


def replay(plan: FaultPlan) -> list[tuple[float, list[int]]]:
    """After each start or end of the plan: its time and the active faults (indexes into
    ``plan.faults``, in the order they started).

    At one instant, ends come first, then starts in plan order; ``heal`` ends every partition
    and one-way partition, ``restart`` every crash of its node.
    """
    events = []
    for i, f in enumerate(plan.faults):
        events.append((f.at, 1, i))
        if f.until is not None:
            events.append((f.until, 0, i))
    active: list[int] = []
    steps = []
    for time, is_start, i in sorted(events):
        f = plan.faults[i]
        if not is_start:
            if i in active:
                active.remove(i)
        elif f.kind == "heal":
            active = [j for j in active if plan.faults[j].kind not in PARTITIONS]
        elif f.kind == "restart":
            active = [j for j in active if not is_crash_of(plan.faults[j], f.nodes[0])]
        else:
            active.append(i)
        steps.append((time, list(active)))
    return steps


def is_crash_of(f: Fault, name: str) -> bool:
    return f.kind == "crash" and f.nodes == (name,)


def active_at(plan: FaultPlan, t: float) -> list[int]:
    """The faults active at ``t`` (no start or end falls on ``t``)."""
    active: list[int] = []
    for time, now_active in replay(plan):
        if time > t:
            break
        active = now_active
    return active


def covers(f: Fault, src: str, dst: str) -> bool:
    """Whether the link fault ``f`` covers the directed link ``src -> dst``."""
    if not f.nodes:
        return True
    if len(f.nodes) == 1:
        return f.nodes[0] in (src, dst)
    return set(f.nodes) == {src, dst}


def cuts(f: Fault, src: str, dst: str) -> bool:
    if f.kind == "one-way-partition":
        return f.nodes == (src, dst)
    side = {n: i for i, g in enumerate(f.groups) for n in g}
    return side.get(src, -1) != side.get(dst, -1)  # -1: the group of the unnamed nodes


def expected_state(plan: FaultPlan, t: float) -> dict[str, Any]:
    active = [plan.faults[i] for i in active_at(plan, t)]
    state: dict[str, Any] = {"up": {}, "skew": {}, "links": {}}
    for n in NODES:
        state["up"][n] = not any(is_crash_of(f, n) for f in active)
        skews = [f.value for f in active if f.kind == "clock-skew" and f.nodes == (n,)]
        state["skew"][n] = skews[-1] if skews else BASE_SKEW.get(n, 0.0)
    for src, dst in PAIRS:
        on = [f for f in active if f.kind in LINK_KINDS and covers(f, src, dst)]
        slow = [f.value for f in on if f.kind == "slow-link"]
        state["links"][(src, dst)] = (
            max([DEFAULT_LOSS] + [f.value for f in on if f.kind == "loss"]),
            max([DEFAULT_DUPLICATE] + [f.value for f in on if f.kind == "duplication"]),
            max(slow) if slow else 1.0,
            any(cuts(f, src, dst) for f in active if f.kind in PARTITIONS),
        )
    return state


def restarts_expected(plan: FaultPlan) -> dict[str, int]:
    """How often each node goes from down to up (its restart hooks run then)."""
    counts = dict.fromkeys(NODES, 0)
    down = dict.fromkeys(NODES, False)
    for _, active in replay(plan):
        for n in NODES:
            now_down = any(is_crash_of(plan.faults[j], n) for j in active)
            counts[n] += down[n] and not now_down
            down[n] = now_down
    return counts


# -- the property ----------------------------------------------------------------------------


def observed(net: Network) -> dict[str, Any]:
    return {
        "up": {n: net.node(n).up for n in NODES},
        "skew": {n: net.node(n).skew for n in NODES},
        "links": {
            (src, dst): (
                net.link(src, dst).loss,
                net.link(src, dst).duplicate,
                net.link(src, dst).slow,
                net.is_blocked(src, dst),
            )
            for src, dst in PAIRS
        },
    }


PROBES = [k * STEP + STEP / 2 for k in range(int(HORIZON / STEP))]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_state_matches_the_faults_that_should_be_active(plan):
    world = World()
    net = Network(
        world, NODES, latency=Constant(0.01), loss=DEFAULT_LOSS, duplicate=DEFAULT_DUPLICATE
    )
    for n, skew in BASE_SKEW.items():
        net.set_clock(n, skew=skew)
    restarts = dict.fromkeys(NODES, 0)
    for n in NODES:
        net.node(n).on_restart(
            lambda node: restarts.__setitem__(node.name, restarts[node.name] + 1)
        )
    plan.apply(net)
    seen = []

    def probe():
        for t in PROBES:
            yield world.timeout(t - world.now)
            seen.append((t, observed(net), len(net.active_faults)))

    world.process(probe())
    world.run(until=HORIZON)

    recorded = fault_intervals(world.frame("faults"), end=HORIZON)
    intervals = list(recorded.itertuples(index=False))
    for t, state, n_active in seen:
        assert state == expected_state(plan, t), f"at t={t}"
        active = [plan.faults[i] for i in active_at(plan, t)]
        assert n_active == len(active)
        # The recorded table, turned into intervals, covers t once per active fault.
        expected = Counter((f.kind, f.target) for f in active)
        covering = Counter((r.kind, r.target) for r in intervals if r.start < t < r.end)
        assert covering == expected, f"intervals at t={t}"
    assert restarts == restarts_expected(plan)
