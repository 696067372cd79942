"""Checkers for message processing: duplicate side effects, lost messages, accounting."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from labsim.checks.base import CheckResult
from labsim.errors import ConfigError

__all__ = ["check_accounting", "check_duplicate_effects", "check_lost_messages"]


def _ids(values: Iterable | pd.Series | pd.DataFrame, name: str) -> set:
    if isinstance(values, pd.DataFrame):
        if "msg_id" not in values.columns:
            raise ConfigError(name, list(values.columns), "a frame with a msg_id column", "checks")
        return set(values["msg_id"])
    return set(values)


def check_duplicate_effects(effects: pd.DataFrame) -> CheckResult:
    """Side effects applied more than once for one message (``effects``: one row per effect)."""
    if "msg_id" not in effects.columns:
        raise ConfigError(
            "effects",
            list(effects.columns),
            "a frame with a msg_id column",
            "check_duplicate_effects",
        )
    counts = effects["msg_id"].value_counts()
    dup = counts[counts > 1]
    anomalies = pd.DataFrame({"msg_id": dup.index, "effects": dup.to_numpy()})
    extra = int((dup - 1).sum())
    return CheckResult(
        "duplicate effects",
        dup.empty,
        anomalies.sort_values("msg_id", ignore_index=True),
        f"{counts.size} messages with effects; {len(dup)} applied more than once "
        f"({extra} extra effects)",
    )


def check_lost_messages(
    published: Iterable | pd.DataFrame,
    effects: Iterable | pd.DataFrame,
    dead_lettered: Iterable | pd.DataFrame = (),
) -> CheckResult:
    """Published messages never processed (dead-lettered ones are accounted for, not lost)."""
    sent = _ids(published, "published")
    done = _ids(effects, "effects") | _ids(dead_lettered, "dead_lettered")
    lost = sorted(sent - done, key=repr)
    anomalies = pd.DataFrame({"msg_id": lost})
    return CheckResult(
        "lost messages", not lost, anomalies, f"{len(sent)} published, {len(lost)} never processed"
    )


def check_accounting(
    published: Iterable | pd.DataFrame,
    effects: Iterable | pd.DataFrame,
    dead_lettered: Iterable | pd.DataFrame = (),
    in_flight: Iterable | pd.DataFrame = (),
) -> CheckResult:
    """Every published message must end processed, dead-lettered or still in flight."""
    sent = _ids(published, "published")
    processed = _ids(effects, "effects")
    dead = _ids(dead_lettered, "dead_lettered")
    flying = _ids(in_flight, "in_flight")
    vanished = sorted(sent - processed - dead - flying, key=repr)
    anomalies = pd.DataFrame({"msg_id": vanished})
    return CheckResult(
        "accounting",
        not vanished,
        anomalies,
        f"{len(sent)} published = {len(sent & processed)} processed + "
        f"{len(sent & dead - processed)} dead-lettered + "
        f"{len(sent & flying - processed - dead)} in flight + {len(vanished)} vanished",
    )
