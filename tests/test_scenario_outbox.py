"""The outbox scenario in the one scenario shape: contract call, record levels, bad input."""

import math

import pytest

from labsim import ConfigError
from labsim.outbox import DESIGNS
from labsim.scenarios import outbox


def same_summary(a, b):
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
        for k in a
    )


@pytest.mark.parametrize("design", DESIGNS)
def test_summary_level_gives_the_same_summary(design):
    full = outbox.run(design, 2, 80)
    lean = outbox.run(design, 2, 80, record_level="summary")
    assert same_summary(lean.summary, full.summary)
    assert lean.frames["orders_committed"].empty and not full.frames["orders_committed"].empty
    assert same_summary(outbox.SCENARIO.summarize(full.params, full.frames), full.summary)


def test_contract_call_positional_and_by_keyword():
    by_position = outbox.run("dual-write", 3, 90)
    by_keyword = outbox.run(design="dual-write", seed=3, orders=90)
    assert same_summary(by_position.summary, by_keyword.summary)
    assert {"zombie", "ghost"} <= set(by_position.summary)
    assert [f.kind for f in by_position.plan] == ["loss"]


def test_zombies_and_ghosts_come_from_the_database_and_broker_tables():
    result = outbox.run("dual-write", 0, 300)
    committed = set(result.frames["order_db"]["order"])
    published = set(result.frames["published"]["order"])
    assert result.summary["zombie"] == len(committed - published) > 0
    assert result.summary["ghost"] == len(published - committed) > 0
    # An undone order was committed once (a row of orders_committed) but is gone at the end.
    assert committed < set(result.frames["orders_committed"]["order"])


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: outbox.run("two-phase"), "design"),
        (lambda: outbox.run("outbox", 0, False), "orders"),
        (lambda: outbox.run("outbox", 0, 0), "orders"),
        (lambda: outbox.run("outbox", 0, 10**8), "orders"),
        (lambda: outbox.run(crash_rate=float("nan")), "crash_rate"),
        (lambda: outbox.run(loss=-0.1), "loss"),
        (lambda: outbox.run(publish_retries=1.0), "publish_retries"),
        (lambda: outbox.run(relay_interval=0), "relay_interval"),
        (lambda: outbox.run(quiet=True), "quiet"),
    ],
)
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.parameter == parameter


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="retries"):
        outbox.run(retries=2)
