"""The pieces every challenge shares: its declaration, the learner's durable store, steps and
crash points, and the guard around learner code.

A learner's component lives on a node of a :class:`~labsim.network.Network`. Its ``self``
is volatile: when the node crashes the instance is thrown away and a new one is built on
restart. What it keeps in the :class:`Durable` store it is given survives. Every call it
makes on the store (or on the other handles a challenge gives it) is one **step**, taking
:data:`STEP` simulated seconds; a ``crash`` fault of the node that starts between two steps
stops the component right there, so a crash can fall between any two of its steps.
"""

from __future__ import annotations

import contextlib
import linecache
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from labsim.checks import CheckResult
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.world import World

__all__ = [
    "STEP",
    "Challenge",
    "Crashed",
    "Durable",
    "LearnerError",
    "Node",
    "Outcome",
    "Target",
]

#: Simulated seconds one step of learner code takes.
STEP = 0.001


class Crashed(BaseException):
    """Raised inside learner code when its node crashes (a BaseException: never swallowed)."""


class LearnerError(Exception):
    """A mistake in the learner's class: an exception, a missing method or a run that hangs.

    Attributes:
        message: What went wrong, in a few lines (the learner's own traceback lines included).
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _TimeUp(BaseException):
    """Raised by the wall-clock alarm inside learner code."""


@dataclass(frozen=True)
class Target:
    """One numeric target: ``figure`` compared by ``op`` (``"<="`` or ``">="``) with ``bound``.

    Attributes:
        figure: Name of the measured figure.
        op: ``"<="`` or ``">="``.
        bound: The bound.
        text: What it means, for the report.
    """

    figure: str
    op: str
    bound: float
    text: str

    def holds(self, value: float) -> bool:
        """Whether the measured ``value`` meets the target (NaN never does)."""
        return bool(value <= self.bound) if self.op == "<=" else bool(value >= self.bound)

    def __str__(self) -> str:
        return f"{self.figure} {self.op} {self.bound:g}"


@dataclass
class Outcome:
    """What one run measured.

    Attributes:
        figures: Measured figure per target name.
        checks: The checkers' results (their words and anomaly rows).
        frames: Every recorded table.
        nodes: The nodes, in drawing order.
        end: Simulated end time.
    """

    figures: dict[str, float]
    checks: list[CheckResult]
    frames: dict[str, pd.DataFrame]
    nodes: list[str]
    end: float


@dataclass(frozen=True)
class Challenge:
    """A challenge of the ladder: what the learner writes and how it is graded.

    Attributes:
        name: Short name (``idempotent-consumer``).
        lesson: The lesson it belongs to (``03_delivery_semantics``).
        goal: One line.
        invariant: What must hold, in words.
        targets: The numeric targets.
        fault_kinds: Fault kinds its chaos plans draw.
        class_name: Name of the class the learner writes.
        methods: Methods the harness calls.
        starter: Text of the starter file.
        runner: ``runner(cls, world, network, size)`` builds and runs one world; returns an
            :class:`Outcome`.
        nodes: Nodes of its network (chaos targets).
        protect: Nodes chaos never crashes.
        duration: Simulated seconds of a run (faults heal at 70 % of it).
        size: Default message (or operation) count.
        laws: Optional ``laws(cls) -> CheckResult`` checked once, before any run.
        exhaustive_node: The node whose every crash point ``--exhaustive`` tries ('' = none).
    """

    name: str
    lesson: str
    goal: str
    invariant: str
    targets: tuple[Target, ...]
    fault_kinds: tuple[str, ...]
    class_name: str
    methods: tuple[str, ...]
    starter: str
    runner: Callable[..., Outcome]
    nodes: tuple[str, ...]
    protect: tuple[str, ...] = ()
    duration: float = 4.0
    size: int = 8
    intensity: float = 0.8
    laws: Callable[[type], CheckResult] | None = None
    exhaustive_node: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def run(self, cls: type, seed: int, plan: FaultPlan, size: int | None = None) -> Outcome:
        """Build a small world, plug ``cls`` in, apply ``plan`` and measure the targets."""
        world = World(seed)
        network = Network(world, list(self.nodes))
        plan.apply(network)
        return self.runner(cls, world, network, plan, size or self.size)


class Node:
    """The harness side of one learner component: its instance, steps and crash points.

    Args:
        world: The world.
        network: The network.
        name: The node it lives on.
        plan: The fault plan (its crash start times on this node are the crash points).
        make: Builds a fresh learner instance (called at start and after each restart).
    """

    def __init__(
        self, world: World, network: Network, name: str, plan: FaultPlan, make: Callable[[], Any]
    ):
        self.world = world
        self.network = network
        self.name = name
        self.node = network.node(name)
        self.crashes = sorted(f.at for f in plan if f.kind == "crash" and f.nodes == (name,))
        self.make = make
        self.t = 0.0
        self.steps = 0
        self._rows = world.table("challenge.steps", ("time", "node", "step", "detail")).add
        self.instance: Any = None

    def build(self) -> Any:
        """A fresh learner instance (the old one, if any, is gone)."""
        self.t = self.world.now
        self.instance = guard(self, self.make)
        return self.instance

    def step(self, what: str, detail: Any = "") -> None:
        """One step of learner code: raises :class:`Crashed` if the node crashes before it."""
        start = max(self.t, self.world.now)
        nxt = start + STEP
        if not self.node.up or any(start < c <= nxt for c in self.crashes):
            self._rows(nxt, self.name, "crash", what)
            raise Crashed
        self.t = nxt
        self.steps += 1
        self._rows(nxt, self.name, what, str(detail))

    def call(self, method: str, *args: Any) -> Any:
        """Call ``method`` of the instance under the guard; the steps' time is then spent.

        Returns:
            What the method returned, or :class:`Crashed` (the class) if the node crashed.
        """
        self.t = self.world.now
        try:
            return guard(self, getattr(self.instance, method), *args)
        except Crashed:
            return Crashed

    def spent(self) -> float:
        """Simulated seconds the last call's steps took."""
        return max(self.t - self.world.now, 0.0)


