"""Dashboard signals, alert rules as data, tracing, the lesson-13 scenario and its exercises."""

import math

import numpy as np
import pandas as pd
import pytest

from labsim import ConfigError
from labsim.exercises import check_dlq_alert, check_incident
from labsim.observability import (
    AlertRule,
    dashboard_metrics,
    evaluate,
    order_trace,
    saga_spans,
    score_alerts,
)
from labsim.scenarios import SCENARIOS, observability


def _frame(values, start=1.0, step=1.0, name="dlq_depth"):
    return pd.DataFrame({"time": start + step * np.arange(len(values)), name: values})


NO_FAULTS = pd.DataFrame({"start": [], "end": []})


# -- alert rules on hand-made frames ----------------------------------------------------------
def test_above_fires_exactly_when_the_signal_passes_the_threshold_and_resolves():
    metrics = _frame([0, 1, 6, 7, 2, 8])  # times 1..6
    fired = evaluate(AlertRule("dlq", "dlq_depth", "above", 5), metrics)
    assert fired["fired_at"].tolist() == [3.0, 6.0]
    assert fired["resolved_at"].iloc[0] == 5.0
    assert math.isnan(fired["resolved_at"].iloc[1])  # still firing at the end


def test_for_s_waits_until_the_condition_has_held_that_long():
    metrics = _frame([0, 9, 9, 0, 9, 9, 9, 9])  # times 1..8
    fired = evaluate(AlertRule("dlq", "dlq_depth", "above", 5, for_s=2), metrics)
    # 2..3 holds for 1 s only (no firing); from 5 on it holds, firing 2 s later at 7
    assert fired["fired_at"].tolist() == [7.0]


def test_rising_compares_with_the_value_window_seconds_earlier():
    metrics = _frame([0, 1, 2, 3, 10, 11, 11, 11])  # times 1..8
    rule = AlertRule("growth", "dlq_depth", "rising", 5, window_s=2)
    # 3 -> 5: 10 - 2 = 8 > 5 fires at t=5; t=6: 11 - 3 = 8; t=7: 11 - 10 = 1 resolves
    fired = evaluate(rule, metrics)
    assert fired["fired_at"].tolist() == [5.0]
    assert fired["resolved_at"].tolist() == [7.0]


def test_a_star_metric_watches_every_matching_signal():
    metrics = pd.DataFrame(
        {"time": [1.0, 2.0, 3.0], "util_c1": [0.5, 0.5, 0.5], "util_c2": [0.5, 0.0, 0.4]}
    )
    idle = evaluate(AlertRule("idle", "util_c*", "below", 0.01), metrics)
    assert idle["fired_at"].tolist() == [2.0]
    busy = evaluate(AlertRule("busy", "util_c*", "above", 0.45), metrics)
    assert busy["fired_at"].tolist() == [1.0]  # the largest of the family


def test_nan_never_meets_a_condition():
    metrics = _frame([np.nan, 9.0, np.nan], name="processing_p99_s")
    fired = evaluate(AlertRule("slow", "processing_p99_s", "above", 1), metrics)
    assert fired["fired_at"].tolist() == [2.0]


def test_detection_delay_and_false_alarms_are_counted_against_the_faults():
    metrics = _frame([9, 0, 0, 0, 0, 9, 9, 0, 0, 0, 0, 0, 0, 9])  # times 1..14
    faults = pd.DataFrame({"start": [4.5], "end": [7.5]})
    score = score_alerts(
        [AlertRule("dlq", "dlq_depth", "above", 5)], metrics, faults, grace_s=1.0
    ).iloc[0]
    assert score["firings"] == 3  # at 1, 6 and 14
    assert score["detection_delay_s"] == pytest.approx(1.5)  # 6 - 4.5
    assert score["false_alarms"] == 2  # 1 (before the fault) and 14 (long after it)


def test_a_fault_no_rule_catches_has_no_delay_and_a_quiet_run_only_false_alarms():
    metrics = _frame([0, 0, 0, 7])
    faults = pd.DataFrame({"start": [1.0], "end": [2.0]})
    missed = score_alerts([AlertRule("r", "dlq_depth", "above", 9)], metrics, faults).iloc[0]
    assert missed["firings"] == 0 and math.isnan(missed["detection_delay_s"])
    quiet = score_alerts([AlertRule("r", "dlq_depth", "above", 5)], metrics, NO_FAULTS).iloc[0]
    assert quiet["false_alarms"] == 1


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"op": "over"}, "op"),
        ({"threshold": "five"}, "threshold"),
        ({"threshold": math.inf}, "threshold"),
        ({"for_s": -1}, "for_s"),
        ({"window_s": 0}, "window_s"),
        ({"name": ""}, "name"),
        ({"metric": "*"}, "metric"),
    ],
)
def test_bad_rule_definitions_raise_config_error(fields, bad):
    good = {"name": "dlq", "metric": "dlq_depth", "op": "above", "threshold": 5}
    with pytest.raises(ConfigError) as info:
        AlertRule.from_dict({**good, **fields})
    assert info.value.parameter == bad


