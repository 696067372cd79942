"""Checkers: pure functions of recorded DataFrames that look for anomalies.

Each returns a :class:`CheckResult` with ``valid``, a DataFrame of ``anomalies`` (one row per
anomaly) and a one-line ``summary``.
"""

from labsim.checks.base import CheckResult
from labsim.checks.convergence import check_convergence, check_lost_updates, time_to_converge
from labsim.checks.delivery import check_delivery, check_order
from labsim.checks.effects import check_accounting, check_duplicate_effects, check_lost_messages
from labsim.checks.log import check_kafka, check_log, kafka_history
from labsim.checks.sagas import check_conservation, check_sagas, classify_sagas

__all__ = [
    "CheckResult",
    "check_accounting",
    "check_conservation",
    "check_convergence",
    "check_delivery",
    "check_duplicate_effects",
    "check_kafka",
    "check_log",
    "check_lost_messages",
    "check_lost_updates",
    "check_order",
    "check_sagas",
    "classify_sagas",
    "kafka_history",
    "time_to_converge",
]
