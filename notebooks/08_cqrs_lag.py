# %% [markdown]
# # 08 · CQRS and read-model lag
#
# **The question:** after I write, how long until the read side shows it — and what can a client do about it?
#
# **Learning objectives.** After this notebook you can:
#
# 1. measure the **lag** between an append and its visibility in an asynchronous read model, under bursty load;
# 2. read a **freshness curve**: the probability that a read *t* seconds after a write sees it;
# 3. compare **read-your-writes** strategies — synchronous projection, wait-for-version, optimistic UI;
# 4. explain why a projection must commit its **checkpoint with its read model** to survive a crash.

# %% tags=["parameters"]
SEED = 4  # seed of every run
RATE = 40.0  # orders per second outside bursts (each order: two events)
BURST_FACTOR = 4.0  # load multiplier during bursts
PROCESSING_MS = 5.0  # mean time to project one event (ms)
LOAD_RATES = [10.0, 30.0, 50.0, 70.0, 85.0, 95.0]  # steady rates for the lag-versus-load sweep
CRASH_AT = 12.0  # when the projector crashes in section 5 (s)

# %%
from labsim.lessons import check_parameters

check_parameters("08_cqrs_lag", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from labsim import plots
from labsim.claims import claim
from labsim.exercises import check_fresh_probability, check_pending_events
from labsim.scenarios import cqrs
from labsim.sweep import sweep

plots.use_style()

# %% [markdown]
# ## 1. Lag under bursty load
#
# Orders are created and paid at `RATE` per second, with bursts of `BURST_FACTOR` × that rate for 3 s every 10 s.
# A projection worker polls the event store and updates order summaries. **Predict:** when does the lag peak?

# %%
base = cqrs.run(seed=SEED, rate=RATE, burst_factor=BURST_FACTOR, processing_ms=PROCESSING_MS)
projected = base.frames["projected"]
summaries = projected[projected["projection"] == "order_summaries"]
fig, ax = plt.subplots()
ax.plot(summaries["appended_at"], summaries["lag"], lw=0.8)
p = base.params
for start in np.arange(0, p.duration, p.burst_every):
    ax.axvspan(start, start + p.burst_length, color=plots.COLORS["warning"], alpha=0.15, lw=0,
               label="burst" if start == 0 else None)
ax.set(title="Read-model lag of each event", xlabel="appended at [s]", ylabel="lag: append → visible [s]")
ax.legend()
plt.show()
print(f"events: {len(summaries)}, mean lag {summaries['lag'].mean():.3f} s, "
      f"p99 {summaries['lag'].quantile(0.99):.3f} s, max {summaries['lag'].max():.3f} s")

# %%
phase = summaries["appended_at"] % p.burst_every  # where in the 10 s cycle each event was appended
in_burst = phase < p.burst_length
quiet = phase >= p.burst_every - 3.0  # the last 3 s of each cycle, long after the burst drained
peak_phase = phase.loc[summaries["lag"].idxmax()]
claim("the lag peaks at the end of a burst",
      p.burst_length - 1.0 <= peak_phase <= p.burst_length + 1.0,
      f"worst event appended {peak_phase:.1f} s into a cycle whose burst ends at {p.burst_length:g} s")
claim("events appended during bursts wait longer than the rest",
      summaries.loc[in_burst, "lag"].mean() > summaries.loc[~in_burst, "lag"].mean(),
      f"mean lag {summaries.loc[in_burst, 'lag'].mean():.2f} s vs {summaries.loc[~in_burst, 'lag'].mean():.2f} s")
claim("in the quiet part of the cycle the lag is about one poll interval",
      summaries.loc[quiet, "lag"].median() <= 2 * p.poll_ms / 1000,
      f"median {summaries.loc[quiet, 'lag'].median() * 1000:.0f} ms, poll interval {p.poll_ms:g} ms")

# %% [markdown]
# Outside bursts the projector keeps up and the lag is about one poll interval. During a burst, events arrive
# faster than it can apply them (ρ > 1), so the lag climbs for the whole burst and drains afterwards — the
# read model is *seconds* behind exactly when most people are using it.

# %% [markdown]
# ## 2. Lag distribution and the freshness curve
#
# The lag distribution answers a practical question: if I read *t* seconds after writing, how likely am I to see
# my write? (This is the "probabilistically bounded staleness" curve.)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
plots.latency_histogram(summaries["lag"], axes[0], unit="s", title="Lag distribution", quantity="lag",
                        counted="events")
axes[0].set(xlabel="lag: append → visible [s]", ylabel="events [count]")
plots.latency_cdf(summaries["lag"], axes[1], unit="s", title="P(read is fresh) t seconds after the write",
                  quantity="lag", counted="events")
axes[1].set(xlabel="t: time between write and read [s]", ylabel="probability the read is fresh")
plt.show()
fresh = {t: (summaries["lag"] <= t).mean() for t in (0.05, 0.1, 0.5, 1.0, 2.0)}
for t, share in fresh.items():
    print(f"fresh after {t:>4} s: {share:.1%}")

# %%
claim("waiting longer before the read makes it likelier to be fresh, but 100 ms is far from enough",
      fresh[0.1] < fresh[1.0] <= fresh[2.0] and fresh[0.1] < 0.5,
      f"{fresh[0.1]:.1%} fresh after 0.1 s, {fresh[1.0]:.1%} after 1 s, {fresh[2.0]:.1%} after 2 s")

# %% [markdown]
# ## 3. Lag versus load
#
# Without bursts, how does the lag grow with the rate? The projector is a single server: its utilisation is
# (2 × rate) × processing time.

# %%
grid = {"rate": LOAD_RATES, "burst_factor": [1.0], "duration": [20.0], "processing_ms": [PROCESSING_MS]}
load = sweep(cqrs.figures, grid, seeds=[SEED])
load["utilisation"] = 2 * load["rate"] * PROCESSING_MS / 1000
fig, ax = plt.subplots()
ax.plot(load["utilisation"], load["lag_mean_s"], "o-", label="mean lag")
ax.plot(load["utilisation"], load["lag_p99_s"], "s--", label="p99 lag")
ax.set(title="Read-model lag versus projector utilisation", xlabel="projector utilisation ρ",
       ylabel="lag: append → visible [s]", yscale="log")
ax.legend()
plt.show()
print(load[["rate", "utilisation", "lag_mean_s", "lag_p99_s"]].round(3).to_string(index=False))

# %%
low, high = load.iloc[0], load.iloc[-1]
claim("the lag grows with utilisation",
      high["lag_mean_s"] > low["lag_mean_s"] and high["lag_p99_s"] > low["lag_p99_s"],
      f"mean {low['lag_mean_s']:.3f} s at ρ = {low['utilisation']:.2f}, "
      f"{high['lag_mean_s']:.3f} s at ρ = {high['utilisation']:.2f}")

# %% [markdown]
# ## 4. Read-your-writes strategies
#
# Each client pays its order and immediately reads its order summary. **Predict** for each strategy: how many of
# those reads are stale, and who pays for freshness — the write or the read?

# %%
rows = []
for strategy in cqrs.STRATEGIES:
    s = cqrs.run(seed=SEED, rate=RATE, burst_factor=BURST_FACTOR, processing_ms=PROCESSING_MS,
                 strategy=strategy).summary
    rows.append({"strategy": strategy, "stale reads": f"{s['stale_reads']:.1%}",
                 "read latency (s)": round(s["read_latency_mean_s"], 3),
                 "write latency (s)": round(s["write_latency_mean_s"], 3),
                 "projection lag (s)": round(s["lag_mean_s"], 3),
                 "_stale": s["stale_reads"], "_read": s["read_latency_mean_s"], "_write": s["write_latency_mean_s"]})
ryw = pd.DataFrame(rows).set_index("strategy")
print(ryw.drop(columns=["_stale", "_read", "_write"]).reset_index().to_string(index=False))

# %%
claim("with no strategy every own-write read is stale", ryw.loc["none", "_stale"] == 1.0,
      f"{ryw.loc['none', '_stale']:.0%} stale")
claim("sync, wait-for-version and optimistic make the own-write read fresh",
      (ryw.loc[["sync", "wait-for-version", "optimistic"], "_stale"] == 0).all(), "0% stale each")
claim("sync makes the write pay; wait-for-version makes the read pay",
      ryw.loc["sync", "_write"] > ryw.loc["none", "_write"] and ryw.loc["wait-for-version", "_read"] > 0,
      f"sync write {ryw.loc['sync', '_write']:.2f} s vs {ryw.loc['none', '_write']:.3f} s; "
      f"wait-for-version read {ryw.loc['wait-for-version', '_read']:.2f} s")

# %% [markdown]
# * **none** — every own-write read is stale: the read comes before the projection catches up.
# * **sync** — the projection runs inside the write: no lag and no stale read, but writes queue behind the
#   projection and, during bursts, take longer.
# * **wait-for-version** — the write returns its position; the read waits until the projection has passed it.
#   Fresh, at the cost of read latency equal to the lag.
# * **optimistic** — the client shows what it just did without asking the server. Instant and "fresh" for its
#   own write, but other users' reads are as stale as with *none*, and the client must fix its view if the
#   write later turns out to have failed.

# %% [markdown]
# ## 5. A projection crash and resume
#
# At `CRASH_AT` the projector crashes and restarts 2 s later. Its read models are durable; what matters is the
# **checkpoint** — the position it resumes from. If the checkpoint is committed with every event (atomically with
# the read model) it resumes exactly. If it is committed only every 50 events, the events since the last commit
# are applied twice.

# %%
runs = {every: cqrs.run(seed=SEED, rate=RATE, burst_factor=BURST_FACTOR, processing_ms=PROCESSING_MS,
                        crash_at=CRASH_AT, checkpoint_every=every) for every in (1, 50)}
fig, ax = plt.subplots()
for every, run in runs.items():
    lag = run.frames["projected"]
    lag = lag[lag["projection"] == "order_summaries"]
    ax.plot(lag["appended_at"], lag["lag"], lw=0.8, label=f"checkpoint every {every}")
down = runs[1].frames["faults"]  # the crash is a fault of the run's plan: start and end rows
ax.axvspan(down["time"].min(), down["time"].max(), color=plots.COLORS["neutral"], alpha=0.2, lw=0, label="projector down")
ax.set(title="Lag through a projector crash", xlabel="appended at [s]", ylabel="lag: append → visible [s]")
ax.legend()
plt.show()
print(pd.DataFrame({f"checkpoint every {k}": {"events applied twice": r.summary["double_applied"],
                                              "customer totals correct": r.summary["totals_correct"]}
                    for k, r in runs.items()}).to_string())

# %%
peaks = {k: r.frames["projected"].query("projection == 'order_summaries'")["lag"].max() for k, r in runs.items()}
claim("the lag spike is about the same with either checkpoint",
      abs(peaks[1] - peaks[50]) <= 0.1 * max(peaks.values()),
      f"peak {peaks[1]:.1f} s vs {peaks[50]:.1f} s")
claim("an atomic checkpoint applies nothing twice and keeps the totals right",
      runs[1].summary["double_applied"] == 0 and runs[1].summary["totals_correct"], "0 applied twice")
claim("a checkpoint every 50 events re-applies events and corrupts the totals",
      runs[50].summary["double_applied"] > 0 and not runs[50].summary["totals_correct"],
      f"{runs[50].summary['double_applied']} events applied twice")


# %% [markdown]
# The lag spike is the same: nothing is projected while the worker is down. The difference is correctness: with a
# lagging checkpoint some events were applied twice. The order summaries do not care (applying "paid" twice leaves
# "paid") but the customer totals count a payment twice — the fix is an atomic checkpoint or an idempotent
# projection (track the last version applied per stream).

# %% [markdown]
# ## Exercise: freshness from lag
#
# Write `fresh_probability(lags, t)`: given the measured lags (seconds) of many events, the probability that a
# read made *t* seconds after a write sees that write.

# %%
def fresh_probability(lags, t):
    # Your code here.
    return None


print(check_fresh_probability(fresh_probability))


# %% jupyter={"source_hidden": true}
def solution(lags, t):
    return sum(lag <= t for lag in lags) / len(lags)


print(check_fresh_probability(solution))

# %% [markdown]
# ## Try it: sliders
#
# Change the load and the projection's speed; watch the lag through the bursts.

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import interact

from labsim.params import slider


def show_lag(rate=RATE, processing_ms=PROCESSING_MS):
    run = cqrs.run(seed=SEED, rate=rate, burst_factor=BURST_FACTOR, processing_ms=processing_ms)
    lag = run.frames["projected"].query("projection == 'order_summaries'")
    _, ax = plt.subplots(figsize=(7, 3))
    ax.plot(lag["appended_at"], lag["lag"], lw=0.8)
    ax.set(title=f"rate {rate:g}/s, {processing_ms:g} ms per event: p99 lag {run.summary['lag_p99_s']:.2f} s",
           xlabel="appended at [s]", ylabel="lag [s]")
    plt.show()


_ = interact(show_lag, rate=slider(cqrs.CQRSParams, "rate", value=RATE),
             processing_ms=slider(cqrs.CQRSParams, "processing_ms", value=PROCESSING_MS))


# %% [markdown]
# ## Exercise 2: events in flight
#
# Events are appended at `event_rate` per second and each becomes visible after `mean_lag` seconds on average.
# Write `in_flight(event_rate, mean_lag)`: how many events are appended but not yet visible, on average?

# %%
def in_flight(event_rate, mean_lag):
    # Your code here.
    return None


print(check_pending_events(in_flight))


# %% jupyter={"source_hidden": true}
def solution_in_flight(event_rate, mean_lag):
    return event_rate * mean_lag  # Little's law


print(check_pending_events(solution_in_flight))

# %% [markdown]
# ## What you saw
#
# - The lag is small when the projector keeps up and climbs through every burst, peaking at its end.
# - The freshness curve says how long to wait before a read is likely to see a write.
# - Lag grows with the projector's utilisation; the own-write read is stale without a strategy, and each
#   strategy moves the cost somewhere (the write, the read, or the client).
# - A checkpoint committed apart from the read model re-applies events after a crash and corrupts the totals.
#
# | question | answer |
# |---|---|
# | how stale is the read side? | measure lag per event; read its distribution, not its mean |
# | when is it worst? | during bursts, when the projector's utilisation passes 1 |
# | how do I read my own write? | sync projection, wait for the version, or show it optimistically |
# | how does a projection survive a crash? | commit the checkpoint with the read model |

# %% [markdown]
# ## Next
#
# `09_sagas.ipynb` — a business transaction across services, without a distributed transaction.

# %% [markdown]
# **Build it yourself.** The challenge `projection-checkpoint` gives you the component of this lesson to write;
# labsim grades it under seeded chaos and shrinks any failure to its smallest fault plan (see `14_challenges.ipynb`):
#
#     labsim challenge starter projection-checkpoint > my_projection_checkpoint.py
#     labsim challenge check projection-checkpoint my_projection_checkpoint.py
