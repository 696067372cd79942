"""Errors and warnings raised by labsim.

Every bad parameter raises :class:`ConfigError` (a :class:`ValueError`) whose message names
the parameter, the value given and what is accepted, so a learner can fix the call without
reading the source.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "ConfigWarning",
    "check_choice",
    "check_int",
    "check_non_negative",
    "check_positive",
    "check_probability",
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
        prefix = f"{context}: " if context else ""
        super().__init__(f"{prefix}{parameter}={value!r} is not accepted; expected {accepted}")


class ConfigWarning(UserWarning):
    """A legal setting that leads somewhere a learner should know about (utilisation >= 1)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_positive(parameter: str, value: Any, context: str | None = None) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise ConfigError."""
    if not _is_number(value) or not value > 0 or value == float("inf"):
        raise ConfigError(parameter, value, "a finite number > 0", context)
    return float(value)


def check_non_negative(parameter: str, value: Any, context: str | None = None) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise ConfigError."""
    if not _is_number(value) or not value >= 0 or value == float("inf"):
        raise ConfigError(parameter, value, "a finite number >= 0", context)
    return float(value)


def check_probability(parameter: str, value: Any, context: str | None = None) -> float:
    """Return ``value`` as a float if it lies in [0, 1], else raise ConfigError."""
    if not _is_number(value) or not 0 <= value <= 1:
        raise ConfigError(parameter, value, "a probability in [0, 1]", context)
    return float(value)


def check_int(parameter: str, value: Any, minimum: int = 0, context: str | None = None) -> int:
    """Return ``value`` if it is an int >= ``minimum``, else raise ConfigError."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(parameter, value, f"an integer >= {minimum}", context)
    return value


def check_choice(parameter: str, value: Any, choices: Any, context: str | None = None) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ConfigError listing them."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ConfigError(parameter, value, f"one of {listed}", context)
    return value
