"""Parameters declared once: type, range, unit, default and a one-line doc.

A scenario's (or a lesson's) parameters are a frozen dataclass deriving from :class:`Params`,
each field declared with :func:`param`::

    @dataclass(frozen=True)
    class NetworkParams(Params):
        nodes: int = param(4, "number of nodes, named n1, n2, ...", ge=2, le=1000)
        rate: float = param(50.0, "messages per second each node sends", gt=0, unit="1/s")

The type comes from the annotation (``int``, ``float``, ``bool``, ``str``, ``X | None`` and
``tuple[Fault, ...]``); the declaration drives everything else:

* validation when the dataclass is built (``ConfigError`` naming parameter, value and range;
  booleans are only booleans, numbers are finite, numpy numbers count as numbers);
* parsing of text by the declared type (:func:`parse_text`) for the command line and YAML
  files, so ``rate=1e3`` is 1000.0, ``nodes=010`` is 10 and ``rate=1:30`` is an error;
* the parameter tables of ``labsim list -v`` and the README (:func:`describe`);
* the checks of a notebook's ``parameters`` cell and the ranges of its sliders
  (:func:`slider`).

The declarations are written with the standard library rather than pydantic or cattrs: the
rules the lab needs (no coercion of values given in Python, parsing of text by declared type,
numpy scalars as numbers, a unit and a slider range beside each range) would each be a custom
validator there, and the core stays as dependency-light as SimPy's.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from labsim.errors import ConfigError

__all__ = [
    "Params",
    "Spec",
    "build_params",
    "describe",
    "param",
    "parse_text",
    "same_as",
    "seed_param",
    "slider",
    "specs",
]

P = TypeVar("P", bound="Params")

_KINDS = ("int", "float", "bool", "str", "faults", "ints", "floats")
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


def param(
    default: Any,
    doc: str,
    *,
    unit: str = "",
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: Sequence[str] | None = None,
    step: float | None = None,
    soft_max: float | None = None,
) -> Any:
    """Declare a parameter field of a :class:`Params` dataclass (type from the annotation)."""
    meta = {
        "default": default,
        "doc": doc,
        "unit": unit,
        "ge": ge,
        "gt": gt,
        "le": le,
        "lt": lt,
        "choices": tuple(choices) if choices is not None else None,
        "step": step,
        "soft_max": soft_max,
    }
    return dataclasses.field(default=default, metadata={_META: meta})


def seed_param(default: int = 0) -> Any:
    """Declare a ``SEED`` knob: a non-negative integer fixing every random stream."""
    return param(default, "seed: the same seed gives the same numbers", ge=0, le=2**63 - 1)


def same_as(source: type[Params], name: str, default: Any = dataclasses.MISSING, **changes: Any):
    """Declare a parameter exactly like ``source``'s ``name`` (a lesson knob that *is* one).

    ``default`` and any keyword of :func:`param` may be changed; the rest is reused, so a
    notebook's ``RATE`` and the CQRS scenario's ``rate`` share one range, unit and doc.
    """
    spec = specs(source)[name]
    meta = {
        "default": spec.default if default is dataclasses.MISSING else default,
        "doc": spec.doc,
        "unit": spec.unit,
        "ge": spec.ge,
        "gt": spec.gt,
        "le": spec.le,
        "lt": spec.lt,
        "choices": spec.choices,
        "step": spec.step,
        "soft_max": spec.soft_max,
        **changes,
    }
    return param(**meta)


def _kind_of(annotation: Any) -> tuple[str, bool]:
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"unsupported parameter type {annotation!r}")
        annotation = args[0]
        origin = typing.get_origin(annotation)
    if origin is tuple:
        item = typing.get_args(annotation)[0]
        names = {int: "ints", float: "floats"}
        return names.get(item, "faults"), optional
    name = getattr(annotation, "__name__", str(annotation))
    if name not in _KINDS:
        raise TypeError(f"unsupported parameter type {annotation!r}")
    return name, optional


def specs(cls: type[Params] | Params) -> dict[str, Spec]:
    """The declarations of a :class:`Params` class, by name, in declaration order."""
    if not isinstance(cls, type):
        cls = type(cls)
    cached = cls.__dict__.get("_specs")
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)  # each class's own module resolves its annotations
    out: dict[str, Spec] = {}
    for f in dataclasses.fields(cls):
        meta = f.metadata.get(_META)
        if meta is None:
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with param()")
        kind, optional = _kind_of(hints[f.name])
        out[f.name] = Spec(name=f.name, kind=kind, optional=optional, **meta)
    cls._specs = out
    return out


class Params:
    """Base of every parameter dataclass: validates each field from its declaration.

    Subclasses are ``@dataclass(frozen=True)`` with fields from :func:`param`; a cross-field
    rule goes into :meth:`check`. ``context`` names the owner in error messages.
    """

    context: ClassVar[str] = ""

    def __post_init__(self) -> None:
        context = self.context or type(self).__name__
        for name, spec in specs(self).items():
            object.__setattr__(self, name, spec.validate(getattr(self, name), context))
        self.check()

    def check(self) -> None:
        """Rules between parameters (``partition_end`` after ``partition_start``...)."""

    def error(self, name: str, accepted: str) -> ConfigError:
        """A :class:`ConfigError` for parameter ``name``, for :meth:`check` to raise."""
        return ConfigError(name, getattr(self, name), accepted, self.context or None)

    def to_dict(self) -> dict[str, Any]:
        """Parameter name -> value (nested values kept as they are)."""
        return {name: getattr(self, name) for name in specs(self)}


def build_params(
    cls: type[P], params: P | Mapping[str, Any] | None = None, overrides: Mapping[str, Any] = {}
) -> P:
    """Build ``cls`` from an instance, a mapping and/or keyword overrides (all validated).

    Unknown names raise :class:`ConfigError` listing the accepted ones.
    """
    names = list(specs(cls))
    values: dict[str, Any] = {}
    if isinstance(params, cls):
        values = params.to_dict()
    elif isinstance(params, Mapping):
        values = dict(params)
    elif params is not None:
        raise ConfigError("params", params, f"None, a dict or a {cls.__name__}", cls.context)
    values.update(overrides)
    unknown = sorted(str(k) for k in set(values) - set(names))
    if unknown:
        raise ConfigError(
            "parameter", unknown[0], f"one of {', '.join(names)}", cls.context or cls.__name__
        )
    return cls(**values)


def parse_text(cls: type[Params], name: str, text: str, context: str | None = None) -> Any:
    """Parse ``text`` as parameter ``name`` of ``cls`` (ConfigError for an unknown name)."""
    table = specs(cls)
    if name not in table:
        raise ConfigError(
            "parameter", name, f"one of {', '.join(table)}", context or cls.context or None
        )
    return table[name].parse(text, context or cls.context or None)


def describe(cls: type[Params]) -> list[dict[str, str]]:
    """One row per parameter: name, type, default, range, unit, doc (for tables and docs)."""
    rows = []
    for spec in specs(cls).values():
        if spec.kind == "str" and spec.choices:
            accepted = " / ".join(spec.choices)
        elif spec.kind in ("int", "float", "ints", "floats"):
            accepted = spec.range_text or "any"
        else:
            accepted = {"bool": "true / false", "str": "text", "faults": "faults"}[spec.kind]
        default = spec.default
        rows.append(
            {
                "name": spec.name,
                "type": spec.type_name,
                "default": _default_text(default),
                "accepted": accepted,
                "unit": spec.unit,
                "doc": spec.doc,
            }
        )
    return rows


def _default_text(default: Any) -> str:
    if default is None:
        return "none"
    if isinstance(default, (tuple, list)):
        return "[" + ", ".join(str(x) for x in default) + "]"
    return str(default)


def slider(cls: type[Params], name: str, value: Any = dataclasses.MISSING) -> Any:
    """An ipywidgets control for parameter ``name`` with its declared range.

    Numbers get a slider from the lower bound to ``soft_max`` (or the upper bound), choices a
    dropdown, booleans a checkbox; ``value`` defaults to the declared default.
    """
    import ipywidgets as widgets

    spec = specs(cls)[name]
    start = spec.default if value is dataclasses.MISSING else spec.validate(value)
    if spec.kind == "bool":
        return widgets.Checkbox(value=bool(start), description=name)
    if spec.kind == "str" and spec.choices:
        return widgets.Dropdown(options=list(spec.choices), value=start, description=name)
    if spec.kind not in ("int", "float"):
        raise ConfigError("name", name, "a number, choice or boolean parameter", "slider")
    low = spec.ge if spec.ge is not None else spec.gt
    high = (
        spec.soft_max
        if spec.soft_max is not None
        else (spec.le if spec.le is not None else spec.lt)
    )
    if low is None or high is None:
        raise ConfigError("name", name, "a parameter with a declared range", "slider")
    step = spec.step or (1 if spec.kind == "int" else (high - low) / 20)
    if spec.gt is not None:
        low = spec.gt + step
    kind = widgets.IntSlider if spec.kind == "int" else widgets.FloatSlider
    return kind(value=start, min=low, max=high, step=step, description=name)
