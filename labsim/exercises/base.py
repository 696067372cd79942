"""The result of checking an exercise, the shared diagnosis, and quizzes."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["QUIZZES", "ExerciseResult", "add_quiz", "check_quiz", "close", "diagnose"]


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
        return f"{'✓ Correct' if self.passed else '✗ Not yet'} ({self.exercise}): {self.message}"

    def __repr__(self) -> str:
        return str(self)


def diagnose(
    name: str,
    answer: Callable[..., Any],
    cases: Sequence[tuple[Any, ...]],
    correct: Callable[..., Any],
    mistakes: Sequence[tuple[Callable[..., Any], str]],
    fallback: str,
    success: str,
    equal: Callable[[Any, Any], bool] = operator.eq,
) -> ExerciseResult:
    """Compare ``answer`` with ``correct`` on ``cases``; explain a wrong answer.

    A hint is chosen by the first typical mistake that reproduces the learner's answers on
    *every* case (so a coincidence on one case cannot pick the wrong hint).
    """
    got = []
    for args in cases:
        try:
            value = answer(*args)
        except Exception as exc:  # the learner's code: report, don't crash the notebook
            return ExerciseResult(name, False, f"calling it with {args} raised {exc!r}")
        if value is None:
            return ExerciseResult(name, False, "your function returns None: finish the `return`")
        got.append(value)
    wrong = [(args, g) for args, g in zip(cases, got, strict=True) if not equal(g, correct(*args))]
    if not wrong:
        return ExerciseResult(name, True, success)
    hint = fallback
    for formula, text in mistakes:
        if all(equal(formula(*args), g) for args, g in zip(cases, got, strict=True)):
            hint = text
            break
    args, g = wrong[0]
    return ExerciseResult(
        name, False, f"for {args} you gave {g}, expected {correct(*args)}; {hint}"
    )


#: Quizzes by topic: question -> (right answer, hint per wrong answer). Each lesson's exercise
#: module adds its own with :func:`add_quiz`.
QUIZZES: dict[str, dict[str, tuple[str, dict[str, str]]]] = {}


def add_quiz(topic: str, questions: Mapping[str, tuple[str, Mapping[str, str]]]) -> None:
    """Register the quiz ``topic`` (question -> (right answer, hint per wrong answer))."""
    QUIZZES[topic] = {q: (right, dict(hints)) for q, (right, hints) in questions.items()}


def close(a: Any, b: Any) -> bool:
    """Numbers equal up to rounding (for answers computed with floats)."""
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError):
        return False


def check_quiz(topic: str, answers: Mapping[str, str]) -> ExerciseResult:
    """Check quiz ``answers`` (question -> answer) for one of :data:`QUIZZES`."""
    quiz = QUIZZES.get(topic)
    if quiz is None:
        return ExerciseResult(f"quiz {topic!r}", False, f"no such quiz; topics: {list(QUIZZES)}")
    missing = [q for q in quiz if not answers.get(q)]
    if missing:
        return ExerciseResult(f"quiz {topic}", False, f"no answer yet for: {missing[0]!r}")
    for question, (right, hints) in quiz.items():
        given = str(answers[question]).strip()
        if given != right:
            hint = hints.get(given, f"not {given!r}")
            return ExerciseResult(f"quiz {topic}", False, f"{question!r}: {hint}")
    return ExerciseResult(f"quiz {topic}", True, f"all {len(quiz)} answers right")
