"""The saga and saga-isolation scenarios in the one scenario shape."""

import math

import pytest

from labsim import ConfigError
from labsim.scenarios import saga_isolation, sagas


def same_summary(a, b):
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
        for k in a
    )


@pytest.mark.parametrize("style", sagas.STYLES)
def test_summary_level_gives_the_same_summary(style):
    full = sagas.run(style, 2, 25, 0.1)
    lean = sagas.run(style, 2, 25, 0.1, record_level="summary")
    assert same_summary(lean.summary, full.summary)
    assert lean.frames["net.sends"].empty and not full.frames["net.sends"].empty
    assert same_summary(sagas.SCENARIO.summarize(full.params, full.frames), full.summary)


def test_contract_call_positional_and_by_keyword():
    by_position = sagas.run("choreography", 1, 20, 0.2)
    by_keyword = sagas.run(style="choreography", seed=1, sagas=20, crash_rate=0.2)
    assert same_summary(by_position.summary, by_keyword.summary)
    assert "half_done" in by_position.summary
    assert by_position.params.crash_rate == 0.2


def test_outcomes_come_from_the_services_end_state_tables():
    result = sagas.run("orchestration", 1, 30, 0.0)
    table = sagas.outcomes(result.frames)
    assert list(table["saga"]) == list(result.frames["saga_starts"]["saga"])
    counts = table["outcome"].value_counts()
    assert counts.get("committed", 0) == result.summary["committed"]
    assert counts.get("compensated", 0) == result.summary["compensated"]
    committed = table[table["outcome"] == "committed"]
    payments = result.frames["saga_payments"]
    charged = set(payments.loc[payments["kind"] == "charged", "saga"])
    assert set(committed["saga"]) <= charged
    assert set(committed["saga"]) <= set(result.frames["saga_shipments"]["saga"])
    stock = result.frames["saga_stock"].iloc[0]
    reserved = result.frames["saga_reservations"]["qty"].sum()
    assert stock["stock"] + reserved == stock["initial"] == 150


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: sagas.run("ballet"), "style"),
        (lambda: sagas.run("orchestration", 0, 10, 1.5), "crash_rate"),
        (lambda: sagas.run("orchestration", 0, 10, float("nan")), "crash_rate"),
        (lambda: sagas.run("orchestration", 0, True), "sagas"),
        (lambda: sagas.run("orchestration", 0, 10**7), "sagas"),
        (lambda: sagas.run(stock=-1), "stock"),
        (lambda: sagas.run(recovery=1), "recovery"),
        (lambda: sagas.run(quiet=0), "quiet"),
        (lambda: saga_isolation.run("locks"), "countermeasure"),
        (lambda: saga_isolation.run(think_ms=True), "think_ms"),
        (lambda: saga_isolation.run(decline_rate=float("nan")), "decline_rate"),
        (lambda: saga_isolation.run(sagas=0), "sagas"),
    ],
)
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.parameter == parameter


@pytest.mark.parametrize("module", [sagas, saga_isolation])
def test_unknown_parameter_is_named(module):
    with pytest.raises(ConfigError, match="speed"):
        module.run(speed=2)


@pytest.mark.parametrize("countermeasure", saga_isolation.COUNTERMEASURES)
def test_isolation_summary_level_and_pure_summary(countermeasure):
    full = saga_isolation.run(countermeasure, 2, sagas=60, stock=30)
    lean = saga_isolation.run(countermeasure, 2, sagas=60, stock=30, record_level="summary")
    assert lean.summary == full.summary
    assert saga_isolation.SCENARIO.summarize(full.params, full.frames) == full.summary


def test_isolation_anomalies_are_rows_of_the_timeline():
    result = saga_isolation.run("none", 1)
    rows = result.frames["isolation"]
    assert set(rows["event"]) <= {"arrived", "rejected", "reserved", "released", "committed"}
    assert (rows["event"] == "arrived").sum() == 200
    lost = rows[rows["anomaly"] == "lost-update"]
    assert len(lost) == result.summary["lost_updates"] > 0
    assert set(lost["event"]) == {"reserved"}
