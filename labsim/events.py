"""The event envelope shared by broker messages, stored events and saga messages.

An :class:`Event` is immutable. ``correlation_id`` ties together everything that belongs to
one business flow; ``causation_id`` names the event that directly caused this one. With
both, :func:`causal_graph` draws the causal graph of a run.

Inside a running :class:`~labsim.World` (or a ``with world:`` block) new events take their id
and timestamp from the world, so runs stay deterministic; outside, the id is a random UUID
and the timestamp ``0.0``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import pandas as pd

from labsim.errors import ConfigError
from labsim.world import current_world

__all__ = ["Event", "causal_graph"]

_UNSET: Any = None


def _new_id() -> str:
    world = current_world()
    return world.next_id("evt") if world is not None else uuid.uuid4().hex


def _now() -> float:
    world = current_world()
    return float(world.now) if world is not None else 0.0


@dataclass(frozen=True, slots=True)
class Event:
    """An immutable event envelope.

    Args:
        event_type: What happened, in dot notation and past tense (``"order.created"``).
        data: The payload (a mapping).
        event_id: Unique id; defaulted from the running world (``"evt-1"``, ...) or a UUID.
        event_version: Schema version of ``data`` (>= 1), used by upcasters.
        timestamp: Simulated time the event was created.
        source: The node or service that emitted it.
        correlation_id: The business flow it belongs to; defaults to its own ``event_id``.
        causation_id: The ``event_id`` of the event that caused it (``None`` for a root).
        metadata: Free-form headers.
    """

    event_type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=_new_id)
    event_version: int = 1
    timestamp: float = field(default_factory=_now)
    source: str = ""
    correlation_id: str = _UNSET
    causation_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.event_type, str) or not self.event_type.strip():
            raise ConfigError(
                "event_type", self.event_type, "a non-empty string such as 'order.created'", "Event"
            )
        if not isinstance(self.data, Mapping):
            raise ConfigError("data", self.data, "a mapping (dict) payload", "Event")
        if not isinstance(self.event_version, int) or self.event_version < 1:
            raise ConfigError("event_version", self.event_version, "an integer >= 1", "Event")
        if self.correlation_id is _UNSET:
            object.__setattr__(self, "correlation_id", self.event_id)

    def caused(
        self, event_type: str, data: Mapping[str, Any] | None = None, **fields: Any
    ) -> Event:
        """Return a new event caused by this one.

        The new event keeps this event's ``correlation_id`` and takes this event's ``event_id``
        as its ``causation_id``.
        """
        return Event(
            event_type=event_type,
            data=dict(data or {}),
            correlation_id=self.correlation_id,
            causation_id=self.event_id,
            **fields,
        )

    def evolve(self, **changes: Any) -> Event:
        """Return a copy with some envelope fields replaced (ids are kept)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The envelope as a plain dict (one row of a frame)."""
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "event_version": self.event_version,
            "timestamp": self.timestamp,
            "source": self.source,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "data": dict(self.data),
            "metadata": dict(self.metadata),
        }


def causal_graph(events: Iterable[Event] | pd.DataFrame) -> nx.DiGraph:
    """Build the causal graph: one node per event, an edge from cause to effect.

    Args:
        events: Events, or a DataFrame with ``event_id``, ``causation_id`` and optionally
            ``event_type``, ``correlation_id``, ``timestamp`` and ``source`` columns.

    Returns:
        A :class:`networkx.DiGraph` whose nodes carry the envelope fields as attributes. A
        cause that is not among ``events`` still appears, as a node with no attributes.
    """
    if isinstance(events, pd.DataFrame):
        missing = {"event_id", "causation_id"} - set(events.columns)
        if missing:
            raise ConfigError(
                "events",
                sorted(events.columns),
                f"a frame with columns {sorted(missing)}",
                "causal_graph",
            )
        rows: Iterable[dict[str, Any]] = events.to_dict("records")
    else:
        rows = (e.to_dict() for e in events)
    graph = nx.DiGraph()
    for row in rows:
        attrs = {
            k: row[k] for k in ("event_type", "correlation_id", "timestamp", "source") if k in row
        }
        graph.add_node(row["event_id"], **attrs)
        cause = row.get("causation_id")
        if cause is not None and not (isinstance(cause, float) and pd.isna(cause)):
            graph.add_edge(cause, row["event_id"])
    return graph
