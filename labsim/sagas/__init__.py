"""Sagas: orchestration with a saga log, choreography by events, and their services."""

from labsim.sagas.definition import STEP_KINDS, SagaDefinition, Step
from labsim.sagas.orchestrator import ORDER_SAGA, Orchestrator
from labsim.sagas.services import Inventory, Orders, Payments, Service, Shipping

__all__ = [
    "ORDER_SAGA",
    "STEP_KINDS",
    "Inventory",
    "Orchestrator",
    "Orders",
    "Payments",
    "SagaDefinition",
    "Service",
    "Shipping",
    "Step",
]
