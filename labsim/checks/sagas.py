"""Saga checkers: every saga all-or-nothing, money and stock conserved."""

from __future__ import annotations

import pandas as pd

from labsim.checks.base import CheckResult
from labsim.errors import ConfigError

__all__ = ["check_conservation", "check_sagas", "classify_sagas"]

_NEEDED = {"saga", "order_status", "reserved", "charged", "refunded", "shipped"}


def classify_sagas(outcomes: pd.DataFrame) -> pd.Series:
    """``committed``, ``compensated`` or ``half-done`` for each row of ``outcomes``.

    Columns: ``order_status`` (approved / cancelled / pending / None), ``reserved`` (bool),
    ``charged`` (bool), ``refunded`` (bool), ``shipped`` (bool).
    """
    missing = _NEEDED - set(outcomes.columns)
    if missing:
        raise ConfigError(
            "outcomes", list(outcomes.columns), f"columns {sorted(missing)}", "check_sagas"
        )
    paid = outcomes["charged"] & ~outcomes["refunded"]
    committed = (
        (outcomes["order_status"] == "approved") & outcomes["reserved"] & paid & outcomes["shipped"]
    )
    compensated = (
        outcomes["order_status"].isin(["cancelled", None])
        & ~outcomes["reserved"]
        & ~paid
        & ~outcomes["shipped"]
    )
    labels = pd.Series("half-done", index=outcomes.index)
    labels[committed] = "committed"
    labels[compensated] = "compensated"
    return labels


def check_sagas(outcomes: pd.DataFrame) -> CheckResult:
    """Once faults heal, every saga must be fully committed or fully compensated."""
    labels = classify_sagas(outcomes)
    half = outcomes[labels == "half-done"].reset_index(drop=True)
    counts = labels.value_counts()
    return CheckResult(
        "sagas",
        half.empty,
        half,
        f"{counts.get('committed', 0)} committed, "
        f"{counts.get('compensated', 0)} compensated, "
        f"{counts.get('half-done', 0)} half done",
    )


def check_conservation(
    initial_stock: int, stock: int, reserved_units: int, money_held: float, approved_total: float
) -> CheckResult:
    """Stock and money add up: ``stock + reserved == initial`` and money held equals the
    totals of approved orders."""
    rows = []
    if stock + reserved_units != initial_stock:
        rows.append(
            {"quantity": "stock", "expected": initial_stock, "actual": stock + reserved_units}
        )
    if stock < 0:
        rows.append({"quantity": "stock below zero", "expected": 0, "actual": stock})
    if abs(money_held - approved_total) > 1e-6:
        rows.append({"quantity": "money", "expected": approved_total, "actual": money_held})
    anomalies = pd.DataFrame(rows, columns=["quantity", "expected", "actual"])
    return CheckResult(
        "conservation",
        anomalies.empty,
        anomalies,
        f"stock {stock} + reserved {reserved_units} (initial {initial_stock}); "
        f"money held {money_held:.2f} for approved orders {approved_total:.2f}",
    )
