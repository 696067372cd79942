"""What the saga orchestrator and the services say to each other, and the table that shows it.

Each request travels as the ``body`` of a :class:`labsim.transport.Request`; the receiver looks
at its type with ``match``. A sender that hears nothing before its timeout gets ``None`` from
the transport and sends again (the receiver dedupes).

===================  ==============================================  ==========================
request              what it asks                                    reply
===================  ==============================================  ==========================
:class:`Command`     orchestration: perform a step's action or its   :class:`Succeeded` or
                     compensation (idempotently, by ``key``)          :class:`Failed`
:class:`Notify`      choreography: an event a subscriber reacts to   :class:`Ack`
===================  ==============================================  ==========================

:class:`SagaMessageLog` writes one row per command, reply or event sent to the
``saga_messages`` table (:data:`SAGA_MESSAGE_COLUMNS`), with the ids that draw the causal
graph.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from labsim.events import Event
from labsim.world import World

__all__ = [
    "SAGA_MESSAGE_COLUMNS",
    "Ack",
    "Command",
    "Failed",
    "Notify",
    "SagaMessageLog",
    "Succeeded",
]

#: Columns of the ``saga_messages`` table: one row per command, reply or event sent.
SAGA_MESSAGE_COLUMNS = (
    "time",
    "event_id",
    "event_type",
    "correlation_id",
    "causation_id",
    "source",
    "target",
)


@dataclass(frozen=True, slots=True)
class Command:
    """Perform ``command`` for a saga.

    Attributes:
        key: Idempotency key: a retried command with the same key is not performed again.
        command: The command's name (``"reserve"``, ``"release"``...).
        args: The saga's arguments, ``"saga"`` (its id) among them.
        command_id: Event id of the command message (the reply's cause).
    """

    key: Hashable
    command: str
    args: Mapping[str, Any]
    command_id: str


@dataclass(frozen=True, slots=True)
class Succeeded:
    """The command was performed (or had been: a retry gets the stored result).

    Attributes:
        data: What the participant reports (``{"saga": ...}``).
        event_id: Event id of the reply message (``None`` until it is sent).
    """

    outcome: ClassVar[str] = "ok"
    data: Mapping[str, Any]
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """The command was refused for good (out of stock, card declined): the saga compensates.

    Attributes:
        data: What the participant reports, ``"reason"`` among it.
        event_id: Event id of the reply message (``None`` until it is sent).
    """

    outcome: ClassVar[str] = "failed"
    data: Mapping[str, Any]
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Notify:
    """Tells a subscriber that ``event`` happened (choreography)."""

    event: Event


@dataclass(frozen=True, slots=True)
class Ack:
    """The subscriber has handled event ``event_id`` (its reaction is stored)."""

    event_id: str


class SagaMessageLog:
    """The ``saga_messages`` table of a world, written by the orchestrator and the services."""

    def __init__(self, world: World):
        self.world = world
        self._add = world.table("saga_messages", SAGA_MESSAGE_COLUMNS).add

    def record(self, message: Event, target: str) -> None:
        """One row: ``message`` (a command, reply or event) sent by its source to ``target``."""
        self._add(
            self.world.now,
            message.event_id,
            message.event_type,
            message.correlation_id,
            message.causation_id,
            message.source,
            target,
        )
