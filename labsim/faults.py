"""Faults as data: a :class:`FaultPlan` is a printable, YAML-serialisable list of timed faults.

Kinds (``Fault.kind``) and what they use:

================== ======================================= ===============================
kind               targets                                  value
================== ======================================= ===============================
partition          ``groups``: lists of node names          -
one-way-partition  ``nodes``: (src, dst), src -> dst cut    -
heal               -  (removes every partition)             -
slow-link          ``nodes``: (), (node,) or (a, b)         latency multiplier (> 0)
loss               ``nodes``: (), (node,) or (a, b)         loss probability
duplication        ``nodes``: (), (node,) or (a, b)         duplication probability
crash              ``nodes``: (node,)                       -
restart            ``nodes``: (node,)                       -
clock-skew         ``nodes``: (node,)                       skew in seconds
================== ======================================= ===============================

A fault with ``until`` is undone at that time (that partition healed, the links put back to
the network's own settings, node restarted, skew reset). :func:`chaos` makes a seeded
random plan with a fault phase followed by a heal phase, the shape of a Jepsen test:
safety while faults happen, liveness after.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from labsim.errors import (
    ConfigError,
    check_choice,
    check_non_negative,
    check_positive,
    check_probability,
)
from labsim.network import Network
from labsim.world import stream_seed

__all__ = ["FAULT_KINDS", "Fault", "FaultPlan", "RandomCrashes", "chaos", "fault_intervals"]

FAULT_KINDS = (
    "partition",
    "one-way-partition",
    "heal",
    "slow-link",
    "loss",
    "duplication",
    "crash",
    "restart",
    "clock-skew",
)
_REVERSIBLE = {
    "partition",
    "one-way-partition",
    "slow-link",
    "loss",
    "duplication",
    "crash",
    "clock-skew",
}
_PROBABILITY_KINDS = {"loss", "duplication"}
_LINK_OPTION = {"slow-link": "slow", "loss": "loss", "duplication": "duplicate"}


@dataclass(frozen=True)
class Fault:
    """One timed fault.

    Args:
        at: Simulated time the fault starts (>= 0).
        kind: One of :data:`FAULT_KINDS`.
        until: When the fault is undone (> ``at``); ``None`` keeps it (a later ``heal`` or
            ``restart`` may undo it).
        nodes: Target nodes (see the module table).
        groups: Partition sides, for ``partition``.
        value: Factor, probability or skew, by kind.
    """

    at: float
    kind: str
    until: float | None = None
    nodes: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    value: float | None = None

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, FAULT_KINDS, "Fault")
        check_non_negative("at", self.at, "Fault")
        if self.until is not None:
            if not isinstance(self.until, (int, float)) or self.until <= self.at:
                raise ConfigError("until", self.until, f"a time after at={self.at:g}", "Fault")
            if self.kind not in _REVERSIBLE:
                raise ConfigError("until", self.until, f"None for kind {self.kind!r}", "Fault")
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "groups", tuple(tuple(g) for g in self.groups))
        kind = self.kind
        if kind == "partition" and len(self.groups) < 1:
            raise ConfigError("groups", self.groups, "at least one group of node names", "Fault")
        if kind in ("crash", "restart", "clock-skew", "one-way-partition"):
            want = 2 if kind == "one-way-partition" else 1
            if len(self.nodes) != want:
                raise ConfigError(
                    "nodes", self.nodes, f"exactly {want} node name(s) for {kind}", "Fault"
                )
        if kind in ("slow-link", "loss", "duplication") and len(self.nodes) > 2:
            raise ConfigError("nodes", self.nodes, "(), (node,) or (a, b)", "Fault")
        if kind == "slow-link":
            check_positive("value", self.value, "Fault slow-link")
        elif kind in _PROBABILITY_KINDS:
            check_probability("value", self.value, f"Fault {kind}")
        elif kind == "clock-skew" and (
            not isinstance(self.value, (int, float)) or isinstance(self.value, bool)
        ):
            raise ConfigError("value", self.value, "a skew in seconds", "Fault clock-skew")

    @property
    def target(self) -> str:
        """A short text naming what the fault hits (for tables and plots)."""
        if self.groups:
            return " | ".join(",".join(g) for g in self.groups)
        if self.kind == "one-way-partition":
            return f"{self.nodes[0]}->{self.nodes[1]}"
        return ",".join(self.nodes) if self.nodes else "all"

    def to_dict(self) -> dict[str, Any]:
        """A plain dict without defaulted fields (the YAML form)."""
        out: dict[str, Any] = {"at": self.at, "kind": self.kind}
        for key, value in asdict(self).items():
            if key in out or value in (None, (), []):
                continue
            out[key] = (
                [list(g) for g in value]
                if key == "groups"
                else (list(value) if isinstance(value, tuple) else value)
            )
        return out


@dataclass(frozen=True)
class FaultPlan:
    """An ordered list of faults, applied to a network by :meth:`apply`."""

    faults: tuple[Fault, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        faults = tuple(self.faults)
        for f in faults:
            if not isinstance(f, Fault):
                raise ConfigError("faults", f, "Fault objects", "FaultPlan")
        object.__setattr__(self, "faults", tuple(sorted(faults, key=lambda f: f.at)))

    def __len__(self) -> int:
        return len(self.faults)

    def __iter__(self):
        return iter(self.faults)

    def to_frame(self) -> pd.DataFrame:
        """The plan as a table: at, until, kind, target, value."""
        return pd.DataFrame(
            [
                {"at": f.at, "until": f.until, "kind": f.kind, "target": f.target, "value": f.value}
                for f in self.faults
            ],
            columns=["at", "until", "kind", "target", "value"],
        )

    def __str__(self) -> str:
        if not self.faults:
            return "FaultPlan (no faults)"
        frame = self.to_frame().round(3).astype(object).where(lambda d: d.notna(), "-")
        noun = "fault" if len(self.faults) == 1 else "faults"
        return f"FaultPlan ({len(self.faults)} {noun})\n" + frame.to_string(index=False)

    @property
    def heal_time(self) -> float:
        """The time after which no fault is active any more (0 for an empty plan)."""
        ends = [f.until if f.until is not None else f.at for f in self.faults]
        return max(ends, default=0.0)

    def validate(self, network: Network) -> None:
        """Check every node name against ``network`` (ConfigError naming the bad one)."""
        for f in self.faults:
            for n in (*f.nodes, *(n for g in f.groups for n in g)):
                network.node(n)
            if len(f.nodes) == 2:
                network.link(*f.nodes)

    # -- YAML -------------------------------------------------------------------------------
    def to_yaml(self) -> str:
        """The plan as YAML text (a list of faults)."""
        return yaml.safe_dump([f.to_dict() for f in self.faults], sort_keys=False)

    def save(self, path: str | Path) -> None:
        """Write the plan to a YAML file."""
        Path(path).write_text(self.to_yaml())

    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> FaultPlan:
        """Parse a plan from YAML text; errors name ``source`` and the line."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}, line {mark.line + 1}" if mark is not None else source
            raise ConfigError("fault plan", source, f"valid YAML ({where}: {exc})") from None
        if root is None:
            return cls(())
        if not isinstance(root, yaml.SequenceNode):
            raise ConfigError(
                "fault plan",
                source,
                f"a YAML list of faults ({source}, line {root.start_mark.line + 1})",
            )
        faults = []
        loader_data = yaml.safe_load(text)
        for node, item in zip(root.value, loader_data, strict=True):
            line = node.start_mark.line + 1
            if not isinstance(item, dict):
                raise ConfigError(
                    "fault", item, f"a mapping with at and kind ({source}, line {line})"
                )
            unknown = set(item) - {"at", "kind", "until", "nodes", "groups", "value"}
            if unknown:
                raise ConfigError(
                    "fault",
                    sorted(unknown),
                    f"keys at, kind, until, nodes, groups, value ({source}, line {line})",
                )
            try:
                faults.append(
                    Fault(
                        at=item.get("at"),
                        kind=item.get("kind"),
                        until=item.get("until"),
                        nodes=tuple(item.get("nodes") or ()),
                        groups=tuple(tuple(g) for g in item.get("groups") or ()),
                        value=item.get("value"),
                    )
                )
            except ConfigError as exc:
                raise ConfigError(
                    exc.parameter, exc.value, f"{exc.accepted} ({source}, line {line})"
                ) from None
        return cls(tuple(faults))

    @classmethod
    def load(cls, path: str | Path) -> FaultPlan:
        """Read a plan from a YAML file; errors name the file and line."""
        path = Path(path)
        return cls.from_yaml(path.read_text(), source=str(path))

    # -- applying ---------------------------------------------------------------------------
    def apply(self, network: Network) -> None:
        """Start a process that applies each fault at its time (and undoes it at ``until``).

        Every applied fault is recorded in the ``faults`` table: time, kind, action
        (``start``/``end``), target, value.
        """
        self.validate(network)
        world = network.world
        table = world.table(
            "faults", ("time", "kind", "action", "target", "value"), level="summary"
        )
        steps: list[tuple[float, int, str, Fault]] = []
        for i, f in enumerate(self.faults):
            steps.append((f.at, 2 * i + 1, "start", f))
            if f.until is not None:
                steps.append((f.until, 2 * i, "end", f))
        steps.sort(key=lambda s: (s[0], s[1]))
        world.process(_apply_steps(network, steps, table.add))


