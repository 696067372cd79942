# %% [markdown]
# # 13 · Observability: operating an event-driven system
#
# **The question:** something is wrong in production. Which service, since when — and would an alert have
# woken you up in time, without waking you up every night for nothing?
#
# **Learning objectives.** After this notebook you can:
#
# 1. read an operator's **dashboard** of an event-driven system: consumer lag per partition, dead-letter queue
#    depth, processing time p50/p99, consumer utilisation, saga states and read-model age;
# 2. write **alert rules as data** and measure them on recorded runs: when each fired, its **detection delay**
#    and its **false alarms**;
# 3. **find an incident** from the dashboard alone, and say which panel gave it away;
# 4. follow one order across the services by its **correlation id**, through its causal chain.
#
# The system is the whole course in one world: orders on a Kafka topic read by a consumer group (lesson 02),
# an event store projected into a read model (06, 08), a choreographed order saga (09) and confirmation e-mails
# on a RabbitMQ-style queue with retries and a dead-letter queue (03).

# %% tags=["parameters"]
SEED = 13  # seed of every run
RATE = 20.0  # orders per second
INCIDENT_AT = 20.0  # when each named incident starts (s)
INCIDENT_FOR = 10.0  # how long it lasts (s)
DLQ_LIMIT = 5  # the naive alert's threshold: dead letters waiting

# %%
from labsim.lessons import check_parameters

