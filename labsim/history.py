"""Jepsen-style operation histories.

A client process records an ``invoke`` when it starts an operation and exactly one completion:
``ok`` (it happened), ``fail`` (it certainly did not happen) or ``info`` (unknown: a timeout,
a crash — it may or may not have happened). Checkers read the resulting ``history`` frame.
"""

from __future__ import annotations

from typing import Any

from labsim.world import World

__all__ = ["OP_TYPES", "History"]

OP_TYPES = ("invoke", "ok", "fail", "info")


class History:
    """Records operations into the world's table ``name`` (default ``"history"``).

    Columns: ``index`` (order of recording), ``time``, ``process``, ``type``, ``f`` (the
    operation, e.g. ``"send"``), ``value``.
    """

    def __init__(self, world: World, name: str = "history"):
        self.world = world
        self._add = world.table(name, ("index", "time", "process", "type", "f", "value")).add
        self._index = 0

    def _record(self, type_: str, process: Any, f: str, value: Any) -> None:
        self._add(self._index, self.world.now, process, type_, f, value)
        self._index += 1

    def invoke(self, process: Any, f: str, value: Any = None) -> None:
        """Record that ``process`` started operation ``f`` with ``value``."""
        self._record("invoke", process, f, value)

    def ok(self, process: Any, f: str, value: Any = None) -> None:
        """Record that the operation completed and took effect."""
        self._record("ok", process, f, value)

    def fail(self, process: Any, f: str, value: Any = None) -> None:
        """Record that the operation certainly did not take effect."""
        self._record("fail", process, f, value)

    def info(self, process: Any, f: str, value: Any = None) -> None:
        """Record that the outcome is unknown (timeout, crash)."""
        self._record("info", process, f, value)
