"""Saga definitions: an ordered list of steps, each with an action and a compensation.

Step kinds (from the saga pattern literature):

* ``compensatable`` — can be undone by its compensation if a later step fails;
* ``pivot`` — the point of no return: once it succeeds the saga must complete; it needs no
  compensation (nothing after it will fail the saga);
* ``retriable`` — comes after the pivot and is retried until it succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from labsim.errors import ConfigError, check_choice, check_positive

__all__ = ["STEP_KINDS", "SagaDefinition", "Step"]

STEP_KINDS = ("compensatable", "pivot", "retriable")


@dataclass(frozen=True)
class Step:
    """One saga step.

    Attributes:
        name: Step name (``"reserve_stock"``).
        service: The participant that performs it (a node name).
        action: Command sent to the participant.
        compensation: Command that undoes the action (required for compensatable steps).
        kind: ``compensatable``, ``pivot`` or ``retriable``.
        timeout: Seconds to wait for the participant's reply before retrying.
    """

    name: str
    service: str
    action: str
    compensation: str | None = None
    kind: str = "compensatable"
    timeout: float = 0.5

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, STEP_KINDS, f"step {self.name!r}")
        check_positive("timeout", self.timeout, f"step {self.name!r}")
        if self.kind == "compensatable" and not self.compensation:
            raise ConfigError(
                "compensation",
                self.compensation,
                "a compensating command (or kind 'pivot' / 'retriable')",
                f"step {self.name!r}",
            )


@dataclass(frozen=True)
class SagaDefinition:
    """A named, validated sequence of steps.

    Rules: at least one step; compensatable steps come before the pivot; retriable steps after
    it; at most one pivot.
    """

    name: str
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        object.__setattr__(self, "steps", steps)
        if not steps:
            raise ConfigError("steps", steps, "at least one step", f"saga {self.name!r}")
        kinds = [s.kind for s in steps]
        if kinds.count("pivot") > 1:
            raise ConfigError("steps", kinds, "at most one pivot step", f"saga {self.name!r}")
        order = {"compensatable": 0, "pivot": 1, "retriable": 2}
        ranks = [order[k] for k in kinds]
        if ranks != sorted(ranks):
            raise ConfigError(
                "steps",
                kinds,
                "compensatable steps, then the pivot, then retriable steps",
                f"saga {self.name!r}",
            )

    @property
    def pivot_index(self) -> int:
        """Index of the last step that may still fail the saga (the pivot, or the last
        compensatable step when there is no pivot)."""
        for i, s in enumerate(self.steps):
            if s.kind == "pivot":
                return i
        last = -1
        for i, s in enumerate(self.steps):
            if s.kind == "compensatable":
                last = i
        return last
