"""Event schemas, how they evolve, and who can read whom during a rolling deploy.

A :class:`Schema` lists the fields of one version of an event type; a field without a
default is *required*. A consumer reads an event's ``data`` with **its own** schema
(:meth:`Schema.read`): unknown fields are ignored, a missing field takes its default, a
missing required field (or a value of the wrong type) is an error — in a consumer, that
event goes to the dead-letter queue.

Compatibility is *computed*, never looked up: :func:`can_read` has the reader schema read a
payload the writer schema produced, and :func:`compatibility` names the result the way a
schema registry does:

* **backward**: the new schema reads old events (upgrade consumers first);
* **forward**: the old schema reads new events (upgrade producers first);
* **full**: both (any order);
* **none**: neither direction is safe (a breaking change: a new event type, or a migration).

:data:`EVOLUTIONS` holds one v1 → v2 change of ``order.placed`` per policy (the change each
policy lets through and the stricter one refuses). :func:`rolling_deploy` runs producers and
consumers through a rolling upgrade inside a :class:`~labsim.World` and records every
delivery in ``schema.consumed``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from labsim.errors import ConfigError, check_int, check_positive
from labsim.world import World

__all__ = [
    "CONSUMED_COLUMNS",
    "EVOLUTIONS",
    "ORDERS",
    "POLICIES",
    "Evolution",
    "Field",
    "Schema",
    "SchemaError",
    "allowed",
    "can_read",
    "compatibility",
    "rolling_deploy",
]

#: Compatibility policies, from the strictest to none.
POLICIES = ("full", "backward", "forward", "none")
#: Upgrade orders of a rolling deploy.
ORDERS = ("consumers first", "producers first")
#: Columns of ``schema.consumed``: one row per event a consumer took.
CONSUMED_COLUMNS = (
    "time",
    "event_id",
    "producer",
    "producer_version",
    "consumer",
    "consumer_version",
    "outcome",
    "reason",
)

_TYPES = {"int": int, "float": (int, float), "str": str, "bool": bool}
_REQUIRED: Any = object()


class SchemaError(ValueError):
    """A payload does not fit the schema a consumer reads it with."""


@dataclass(frozen=True)
class Field:
    """One field of a schema.

    Attributes:
        name: Field name in ``data``.
        type: ``"int"``, ``"float"``, ``"str"`` or ``"bool"``.
        default: Value a reader uses when the field is missing; left out, the field is
            required.
    """

    name: str
    type: str = "str"
    default: Any = _REQUIRED

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ConfigError("type", self.type, f"one of {', '.join(_TYPES)}", self.name)

    @property
    def required(self) -> bool:
        """Whether a reader fails when the field is missing."""
        return self.default is _REQUIRED

    def example(self) -> Any:
        """A value of the field's type (what a producer writes)."""
        return {"int": 1, "float": 9.5, "str": "x", "bool": True}[self.type]