check_parameters("13_observability", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt
import pandas as pd
import yaml

from labsim import plots
from labsim.claims import claim
from labsim.exercises import check_dlq_alert, check_incident
from labsim.metrics import fault_intervals
from labsim.observability import (
    AlertRule,
    dashboard_metrics,
    draw_trace,
    evaluate,
    order_trace,
    plot_dashboard,
    score_alerts,
    signal_summary,
)
from labsim.scenarios import observability

plots.use_style()
NO_FAULTS = pd.DataFrame({"start": [], "end": []})


def run(incident, seed=SEED):
    """One run of the order pipeline and its dashboard signals (one sample per second while orders arrive)."""
    result = observability.run(incident, seed, rate=RATE, incident_at=INCIDENT_AT, incident_for=INCIDENT_FOR)
    return result, dashboard_metrics(result.frames, end=result.params.duration)


# %% [markdown]
# ## 1. A quiet minute
#
# A minute of orders with no incident at all. **Predict:** which of the six panels stay flat?

# %%
quiet, quiet_m = run("none")
plot_dashboard(quiet_m, title="A quiet minute: no incident")
plt.show()
print(pd.Series(quiet.summary).to_string())

# %%
final_dlq = int(quiet_m["dlq_depth"].iloc[-1])
claim("the dead-letter queue fills up even with no incident, and never drains",
      final_dlq > 0 and quiet_m["dlq_depth"].is_monotonic_increasing,
      f"{final_dlq} dead letters after {quiet_m['time'].iloc[-1]:g} s: malformed addresses")
claim("with no incident the read model is never a second behind and every saga finishes",
      quiet_m["read_model_age_s"].max() < 1 and quiet.summary["sagas_unfinished"] == 0,
      f"read-model age at most {quiet_m['read_model_age_s'].max():.2f} s")

# %% [markdown]
# Lag, utilisation and processing time wobble (orders arrive at random) but stay in a band; the dead-letter
# queue only ever grows, because one e-mail in 150 has a malformed address that no retry will fix. Nobody
# consumes a dead-letter queue by itself: its **depth** is a backlog of human work, and its **growth** is the
# signal.

# %% [markdown]
# ## 2. A consumer crashes
#
# At `INCIDENT_AT` consumer **c2**'s node crashes for `INCIDENT_FOR` seconds. **Predict:** which panels move, in
# which order — and which panels do *not* notice at all?

# %%
crash, crash_m = run("consumer-crash")
plot_dashboard(crash_m, faults=crash.frames["faults"], title="Consumer c2 crashes")
plt.show()
events = crash.frames["consumer_events"]
first = events[(events["consumer"] == "c2") & (events["event"] == "joined")].iloc[0]
c2_parts = [f"lag_p{p}" for _, p in first["partitions"]]
others = [c for c in crash_m.columns if c.startswith("lag_p") and c not in c2_parts]
during = crash_m[crash_m["time"].between(INCIDENT_AT, INCIDENT_AT + INCIDENT_FOR + 5)]  # the crash and 5 s after
before = crash_m[crash_m["time"].between(5, INCIDENT_AT - 1)]
early = crash_m[crash_m["time"].between(INCIDENT_AT, INCIDENT_AT + 5)]  # before the session timeout (6 s)
print(f"c2 held {', '.join(p.removeprefix('lag_') for p in c2_parts)}; in the crash's first 5 s the max lag there "
      f"was {int(early[c2_parts].max().max())}, elsewhere {int(early[others].max().max())}")

# %%
claim("c2's utilisation falls to 0 while it is down",
      (during["util_c2"] == 0).any() and (before["util_c2"] > 0).all(),
      f"lowest {during['util_c2'].min():g} from the crash on, {before['util_c2'].min():.2f} before")
claim("the lag that climbs is on c2's partitions",
      early[c2_parts].max().max() > 2 * early[others].max().max(),
      f"{int(early[c2_parts].max().max())} vs {int(early[others].max().max())} records in the first 5 s")
claim("the p99 processing time jumps from a fraction of a second to seconds",
      during["processing_p99_s"].max() > 1 > before["processing_p99_s"].max(),
      f"{before['processing_p99_s'].max():.2f} s before, up to {during['processing_p99_s'].max():.1f} s")
claim("downstream stays healthy: the read model is never a second behind and no sagas pile up",
      during["read_model_age_s"].max() < 1 and during["sagas_in_flight"].max() < 20
      and crash.summary["sagas_unfinished"] == 0,
      f"read-model age at most {during['read_model_age_s'].max():.2f} s, "
      f"at most {int(during['sagas_in_flight'].max())} sagas in flight")

# %% [markdown]
# The lag climbs on c2's partitions, until the group's **session timeout** (6 s) gives them to c1 and c3,
# whose utilisation then jumps while they drain the backlog (the rebalance pauses every member for a moment, so
# the other partitions blip too). The p99 rises *late*: a stuck record counts
# only once it is processed — percentiles of finished work hide the work that is not finishing, which is why
# lag is the earlier signal. Downstream stays healthy: fewer sagas finish per second while orders wait upstream,
# then they catch up, but none pile up in flight and the read model never falls behind.

# %% [markdown]
# ## 3. Alert rules as data
#
# An alert is a rule an operator writes down: a signal, a comparison, a threshold, and how long it must hold.
# Here they are as YAML (the same data a monitoring system's config holds), evaluated on four runs with one
# incident each and on the quiet run. **Predict:** which rule raises a false alarm, which one misses a crash
# that lasts `INCIDENT_FOR` seconds?

# %%
RULES_YAML = f"""
- {{name: lag rising, metric: lag_total, op: rising, threshold: 10, window_s: 5, for_s: 2}}
- {{name: lag rising for 30 s, metric: lag_total, op: rising, threshold: 0, window_s: 30, for_s: 30}}
- {{name: consumer idle, metric: "util_c*", op: below, threshold: 0.01}}
- {{name: p99 over 1 s, metric: processing_p99_s, op: above, threshold: 1}}
- {{name: DLQ depth above {DLQ_LIMIT}, metric: dlq_depth, op: above, threshold: {DLQ_LIMIT}}}
- {{name: sagas piling up, metric: sagas_in_flight, op: above, threshold: 20}}
- {{name: read model stale, metric: read_model_age_s, op: above, threshold: 2}}
"""
rules = [AlertRule.from_dict(entry) for entry in yaml.safe_load(RULES_YAML)]
runs = {"none": (quiet, quiet_m), "consumer-crash": (crash, crash_m)}
runs.update({name: run(name) for name in ("payment-crash", "mailer-outage", "projector-crash")})

table = {"false alarms (quiet run)": score_alerts(rules, quiet_m, NO_FAULTS).set_index("rule")["false_alarms"]}
for name, (result, m) in runs.items():
    if name == "none":
        continue
    faults = fault_intervals(result.frames["faults"], float(m["time"].max()))
    # the quiet run is this run without the fault (same seed, same streams): what fires there too fired anyway
    delay = score_alerts(rules, m, faults, baseline=quiet_m).set_index("rule")["detection_delay_s"]
    table[name] = delay.map(lambda d: "missed" if pd.isna(d) else f"{d:.0f} s")
alerts = pd.DataFrame(table)
print("False alarms with no incident, and detection delay per incident (first firing caused by it minus its start):")
print(alerts.to_string())

# %%
claim(f"'DLQ depth above {DLQ_LIMIT}' raises a false alarm exactly when malformed addresses alone pass {DLQ_LIMIT}",
      (alerts.loc[f"DLQ depth above {DLQ_LIMIT}", "false alarms (quiet run)"] > 0) == (final_dlq > DLQ_LIMIT),
      f"{alerts.loc[f'DLQ depth above {DLQ_LIMIT}', 'false alarms (quiet run)']} false alarm(s); quiet depth {final_dlq}")
claim("'lag rising for 30 s' misses a crash that heals within 30 s",
      alerts.loc["lag rising for 30 s", "consumer-crash"] == "missed", f"the crash lasted {INCIDENT_FOR:g} s")
caught = (alerts.drop(columns="false alarms (quiet run)") != "missed").any()
naive = next(rule for rule in rules if rule.metric == "dlq_depth")
naive_first = float(evaluate(naive, runs["mailer-outage"][1])["fired_at"].min())
claim("every consumer, saga and read-model incident is caught by at least one rule",
      caught.drop("mailer-outage").all())
claim(f"'{naive.name}' catches the mailer outage only if malformed addresses had not set it off before",
      caught["mailer-outage"] == (naive_first >= INCIDENT_AT),
      f"it first fired at {naive_first:g} s in that run; the outage began at {INCIDENT_AT:g} s")

# %% [markdown]
# Every alert trades **detection delay** against **false alarms**. A fixed threshold on a queue that only grows
# is a false alarm waiting to happen (exercise 2 asks you for a better rule). A long `for_s` silences noise but
# also the short incidents — by the time "lag rising for 30 s" could fire, the group has long rebalanced. And
# each rule watches one symptom: the table is also a **map** from incident to the panel that shows it, which is
# the next section.

# %% [markdown]
# ## 4. Find the incident
#
# This run has one incident, picked by the seed, at a time you are not told. Read only the dashboard: which
# incident was it (one of `observability.INCIDENTS`), and when did it start? Do not print `hidden.plan` — that
# is the answer.

# %%
hidden, hidden_m = run("hidden")
plot_dashboard(hidden_m, title="Something happened. What, and when?")
plt.show()
print("The dashboard in numbers (each panel's headline signal):")
print(signal_summary(hidden_m).to_string(index=False))
print("incidents it can be:", ", ".join(observability.INCIDENTS))

# %% [markdown]
# ## Exercise 1: name the incident
#
# Set `incident` to one of the names above and `start` to the time (s) it began, within 5 s.

# %%
incident = None  # e.g. "consumer-crash"
start = None  # seconds

print(check_incident(hidden, incident, start))

# %% jupyter={"source_hidden": true}
# A runbook: one rule per symptom, checked in order, each naming the incident it points to.
RUNBOOK = [
    (AlertRule("consumer idle", "util_c*", "below", 0.01), "consumer-crash"),
    (AlertRule("lag rising", "lag_total", "rising", 10, window_s=5, for_s=2), "consumer-crash"),
    (AlertRule("sagas piling up", "sagas_in_flight", "above", 20), "payment-crash"),
    (AlertRule("DLQ growing", "dlq_depth", "rising", 8, window_s=5), "mailer-outage"),
    (AlertRule("read model stale", "read_model_age_s", "above", 2), "projector-crash"),
]


def diagnose(m):
    fired = {}
    for rule, name in RUNBOOK:
        times = evaluate(rule, m)["fired_at"]
        if len(times):
            fired.setdefault(name, []).append(float(times.min()))
    name = next((name for _, name in RUNBOOK if name in fired), "none")
    return name, min(fired[name]) if name in fired else None


solution = diagnose(hidden_m)
print(check_incident(hidden, *solution))

# %% [markdown]
# ## 5. Correlation ids as tracing
#
# Each message carries the envelope's `correlation_id` (the order) and `causation_id` (the event that caused it).
# Take the order that waited longest during the consumer crash and follow it through every service.
# **Predict:** where did it spend its time?

# %%
trace_rows = crash.frames["trace"]
placed = trace_rows[trace_rows["event_type"] == "order.placed"].set_index("correlation_id")["time"]
accepted = trace_rows[trace_rows["event_type"] == "order.accepted"].set_index("correlation_id")["time"]
placed = placed.reindex(accepted.index)
waited = (accepted - placed)[placed.between(INCIDENT_AT, INCIDENT_AT + INCIDENT_FOR)]
order = waited.idxmax()
trace = order_trace(crash.frames, order)
print(trace.assign(time=trace["time"].round(3)).to_string(index=False))
fig, ax = plt.subplots(figsize=(11, 4))
draw_trace(trace, ax, title=f"Trace of order {order}: one correlation id, an arrow from each cause to its effect")
plt.show()

# %%
hops = trace.set_index("event_id")["time"]
gaps = {(cause, effect): hops[effect] - hops[cause]
        for cause, effect in zip(trace["causation_id"], trace["event_id"], strict=True) if cause in hops}
longest = max(gaps, key=gaps.get)
kind = trace.set_index("event_id")["event_type"]
claim("every cause in the trace is a step of the same trace: one connected causal chain",
      set(trace["causation_id"].dropna()) <= set(trace["event_id"]), f"{len(trace)} steps")
claim("the order crosses at least five services",
      trace["service"].nunique() >= 5, ", ".join(dict.fromkeys(trace["service"])))
claim("its longest hop is the wait for a consumer during the crash",
      (kind[longest[0]], kind[longest[1]]) == ("order.placed", "order.accepted"),
      f"{gaps[longest]:.1f} s from order.placed to order.accepted; the saga then took "
      f"{hops[kind[kind.isin(['order.confirmed', 'order.cancelled'])].index[0]] - hops[kind[kind == 'order.accepted'].index[0]]:.2f} s")

# %% [markdown]
# One `correlation_id` ties together what every service on its way logged about one order (the lanes: services and
# the consumers and nodes between them); the `causation_id`s order it into
# a chain, so "why was this order slow?" has an answer: it sat in partition lag while c2 was down, and then went
# through the saga in a few milliseconds (the diagram spaces the steps evenly: the times on them tell the wait). This is what tracing systems draw, built from nothing but the envelope.

# %% [markdown]
# ## Try it: slider
#
# Pick an incident and when it starts; watch which panels move.

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import interact

from labsim.params import slider


def show_incident(incident="consumer-crash", incident_at=INCIDENT_AT):
    result = observability.run(incident, SEED, rate=RATE, incident_at=incident_at, incident_for=INCIDENT_FOR)
    plot_dashboard(dashboard_metrics(result.frames, end=result.params.duration), faults=result.frames["faults"], title=incident)
    plt.show()


_ = interact(show_incident,
             incident=slider(observability.ObservabilityParams, "incident", value="consumer-crash"),
             incident_at=slider(observability.ObservabilityParams, "incident_at", value=INCIDENT_AT))

# %% [markdown]
# ## Exercise 2: an alert on the dead-letter queue
#
# Write a rule (a dict, as in the YAML above) that fires within 10 s of the mailer outage and **never** in a run
# without an incident, where malformed addresses still trickle in. The checker runs both.

# %%
my_rule = {"name": "dead letters", "metric": "dlq_depth", "op": "above", "threshold": DLQ_LIMIT}

print(check_dlq_alert(my_rule, seed=SEED))

# %% jupyter={"source_hidden": true}
solution_rule = {"name": "DLQ growing", "metric": "dlq_depth", "op": "rising", "threshold": 8, "window_s": 5}
print(check_dlq_alert(solution_rule, seed=SEED))

# %% [markdown]
# ## What you saw
#
# - Six panels describe the pipeline's health; each incident moves its own panel and leaves the others calm.
# - Lag is the early signal of a stuck consumer; percentiles of finished work arrive late.
# - An alert is data: signal, comparison, threshold, duration. Its worth is measured, not assumed: detection delay
#   and false alarms, on recorded runs.
# - The correlation and causation ids of the envelope are enough to trace one order across every service.
#
# | question | answer |
# |---|---|
# | what to watch on a consumer group? | lag per partition and utilisation per consumer, not only the total |
# | how to alert on a dead-letter queue? | on its growth rate; its depth is a backlog of human work |
# | why not `for: 30 s` everywhere? | short incidents heal before the alert fires; each `for` is a detection delay |
# | where is an incident? | the panel that moves first; the calm panels rule causes out |
# | why was this order slow? | follow its correlation id; the longest hop in its causal chain |

# %% [markdown]
# ## Next
#
# `14_challenges.ipynb` — write the components yourself, graded under seeded chaos; then `15_capstone.ipynb`,
# where the dashboard's questions become targets for a whole pipeline.
