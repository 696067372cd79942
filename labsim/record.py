"""Column-wise recording of everything a simulation observes.

Components ask the :class:`Recorder` for a :class:`Table` once, keep its bound ``add`` method,
and append one row per observation. Rows are stored as one Python list per column (cheap to
append, cheap to turn into a DataFrame). A recording *level* lets big runs keep only the
summary tables: a table declared at a level above the recorder's level hands out a no-op
``add``, so the hot path pays almost nothing.

A :class:`Totals` table keeps running counts, sums, minima and maxima per key instead of the
rows: its memory does not grow with the run, which is what a summary-level record of a
million messages needs.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from labsim.errors import ConfigError, check_choice

__all__ = ["LEVELS", "Recorder", "Table", "Totals"]

#: Recording levels, from least to most detailed.
LEVELS = ("off", "summary", "full")


def _noop(*values: Any) -> None:
    """``add`` of a table whose level is switched off."""


def _make_add(data: tuple[list[Any], ...]) -> Any:
    # One generated function per table: ``add(v0, v1, ...)`` appends each value to its column
    # list with no loop, which is most of what recording costs on the hot path.
    names = [f"v{i}" for i in range(len(data))]
    params = ", ".join(names)
    body = "; ".join(f"a{i}({v})" for i, v in enumerate(names)) or "pass"
    defaults = ", ".join(f"a{i}=_a{i}" for i in range(len(data)))
    namespace = {f"_a{i}": column.append for i, column in enumerate(data)}
    exec(f"def add({params}{', *, ' if defaults else ''}{defaults}):\n    {body}\n", namespace)
    return namespace["add"]


def _values(column: list[Any] | array[Any]) -> Any:
    """A column's values for a DataFrame: a copy (the table keeps growing)."""
    if isinstance(column, array) and len(column):
        return np.array(column)  # float64 / int64, as pandas makes of a list of such numbers
    return list(column)


class Table:
    """One table of rows stored column-wise.

    Args:
        name: Table name (the key in :meth:`Recorder.frames`).
        columns: Column names, in the order ``add`` takes values.
        enabled: When ``False`` (level switched off), ``add`` does nothing.
        order_by: A column whose order the rows keep in :meth:`frame` (a stable sort), for a
            table whose writers may add a few rows ahead of others — such as a consumer that
            records a processed batch at its end, each row stamped with its own time.
        typed: Column name -> :mod:`array` type code (``"d"`` for float, ``"q"`` for int) for
            columns that only ever hold numbers: stored 8 bytes a value instead of a Python
            object each (a million-message run's times and ids). A value of another type
            raises ``TypeError`` when added.

    ``table.add(v0, v1, ...)`` appends one row, values in the order of :attr:`columns`; a
    wrong number of values raises ``TypeError``.
    """

    __slots__ = ("_data", "_readers", "add", "columns", "enabled", "name", "order_by")

    def __init__(
        self,
        name: str,
        columns: Sequence[str],
        enabled: bool = True,
        order_by: str | None = None,
        typed: Mapping[str, str] | None = None,
    ):
        self.name = name
        self.columns = tuple(columns)
        if order_by is not None and order_by not in self.columns:
            raise ConfigError("order_by", order_by, f"one of the columns {self.columns}", name)
        typed = dict(typed or {})
        for column, code in typed.items():
            if column not in self.columns or code not in ("d", "q"):
                raise ConfigError(
                    "typed", {column: code}, f"{{column: 'd' or 'q'}} for {self.columns}", name
                )
        self.order_by = order_by
        self.enabled = enabled
        self._data: tuple[Any, ...] = tuple(
            array(typed[c]) if c in typed else [] for c in self.columns
        )
        self.add = _make_add(self._data) if enabled else _noop
        self._readers: list[Callable[[], Any]] = []

    def before_read(self, catch_up: Callable[[], Any]) -> None:
        """Call ``catch_up()`` before the rows are read (``len``, :meth:`frame`).

        For a writer that holds rows back while they are predictable, such as a sampler that
        sleeps while nothing changes: it writes the samples it skipped when asked.
        """
        self._readers.append(catch_up)

    def __len__(self) -> int:
        for catch_up in self._readers:
            catch_up()
        return len(self._data[0]) if self._data else 0

    def frame(self) -> pd.DataFrame:
        """Return the rows as a DataFrame (columns in declaration order)."""
        for catch_up in self._readers:
            catch_up()
        frame = pd.DataFrame(
            {c: _values(d) for c, d in zip(self.columns, self._data, strict=True)},
            columns=list(self.columns),
        )
        if self.order_by is not None and len(frame) > 1:
            order = frame[self.order_by]
            if not order.is_monotonic_increasing:
                frame = frame.sort_values(self.order_by, kind="stable", ignore_index=True)
        return frame


