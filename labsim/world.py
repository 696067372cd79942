"""The simulation kernel: one :class:`World` per run.

A World wraps a SimPy environment, hands out named random streams, numbers identifiers and
holds the recorder. Everything in a run happens inside one World, so a seed fixes the whole
run: same seed, same frames.
"""

from __future__ import annotations

import contextvars
import hashlib
import math
import random
from collections.abc import Callable, Generator
from heapq import heappush
from typing import Any

import pandas as pd
import simpy
from simpy.events import NORMAL

from labsim.errors import ConfigError, check_int, is_real
from labsim.record import Recorder, Table

__all__ = ["World", "call_later", "current_world", "ms", "stream_seed"]

_CURRENT: contextvars.ContextVar[World | None] = contextvars.ContextVar(
    "labsim_world", default=None
)


def ms(value: float) -> float:
    """Milliseconds in simulated seconds: ``ms(5) == 0.005``."""
    return value / 1000.0


def stream_seed(seed: int, name: str) -> int:
    """Derive the seed of the random stream ``name`` from the world seed.

    A cryptographic hash of ``(seed, name)`` is used rather than Python's :func:`hash`, which is
    salted per process (``PYTHONHASHSEED``) and would make runs differ between processes.
    """
    digest = hashlib.blake2b(f"{seed}\x1f{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class _Later(simpy.Event):
    """An event triggered (ok, no value) as it is scheduled: what :func:`call_later` makes."""

    _ok = True
    _value = None


_new = object.__new__


def call_later(
    env: simpy.Environment, delay: float, callback: Callable[[simpy.Event], Any]
) -> simpy.Event:
    """Call ``callback(event)`` ``delay`` simulated seconds from now; returns the event.

    The same as ``env.timeout(delay).callbacks.append(callback)``, at the very same place in
    the order of events (the environment's own sequence numbers), without building a
    :class:`simpy.Timeout` and going through ``Environment.schedule``: the network schedules
    one such call per message, so this is a good part of what a message costs.
    """
    if delay < 0:
        raise ValueError(f"Negative delay {delay}")
    event = _new(_Later)
    event.env = env
    event.callbacks = [callback]
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), event))
    return event


def current_world() -> World | None:
    """The World that is running (inside :meth:`World.run` or a ``with world:`` block)."""
    return _CURRENT.get()


class World:
    """A seeded simulation: SimPy environment, named random streams and a recorder.

    Args:
        seed: Non-negative integer fixing every random stream of the run.
        record_level: ``"full"`` records every table, ``"summary"`` only summary tables (for
            big runs), ``"off"`` nothing.

    Example:
        >>> world = World(seed=42)
        >>> world.rng("network").random() == World(seed=42).rng("network").random()
        True
    """

    def __init__(self, seed: int = 0, *, record_level: str = "full"):
        # NumPy integers are accepted and stored as a Python int (the stream hashes use its
        # decimal text); bool, floats such as 1.7, strings and negatives are refused.
        self.seed = check_int("seed", seed, minimum=0, context="World")
        self.env = simpy.Environment()
        self.recorder = Recorder(record_level)
        self._streams: dict[str, random.Random] = {}
        self._counters: dict[str, int] = {}
        # A stack: ``with world:`` may nest inside ``world.run()`` (a process using it).
        self._tokens: list[contextvars.Token[World | None]] = []

    def __repr__(self) -> str:
        return f"World(seed={self.seed}, now={self.now:g})"

    @property
    def now(self) -> float:
        """Current simulated time in seconds."""
        return self.env.now

    def rng(self, name: str) -> random.Random:
        """Return the random stream ``name`` (created on first use from ``(seed, name)``).

        Streams are independent: adding a component that draws from its own stream never shifts
        the numbers another component sees, so two variants of an experiment share common
        random numbers.
        """
        if not isinstance(name, str) or not name:
            raise ConfigError("name", name, "a non-empty string", "World.rng")
        stream = self._streams.get(name)
        if stream is None:
            stream = random.Random(stream_seed(self.seed, name))
            self._streams[name] = stream
        return stream

    def next_id(self, prefix: str = "id") -> str:
        """Return a run-unique, deterministic identifier such as ``"evt-7"``."""
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}-{n}"

    def process(self, generator: Generator[Any, Any, Any]) -> simpy.Process:
        """Start a SimPy process in this world."""
        return self.env.process(generator)

    def timeout(self, delay: float, value: Any = None) -> simpy.Timeout:
        """A SimPy timeout event ``delay`` simulated seconds from now."""
        return self.env.timeout(delay, value)

    def table(
        self,
        name: str,
        columns: tuple[str, ...],
        level: str = "full",
        order_by: str | None = None,
    ) -> Table:
        """Shortcut for ``world.recorder.table``."""
        return self.recorder.table(name, columns, level, order_by)

    def run(self, until: float | None = None) -> None:
        """Advance the simulation until simulated time ``until`` (or until nothing is left).

        Raises:
            ConfigError: if ``until`` is not a finite time after the current time (NaN and
                infinity are refused: leave ``until`` out to run until nothing is left).
        """
        if until is not None:
            try:
                end = float(until) if is_real(until) else math.nan
            except OverflowError:
                end = math.inf
            if not math.isfinite(end) or end <= self.now:
                raise ConfigError(
                    "until", until, f"None or a finite time after now ({self.now:g})", "World.run"
                )
            until = end
        with self:
            self.env.run(until=until)

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every recorded table as a tidy DataFrame, keyed by table name."""
        return self.recorder.frames()

    def frame(self, name: str) -> pd.DataFrame:
        """One recorded table as a DataFrame."""
        return self.recorder.frame(name)

    def __enter__(self) -> World:
        self._tokens.append(_CURRENT.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._tokens.pop())
