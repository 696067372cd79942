"""One parameter's declaration (:class:`Spec`): what it accepts, in words, and checking it.

:mod:`labsim.params` builds these from the fields of a :class:`~labsim.params.Params` class.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labsim.errors import ConfigError

__all__ = ["KINDS", "Spec"]

KINDS = ("int", "float", "bool", "str", "faults", "ints", "floats")
_INT_TEXT = re.compile(r"[+-]?\d+")
_META = "labsim.param"


@dataclass(frozen=True)
class Spec:
    """One parameter's declaration.

    Attributes:
        name: Parameter name.
        kind: ``"int"``, ``"float"``, ``"bool"``, ``"str"``, ``"faults"`` (a tuple of
            :class:`~labsim.faults.Fault`), ``"ints"`` or ``"floats"`` (a non-empty list of
            numbers, each within the bounds).
        default: Default value.
        doc: One line saying what it is.
        unit: Unit of the value (``"s"``, ``"ms"``, ``"1/s"``...), empty when it has none.
        optional: ``None`` is accepted (the feature is off).
        ge, gt, le, lt: Bounds (inclusive / exclusive); ``None`` means unbounded.
        choices: Accepted values of a ``str`` parameter.
        step: Step of a slider for this parameter (a notebook control).
        soft_max: Upper end of a slider when ``le`` is far above what a notebook should offer.
    """

    name: str
    kind: str
    default: Any
    doc: str
    unit: str = ""
    optional: bool = False
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] | None = None
    step: float | None = None
    soft_max: float | None = None

    # -- text for people ---------------------------------------------------------------------
    @property
    def type_name(self) -> str:
        """The type as a learner reads it (``int``, ``float or None``, ``one of a, b``)."""
        base = {
            "faults": "list of faults",
            "ints": "list of int",
            "floats": "list of float",
        }.get(self.kind, self.kind)
        return f"{base} or None" if self.optional else base

    @property
    def accepted(self) -> str:
        """What is accepted, in words (used in every error message)."""
        if self.kind == "bool":
            text = "True or False"
        elif self.kind == "str" and self.choices:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "str":
            text = "a string"
        elif self.kind == "faults":
            text = "a list of Fault objects (or mappings with at, kind, until, nodes, ...)"
        elif self.kind in ("ints", "floats"):
            noun = "integers" if self.kind == "ints" else "finite numbers"
            text = f"a non-empty list of {noun} {self.range_text}".rstrip()
        else:
            noun = "an integer" if self.kind == "int" else "a finite number"
            text = f"{noun} {self.range_text}".rstrip() if self.range_text else noun
        return f"{text}, or None" if self.optional else text

    @property
    def range_text(self) -> str:
        """The bounds as text: ``>= 2``, ``> 0``, ``in [0, 1]``, ``in [1, 10000]``..."""
        low = f"[{_num(self.ge)}" if self.ge is not None else None
        low = f"({_num(self.gt)}" if self.gt is not None else low
        high = f"{_num(self.le)}]" if self.le is not None else None
        high = f"{_num(self.lt)})" if self.lt is not None else high
        if low and high:
            return f"in {low}, {high}"
        if low:
            return f"{'>=' if low[0] == '[' else '>'} {low[1:]}"
        if high:
            return f"{'<=' if high[-1] == ']' else '<'} {high[:-1]}"
        return ""

    # -- validation --------------------------------------------------------------------------
    def validate(self, value: Any, context: str | None = None) -> Any:
        """Return ``value`` in its canonical Python type, or raise :class:`ConfigError`."""
        if value is None:
            if self.optional:
                return None
            raise ConfigError(self.name, value, self.accepted, context)
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool) or _np_bool(value):
                return bool(value)
            raise ConfigError(self.name, value, self.accepted, context)
        if kind == "str":
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise ConfigError(self.name, value, self.accepted, context)
            return value
        if kind == "faults":
            return _faults(self, value, context)
        if kind in ("ints", "floats"):
            if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
                raise ConfigError(self.name, value, self.accepted, context)
            items = list(value)
            if not items:
                raise ConfigError(self.name, value, self.accepted, context)
            try:
                return tuple(self._number(x, kind[:-1], context) for x in items)
            except ConfigError:
                raise ConfigError(self.name, value, self.accepted, context) from None
        return self._number(value, kind, context)

    def _number(self, value: Any, kind: str, context: str | None) -> int | float:
        if not _is_real(value) or (kind == "int" and not _is_integer(value)):
            raise ConfigError(self.name, value, self.accepted, context)
        number = int(value) if kind == "int" else float(value)
        if not math.isfinite(number) or not self._in_range(number):
            raise ConfigError(self.name, value, self.accepted, context)
        return number

    def _in_range(self, x: float) -> bool:
        return not (
            (self.ge is not None and x < self.ge)
            or (self.gt is not None and x <= self.gt)
            or (self.le is not None and x > self.le)
            or (self.lt is not None and x >= self.lt)
        )

    # -- text --------------------------------------------------------------------------------
    def parse(self, text: str, context: str | None = None) -> Any:
        """Parse command-line or YAML text by this parameter's type, then validate it."""
        raw = text.strip()
        if self.optional and raw.lower() in ("none", "null", "~", ""):
            return None
        kind = self.kind
        value: Any
        if kind == "bool":
            lowered = raw.lower()
            if lowered not in ("true", "false"):
                raise ConfigError(self.name, text, "true or false", context)
            value = lowered == "true"
        elif kind == "int":
            if not _INT_TEXT.fullmatch(raw.replace("_", "")):
                raise ConfigError(self.name, text, self.accepted, context)
            value = int(raw.replace("_", ""), 10)
        elif kind == "float":
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(self.name, text, self.accepted, context) from None
        elif kind in ("faults", "ints", "floats"):
            import yaml

            try:
                value = yaml.safe_load(raw)
            except yaml.YAMLError:
                raise ConfigError(self.name, text, self.accepted, context) from None
        else:
            value = raw
        return self.validate(value, context)


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not _np_bool(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral)


def _np_bool(value: Any) -> bool:
    # numpy's bool scalar (``numpy.bool_``, named ``numpy.bool`` from numpy 2) without importing
    # numpy here.
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")


def _faults(spec: Spec, value: Any, context: str | None) -> tuple[Any, ...]:
    from labsim.faults import Fault

    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, tuple)):
        raise ConfigError(spec.name, value, spec.accepted, context)
    faults = []
    allowed = {f.name for f in dataclasses.fields(Fault)}
    for item in value:
        if isinstance(item, Fault):
            faults.append(item)
        elif isinstance(item, Mapping) and set(item) <= allowed and "at" in item:
            fields = dict(item)
            fields["nodes"] = tuple(fields.get("nodes") or ())
            fields["groups"] = tuple(tuple(g) for g in fields.get("groups") or ())
            try:
                faults.append(Fault(**fields))
            except (ConfigError, TypeError) as exc:
                raise ConfigError(spec.name, item, f"a valid fault ({exc})", context) from None
        else:
            raise ConfigError(spec.name, item, spec.accepted, context)
    return tuple(faults)