def _apply_steps(
    network: Network, steps: list[tuple[float, int, str, Fault]], record: Any
) -> Generator[Any, Any, None]:
    env = network.world.env
    saved: dict[int, Any] = {}
    for at, _, action, f in steps:
        if at > env.now:
            yield env.timeout(at - env.now)
        key = id(f)
        kind = f.kind
        if action == "start":
            if kind == "partition":
                saved[key] = network.partition(*f.groups)
            elif kind == "one-way-partition":
                saved[key] = network.partition_one_way(*f.nodes)
            elif kind == "heal":
                network.heal()
            elif kind in ("slow-link", "loss", "duplication"):
                network.configure_links(f.nodes, **{_LINK_OPTION[kind]: f.value})
            elif kind == "crash":
                network.crash(f.nodes[0])
            elif kind == "restart":
                network.restart(f.nodes[0])
            elif kind == "clock-skew":
                saved[key] = network.node(f.nodes[0]).skew
                network.set_clock(f.nodes[0], skew=f.value)
        else:
            if kind in ("partition", "one-way-partition"):
                # Undo only this partition: overlapping ones stay in force.
                network.heal(saved.pop(key))
            elif kind in ("slow-link", "loss", "duplication"):
                # Back to the network's own settings (not to whatever an overlapping fault set),
                # so no link can stay faulty after every fault has ended.
                defaults = {
                    "slow-link": 1.0,
                    "loss": network.default_loss,
                    "duplication": network.default_duplicate,
                }
                network.configure_links(f.nodes, **{_LINK_OPTION[kind]: defaults[kind]})
            elif kind == "crash":
                network.restart(f.nodes[0])
            elif kind == "clock-skew":
                network.set_clock(f.nodes[0], skew=saved.pop(key))
        record(env.now, kind, action, f.target, f.value)


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
        kinds: Fault kinds to draw from (``heal`` and ``restart`` are added implicitly).
        intensity: Mean number of faults active at once during the fault phase (> 0); fault
            lengths are exponential with mean one tenth of the fault phase.
        nodes: Node names that faults may target.
        heal_fraction: Share of ``duration`` at the end with no faults (the liveness phase).
        protect: Nodes never crashed (a broker you want to keep, say).

    Returns:
        A :class:`FaultPlan` whose faults all end before ``(1 - heal_fraction) * duration``,
        followed by a ``heal`` at that time.
    """
    duration = check_positive("duration", duration, "chaos")
    check_positive("intensity", intensity, "chaos")
    heal_fraction = check_probability("heal_fraction", heal_fraction, "chaos")
    for k in kinds:
        check_choice("kinds", k, [k for k in FAULT_KINDS if k not in ("heal", "restart")], "chaos")
    names = list(nodes)
    if len(names) < 2:
        raise ConfigError("nodes", nodes, "at least two node names", "chaos")
    protected = set(protect)
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
        kind = rng.choice(list(kinds))
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
            # One fault of a kind per node at a time, so undoing one never undoes another.
            if busy_until.get((kind, node), -1.0) > t:
                continue
            busy_until[(kind, node)] = until
            value = {
                "slow-link": lambda: round(rng.uniform(2, 20), 2),
                "loss": lambda: round(rng.uniform(0.05, 0.5), 3),
                "duplication": lambda: round(rng.uniform(0.05, 0.5), 3),
                "clock-skew": lambda: round(rng.uniform(-0.5, 0.5), 3),
                "crash": lambda: None,
            }[kind]()
            faults.append(Fault(t, kind, until, nodes=(node,), value=value))
    if faults and heal_fraction > 0:
        faults.append(Fault(phase_end, "heal"))
    return FaultPlan(tuple(faults))


def fault_intervals(faults: pd.DataFrame, end: float) -> pd.DataFrame:
    """Turn the recorded ``faults`` table into intervals for shading plots.

    Args:
        faults: The ``faults`` frame (time, kind, action, target, value).
        end: Time used as the end of faults still active when the run stopped.

    Returns:
        A frame with ``kind``, ``target``, ``start``, ``end`` (point faults such as ``heal``
        and ``restart`` are left out).
    """
    open_faults: dict[tuple[str, str], list[float]] = {}
    rows = []
    for row in faults.itertuples(index=False):
        key = (row.kind, row.target)
        if row.kind in ("heal", "restart"):
            continue
        if row.action == "start":
            open_faults.setdefault(key, []).append(row.time)
        elif open_faults.get(key):
            rows.append(
                {
                    "kind": row.kind,
                    "target": row.target,
                    "start": open_faults[key].pop(0),
                    "end": row.time,
                }
            )
    for (kind, target), starts in open_faults.items():
        rows.extend({"kind": kind, "target": target, "start": s, "end": end} for s in starts)
    frame = pd.DataFrame(rows, columns=["kind", "target", "start", "end"])
    return frame.sort_values(["start", "kind"], ignore_index=True)


class RandomCrashes:
    """Crashes of one node at points of its own code, drawn at random, each followed by a restart.

    A component calls :meth:`maybe` at the points where a crash is interesting (between a
    database change and the message that announces it, say); with probability ``rate`` — and
    only before ``until``, so the run can heal — the node crashes there and restarts
    ``restart_after`` seconds later.

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
        self.network.crash(self.node)
        yield self.network.world.env.timeout(self.restart_after)
        self.network.restart(self.node)
