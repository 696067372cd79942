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
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from labsim.errors import ConfigError
from labsim.params.spec import KINDS, Spec

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
_META = "labsim.param"


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
    if name not in KINDS:
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
