"""A :class:`FaultPlan`: a printable, YAML-serialisable list of timed faults, and its applying."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from labsim.errors import ConfigError
from labsim.faults.kinds import KINDS, Fault

if TYPE_CHECKING:
    from labsim.network import Network

__all__ = ["FaultPlan"]


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

    def __iter__(self) -> Iterator[Fault]:
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
        """Check every node and link name against ``network`` (ConfigError naming the bad one)."""
        for f in self.faults:
            KINDS[f.kind].check(network, f)

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
                        # Fault turns lists into tuples (and refuses a bare string).
                        nodes=item.get("nodes") or (),
                        groups=item.get("groups") or (),
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
        """Start a process that starts each fault at ``at`` and ends it at ``until``.

        Each start and end goes through :meth:`~labsim.network.Network.start_fault` /
        :meth:`~labsim.network.Network.end_fault`, so it is a row of the network's ``faults``
        table (time, kind, action ``start``/``end``, target, value) and overlapping faults
        stack (see :mod:`labsim.faults`). At one instant, faults ending then come first, then
        faults starting, in plan order. A fault listed twice is started (and ended) twice.
        """
        self.validate(network)
        steps: list[tuple[float, int, int, bool]] = []  # (time, order, fault index, is start)
        for i, f in enumerate(self.faults):
            steps.append((f.at, 2 * i + 1, i, True))
            if f.until is not None:
                steps.append((f.until, 2 * i, i, False))
        # Plan order is by ``at``, so a fault ending at t always sorts before one starting at t.
        steps.sort(key=lambda s: (s[0], s[1]))
        network.world.process(_run(network, self.faults, steps))


def _run(
    network: Network, faults: tuple[Fault, ...], steps: list[tuple[float, int, int, bool]]
) -> Generator[Any, Any, None]:
    env = network.world.env
    # Handles by position in the plan, not by fault: the same Fault may appear twice.
    handles: dict[int, int | None] = {}
    for at, _, i, starting in steps:
        if at > env.now:
            yield env.timeout(at - env.now)
        if starting:
            handles[i] = network.start_fault(faults[i])
        else:
            handle = handles.pop(i)
            if handle is not None:
                # A no-op when a heal or restart has ended it already.
                network.end_fault(handle)
