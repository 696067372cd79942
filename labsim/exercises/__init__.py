"""Checking functions for the notebook exercises, one module per lesson topic.

Each ``check_...`` function takes the learner's answer, compares it with the model answer on
several inputs, and returns an :class:`ExerciseResult` whose text says what is right or, when
it is wrong, *why* (a hint aimed at the typical mistake), never just "wrong".

================= =================================================
module            lessons
================= =================================================
``tour``          00 the tour
``brokers``       01 events and brokers, 02 consumer groups
``delivery``      03 delivery semantics, 04 network faults
``routing``       05 RabbitMQ and brokers compared
``eventsourcing`` 06 event sourcing, 08 CQRS lag
``design``        07 event design and schema evolution
``sagas``         09 sagas, 10 outbox and CDC
``replication``   11 conflict resolution
``scaling``       12 scaling and backpressure
``operations``    13 observability
``pipeline``      15 the capstone
================= =================================================
"""

from labsim.exercises.base import QUIZZES, ExerciseResult, check_quiz
from labsim.exercises.brokers import (
    check_idle_consumers,
    check_moved_partitions,
    check_partition_function,
    check_pubsub_counts,
)
from labsim.exercises.delivery import check_backoff, check_reordered_count
from labsim.exercises.design import check_causal_chain, check_high_water, check_schema_policies
from labsim.exercises.eventsourcing import (
    check_balance_fold,
    check_fresh_probability,
    check_pending_events,
    check_upcaster,
)
from labsim.exercises.operations import check_dlq_alert, check_incident
from labsim.exercises.pipeline import check_design_within_budget
from labsim.exercises.replication import check_gcounter_merge, check_lww_winner
from labsim.exercises.routing import check_topic_match
from labsim.exercises.sagas import check_compensation_plan, check_zombies_and_ghosts
from labsim.exercises.scaling import check_consumers_needed, check_utilisation
from labsim.exercises.tour import check_delivered_fraction, check_sends_needed

__all__ = [
    "QUIZZES",
    "ExerciseResult",
    "check_backoff",
    "check_balance_fold",
    "check_causal_chain",
    "check_compensation_plan",
    "check_consumers_needed",
    "check_delivered_fraction",
    "check_design_within_budget",
    "check_dlq_alert",
    "check_fresh_probability",
    "check_gcounter_merge",
    "check_high_water",
    "check_idle_consumers",
    "check_incident",
    "check_lww_winner",
    "check_moved_partitions",
    "check_partition_function",
    "check_pending_events",
    "check_pubsub_counts",
    "check_quiz",
    "check_reordered_count",
    "check_schema_policies",
    "check_sends_needed",
    "check_topic_match",
    "check_upcaster",
    "check_utilisation",
    "check_zombies_and_ghosts",
]
