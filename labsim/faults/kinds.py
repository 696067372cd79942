"""One timed fault (:class:`Fault`) and the table of fault kinds (:data:`KINDS`).

Everything a kind of fault does lives in its entry of :data:`KINDS`: which fields of a
:class:`Fault` it needs (:meth:`FaultKind.validate`), which nodes and links it names
(:meth:`FaultKind.check`), how it is written in tables (:meth:`FaultKind.target`), what it
asks of the network while it is active (:meth:`FaultKind.affect`) and, for the point kinds
``heal`` and ``restart``, which active faults it ends (:meth:`FaultKind.start`).

The network keeps the set of active faults and recomputes its state from its own settings
plus the ``affect`` of every active fault whenever one starts or ends (see
:meth:`labsim.network.Network.start_fault`); the rules for overlapping faults are in the
docstring of :mod:`labsim.faults`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from labsim.errors import (
    ConfigError,
    check_choice,
    check_non_negative,
    check_positive,
    check_probability,
    is_real,
)

if TYPE_CHECKING:
    from labsim.network import Network

__all__ = ["FAULT_KINDS", "KINDS", "Effects", "Fault", "FaultKind"]

#: The two kinds a ``heal`` ends.
PARTITION_KINDS = ("partition", "one-way-partition")


class Effects:
    """What the active faults of one aspect ask of the network, gathered kind by kind.

    The network starts from an empty ``Effects``, lets every active fault add to it
    (:meth:`FaultKind.affect`, in the order the faults started) and then sets its nodes,
    links and clocks from it and from its own settings.

    Attributes:
        down: Nodes some active crash covers.
        loss: Per directed link, the largest loss probability of the active loss faults.
        duplicate: Per directed link, the largest duplication probability.
        slow: Per directed link, the largest latency factor of the active slow-link faults.
        blocked: Directed links some active partition cuts.
        skew: Per node, the skew of the active clock-skew fault that started last.
    """

    __slots__ = ("blocked", "down", "duplicate", "loss", "skew", "slow")

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.loss: dict[tuple[str, str], float] = {}
        self.duplicate: dict[tuple[str, str], float] = {}
        self.slow: dict[tuple[str, str], float] = {}
        self.blocked: set[tuple[str, str]] = set()
        self.skew: dict[str, float] = {}


class FaultKind:
    """How one kind of fault is checked, started, applied and ended.

    Attributes:
        name: The kind's name (``Fault.kind``).
        lasting: ``True`` for kinds that stay active until ended (they may have ``until``);
            ``False`` for the point kinds ``heal`` and ``restart``, which only end others.
        aspect: The part of the network an active fault of this kind changes: ``"nodes"``,
            ``"links"``, ``"cuts"`` or ``"clocks"`` (only that part is recomputed).
    """

    name: str = ""
    lasting: bool = True
    aspect: str = ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    # -- describing -------------------------------------------------------------------------
    def validate(self, fault: Fault) -> None:
        """Raise :class:`ConfigError` if ``fault`` lacks what this kind needs."""

    def target(self, fault: Fault) -> str:
        """A short text naming what ``fault`` hits (the ``target`` column of ``faults``)."""
        return ",".join(fault.nodes) if fault.nodes else "all"

    def check(self, network: Network, fault: Fault) -> None:
        """Raise :class:`ConfigError` if ``fault`` names a node or link ``network`` lacks."""
        for name in (*fault.nodes, *(n for g in fault.groups for n in g)):
            network.node(name)

    # -- running ----------------------------------------------------------------------------
    def start(self, network: Network, fault: Fault) -> int | None:
        """Start ``fault`` on ``network``; returns its handle (``None``: nothing stays active).

        A lasting fault joins the network's active faults; the network then recomputes the
        part of its state this kind changes.
        """
        return network._activate(fault, self.aspect)

    def end(self, network: Network, handle: int) -> None:
        """End the active fault ``handle`` (its effect is gone once the state is recomputed)."""
        network._deactivate(handle, self.aspect)

    def affect(self, network: Network, fault: Fault, effects: Effects) -> None:
        """Add what the active ``fault`` asks of ``network`` to ``effects``."""


def _finite(value: Any) -> bool:
    try:
        return is_real(value) and math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _nodes(fault: Fault, count: int) -> None:
    if len(fault.nodes) != count:
        raise ConfigError(
            "nodes", fault.nodes, f"exactly {count} node name(s) for {fault.kind}", "Fault"
        )


class _Partition(FaultKind):
    """Links between different groups are cut both ways (unnamed nodes form one more group)."""

    name = "partition"
    aspect = "cuts"

    def validate(self, fault: Fault) -> None:
        if len(fault.groups) < 1:
            raise ConfigError("groups", fault.groups, "at least one group of node names", "Fault")

    def target(self, fault: Fault) -> str:
        return " | ".join(",".join(g) for g in fault.groups)

    def affect(self, network: Network, fault: Fault, effects: Effects) -> None:
        sides = [*fault.groups]
        named = {n for g in sides for n in g}
        rest = tuple(n for n in network.nodes if n not in named)
        if rest:
            sides.append(rest)
        side = {n: i for i, g in enumerate(sides) for n in g}
        effects.blocked.update(pair for pair in network.links if side[pair[0]] != side[pair[1]])


class _OneWayPartition(FaultKind):
    """The link src -> dst is cut; dst -> src still works."""

    name = "one-way-partition"
    aspect = "cuts"

    def validate(self, fault: Fault) -> None:
        _nodes(fault, 2)

    def target(self, fault: Fault) -> str:
        return f"{fault.nodes[0]}->{fault.nodes[1]}"

    def check(self, network: Network, fault: Fault) -> None:
        network.link(*fault.nodes)

    def affect(self, network: Network, fault: Fault, effects: Effects) -> None:
        effects.blocked.add((fault.nodes[0], fault.nodes[1]))


class _Heal(FaultKind):
    """Ends every active partition and one-way partition."""

    name = "heal"
    lasting = False

    def start(self, network: Network, fault: Fault) -> None:
        for handle, active in network.active_faults.items():
            if active.kind in PARTITION_KINDS:
                network.end_fault(handle)


class _LinkFault(FaultKind):
    """Slow links, loss and duplication: per link, the strongest active value counts."""

    aspect = "links"
    #: The attribute of :class:`Effects` (and of :class:`~labsim.network.Link`) it sets.
    field = ""
    value_check: Callable[..., float] = staticmethod(check_probability)

    def validate(self, fault: Fault) -> None:
        if len(fault.nodes) > 2:
            raise ConfigError("nodes", fault.nodes, "(), (node,) or (a, b)", "Fault")
        self.value_check("value", fault.value, f"Fault {self.name}")

    def check(self, network: Network, fault: Fault) -> None:
        network.link_keys(fault.nodes)

    def affect(self, network: Network, fault: Fault, effects: Effects) -> None:
        strongest: dict[tuple[str, str], float] = getattr(effects, self.field)
        value = float(fault.value)  # type: ignore[arg-type]  # validated
        for pair in network.link_keys(fault.nodes):
            if value > strongest.get(pair, -1.0):
                strongest[pair] = value


class _SlowLink(_LinkFault):
    """Latency of the covered links multiplied by the value."""

    name = "slow-link"
    field = "slow"
    value_check = staticmethod(check_positive)


class _Loss(_LinkFault):
    """Each message on a covered link is lost with probability value."""

    name = "loss"
    field = "loss"


class _Duplication(_LinkFault):
    """Each message on a covered link arrives twice with probability value."""

    name = "duplication"
    field = "duplicate"


class _Crash(FaultKind):
    """The node is down while the crash is active (and while any other crash covers it)."""

    name = "crash"
    aspect = "nodes"

    def validate(self, fault: Fault) -> None:
        _nodes(fault, 1)

    def affect(self, network: Network, fault: Fault, effects: Effects) -> None:
        effects.down.add(fault.nodes[0])


class _Restart(FaultKind):
    """Ends every crash active on the node."""

    name = "restart"
    lasting = False

    def validate(self, fault: Fault) -> None:
        _nodes(fault, 1)

    def start(self, network: Network, fault: Fault) -> None:
        node = fault.nodes[0]
        for handle, active in network.active_faults.items():
            if active.kind == "crash" and active.nodes[0] == node:
                network.end_fault(handle)


class _ClockSkew(FaultKind):
    """The node's clock is off by value seconds."""

    name = "clock-skew"
    aspect = "clocks"

    def validate(self, fault: Fault) -> None:
        _nodes(fault, 1)
        if not _finite(fault.value):
            raise ConfigError("value", fault.value, "a finite skew in seconds", "Fault clock-skew")

    def affect(self, network: Network, fault: Fault, effects: Effects) -> None:
        # Faults are visited in the order they started: the latest one wins.
        effects.skew[fault.nodes[0]] = float(fault.value)  # type: ignore[arg-type]