def test_rules_from_dicts_reject_unknown_and_missing_keys_and_round_trip():
    with pytest.raises(ConfigError, match="treshold"):
        AlertRule.from_dict({"name": "x", "metric": "m", "op": "above", "treshold": 1})
    with pytest.raises(ConfigError, match="threshold"):
        AlertRule.from_dict({"name": "x", "metric": "m", "op": "above"})
    rule = AlertRule("lag", "lag_total", "rising", 0, for_s=30, window_s=30)
    assert AlertRule.from_dict(rule.to_dict()) == rule
    assert rule.describe() == "lag_total rising by > 0 in 30 s, for 30 s"


def test_an_unknown_metric_names_the_signals_there_are():
    with pytest.raises(ConfigError, match="dlq_depth"):
        evaluate(AlertRule("x", "dlq_dept", "above", 1), _frame([1, 2]))


# -- signals from hand-made frames -------------------------------------------------------------
def test_read_model_age_is_the_age_of_the_oldest_unprojected_event():
    frames = {
        "event_log": pd.DataFrame({"position": [0, 1], "timestamp": [0.5, 1.5]}),
        "projected": pd.DataFrame({"position": [0, 1], "visible_at": [0.6, 4.0]}),
    }
    m = dashboard_metrics(frames, end=5.0)
    assert m["read_model_age_s"].tolist() == [0.0, 0.5, 1.5, 0.0, 0.0]  # t = 1..5


def test_saga_states_and_utilisation_from_hand_made_rows():
    messages = pd.DataFrame(
        {
            "time": [0.5, 1.2, 1.5, 3.5],
            "event_type": ["order.created", "order.confirmed", "order.created", "order.cancelled"],
            "correlation_id": ["a", "a", "b", "b"],
        }
    )
    spans = saga_spans(messages)
    assert spans["outcome"].tolist() == ["confirmed", "cancelled"]
    processing = pd.DataFrame(
        {"time": [0.0, 2.0], "consumer": ["c1", "c1"], "duration": [0.5, 1.0]}
    )
    m = dashboard_metrics(
        {"saga_messages": messages, "processing": processing}, end=4.0, window=1.0
    )
    assert m["sagas_in_flight"].tolist() == [1, 1, 1, 0]
    assert m["util_c1"].tolist() == [0.5, 0.0, 1.0, 0.0]


# -- the scenario ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def crash_run():
    return observability.run("consumer-crash", 1)


def test_scenario_is_registered_and_deterministic(crash_run):
    assert SCENARIOS["observability"] is observability.SCENARIO
    again = observability.run("consumer-crash", 1)
    assert again.summary == crash_run.summary
    pd.testing.assert_frame_equal(again.frames["lag"], crash_run.frames["lag"])


def test_the_dashboard_shows_the_consumer_crash(crash_run):
    m = dashboard_metrics(crash_run.frames)
    during = m[(m["time"] > 26) & (m["time"] <= 30)]
    before = m[(m["time"] > 5) & (m["time"] <= 19)]
    assert (during["util_c2"] == 0).all() and (before["util_c2"] > 0).all()
    assert m.loc[m["time"].between(20, 27), "lag_total"].max() > 2 * before["lag_total"].max()
    assert crash_run.summary["sagas_unfinished"] == 0


def test_each_incident_moves_its_own_panel():
    quiet = dashboard_metrics(observability.run("none", 2).frames)
    for incident, signal in [
        ("payment-crash", "sagas_in_flight"),
        ("mailer-outage", "dlq_depth"),
        ("projector-crash", "read_model_age_s"),
    ]:
        m = dashboard_metrics(observability.run(incident, 2).frames)
        assert m[signal].max() > 3 * max(quiet[signal].max(), 1), incident


def test_hidden_incidents_come_from_the_seed_and_bad_input_raises():
    plans = {observability.incident_of(observability.SCENARIO.fault_plan(
        observability.SCENARIO.params(incident="hidden"), seed)) for seed in range(12)}  # fmt: skip
    assert {name for name, _ in plans} == set(observability.INCIDENTS)
    lo, hi = observability.HIDDEN_WINDOW
    assert all(lo <= start <= hi for _, start in plans)
    with pytest.raises(ConfigError):
        observability.run("slow-everything", 0)
    with pytest.raises(ConfigError):
        observability.run(seed=0, consumers=1)  # consumer-crash needs c2


def test_one_order_is_traced_across_the_services(crash_run):
    trace = order_trace(crash_run.frames, "o17")
    kinds = trace["event_type"].tolist()
    assert kinds[0] == "order.placed" and "order.accepted" in kinds and "view.updated" in kinds
    assert any(k in kinds for k in ("order.confirmed", "order.cancelled"))
    ids = set(trace["event_id"])
    causes = trace["causation_id"].dropna()
    assert set(causes) <= ids  # every cause is a step of the same trace: one connected chain
    with pytest.raises(ConfigError):
        order_trace(crash_run.frames, "no-such-order")


