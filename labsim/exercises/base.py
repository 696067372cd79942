"""The result of checking an exercise."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExerciseResult"]


@dataclass(frozen=True)
class ExerciseResult:
    """Outcome of an exercise check.

    Attributes:
        exercise: Short name of the exercise.
        passed: Whether the answer is right.
        message: What was checked, or a hint about what is wrong.
    """

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'✅ Correct' if self.passed else '❌ Not yet'} ({self.exercise}): {self.message}"

    def __repr__(self) -> str:
        return str(self)
