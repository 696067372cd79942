"""The delivery scenario in the one scenario shape: contract calls, record levels, bad input."""

import math

import pytest

from labsim import ConfigError
from labsim.scenarios import delivery

SMALL = dict(messages=60)


def same_summary(a, b):
    nan = [k for k, v in a.items() if isinstance(v, float) and math.isnan(v)]
    return a.keys() == b.keys() and all(a[k] == b[k] or (k in nan and math.isnan(b[k])) for k in a)


@pytest.mark.parametrize("semantics", delivery.SEMANTICS)
def test_summary_level_gives_the_same_summary_from_fewer_tables(semantics):
    full = delivery.run(semantics, 3, **SMALL)
    lean = delivery.run(semantics, 3, record_level="summary", **SMALL)
    assert same_summary(lean.summary, full.summary)
    assert set(delivery.SCENARIO.summary_tables) <= set(lean.frames)
    assert lean.frames["net.sends"].empty and not full.frames["net.sends"].empty


def test_summary_is_a_pure_function_of_the_frames():
    result = delivery.run("at-least-once", 1, **SMALL)
    again = delivery.SCENARIO.summarize(result.params, result.frames)
    assert same_summary(again, result.summary)


def test_contract_call_positional_and_by_keyword():
    by_position = delivery.run("at-most-once", 2, 80)
    by_keyword = delivery.run(semantics="at-most-once", seed=2, messages=80)
    assert same_summary(by_position.summary, by_keyword.summary)
    assert {"lost", "duplicate_effects"} <= set(by_position.summary)
    assert by_position.params.semantics == "at-most-once" and by_position.params.messages == 80
    assert delivery.run("at-least-once", 2, 80, loss=0.0).params.loss == 0.0


def test_messages_still_queued_at_the_end_are_in_flight_not_vanished():
    # Attempts far longer than the run: every order is still queued or unacknowledged.
    result = delivery.run("at-least-once", 1, 20, processing_ms=1e5, loss=0.0, transient=0.0)
    state = result.frames["amqp_state"]
    assert set(state["state"]) == {"ready", "unacked"}
    s = result.summary
    assert len(set(state["msg_id"])) + s["processed"] == 20 and s["processed"] < 5
    assert s["vanished"] == 0 and s["dead_lettered"] == 0


def test_sweep_adapter():
    figures = delivery.figures({"semantics": "at-least-once+inbox", "messages": 40}, 1)
    assert figures["duplicate_effects"] == 0 and figures["published"] == 40


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: delivery.run("exactly-once"), "semantics"),
        (lambda: delivery.run("at-least-once", 0, True), "messages"),
        (lambda: delivery.run("at-least-once", 0, 0), "messages"),
        (lambda: delivery.run("at-least-once", 0, 10**8), "messages"),
        (lambda: delivery.run(rate=float("nan")), "rate"),
        (lambda: delivery.run(loss=1.5), "loss"),
        (lambda: delivery.run(crash_after_effect=True), "crash_after_effect"),
        (lambda: delivery.run(inbox_retention=0.0), "inbox_retention"),
        (lambda: delivery.run(prefetch=2.5), "prefetch"),
        (lambda: delivery.run(chaos_intensity=math.inf), "chaos_intensity"),
        (lambda: delivery.run("at-least-once", 0, 10, 5), "arguments"),
    ],
)
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.parameter == parameter


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="retries"):
        delivery.run(retries=3)


def test_the_lesson_prints_the_plan_the_run_applies():
    p = delivery.DeliveryParams(messages=100)
    plan = delivery.default_chaos(p, 5)
    assert plan == delivery.run("at-most-once", 5, 100).plan
    assert p.horizon >= plan.heal_time + p.publish_phase + 30.0