class Totals:
    """Running totals of observations grouped by key: memory bounded by the number of keys.

    Args:
        name: Table name (the key in :meth:`Recorder.frames`).
        keys: Key column names (``add`` takes the keys first).
        values: Numeric value column names (then the values).
        enabled: When ``False`` (level switched off), ``add`` does nothing.

    ``totals.add(k0, ..., v0, ...)`` adds one observation. The frame has one row per key, in
    the order the keys first appeared: the keys, ``count``, and for each value ``{v}_sum``,
    ``{v}_min`` and ``{v}_max`` (sums added in observation order).
    """

    __slots__ = ("_groups", "add", "columns", "enabled", "keys", "name", "values")

    def __init__(self, name: str, keys: Sequence[str], values: Sequence[str], enabled: bool = True):
        self.name = name
        self.keys = tuple(keys)
        self.values = tuple(values)
        if not self.values:
            raise ConfigError("values", values, "at least one value column", name)
        self.columns = self.keys + self.values
        self.enabled = enabled
        # key -> [count, sums, minima, maxima]
        self._groups: dict[tuple[Any, ...], list[Any]] = {}
        self.add = self._add if enabled else _noop

    def __len__(self) -> int:
        return len(self._groups)

    def _add(self, *row: Any) -> None:
        if len(row) != len(self.columns):
            raise TypeError(f"{self.name}: {len(self.columns)} values expected, got {len(row)}")
        split = len(self.keys)
        key, values = row[:split], row[split:]
        group = self._groups.get(key)
        if group is None:
            self._groups[key] = [1, list(values), list(values), list(values)]
            return
        group[0] += 1
        sums, low, high = group[1], group[2], group[3]
        for i, v in enumerate(values):
            sums[i] += v
            if v < low[i]:
                low[i] = v
            if v > high[i]:
                high[i] = v

    def frame(self) -> pd.DataFrame:
        """One row per key: the keys, ``count``, then ``{v}_sum``, ``{v}_min``, ``{v}_max``."""
        columns = [*self.keys, "count"]
        for v in self.values:
            columns += [f"{v}_sum", f"{v}_min", f"{v}_max"]
        rows = []
        for key, (count, sums, low, high) in self._groups.items():
            row = [*key, count]
            for i in range(len(self.values)):
                row += [sums[i], low[i], high[i]]
            rows.append(row)
        return pd.DataFrame(rows, columns=columns)


class Recorder:
    """Holds the tables of one simulation run.

    Args:
        level: ``"full"`` (every table), ``"summary"`` (only tables declared at summary level)
            or ``"off"`` (nothing).
    """

    def __init__(self, level: str = "full"):
        self.level = check_choice("record_level", level, LEVELS)
        self._tables: dict[str, Table | Totals] = {}
        self._kept: frozenset[str] = frozenset()

    def keep(self, names: Sequence[str]) -> None:
        """Record the tables ``names`` whatever the level (a scenario's summary reads them).

        Call it before the components declare their tables.
        """
        self._kept = self._kept | frozenset(names)

    def table(
        self,
        name: str,
        columns: Sequence[str],
        level: str = "full",
        order_by: str | None = None,
        typed: Mapping[str, str] | None = None,
    ) -> Table:
        """Return the table ``name``, creating it on first use.

        Asking twice for the same name returns the same table; the columns must agree.
        ``order_by`` names a column the frame's rows are kept sorted by, ``typed`` the columns
        stored as compact numbers (see :class:`Table`).
        """
        check_choice("level", level, LEVELS[1:])
        existing = self._tables.get(name)
        if existing is not None:
            if not isinstance(existing, Table) or existing.columns != tuple(columns):
                raise ConfigError(
                    "columns",
                    tuple(columns),
                    f"the columns {existing.columns} already declared for table {name!r}",
                )
            return existing
        table = Table(name, columns, self._enabled(name, level), order_by, typed)
        self._tables[name] = table
        return table

    def totals(
        self, name: str, keys: Sequence[str], values: Sequence[str], level: str = "summary"
    ) -> Totals:
        """Return the :class:`Totals` table ``name``, creating it on first use.

        Asking twice for the same name returns the same table; keys and values must agree.
        """
        check_choice("level", level, LEVELS[1:])
        existing = self._tables.get(name)
        if existing is not None:
            if not isinstance(existing, Totals) or existing.columns != (*keys, *values):
                raise ConfigError(
                    "columns",
                    (*keys, *values),
                    f"the columns {existing.columns} already declared for table {name!r}",
                )
            return existing
        totals = Totals(name, keys, values, self._enabled(name, level))
        self._tables[name] = totals
        return totals

    def _enabled(self, name: str, level: str) -> bool:
        return LEVELS.index(level) <= LEVELS.index(self.level) or (
            self.level != "off" and name in self._kept
        )

    def frames(self) -> dict[str, pd.DataFrame]:
        """Return every table as a tidy DataFrame, keyed by table name (sorted)."""
        return {name: self._tables[name].frame() for name in sorted(self._tables)}

    def frame(self, name: str) -> pd.DataFrame:
        """Return one table as a DataFrame (``KeyError`` naming the known tables if missing)."""
        if name not in self._tables:
            raise KeyError(f"no table {name!r}; recorded tables: {sorted(self._tables)}")
        return self._tables[name].frame()
