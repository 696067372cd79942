"""Jepsen-style operation histories.

A client process records an ``invoke`` when it starts an operation and exactly one completion:
``ok`` (it happened), ``fail`` (it certainly did not happen) or ``info`` (unknown: a timeout,
a crash — it may or may not have happened). A history is a DataFrame with the operation
columns :data:`OP_COLUMNS` (``index``, ``time``, ``process``, ``type``, ``f``) followed by the
operation's value, one column per field (``value`` by default; a model's history names its
own fields, such as ``topic``, ``partition``, ``offset``).

A history is recorded live with :class:`History`, or built from a run's recorded frames and
put in order with :func:`as_history`; :func:`pair` matches each invocation with its
completion. Checkers (such as :func:`labsim.checks.check_kafka`) read histories, whichever way
they were made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from labsim.errors import ConfigError
from labsim.world import World

__all__ = ["OP_COLUMNS", "OP_TYPES", "History", "as_history", "pair"]

OP_TYPES = ("invoke", "ok", "fail", "info")
#: The columns every history starts with; the operation's value fields follow.
OP_COLUMNS = ("index", "time", "process", "type", "f")


class History:
    """Records operations into the world's table ``name`` (default ``"history"``).

    Args:
        world: The world whose recorder keeps the table.
        name: Table name.
        fields: The value's fields, one column each after :data:`OP_COLUMNS`.

    With the default single field, ``history.ok("c1", "send", 3)`` records value ``3``; with
    fields of your own, name them: ``history.ok("c1", "send", topic="t", offset=3)``.
    """

    def __init__(self, world: World, name: str = "history", fields: Sequence[str] = ("value",)):
        fields = tuple(fields)
        clash = set(fields) & set(OP_COLUMNS)
        if not fields or clash or len(set(fields)) != len(fields):
            raise ConfigError(
                "fields", fields, f"distinct field names, none of {OP_COLUMNS}", "History"
            )
        self.world = world
        self.fields = fields
        self._add = world.table(name, OP_COLUMNS + fields).add
        self._index = 0

    def _record(self, type_: str, process: Any, f: str, value: Any, named: dict[str, Any]) -> None:
        if value is not None:
            named = {"value": value, **named}
        unknown = sorted(set(named) - set(self.fields))
        if unknown:
            raise ConfigError("field", unknown, f"one of {self.fields}", "History")
        values = [named.get(field) for field in self.fields]
        self._add(self._index, self.world.now, process, type_, f, *values)
        self._index += 1

    def invoke(self, process: Any, f: str, value: Any = None, /, **fields: Any) -> None:
        """Record that ``process`` started operation ``f`` with this value."""
        self._record("invoke", process, f, value, fields)

    def ok(self, process: Any, f: str, value: Any = None, /, **fields: Any) -> None:
        """Record that the operation completed and took effect."""
        self._record("ok", process, f, value, fields)

    def fail(self, process: Any, f: str, value: Any = None, /, **fields: Any) -> None:
        """Record that the operation certainly did not take effect."""
        self._record("fail", process, f, value, fields)

    def info(self, process: Any, f: str, value: Any = None, /, **fields: Any) -> None:
        """Record that the outcome is unknown (timeout, crash)."""
        self._record("info", process, f, value, fields)


def as_history(operations: pd.DataFrame) -> pd.DataFrame:
    """Put operation rows in history order and number them.

    Args:
        operations: Rows with ``time``, ``process``, ``type`` (one of :data:`OP_TYPES`) and
            ``f``, and any value fields. Rows without a time sort last.

    Returns:
        The rows sorted by time (stable: rows of one time keep their order), ``index``
        renumbered from 0, operation columns first.
    """
    need = set(OP_COLUMNS) - {"index"}
    missing = sorted(need - set(operations.columns))
    if missing:
        raise ConfigError(
            "operations", sorted(operations.columns), f"columns {missing}", "as_history"
        )
    bad = sorted(set(operations["type"].unique()) - set(OP_TYPES))
    if bad:
        raise ConfigError("type", bad, f"operation types {OP_TYPES}", "as_history")
    fields = [c for c in operations.columns if c not in OP_COLUMNS]
    ordered = operations.sort_values("time", kind="stable", na_position="last", ignore_index=True)
    ordered["index"] = range(len(ordered))
    return ordered[[*OP_COLUMNS, *fields]]


def pair(history: pd.DataFrame, by: Sequence[str] = ("process",)) -> pd.DataFrame:
    """Each invocation with its completion, in invocation order.

    The n-th invocation of a key ``by`` (by default the process: a Jepsen process runs one
    operation at a time) is completed by the n-th completion of that key. A concurrent client
    names its operations with a further key, such as a message id.

    Returns:
        One row per operation: ``index`` and ``time`` of the invocation (``NaN`` for a
        completion without one), ``completed`` (time, ``NaN`` while pending), ``type`` of the
        completion (``"info"`` while pending: the outcome is unknown), ``f``, ``process``, the
        other ``by`` columns, and each value field, taken from the completion where it has
        one, else from the invocation.
    """
    by = list(by)
    fields = [c for c in history.columns if c not in OP_COLUMNS and c not in by]
    is_invoke = history["type"] == "invoke"
    # The n-th row of each key, counted in row order (sort=False: no need to sort the keys).
    calls = history[is_invoke].assign(
        _n=lambda d: d.groupby(by, dropna=False, sort=False).cumcount()
    )
    done = history[~is_invoke].assign(
        _n=lambda d: d.groupby(by, dropna=False, sort=False).cumcount()
    )
    merged = calls.merge(done, on=[*by, "_n"], how="outer", suffixes=("", "_done"), sort=False)
    out = pd.DataFrame(
        {
            "index": merged["index"],
            "time": merged["time"],
            "completed": merged["time_done"],
            "type": merged["type_done"].fillna("info"),
            "f": merged["f"].fillna(merged["f_done"]),
        }
    )
    if "process" not in by:
        out["process"] = merged["process"].fillna(merged["process_done"])
    for column in by:
        out[column] = merged[column]
    for field in fields:
        out[field] = merged[f"{field}_done"].combine_first(merged[field])
    return out.sort_values(["index", "completed"], kind="stable", ignore_index=True)
