"""Errors and warnings raised by labsim.

Every bad parameter raises :class:`ConfigError` (a :class:`ValueError`) whose message names
the parameter, the value given and what is accepted, so a learner can fix the call without
reading the source.

The ``check_*`` helpers accept Python and NumPy numbers alike (NumPy registers its scalar
types with :mod:`numbers`) and return plain Python ``int`` / ``float`` values, so a value
taken from a NumPy array behaves like one typed by hand. ``bool`` (Python or NumPy) is never a
number here: ``True`` is refused where a count or a rate is expected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

__all__ = [
    "ConfigError",
    "ConfigWarning",
    "check_choice",
    "check_finite",
    "check_int",
    "check_non_negative",
    "check_positive",
    "check_probability",
    "is_integer",
    "is_real",
]


class ConfigError(ValueError):
    """A parameter is outside what labsim accepts.

    Args:
        parameter: Name of the offending parameter.
        value: The value that was given.
        accepted: Human-readable description of the accepted values.
        context: Optional prefix (the component or file being configured).
    """

    def __init__(self, parameter: str, value: Any, accepted: str, context: str | None = None):
        self.parameter = parameter
        self.value = value
        self.accepted = accepted
        self.context = context
        prefix = f"{context}: " if context else ""
        super().__init__(f"{prefix}{parameter}={value!r} is not accepted; expected {accepted}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from the constructor arguments, so the error survives a process pool.
        return (type(self), (self.parameter, self.value, self.accepted, self.context))


class ConfigWarning(UserWarning):
    """A legal setting that leads somewhere a learner should know about (utilisation >= 1)."""


def _is_bool(value: Any) -> bool:
    # numpy.bool_ is neither a bool subclass nor registered with numbers.Integral, but it
    # is refused by name as well so that a mask value never passes for a count.
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool")


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), excluding ``bool``."""
    return isinstance(value, numbers.Integral) and not _is_bool(value)


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (Python or NumPy int or float), excluding ``bool``.

    NaN and infinities are real numbers here; :func:`check_finite` refuses them.
    """
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _as_float(value: Any) -> float | None:
    """``value`` as a finite Python float, or ``None`` if it is not a finite real number."""
    if not is_real(value):
        return None
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):  # an int too large for a float
        return None
    return number if math.isfinite(number) else None


def check_finite(parameter: str, value: Any, context: str | None = None) -> float:
    """Return ``value`` as a float if it is a finite number (not NaN, not inf), else raise."""
    number = _as_float(value)
    if number is None:
        raise ConfigError(parameter, value, "a finite number", context)
    return number


def check_positive(parameter: str, value: Any, context: str | None = None) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise ConfigError."""
    number = _as_float(value)
    if number is None or not number > 0:
        raise ConfigError(parameter, value, "a finite number > 0", context)
    return number


def check_non_negative(parameter: str, value: Any, context: str | None = None) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise ConfigError."""
    number = _as_float(value)
    if number is None or not number >= 0:
        raise ConfigError(parameter, value, "a finite number >= 0", context)
    return number


def check_probability(parameter: str, value: Any, context: str | None = None) -> float:
    """Return ``value`` as a float if it lies in [0, 1] (NaN is refused), else raise."""
    number = _as_float(value)
    if number is None or not 0.0 <= number <= 1.0:
        raise ConfigError(parameter, value, "a probability in [0, 1]", context)
    return number


def check_int(parameter: str, value: Any, minimum: int = 0, context: str | None = None) -> int:
    """Return ``value`` as a Python int if it is an integer >= ``minimum``, else raise.

    NumPy integers are accepted; ``bool`` (Python or NumPy) and floats such as ``2.0`` are
    refused rather than silently read as integers.
    """
    if not is_integer(value) or int(value) < minimum:
        raise ConfigError(parameter, value, f"an integer >= {minimum}", context)
    return int(value)


def check_choice(
    parameter: str, value: Any, choices: Iterable[Any], context: str | None = None
) -> Any:
    """Return the entry of ``choices`` equal to ``value``, else raise ConfigError listing them.

    ``True`` / ``False`` only match boolean choices (``True == 1`` in Python, but a flag is not
    a count), and an unhashable value is refused with the same message instead of a
    ``TypeError``.
    """
    options = list(choices)
    for choice in options:
        if _is_bool(value) != _is_bool(choice):
            continue
        try:
            same = bool(choice == value)
        except (TypeError, ValueError):  # e.g. an array compared element-wise
            same = False
        if same:
            return choice
    listed = ", ".join(repr(c) for c in options)
    raise ConfigError(parameter, value, f"one of {listed}", context)
