"""Random faults: seeded chaos plans, crashes at random points of a component's code, and the
intervals of recorded faults for shading plots."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from labsim.errors import (
    ConfigError,
    check_choice,
    check_non_negative,
    check_positive,
    check_probability,
)
from labsim.faults.kinds import FAULT_KINDS, KINDS, Fault
from labsim.faults.plan import FaultPlan
from labsim.world import stream_seed

if TYPE_CHECKING:
    from labsim.network import Network

__all__ = ["RandomCrashes", "chaos"]

#: The values chaos draws, by kind: uniform between low and high, rounded to digits.
_CHAOS_VALUES: dict[str, tuple[float, float, int]] = {
    "slow-link": (2, 20, 2),
    "loss": (0.05, 0.5, 3),
    "duplication": (0.05, 0.5, 3),
    "clock-skew": (-0.5, 0.5, 3),
}


def chaos(
    seed: int,
    duration: float,
    kinds: Sequence[str] = ("partition", "loss", "crash"),
    intensity: float = 0.5,
    *,
    nodes: Sequence[str],
    heal_fraction: float = 0.3,
    protect: Iterable[str] = (),
) -> FaultPlan:
    """A seeded random fault plan: faults during a fault phase, then everything heals.

    Args:
        seed: Seed of the plan (the same seed gives the same plan).
        duration: Length of the whole run in simulated seconds (> 0).
        kinds: Fault kinds to draw from (at least one; not ``heal`` or ``restart``: the plan
            ends with a ``heal`` of its own).
        intensity: Mean number of faults active at once during the fault phase (> 0); fault
            lengths are exponential with mean one tenth of the fault phase.
        nodes: Node names that faults may target (a list, at least two).
        heal_fraction: Share of ``duration`` at the end with no faults (the liveness phase).
        protect: Nodes never crashed (a broker you want to keep, say).

    Returns:
        A :class:`FaultPlan` whose faults all end before ``(1 - heal_fraction) * duration``,
        followed by a ``heal`` at that time.

    Raises:
        ConfigError: for a duration or intensity that is not a finite number > 0, no kinds
            or an unknown one, fewer than two node names, or a string where a list of names
            belongs (``nodes="n1n2"``).
    """
    duration = check_positive("duration", duration, "chaos")
    check_positive("intensity", intensity, "chaos")
    heal_fraction = check_probability("heal_fraction", heal_fraction, "chaos")
    drawable = [k for k in FAULT_KINDS if KINDS[k].lasting]
    kind_list = [] if isinstance(kinds, str) else list(kinds)
    if not kind_list:
        raise ConfigError("kinds", kinds, f"a non-empty list of kinds among {drawable}", "chaos")
    for k in kind_list:
        check_choice("kinds", k, drawable, "chaos")
    names = _node_list("nodes", nodes)
    if len(names) < 2:
        raise ConfigError("nodes", nodes, "at least two node names", "chaos")
    protected = set(_node_list("protect", protect))
    crashable = [n for n in names if n not in protected]
    rng = random.Random(stream_seed(seed, "chaos"))
    phase_end = duration * (1 - heal_fraction)
    mean_length = phase_end / 10 if phase_end > 0 else 0
    faults: list[Fault] = []
    busy_until: dict[tuple[str, str], float] = {}  # (kind, node) -> end of its current fault
    t = 0.0
    while phase_end > 0:
        t += rng.expovariate(intensity / mean_length)
        if t >= phase_end:
            break
        kind = rng.choice(kind_list)
        until = min(phase_end, t + rng.expovariate(1 / mean_length))
        if until <= t:
            continue
        if kind == "partition":
            shuffled = names[:]
            rng.shuffle(shuffled)
            cut = rng.randint(1, len(shuffled) - 1)
            faults.append(
                Fault(
                    t,
                    kind,
                    until,
                    groups=(tuple(sorted(shuffled[:cut])), tuple(sorted(shuffled[cut:]))),
                )
            )
        elif kind == "one-way-partition":
            a, b = rng.sample(names, 2)
            faults.append(Fault(t, kind, until, nodes=(a, b)))
        else:
            candidates = crashable if kind == "crash" else names
            if not candidates:
                continue
            node = rng.choice(candidates)
            # At most one fault of a kind per node at a time: overlaps would stack correctly,
            # but skipping them keeps every seed's plan as it has always been.
            if busy_until.get((kind, node), -1.0) > t:
                continue
            busy_until[(kind, node)] = until
            low_high_digits = _CHAOS_VALUES.get(kind)
            value = None
            if low_high_digits is not None:
                low, high, digits = low_high_digits
                value = round(rng.uniform(low, high), digits)
            faults.append(Fault(t, kind, until, nodes=(node,), value=value))
    if faults and heal_fraction > 0:
        faults.append(Fault(phase_end, "heal"))
    return FaultPlan(tuple(faults))


def _node_list(parameter: str, value: Any) -> list[str]:
    """``value`` as a list of node names; one string is refused rather than split up."""
    names = None
    if not isinstance(value, str):
        with contextlib.suppress(TypeError):  # not iterable
            names = list(value)
    if names is None or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(parameter, value, "a list of node names (not one string)", "chaos")
    return names


class RandomCrashes:
    """Crashes of one node at points of its own code, drawn at random, each followed by a restart.

    A component calls :meth:`maybe` at the points where a crash is interesting (between a
    database change and the message that announces it, say); with probability ``rate`` — and
    only before ``until``, so the run can heal — the node crashes there and restarts
    ``restart_after`` seconds later (unless another crash still covers it). Each crash is a
    ``crash`` fault of the network: a start and an end row in its ``faults`` table.

    Args:
        network: The network of the node.
        node: The node's name.
        rate: Probability of crashing at each call of :meth:`maybe`.
        until: No crash from this time on.
        restart_after: Seconds between the crash and the restart.
        rng: The component's random stream (its draws decide the crashes).
    """

    def __init__(
        self,
        network: Network,
        node: str,
        rate: float,
        until: float,
        restart_after: float,
        rng: random.Random,
    ):
        self.network = network
        self.node = network.node(node).name
        self.rate = check_probability("crash_rate", rate, node)
        self.until = until
        self.restart_after = check_non_negative("restart_after", restart_after, node)
        self.rng = rng

    def maybe(self) -> bool:
        """Crash here with probability ``rate``; ``True`` means the caller must stop."""
        if self.network.world.now >= self.until or not self.rate:
            return False
        if self.rng.random() >= self.rate:
            return False
        self.crash_now()
        return True

    def crash_now(self) -> None:
        """Crash the node (at this instant) and schedule its restart."""
        self.network.world.process(self._crash_and_restart())

    def _crash_and_restart(self) -> Generator[Any, Any, None]:
        handle = self.network.crash(self.node)
        yield self.network.world.env.timeout(self.restart_after)
        # End this crash only: another crash covering the node keeps it down.
        self.network.end_fault(handle)
