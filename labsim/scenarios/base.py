"""The one shape every scenario has.

A scenario declares

* its parameters (a :class:`~labsim.params.Params` dataclass, each one declared once);
* its fault plan (:meth:`Scenario.fault_plan`, a :class:`~labsim.faults.FaultPlan`, possibly
  empty);
* how it builds a world from the parameters (:meth:`Scenario.build`: components, workload,
  the plan applied to the network) and how long it runs (:meth:`Scenario.until`);
* how it summarises a run (:meth:`Scenario.summarize`): a **pure function of the recorded
  frames** and the parameters, never of live objects, so a summary can be recomputed from
  saved frames and every figure a lesson quotes is traceable to a table.

:meth:`Scenario.run` and the sweep adapter :meth:`Scenario.figures` are written here once::

    from labsim.scenarios import network
    result = network.run(seed=3, loss=0.1)     # run(params=None, seed=0, **overrides)
    result.summary["delivered_fraction"], result.frames["net.deliveries"]

Every run takes ``record_level``: ``"summary"`` keeps only the tables the summary needs, for
big runs and sweeps (:meth:`Scenario.figures`, which sweeps call, runs at that level). For a
summary-level run to stay in bounded memory, a scenario's :attr:`Scenario.summary_tables` must
not grow with the messages: record running totals (:meth:`labsim.record.Recorder.totals`)
rather than one row per message, as the ``queueing`` scenario does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pandas as pd

from labsim.errors import ConfigError
from labsim.faults import FaultPlan
from labsim.params import Params, build_params, describe, specs
from labsim.record import LEVELS
from labsim.result import Result
from labsim.world import World

__all__ = ["Scenario"]


class Scenario:
    """Base class of the lab's scenarios (subclass, fill in the class attributes and hooks).

    Class attributes:
        name: Registry name (``labsim run NAME``).
        description: One line for ``labsim list``.
        lesson: The notebook that uses it (``"02_consumer_groups"``).
        Params: The parameter dataclass.
        positional: Parameters a call may give by position, as the lessons write them:
            ``("semantics", "messages")`` lets ``run("at-most-once", 3, 300)`` mean
            ``run(semantics="at-most-once", seed=3, messages=300)`` (the first name in place of
            ``params``, the others after ``seed``).
        summary_tables: The recorded tables :meth:`summarize` reads; they are recorded even
            when ``record_level="summary"`` switches the detailed tables off.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    lesson: ClassVar[str] = ""
    Params: ClassVar[type[Params]]
    summary_tables: ClassVar[tuple[str, ...]] = ()
    positional: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        return f"<scenario {self.name!r}: {self.description}>"

    # -- hooks a scenario fills in ------------------------------------------------------------
    def fault_plan(self, p: Any, seed: int) -> FaultPlan:
        """The faults of the run (default: none)."""
        return FaultPlan(())

    def build(self, p: Any, world: World, plan: FaultPlan) -> Any:
        """Create the components in ``world``, start the workload, apply ``plan``.

        Returns whatever a notebook may want to look inside (the network, a broker...).
        """
        raise NotImplementedError

    def finish(self, p: Any, system: Any, world: World) -> None:
        """After the run: let components record their end state as tables (default: nothing).

        ``system`` is what :meth:`build` returned. This is the one place a scenario touches
        live objects after the run, and only to write rows that :meth:`summarize` then reads.
        """

    def until(self, p: Any) -> float | None:
        """Simulated time the run ends (``None``: when nothing is left to happen)."""
        raise NotImplementedError

    def summarize(self, p: Any, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        """Headline figures computed from the recorded frames only."""
        raise NotImplementedError

    # -- written once for all -----------------------------------------------------------------
    def params(self, params: Any = None, given: Any = None, /, **overrides: Any) -> Any:
        """Validated parameters from an instance or mapping, then keyword overrides.

        A name given twice (by position and by keyword) is an error.
        """
        given = dict(given or {})
        twice = sorted(set(given) & set(overrides))
        if twice:
            raise ConfigError(twice[0], overrides[twice[0]], "one value, not two", self.name)
        return build_params(self.Params, params, {**given, **overrides})

    def defaults(self) -> dict[str, Any]:
        """Parameter name -> default value."""
        return {name: spec.default for name, spec in specs(self.Params).items()}

    def describe(self) -> pd.DataFrame:
        """The parameter table: name, type, default, accepted range, unit, doc."""
        return pd.DataFrame(describe(self.Params))

    def run(
        self,
        params: Any = None,
        seed: int = 0,
        *more: Any,
        record_level: str = "full",
        **overrides: Any,
    ) -> Result:
        """Run the scenario once.

        Args:
            params: A parameter instance or mapping (``None``: the defaults).
            seed: Seed of the run (same seed, same frames).
            record_level: ``"full"`` or ``"summary"`` (only the tables the summary reads,
                :attr:`summary_tables`, and those declared at summary level).
            *more: Further parameters by position (see :attr:`positional`).
            **overrides: Single parameters to change (``run(seed=1, loss=0.1)``).

        Returns:
            A :class:`~labsim.result.Result` with ``summary``, ``frames`` and the ``plan``.
        """
        p = self.params(*self._positional(params, more), **overrides)
        if record_level not in LEVELS[1:]:
            raise ConfigError("record_level", record_level, "'summary' or 'full'", self.name)
        world = World(seed, record_level=record_level)
        world.recorder.keep(self.summary_tables)
        plan = self.fault_plan(p, world.seed)
        system = self.build(p, world, plan)
        world.run(until=self.until(p))
        self.finish(p, system, world)
        frames = world.frames()
        return Result(self.name, p, world.seed, self.summarize(p, frames), frames, plan)

    def _positional(self, params: Any, more: tuple[Any, ...]) -> tuple[Any, dict[str, Any]]:
        lead, *rest = self.positional or ("",)
        given: dict[str, Any] = {}
        if isinstance(params, str) and lead:
            given[lead], params = params, None
        if len(more) > len(rest):
            raise ConfigError(
                "arguments",
                more,
                f"at most {len(rest)} after seed ({', '.join(rest) or 'none'})",
                self.name,
            )
        given.update(zip(rest, more, strict=False))  # fewer values than names is fine
        return params, given

    def figures(self, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """``run(params, seed).summary``: the function a sweep calls for each point."""
        return self.run(dict(params), seed, record_level="summary").summary

    def sweep(
        self,
        grid: Mapping[str, Any],
        seeds: Any,
        executor: Any = None,
        *,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Run every combination of ``grid`` with every seed: one row per run.

        The whole grid is validated before the first run; ``executor`` may be any
        :class:`concurrent.futures.Executor` (see :func:`labsim.sweep.sweep`).
        """
        from labsim.sweep import sweep

        return sweep(
            self.figures,
            grid,
            seeds,
            executor,
            progress=progress,
            description=self.name,
            validate=self.validate,
        )

    def validate(self, params: Mapping[str, Any]) -> None:
        """Raise :class:`ConfigError` if ``params`` are not valid (a sweep checks its grid)."""
        self.params(dict(params))
