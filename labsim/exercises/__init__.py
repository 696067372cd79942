"""Checking functions for the notebook exercises, one module per lesson topic.

Each ``check_...`` function takes the learner's answer, compares it with the model answer on
several inputs, and returns an :class:`ExerciseResult` whose text says what is right or, when
it is wrong, *why* (a hint aimed at the typical mistake), never just "wrong".

=============== ===================================================
module          lessons
=============== ===================================================
``tour``        00 the tour
``brokers``     01 events and brokers, 02 consumer groups
``delivery``    03 delivery semantics, 04 network faults
``eventsourcing`` 05 event sourcing, 06 CQRS lag
``sagas``       07 sagas, 08 outbox and CDC
``replication`` 09 conflict resolution
``scaling``     10 scaling and backpressure
``operations``  13 observability
=============== ===================================================
"""

from labsim.exercises.base import QUIZZES, ExerciseResult, check_quiz
from labsim.exercises.brokers import (
    check_idle_consumers,
    check_moved_partitions,
    check_partition_function,
    check_pubsub_counts,
)
from labsim.exercises.delivery import check_backoff, check_reordered_count
from labsim.exercises.eventsourcing import (
    check_balance_fold,
    check_fresh_probability,
    check_pending_events,
    check_upcaster,
)
from labsim.exercises.operations import check_dlq_alert, check_incident
from labsim.exercises.replication import check_gcounter_merge, check_lww_winner
from labsim.exercises.sagas import check_compensation_plan, check_zombies_and_ghosts
from labsim.exercises.scaling import check_consumers_needed, check_utilisation
from labsim.exercises.tour import check_delivered_fraction, check_sends_needed

__all__ = [
    "QUIZZES",
    "ExerciseResult",
    "check_backoff",
    "check_balance_fold",
    "check_compensation_plan",
    "check_consumers_needed",
    "check_delivered_fraction",
    "check_dlq_alert",
    "check_fresh_probability",
    "check_gcounter_merge",
    "check_idle_consumers",
    "check_incident",
    "check_lww_winner",
    "check_moved_partitions",
    "check_partition_function",
    "check_pending_events",
    "check_pubsub_counts",
    "check_quiz",
    "check_reordered_count",
    "check_sends_needed",
    "check_upcaster",
    "check_utilisation",
    "check_zombies_and_ghosts",
]
