"""Sagas: orchestration with a saga log, choreography by events, and their services.

==========================  ==============================================================
module                      what it holds
==========================  ==============================================================
:mod:`~.definition`         :class:`SagaDefinition`, :class:`Step` (compensatable, pivot,
                            retriable)
:mod:`~.orchestrator`       :class:`Orchestrator` (with its saga log), :data:`ORDER_SAGA`
:mod:`~.services`           :class:`Service` and the order, inventory, payment and shipping
                            services (idempotent commands, an outbox relay for events)
:mod:`~.messages`           :class:`Command`, :class:`Succeeded`, :class:`Failed`,
                            :class:`Notify`, :class:`Ack`; the ``saga_messages`` table
==========================  ==============================================================
"""

from labsim.sagas.definition import STEP_KINDS, SagaDefinition, Step
from labsim.sagas.messages import (
    SAGA_MESSAGE_COLUMNS,
    Ack,
    Command,
    Failed,
    Notify,
    SagaMessageLog,
    Succeeded,
)
from labsim.sagas.orchestrator import ORDER_SAGA, Orchestrator
from labsim.sagas.services import Inventory, Orders, OutboxEntry, Payments, Service, Shipping

__all__ = [
    "ORDER_SAGA",
    "SAGA_MESSAGE_COLUMNS",
    "STEP_KINDS",
    "Ack",
    "Command",
    "Failed",
    "Inventory",
    "Notify",
    "Orchestrator",
    "Orders",
    "OutboxEntry",
    "Payments",
    "SagaDefinition",
    "SagaMessageLog",
    "Service",
    "Shipping",
    "Step",
    "Succeeded",
]