class Durable:
    """A node's durable key-value store: survives crashes; writes may be grouped atomically.

    Every call is a step. Inside ``with store.transaction():`` puts and effects are held back
    and applied together at the end (one more step, the commit); a crash before the commit
    loses all of them, never a part.

    Args:
        node: The harness node it belongs to.
        effect: ``effect(key, value)`` applies one side effect (recorded by the challenge).
    """

    def __init__(self, node: Node, effect: Callable[[Any, Any], None] | None = None):
        self._node = node
        self._data: dict[Any, Any] = {}
        self._effect = effect
        self._pending: list[tuple[str, Any, Any]] | None = None

    def get(self, key: Any, default: Any = None) -> Any:
        """The value stored under ``key`` (writes of an open transaction included)."""
        self._node.step("get", key)
        for kind, k, v in reversed(self._pending or []):
            if kind == "put" and k == key:
                return v
        return self._data.get(key, default)

    def put(self, key: Any, value: Any) -> None:
        """Store ``value`` under ``key``."""
        self._node.step("put", key)
        self._write("put", key, value)

    def apply(self, key: Any, value: Any = None) -> None:
        """Apply the side effect for ``key`` (what must happen exactly once)."""
        self._node.step("apply", key)
        self._write("apply", key, value)

    def _write(self, kind: str, key: Any, value: Any) -> None:
        if self._pending is not None:
            self._pending.append((kind, key, value))
        elif kind == "put":
            self._data[key] = value
        elif self._effect is not None:
            self._effect(key, value)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the puts and effects inside the block: all of them happen, or none."""
        if self._pending is not None:
            yield
            return
        self._pending = []
        try:
            yield
            self._node.step("commit")
            pending, self._pending = self._pending, None
            for kind, key, value in pending:
                self._write(kind, key, value)
        finally:
            self._pending = None


# -- the guard around learner code -------------------------------------------------------------
_PACKAGE = str(Path(__file__).resolve().parents[1])


def guard(node: Node, fn: Callable[..., Any], *args: Any) -> Any:
    """Call learner code; its exceptions become a :class:`LearnerError` with its own lines."""
    try:
        return fn(*args)
    except (Crashed, _TimeUp):
        raise
    except Exception as exc:
        raise LearnerError(_describe(exc, node)) from None


def _describe(exc: BaseException, node: Node) -> str:
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not str(Path(f.filename).resolve()).startswith(_PACKAGE)
    ]
    lines = [
        f"  line {f.lineno} in {f.name}: "
        + (f.line or linecache.getline(f.filename, f.lineno or 0)).strip()
        for f in frames
    ]
    head = (
        f"your class raised {type(exc).__name__}: {exc} "
        f"(on node {node.name} at t={node.world.now:.3f} s)"
    )
    return "\n".join([head, *lines])


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Stop learner code that runs longer than ``seconds`` of wall-clock time.

    Uses ``SIGALRM`` on the main thread (elsewhere the run is not limited).
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def _alarm(_signum: int, _frame: Any) -> None:
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _TimeUp:
        raise LearnerError(
            f"your class did not finish within {seconds:g} s of wall-clock time: does a "
            "method loop forever (a while loop that never ends, a retry without a limit)?"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
