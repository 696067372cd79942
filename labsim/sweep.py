"""Parameter sweeps: a grid of parameters times a list of seeds, one DataFrame row per run.

``sweep(fn, grid, seeds)`` calls ``fn(params, seed)`` for every combination. It runs serially
by default; pass any :class:`concurrent.futures.Executor` to spread the runs — a
``ProcessPoolExecutor`` on one machine, or a Dask cluster's ``client.get_executor()`` when a
sweep outgrows it. Rows come back in grid order whatever the executor, so the frame is the
same either way.

:func:`process_pool` makes a process pool whose workers start without paying for imports
(forked with labsim and its scenarios already imported), so a sweep of short runs gains from
every core instead of waiting for each worker to import pandas and the models. Each run
sends back only its dict of figures.

Everything is checked before the first run: the grid's shape, the seeds, the number of runs
(at most :data:`MAX_RUNS`) and, with ``validate=``, every grid point. A run that fails raises
:class:`RunError` naming its parameters and seed (also from a process pool).

A progress bar (tqdm) is shown unless ``progress=False`` or the environment variable
``LABSIM_PROGRESS`` is ``0`` (the test suite sets it so stored notebook outputs stay stable).
"""

from __future__ import annotations

import importlib
import itertools
import math
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from labsim.errors import ConfigError, is_integer

__all__ = ["MAX_RUNS", "RunError", "grid_points", "process_pool", "progress_enabled", "sweep"]

#: The most runs one sweep may ask for (grid points x seeds): more is a mistake on a lab
#: machine, and a sweep that size should be split or sampled.
MAX_RUNS = 1_000_000


