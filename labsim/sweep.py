"""Parameter sweeps: a grid of parameters times a list of seeds, one DataFrame row per run.

``sweep(fn, grid, seeds)`` calls ``fn(params, seed)`` for every combination. It runs serially
by default; pass any :class:`concurrent.futures.Executor` to spread the runs — a
``ProcessPoolExecutor`` on one machine, or a Dask cluster's ``client.get_executor()`` when a
sweep outgrows it. Rows come back in grid order whatever the executor, so the frame is the
same either way.

A progress bar (tqdm) is shown unless ``progress=False`` or the environment variable
``LABSIM_PROGRESS`` is ``0`` (the test suite sets it so stored notebook outputs stay stable).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, as_completed
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from labsim.errors import ConfigError

__all__ = ["grid_points", "progress_enabled", "sweep"]


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to show a progress bar: ``progress`` if given, else ``LABSIM_PROGRESS != "0"``."""
    if progress is not None:
        return bool(progress)
    return os.environ.get("LABSIM_PROGRESS", "1") != "0"


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of ``grid`` as a list of parameter dicts (first key varies slowest)."""
    if not isinstance(grid, Mapping):
        raise ConfigError("grid", grid, "a mapping of parameter name -> list of values", "sweep")
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ConfigError(f"grid[{name!r}]", values, "a list of values", "sweep")
        if len(list(values)) == 0:
            raise ConfigError(f"grid[{name!r}]", values, "at least one value", "sweep")
    names = list(grid)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(list(grid[n]) for n in names))
    ]


def _run_one(
    fn: Callable[[dict[str, Any], int], Mapping[str, Any]], params: dict[str, Any], seed: int
) -> dict[str, Any]:
    figures = fn(dict(params), seed)
    if not isinstance(figures, Mapping):
        raise TypeError(
            f"sweep function must return a dict of figures, got {type(figures).__name__}"
        )
    clash = set(figures) & (set(params) | {"seed"})
    if clash:
        raise ValueError(f"figures {sorted(clash)} have the same names as parameters or 'seed'")
    return {**params, "seed": seed, **figures}


def sweep(
    fn: Callable[[dict[str, Any], int], Mapping[str, Any]],
    grid: Mapping[str, Sequence[Any]],
    seeds: Iterable[int] | int,
    executor: Executor | None = None,
    *,
    progress: bool | None = None,
    description: str = "sweep",
) -> pd.DataFrame:
    """Run ``fn(params, seed)`` over a parameter grid and seeds.

    Args:
        fn: Returns a dict of figures for one run. With a process pool or Dask it must be
            importable (defined in a module, not a notebook cell, for process pools).
        grid: Parameter name -> list of values; every combination is run.
        seeds: Seeds to run each combination with (an int ``n`` means ``range(n)``).
        executor: Any ``concurrent.futures.Executor``; ``None`` runs serially in this process.
        progress: Show a progress bar (default: unless ``LABSIM_PROGRESS=0``).
        description: Label of the progress bar.

    Returns:
        One row per run: the parameters, ``seed``, then the figures; rows in grid order, seeds
        innermost.
    """
    points = grid_points(grid)
    seed_list = (
        list(range(seeds))
        if isinstance(seeds, int) and not isinstance(seeds, bool)
        else list(seeds)
    )
    if not seed_list:
        raise ConfigError("seeds", seeds, "at least one seed", "sweep")
    for s in seed_list:
        if not isinstance(s, int) or isinstance(s, bool) or s < 0:
            raise ConfigError("seeds", s, "non-negative integers", "sweep")
    tasks = [(p, s) for p in points for s in seed_list]
    bar = tqdm(total=len(tasks), desc=description, disable=not progress_enabled(progress))
    rows: list[dict[str, Any] | None] = [None] * len(tasks)
    try:
        if executor is None:
            for i, (params, seed) in enumerate(tasks):
                rows[i] = _run_one(fn, params, seed)
                bar.update()
        else:
            futures = {
                executor.submit(_run_one, fn, params, seed): i
                for i, (params, seed) in enumerate(tasks)
            }
            for future in as_completed(futures):
                rows[futures[future]] = future.result()
                bar.update()
    finally:
        bar.close()
    return pd.DataFrame(rows)
