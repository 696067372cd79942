"""Column-wise recording of everything a simulation observes.

Components ask the :class:`Recorder` for a :class:`Table` once, keep its bound ``add`` method,
and append one row per observation. Rows are stored as one Python list per column (cheap to
append, cheap to turn into a DataFrame). A recording *level* lets big runs keep only the
summary tables: a table declared at a level above the recorder's level hands out a no-op
``add``, so the hot path pays almost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from labsim.errors import ConfigError, check_choice

__all__ = ["LEVELS", "Recorder", "Table"]

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


class Table:
    """One table of rows stored column-wise.

    Args:
        name: Table name (the key in :meth:`Recorder.frames`).
        columns: Column names, in the order ``add`` takes values.
        enabled: When ``False`` (level switched off), ``add`` does nothing.
        order_by: A column whose order the rows keep in :meth:`frame` (a stable sort), for a
            table whose writers may add a few rows ahead of others — such as a consumer that
            records a processed batch at its end, each row stamped with its own time.

    ``table.add(v0, v1, ...)`` appends one row, values in the order of :attr:`columns`; a
    wrong number of values raises ``TypeError``.
    """

    __slots__ = ("_data", "add", "columns", "enabled", "name", "order_by")

    def __init__(
        self,
        name: str,
        columns: Sequence[str],
        enabled: bool = True,
        order_by: str | None = None,
    ):
        self.name = name
        self.columns = tuple(columns)
        if order_by is not None and order_by not in self.columns:
            raise ConfigError("order_by", order_by, f"one of the columns {self.columns}", name)
        self.order_by = order_by
        self.enabled = enabled
        self._data: tuple[list[Any], ...] = tuple([] for _ in self.columns)
        self.add = _make_add(self._data) if enabled else _noop

    def __len__(self) -> int:
        return len(self._data[0]) if self._data else 0

    def frame(self) -> pd.DataFrame:
        """Return the rows as a DataFrame (columns in declaration order)."""
        frame = pd.DataFrame(
            {c: list(d) for c, d in zip(self.columns, self._data, strict=True)},
            columns=list(self.columns),
        )
        if self.order_by is not None and len(frame) > 1:
            order = frame[self.order_by]
            if not order.is_monotonic_increasing:
                frame = frame.sort_values(self.order_by, kind="stable", ignore_index=True)
        return frame


class Recorder:
    """Holds the tables of one simulation run.

    Args:
        level: ``"full"`` (every table), ``"summary"`` (only tables declared at summary level)
            or ``"off"`` (nothing).
    """

    def __init__(self, level: str = "full"):
        self.level = check_choice("record_level", level, LEVELS)
        self._tables: dict[str, Table] = {}
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
    ) -> Table:
        """Return the table ``name``, creating it on first use.

        Asking twice for the same name returns the same table; the columns must agree.
        ``order_by`` names a column the frame's rows are kept sorted by (see :class:`Table`).
        """
        check_choice("level", level, LEVELS[1:])
        existing = self._tables.get(name)
        if existing is not None:
            if existing.columns != tuple(columns):
                raise ConfigError(
                    "columns",
                    tuple(columns),
                    f"the columns {existing.columns} already declared for table {name!r}",
                )
            return existing
        enabled = LEVELS.index(level) <= LEVELS.index(self.level) or (
            self.level != "off" and name in self._kept
        )
        table = Table(name, columns, enabled, order_by)
        self._tables[name] = table
        return table

    def frames(self) -> dict[str, pd.DataFrame]:
        """Return every table as a tidy DataFrame, keyed by table name (sorted)."""
        return {name: self._tables[name].frame() for name in sorted(self._tables)}

    def frame(self, name: str) -> pd.DataFrame:
        """Return one table as a DataFrame (``KeyError`` naming the known tables if missing)."""
        if name not in self._tables:
            raise KeyError(f"no table {name!r}; recorded tables: {sorted(self._tables)}")
        return self._tables[name].frame()