@dataclass(frozen=True)
class Schema:
    """One version of an event type's payload."""

    event_type: str
    version: int
    fields: tuple[Field, ...]

    def read(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` as this schema sees it (unknown fields dropped, defaults filled in).

        Raises:
            SchemaError: a required field is missing or a value has the wrong type.
        """
        out = {}
        for f in self.fields:
            if f.name in data:
                value = data[f.name]
                if not isinstance(value, _TYPES[f.type]) or (
                    f.type != "bool" and isinstance(value, bool)
                ):
                    raise SchemaError(f"{f.name}: expected {f.type}, got {type(value).__name__}")
                out[f.name] = value
            elif f.required:
                raise SchemaError(f"missing required field {f.name!r}")
            else:
                out[f.name] = f.default
        return out

    def example(self) -> dict[str, Any]:
        """A payload a producer on this version writes (every field filled)."""
        return {f.name: f.example() for f in self.fields}


def can_read(reader: Schema, writer: Schema) -> bool:
    """Whether a consumer on ``reader`` reads an event a producer on ``writer`` wrote."""
    try:
        reader.read(writer.example())
    except SchemaError:
        return False
    return True


def compatibility(old: Schema, new: Schema) -> str:
    """The strongest policy the change ``old → new`` satisfies (one of :data:`POLICIES`)."""
    backward = can_read(new, old)  # new consumers read old events
    forward = can_read(old, new)  # old consumers read new events
    if backward and forward:
        return "full"
    return "backward" if backward else "forward" if forward else "none"


def allowed(policy: str, old: Schema, new: Schema) -> bool:
    """Whether a registry enforcing ``policy`` accepts ``new`` after ``old``."""
    if policy not in POLICIES:
        raise ConfigError("policy", policy, f"one of {', '.join(POLICIES)}", "schema registry")
    found = compatibility(old, new)
    return policy == "none" or found == "full" or found == policy


@dataclass(frozen=True)
class Evolution:
    """A v1 → v2 change of an event type, described in words."""

    change: str
    v1: Schema
    v2: Schema

    @property
    def policy(self) -> str:
        """The strongest policy this change satisfies (computed)."""
        return compatibility(self.v1, self.v2)


_ID, _AMOUNT = Field("order_id"), Field("amount", "float")
_V1 = Schema("order.placed", 1, (_ID, _AMOUNT, Field("coupon")))

#: One change of ``order.placed`` per policy name (the name is what the change satisfies).
EVOLUTIONS: dict[str, Evolution] = {
    "full": Evolution(
        "add an optional field (currency, default 'EUR')",
        _V1,
        Schema("order.placed", 2, (*_V1.fields, Field("currency", "str", "EUR"))),
    ),
    "backward": Evolution(
        "remove a required field (coupon)",
        _V1,
        Schema("order.placed", 2, (_ID, _AMOUNT)),
    ),
    "forward": Evolution(
        "add a required field (currency, no default)",
        _V1,
        Schema("order.placed", 2, (*_V1.fields, Field("currency"))),
    ),
    "none": Evolution(
        "rename a required field (amount → total)",
        _V1,
        Schema("order.placed", 2, (_ID, Field("total", "float"), Field("coupon"))),
    ),
}


def rolling_deploy(
    world: World,
    evolution: Evolution,
    *,
    order: str = "consumers first",
    producers: int = 3,
    consumers: int = 3,
    rate: float = 50.0,
    start: float = 2.0,
    step: float = 1.0,
    duration: float = 12.0,
) -> None:
    """Upgrade producers and consumers from v1 to v2 one instance at a time.

    From ``start``, one instance is upgraded every ``step`` seconds: all consumers then all
    producers (``"consumers first"``) or the other way round. Producers emit ``rate`` events
    per second in total (exponential gaps, round-robin over the producers); each event goes
    to the next consumer, which reads it with its current schema: ``ok`` or ``dead-letter``
    (with the reason). Rows go to ``schema.consumed``, and one row per instance upgrade to
    ``schema.upgrades`` (``time``, ``instance``, ``side``).
    """
    if order not in ORDERS:
        raise ConfigError("order", order, f"one of {', '.join(ORDERS)}", "rolling deploy")
    check_int("producers", producers, 1, "rolling deploy")
    check_int("consumers", consumers, 1, "rolling deploy")
    check_positive("rate", rate, "rolling deploy")
    check_positive("step", step, "rolling deploy")
    schemas = {1: evolution.v1, 2: evolution.v2}
    names = [f"c{i + 1}" for i in range(consumers)], [f"p{i + 1}" for i in range(producers)]
    first, second = names if order == "consumers first" else names[::-1]
    upgraded_at = {name: start + i * step for i, name in enumerate([*first, *second])}
    consumed = world.table("schema.consumed", CONSUMED_COLUMNS).add
    upgrades = world.table("schema.upgrades", ("time", "instance", "side")).add
    for name, at in upgraded_at.items():
        upgrades(at, name, "consumer" if name.startswith("c") else "producer")

    def version(name: str) -> int:
        return 2 if world.now >= upgraded_at[name] else 1

    def workload() -> Generator[Any, Any, None]:
        rng = world.rng("producers")
        n = 0
        while True:
            yield world.timeout(rng.expovariate(rate))
            if world.now >= duration:
                return
            producer, consumer = names[1][n % producers], names[0][n % consumers]
            written = version(producer)
            data = schemas[written].example()
            read = version(consumer)
            try:
                schemas[read].read(data)
                outcome, reason = "ok", ""
            except SchemaError as exc:
                outcome, reason = "dead-letter", str(exc)
            consumed(world.now, f"e{n}", producer, written, consumer, read, outcome, reason)
            n += 1

    world.process(workload())