class RunError(RuntimeError):
    """One run of a sweep failed.

    Args:
        params: The run's parameters.
        seed: The run's seed.
        cause: What went wrong, as text (``"ZeroDivisionError: division by zero"``).

    In the sweeping process the original exception is chained as ``__cause__``; from a
    process pool the worker's traceback is chained instead (the error pickles by its
    arguments, so it crosses process boundaries intact).
    """

    def __init__(self, params: Mapping[str, Any], seed: int, cause: str):
        self.params = dict(params)
        self.seed = seed
        self.cause = cause
        super().__init__(f"sweep run with params {self.params!r} and seed {seed} failed: {cause}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.params, self.seed, self.cause))


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to show a progress bar: ``progress`` if given, else ``LABSIM_PROGRESS != "0"``."""
    if progress is not None:
        return bool(progress)
    return os.environ.get("LABSIM_PROGRESS", "1") != "0"


#: Modules a :func:`process_pool` server imports once, before it forks the workers.
PRELOAD = ("labsim.scenarios",)


def process_pool(workers: int | None = None, preload: Sequence[str] = PRELOAD) -> Executor:
    """A :class:`~concurrent.futures.ProcessPoolExecutor` whose workers start warm.

    On Linux the workers are forked from this process, so they start with labsim and its
    scenarios already imported (a fresh interpreter spends about a second on that, which on
    short runs eats most of what a second core gains). Elsewhere they are forked from a
    *forkserver* that imported ``preload`` once (where there is no forkserver, as on Windows,
    a plain pool is returned).

    Args:
        workers: Worker processes (default: the number of CPUs).
        preload: Modules imported before the workers start.

    Use it as ``with process_pool() as pool: scenario.sweep(grid, seeds, pool)``.
    """
    if workers is not None and (not is_integer(workers) or workers < 1):
        raise ConfigError("workers", workers, "None or an integer >= 1", "process_pool")
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods:
        for module in preload:
            importlib.import_module(module)
        context = multiprocessing.get_context("fork")
    elif "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
    else:  # pragma: no cover - Windows
        return ProcessPoolExecutor(workers)
    return ProcessPoolExecutor(workers, mp_context=context)


def _plain(value: Any) -> Any:
    # A NumPy scalar (from np.arange, np.linspace, ...) becomes the equal Python value, so
    # parameter checks, frames and messages see an int / float / bool / str.
    return value.item() if isinstance(value, np.generic) else value


def _grid_values(grid: Any) -> dict[str, list[Any]]:
    """Check ``grid`` and materialise each value list once (generators are one-shot)."""
    if not isinstance(grid, Mapping):
        raise ConfigError("grid", grid, "a mapping of parameter name -> list of values", "sweep")
    values: dict[str, list[Any]] = {}
    for name, given in grid.items():
        if not isinstance(name, str) or not name:
            raise ConfigError("grid", name, "parameter names that are non-empty strings", "sweep")
        if name == "seed":
            raise ConfigError(
                "grid['seed']", given, "no 'seed' in the grid: pass seeds separately", "sweep"
            )
        accepted = "a list (or other iterable, such as a range or a NumPy array) of values"
        if isinstance(given, (str, bytes, Mapping)) or not isinstance(given, Iterable):
            raise ConfigError(f"grid[{name!r}]", given, accepted, "sweep")
        try:
            listed = [_plain(v) for v in itertools.islice(given, MAX_RUNS + 1)]
        except TypeError:  # e.g. a 0-d NumPy array, which says it iterates but cannot
            raise ConfigError(f"grid[{name!r}]", given, accepted, "sweep") from None
        if not listed:
            raise ConfigError(f"grid[{name!r}]", given, "at least one value", "sweep")
        if len(listed) > MAX_RUNS:
            raise ConfigError(
                f"grid[{name!r}]", given, f"at most {MAX_RUNS} values (runs per sweep)", "sweep"
            )
        values[name] = listed
    return values


def _count_points(values: Mapping[str, Sequence[Any]]) -> int:
    return math.prod(len(v) for v in values.values())


def _check_points(values: Mapping[str, Sequence[Any]], limit: int, seeds: int = 1) -> int:
    points = _count_points(values)
    if points * seeds > limit:
        sizes = " x ".join(f"{len(v)} {name}" for name, v in values.items()) or "1"
        raise ConfigError(
            "grid",
            f"{sizes} = {points} point(s) x {seeds} seed(s) = {points * seeds} runs",
            f"at most {limit} runs per sweep (split the sweep or sample fewer values)",
            "sweep",
        )
    return points


def _points(values: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(values)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(values[n] for n in names))
    ]


def grid_points(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of ``grid`` as a list of parameter dicts (first key varies slowest).

    Each value list may be any iterable (a list, a range, a NumPy array, a generator); it is
    read once. NumPy scalars become the equal Python values. More than :data:`MAX_RUNS`
    points raise :class:`~labsim.ConfigError`.
    """
    values = _grid_values(grid)
    _check_points(values, MAX_RUNS)
    return _points(values)


def _seed_list(seeds: Any, points: int) -> Sequence[int]:
    """Check ``seeds`` cheaply and return them as a sequence (a range stays a range)."""
    accepted = "an int n >= 1 (meaning range(n)), a range or a list of integers >= 0"
    if is_integer(seeds):
        if seeds < 1:
            raise ConfigError("seeds", seeds, accepted, "sweep")
        seeds = range(int(seeds))
    if isinstance(seeds, range):
        if len(seeds) == 0:
            raise ConfigError("seeds", seeds, "at least one seed", "sweep")
        if min(seeds[0], seeds[-1]) < 0:
            raise ConfigError("seeds", seeds, "a range of seeds >= 0", "sweep")
        runs = len(seeds)
        if runs * points > MAX_RUNS:
            _too_many(points, seeds, runs)
        return seeds
    if isinstance(seeds, (str, bytes, Mapping)) or not isinstance(seeds, Iterable):
        raise ConfigError("seeds", seeds, accepted, "sweep")
    cap = MAX_RUNS // points + 1  # reading more than this can only end in "too many runs"
    try:
        listed = list(itertools.islice(seeds, cap))
    except TypeError:
        raise ConfigError("seeds", seeds, accepted, "sweep") from None
    if not listed:
        raise ConfigError("seeds", seeds, "at least one seed", "sweep")
    if len(listed) * points > MAX_RUNS:
        _too_many(points, seeds, len(listed), at_least=True)
    checked = []
    for s in listed:
        if not is_integer(s) or s < 0:
            raise ConfigError("seeds", s, "non-negative integers", "sweep")
        checked.append(int(s))
    return checked


def _too_many(points: int, seeds: Any, count: int, at_least: bool = False) -> None:
    more = "at least " if at_least else ""
    raise ConfigError(
        "seeds",
        seeds,
        f"at most {MAX_RUNS} runs per sweep; {points} grid point(s) x {more}{count} seeds = "
        f"{more}{points * count} runs",
        "sweep",
    )


def _run_one(
    fn: Callable[[dict[str, Any], int], Mapping[str, Any]], params: dict[str, Any], seed: int
) -> dict[str, Any]:
    context = f"sweep run with params {params!r} and seed {seed}"
    try:
        figures = fn(dict(params), seed)
    except ConfigError as exc:
        # Bad input stays a ConfigError (what callers catch), now also naming the run.
        inner = f"{context}: {exc.context}" if exc.context else context
        raise ConfigError(exc.parameter, exc.value, exc.accepted, inner) from exc
    except Exception as exc:
        raise RunError(params, seed, f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(figures, Mapping):
        raise ConfigError(
            "fn", type(figures).__name__, "a function returning a dict of figures", context
        )
    clash = set(figures) & (set(params) | {"seed"})
    if clash:
        raise ConfigError(
            "fn",
            sorted(clash),
            "figures whose names differ from the parameters and 'seed'",
            context,
        )
    return {**params, "seed": seed, **figures}


def sweep(
    fn: Callable[[dict[str, Any], int], Mapping[str, Any]],
    grid: Mapping[str, Iterable[Any]],
    seeds: Iterable[int] | int,
    executor: Executor | None = None,
    *,
    progress: bool | None = None,
    description: str = "sweep",
    validate: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run ``fn(params, seed)`` over a parameter grid and seeds.

    Args:
        fn: Returns a dict of figures for one run. With a process pool or Dask it must be
            importable (defined in a module, not a notebook cell, for process pools).
        grid: Parameter name -> values (a list, range, NumPy array or generator, read once);
            every combination is run. NumPy scalars are passed to ``fn`` as the equal Python
            ``int`` / ``float`` / ``bool`` / ``str``.
        seeds: Seeds to run each combination with: an int ``n`` means ``range(n)``; a range is
            checked without being listed; any other iterable of integers >= 0 is read once.
            NumPy integers are passed as Python ints.
        executor: Any ``concurrent.futures.Executor``; ``None`` runs serially in this process.
        progress: Show a progress bar (default: unless ``LABSIM_PROGRESS=0``).
        description: Label of the progress bar.
        validate: Called with every grid point before the first run (a scenario's parameter
            check); whatever it raises stops the sweep before anything has run.

    Returns:
        One row per run: the parameters, ``seed``, then the figures; rows in grid order, seeds
        innermost.

    Raises:
        ConfigError: for a bad grid, bad seeds, more than :data:`MAX_RUNS` runs, a grid point
            ``validate`` refuses, a ConfigError inside a run (its context then names the
            run's parameters and seed) or figures that are not a dict or shadow a parameter.
        RunError: if ``fn`` raises anything else; it names the parameters and the seed.
    """
    if not callable(fn):
        raise ConfigError("fn", fn, "a function fn(params: dict, seed: int) -> dict", "sweep")
    if validate is not None and not callable(validate):
        raise ConfigError("validate", validate, "None or a function of one grid point", "sweep")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ConfigError("executor", executor, "None or a concurrent.futures.Executor", "sweep")
    values = _grid_values(grid)
    points = _check_points(values, MAX_RUNS)
    seed_list = _seed_list(seeds, points)
    grid_list = _points(values)
    if validate is not None:
        for point in grid_list:  # every combination checked before the first run
            validate(dict(point))
    tasks = [(p, s) for p in grid_list for s in seed_list]
    bar = tqdm(total=len(tasks), desc=description, disable=not progress_enabled(progress))
    rows: list[dict[str, Any] | None] = [None] * len(tasks)
    try:
        if executor is None:
            for i, (params, seed) in enumerate(tasks):
                rows[i] = _run_one(fn, params, seed)
                bar.update()
        else:
            futures: dict[Future[dict[str, Any]], int] = {}
            try:
                for i, (params, seed) in enumerate(tasks):
                    futures[executor.submit(_run_one, fn, params, seed)] = i
                for future in as_completed(futures):
                    rows[futures[future]] = future.result()
                    bar.update()
            except BaseException:
                for future in futures:  # do not leave queued runs behind a failure
                    future.cancel()
                raise
    finally:
        bar.close()
    return pd.DataFrame(rows)