#: The table of fault kinds, by name, in the order the docs list them.
KINDS: dict[str, FaultKind] = {
    kind.name: kind
    for kind in (
        _Partition(),
        _OneWayPartition(),
        _Heal(),
        _SlowLink(),
        _Loss(),
        _Duplication(),
        _Crash(),
        _Restart(),
        _ClockSkew(),
    )
}

#: The names of the fault kinds.
FAULT_KINDS = tuple(KINDS)


def _names(value: Any) -> tuple[str, ...] | None:
    """``value`` as a tuple of node names, or ``None`` if it is not a list of names.

    A single string is refused rather than split into one-letter names.
    """
    if isinstance(value, str):
        return None
    try:
        names = tuple(value)
    except TypeError:
        return None
    return names if all(isinstance(n, str) and n for n in names) else None


def _nodes_field(value: Any) -> tuple[str, ...]:
    names = _names(value)
    if names is None:
        raise ConfigError("nodes", value, "a list of node names (not one string)", "Fault")
    return names


def _groups_field(value: Any) -> tuple[tuple[str, ...], ...]:
    sides: list[tuple[str, ...] | None] = [None]  # refused unless it reads as lists of names
    if not isinstance(value, str):
        with contextlib.suppress(TypeError):  # not iterable
            sides = [_names(g) for g in value]
    groups = tuple(side for side in sides if side is not None)
    if len(groups) != len(sides):
        raise ConfigError("groups", value, "a list of lists of node names", "Fault")
    return groups


@dataclass(frozen=True)
class Fault:
    """One timed fault.

    Args:
        at: Simulated time the fault starts (a finite number >= 0).
        kind: One of :data:`FAULT_KINDS`.
        until: When the fault ends (a finite time after ``at``); ``None`` keeps it until a
            ``heal`` or ``restart`` ends it, or forever.
        nodes: Target nodes (see the table in :mod:`labsim.faults`).
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
        kind = KINDS[check_choice("kind", self.kind, FAULT_KINDS, "Fault")]
        at = check_non_negative("at", self.at, "Fault")
        if self.until is not None:
            if not _finite(self.until) or self.until <= at:
                raise ConfigError(
                    "until", self.until, f"None or a finite time after at={at:g}", "Fault"
                )
            if not kind.lasting:
                raise ConfigError("until", self.until, f"None for kind {self.kind!r}", "Fault")
        object.__setattr__(self, "nodes", _nodes_field(self.nodes))
        object.__setattr__(self, "groups", _groups_field(self.groups))
        kind.validate(self)

    @property
    def target(self) -> str:
        """A short text naming what the fault hits (for tables and plots)."""
        return KINDS[self.kind].target(self)

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