# -- the exercises -----------------------------------------------------------------------------
def test_check_incident_passes_the_truth_and_explains_wrong_answers():
    hidden = observability.run("hidden", 0)
    name, start = observability.incident_of(hidden.plan)
    assert check_incident(hidden, name, start + 2)
    other = next(n for n in observability.INCIDENTS if n != name)
    wrong = check_incident(hidden, other, start)
    assert not wrong and other in wrong.message and "panel" in wrong.message
    late = check_incident(hidden, name, start + 12)
    assert not late and "right incident" in late.message
    assert not check_incident(hidden, "a gremlin", start)


def test_check_dlq_alert_rejects_a_fixed_threshold_and_accepts_a_growth_rule():
    fixed = check_dlq_alert({"name": "dlq", "metric": "dlq_depth", "op": "above", "threshold": 5})
    assert not fixed and "false alarm" in fixed.message and "rising" in fixed.message
    never = check_dlq_alert(
        {"name": "dlq", "metric": "dlq_depth", "op": "rising", "threshold": 500, "window_s": 5}
    )
    assert not never and "never fired" in never.message
    slow = check_dlq_alert(
        {
            "name": "d",
            "metric": "dlq_depth",
            "op": "rising",
            "threshold": 3,
            "window_s": 5,
            "for_s": 9,
        }
    )
    assert not slow and "after the outage began" in slow.message
    typo = check_dlq_alert({"name": "d", "metric": "dlq", "op": "above", "threshold": 1})
    assert not typo and "not valid" in typo.message
    good = {"name": "dlq growing", "metric": "dlq_depth", "op": "rising", "threshold": 3,
            "window_s": 5}  # fmt: skip
    assert check_dlq_alert(good) and check_dlq_alert(AlertRule(**good), seed=3)


def test_a_firing_the_run_without_the_fault_has_too_is_no_detection():
    faults = pd.DataFrame({"start": [3.0], "end": [6.0]})
    with_fault = _frame([0, 0, 0, 9, 9, 9, 0, 0])  # fires at 4
    anyway = _frame([0, 0, 0, 0, 9, 9, 0, 0])  # the same rule fires at 5 without the fault
    rule = AlertRule("dlq", "dlq_depth", "above", 5)
    alone = score_alerts([rule], with_fault, faults).iloc[0]
    assert alone["detection_delay_s"] == 1.0 and alone["false_alarms"] == 0
    compared = score_alerts([rule], with_fault, faults, baseline=anyway, match_s=1.0).iloc[0]
    assert math.isnan(compared["detection_delay_s"]) and compared["false_alarms"] == 1
    with pytest.raises(ConfigError):
        score_alerts([rule], with_fault, faults, match_s=-1)


def test_check_dlq_alert_explains_a_too_sensitive_growth_rule():
    touchy = check_dlq_alert(
        {"name": "d", "metric": "dlq_depth", "op": "rising", "threshold": 0, "window_s": 30}
    )
    assert not touchy and "shorter window" in touchy.message


def test_signal_summary_names_the_worst_member_and_when():
    from labsim.observability import signal_summary

    metrics = pd.DataFrame(
        {
            "time": [1.0, 2.0, 3.0],
            "lag_p0": [0, 5, 1],
            "lag_p1": [0, 1, 9],
            "util_c1": [0.3, 0.3, 0.3],
            "util_c2": [0.3, 0.0, 0.2],
            "dlq_depth": [0, 0, 2],
        }
    )
    rows = signal_summary(metrics).set_index("signal")
    worst = rows.loc["lag (worst partition)"]
    assert [worst["extreme"], worst["at (s)"], worst["where"]] == [9, 3, "p1"]
    assert rows.loc["utilisation (least busy)", ["extreme", "where"]].tolist() == [0.0, "c2"]
    assert "sagas in flight" not in rows.index  # a missing signal is left out


def test_check_incident_wants_a_number_of_seconds_and_knows_a_quiet_run():
    hidden = observability.run("hidden", 0)
    name, start = observability.incident_of(hidden.plan)
    assert check_incident(hidden, name, np.float64(start))
    text = check_incident(hidden, name, "twenty")
    assert not text and "number of seconds" in text.message
    quiet = observability.run("none", 0)
    assert check_incident(quiet, "none", None)
    noise = check_incident(quiet, "payment-crash", 20)
    assert not noise and "no incident" in noise.message


def test_the_dashboard_draws_six_checked_panels_with_faults_and_firings(crash_run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labsim.figure_check import figure_problems
    from labsim.observability import plot_dashboard

    m = dashboard_metrics(crash_run.frames, end=60)
    firings = evaluate(AlertRule("lag", "lag_total", "rising", 10, window_s=5), m)
    fig = plot_dashboard(m, faults=crash_run.frames["faults"], firings=firings)
    assert len(fig.axes) == 6 and figure_problems(fig) == []
    plt.close(fig)
    with pytest.raises(ConfigError):
        plot_dashboard(m.drop(columns="dlq_depth"))
