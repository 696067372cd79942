"""Exercises of lesson 13: find the incident from the dashboard; write an alert that works."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from labsim.errors import ConfigError, is_real
from labsim.exercises.base import ExerciseResult
from labsim.metrics import fault_intervals
from labsim.observability import AlertRule, dashboard_metrics, score_alerts
from labsim.result import Result
from labsim.scenarios import observability

__all__ = ["SIGNATURES", "START_TOLERANCE", "check_dlq_alert", "check_incident"]

#: How far (seconds) a diagnosed start may be from the real one.
START_TOLERANCE = 5.0

#: What each incident looks like on the dashboard (the hints of :func:`check_incident`).
SIGNATURES: dict[str, str] = {
    "consumer-crash": (
        "a crashed consumer's utilisation falls to 0 at once, the lag of ITS partitions climbs "
        "until the group's session timeout moves them to the others (whose utilisation then "
        "jumps), and the processing-time p99 jumps to seconds"
    ),
    "payment-crash": (
        "a crashed saga participant leaves Kafka and the read model healthy, but sagas pile "
        "up 'in flight' (they wait for the payment service) and none finish until it is back"
    ),
    "mailer-outage": (
        "a dead e-mail provider touches no Kafka or saga panel: every e-mail fails its retries, "
        "so the dead-letter queue grows steeply for as long as the outage lasts"
    ),
    "projector-crash": (
        "a crashed projector touches nothing upstream: only the read-model age grows, one "
        "second per second, until the projector restarts and catches up"
    ),
}


def check_incident(result: Result, incident: str, start: float | None) -> ExerciseResult:
    """Compare the learner's diagnosis with the run's real (hidden) fault plan.

    Args:
        result: The run the learner read (``observability.run("hidden", seed)``).
        incident: The incident's name, one of ``observability.INCIDENTS`` (or ``"none"``).
        start: When it started, in seconds (within :data:`START_TOLERANCE` counts).
    """
    name = "find the incident"
    names = ("none", *observability.INCIDENTS)
    if incident not in names:
        return ExerciseResult(name, False, f"name the incident as one of {', '.join(names)}")
    truth = observability.incident_of(result.plan) if result.plan is not None else None
    real, real_start = truth if truth is not None else ("none", math.nan)
    if incident != real:
        if real == "none":
            return ExerciseResult(name, False, "this run had no incident: what you saw is noise")
        said = SIGNATURES.get(incident, "a quiet run has every panel flat")
        return ExerciseResult(
            name,
            False,
            f"not {incident!r}: {said}. Does the dashboard show that? Look again at each panel "
            "during the bad minutes, especially the ones that stay calm.",
        )
    if real == "none":
        return ExerciseResult(name, True, "no incident: every panel stayed within its noise")
    if start is None or not is_real(start):
        return ExerciseResult(
            name, False, f"right incident ({real}); now give `start` as a number of seconds"
        )
    if abs(start - real_start) > START_TOLERANCE:
        return ExerciseResult(
            name,
            False,
            f"right incident ({real}), but it started at another time than {start}: find "
            "the first sample where its panel leaves its usual level",
        )
    return ExerciseResult(
        name, True, f"{real} at {real_start:g} s (you said {start:g} s): {SIGNATURES[real]}"
    )


@functools.lru_cache(maxsize=4)
def _dlq_runs(seed: int) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """The signals and fault intervals of the quiet and the mailer-outage runs of ``seed``."""
    runs = {}
    for which in ("none", "mailer-outage"):
        result = observability.run(which, seed)
        metrics = dashboard_metrics(result.frames, end=result.params.duration)
        end = float(metrics["time"].max())
        runs[which] = (metrics, fault_intervals(result.frames["faults"], end))
    return runs


def _why_false(rule: AlertRule) -> str:
    if rule.op == "rising":
        return (
            "Malformed addresses sometimes arrive a few at a time, so a small growth also "
            "happens without an incident: ask for more growth, or over a shorter window."
        )
    if rule.op == "below":
        return "A quiet queue is below any threshold: 'below' never detects a filling queue."
    return (
        "Malformed addresses add a dead letter now and then, so any fixed depth is reached "
        "sooner or later: alert on how fast the queue grows (op 'rising')."
    )


def _as_rule(rule: AlertRule | Mapping[str, Any]) -> AlertRule:
    return rule if isinstance(rule, AlertRule) else AlertRule.from_dict(rule)


def check_dlq_alert(
    rule: AlertRule | Mapping[str, Any], seed: int = 0, max_delay: float = 10.0
) -> ExerciseResult:
    """A rule that catches the mailer outage within ``max_delay`` seconds, no false alarm.

    The rule is evaluated on two runs with ``seed``: a quiet one (no incident, but malformed
    addresses trickle into the dead-letter queue) and one with the mailer outage.
    """
    name = "dead-letter alert"
    try:
        rule = _as_rule(rule)
        scores = {
            which: score_alerts([rule], metrics, intervals).iloc[0]
            for which, (metrics, intervals) in _dlq_runs(seed).items()
        }
    except ConfigError as exc:
        return ExerciseResult(name, False, f"the rule is not valid: {exc}")
    quiet, outage = scores["none"], scores["mailer-outage"]
    if quiet["false_alarms"] or outage["false_alarms"]:
        return ExerciseResult(
            name,
            False,
            f"false alarm: it fired {int(quiet['false_alarms'] + outage['false_alarms'])} time(s) "
            f"with no incident. {_why_false(rule)}",
        )
    delay = outage["detection_delay_s"]
    if math.isnan(delay):
        return ExerciseResult(
            name,
            False,
            "it never fired during the outage: the threshold is too high or the signal is not "
            "the dead-letter queue's (metric 'dlq_depth')",
        )
    if delay > max_delay:
        return ExerciseResult(
            name,
            False,
            f"it fired {delay:g} s after the outage began (allowed {max_delay:g} s): shorten "
            "for_s or window_s, or lower the threshold a little",
        )
    return ExerciseResult(
        name, True, f"{rule.describe()}: fired {delay:g} s into the outage, no false alarm"
    )
