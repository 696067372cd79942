# %% [markdown]
# # 10 · Scaling, backpressure and queueing theory
#
# **Learning objectives.** After this notebook you can:
#
# 1. compute **utilisation** ρ = λ / (c μ) and read the **Erlang C** curve: waiting explodes as ρ → 1;
# 2. check a simulation against theory (Erlang C, **Little's law**) — and trust it more because it agrees;
# 3. explain why lag depends on **min(partitions, consumers)**, not on consumers alone;
# 4. compare an **unbounded** queue with **backpressure** and **load shedding** under overload.

# %% tags=["parameters"]
SEED = 11  # seed of every run
SERVICE_RATE = 1.0  # μ: messages per second one consumer handles
POOL = 4  # c: consumers sharing one work queue
ARRIVAL_RATES = [1.0, 2.0, 3.0, 3.4, 3.7]  # λ values for the Erlang C comparison
MESSAGES = 8000  # messages per simulated point
GRID = [1, 2, 3, 6]  # partitions and consumers for the lag heatmap
OVERLOAD = 12.0  # arrival rate in the backpressure experiment (10 consumers at μ = 1)
CAPACITY = 20  # queue bound for backpressure and load shedding

# %%
from labsim.lessons import check_parameters

check_parameters("10_scaling_and_backpressure", globals())

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from labsim import ConfigWarning, plots
from labsim.exercises import check_consumers_needed, check_utilisation
from labsim.scenarios import scaling
from labsim.scenarios.queueing import erlang_c_wait, little_law, mmc

plots.use_style()

# %% [markdown]
# ## 1. Simulation points on the Erlang C curve
#
# `POOL` competing consumers share one queue; messages arrive as a Poisson stream at rate λ and take an
# exponential time with rate μ. This is the M/M/c queue, whose mean wait has a closed form (Erlang C).
# **Predict:** at ρ = 0.5 and ρ = 0.925, how much longer is the wait?

# %%
rows = []
for lam in ARRIVAL_RATES:
    result = mmc(lam, SERVICE_RATE, POOL, messages=MESSAGES, seed=SEED)
    rows.append({"lambda": lam, "rho": result.utilisation, "simulated_wait_s": result.wait_mean,
                 "erlang_c_wait_s": result.erlang_c_wait})
points = pd.DataFrame(rows)
curve_lam = np.linspace(0.05, POOL * SERVICE_RATE * 0.97, 200)
fig, ax = plt.subplots()
ax.plot(curve_lam / (POOL * SERVICE_RATE), [erlang_c_wait(x, SERVICE_RATE, POOL) for x in curve_lam],
        label="Erlang C (theory)")
ax.plot(points["rho"], points["simulated_wait_s"], "o", label=f"labsim ({MESSAGES} messages each)")
ax.set(title=f"Mean wait in an M/M/{POOL} queue", xlabel="utilisation ρ = λ / (c μ)",
       ylabel="mean wait before processing (s)")
ax.legend()
plt.show()
print(points.round(3).to_string(index=False))

# %% [markdown]
# The points follow the curve — the lab's queue behaves like the theory says. The curve is nearly flat up to
# ρ ≈ 0.7, then bends up sharply: the last 10 % of utilisation costs more waiting than the first 70 %.
#
# **Little's law** links three figures of any stable queue: average number waiting L = arrival rate λ × average
# wait W. The lab measures L by sampling the queue length, independently of the per-message waits:

# %%
run = mmc(3.0, SERVICE_RATE, POOL, messages=MESSAGES, seed=SEED)
law = little_law(run.frames["queue.processed"], run.frames["queue.length"])
print(f"L (sampled queue length) = {law['L']:.3f}")
print(f"λ × W                     = {law['lambda']:.3f} × {law['W']:.3f} = {law['lambda_W']:.3f}")
print(f"relative difference       = {law['relative_error']:.2%}")

# %% [markdown]
# ## 2. Utilisation at or above 1
#
# If λ ≥ c μ, no steady state exists: the queue grows for as long as arrivals continue, so the "mean wait" only
# tells you how long you ran. labsim warns instead of pretending:

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    overloaded = mmc(4.4, SERVICE_RATE, POOL, messages=2000, seed=SEED)
    overloaded_longer = mmc(4.4, SERVICE_RATE, POOL, messages=4000, seed=SEED)
for w in caught:
    if issubclass(w.category, ConfigWarning):
        print("ConfigWarning:", w.message)
        break
print(f"mean wait with 2000 messages: {overloaded.wait_mean:.1f} s; "
      f"with 4000: {overloaded_longer.wait_mean:.1f} s")

# %% [markdown]
# Twice the messages, about twice the wait: the lag grows without bound.

# %% [markdown]
# ## 3. Lag versus partitions × consumers
#
# A keyed topic takes 300 records/s; each record needs 8 ms, so one consumer handles 125/s and at least three
# must work in parallel. **Predict:** with 6 consumers and 2 partitions, is the lag low?

# %%
grid = scaling.lag_grid(GRID, GRID, seeds=[SEED])
heat = grid.pivot(index="partitions", columns="consumers", values="max_lag")
fig, ax = plt.subplots(figsize=(6, 4.2))
image = ax.imshow(heat.to_numpy(), cmap="viridis_r", origin="lower")
ax.set_xticks(range(len(heat.columns)), labels=heat.columns)
ax.set_yticks(range(len(heat.index)), labels=heat.index)
for i in range(len(heat.index)):
    for j in range(len(heat.columns)):
        ax.text(j, i, int(heat.iloc[i, j]), ha="center", va="center", color="white", fontsize=9)
ax.set(title="Maximum lag (records) over a 5 s burst", xlabel="consumers", ylabel="partitions")
fig.colorbar(image, ax=ax, label="max lag (records)")
plt.show()
print(heat.to_string())

# %% [markdown]
# Only the cells where **both** partitions and consumers are ≥ 3 stay low. Extra consumers beyond the
# partition count sit idle (lesson 02); extra partitions without consumers to read them do nothing either.
# Parallelism is min(partitions, consumers).

# %% [markdown]
# ## 4. Bounded buffers and backpressure
#
# Ten consumers (μ = 1) receive `OVERLOAD` messages/s — ρ = 1.2 for 300 s. Three designs:
#
# * **unbounded** queue: accepts everything; the backlog and the wait grow all the time;
# * **backpressure** (`block`): a queue of `CAPACITY`; a full queue makes the producer wait, pushing the delay
#   back to the source;
# * **load shedding** (`drop`): a queue of `CAPACITY`; a full queue refuses the message.

# %%
runs = {policy: scaling.backpressure(policy, arrival_rate=OVERLOAD, capacity=CAPACITY, seed=SEED)
        for policy in scaling.BACKPRESSURE_POLICIES}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for policy, result in runs.items():
    length, processed = result.frames["queue.length"], result.frames["queue.processed"]
    axes[0].plot(length["time"], length["waiting"], label=policy)
    wait = processed["started"] - processed["published"]
    plots.latency_cdf(wait, axes[1], unit="s", label=policy, title="Wait in the queue (CDF)")
axes[0].set(title="Messages waiting in the queue", xlabel="time (s)", ylabel="messages")
axes[0].legend()
plt.show()
summary = pd.DataFrame([r.summary for r in runs.values()], index=pd.Index(list(runs), name="policy"))
print(summary.round(2).to_string())


# %% [markdown]
# All three process the same number of messages per second — the consumers are the bottleneck either way. What
# differs is **where the excess goes**: into an ever-longer queue (unbounded: waits of tens of seconds), back to
# the producer (block: the queue wait stays small, but `producer_behind_max_s` shows how far the source fell
# behind its demand), or onto the floor (drop: `refused` messages). Backpressure does not remove overload; it
# makes it visible where it can be handled.

# %% [markdown]
# ## Exercise: size a consumer pool
#
# Write `consumers_needed(arrival_rate, service_rate, max_utilisation)` returning the smallest number of
# consumers that keeps ρ at or below `max_utilisation`.

# %%
def consumers_needed(arrival_rate, service_rate, max_utilisation):
    # Your code here.
    return None


print(check_consumers_needed(consumers_needed))

# %% jupyter={"source_hidden": true}
import math


def solution(arrival_rate, service_rate, max_utilisation):
    return math.ceil(arrival_rate / (max_utilisation * service_rate))


print(check_consumers_needed(solution))

# %% [markdown]
# ## Try it: a slider
#
# Move the arrival rate and compare the simulated wait with Erlang C. The slider stops just below
# `POOL` × `SERVICE_RATE`, where the queue would grow without bound.

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import FloatSlider, interact


def show_point(arrival_rate=3.0):
    r = mmc(arrival_rate, SERVICE_RATE, POOL, messages=4000, seed=SEED)
    print(f"ρ = {r.utilisation:.2f}: simulated wait {r.wait_mean:.3f} s, Erlang C {r.erlang_c_wait:.3f} s")


stable = POOL * SERVICE_RATE  # λ at which ρ = 1
_ = interact(show_point, arrival_rate=FloatSlider(value=min(3.0, 0.75 * stable), min=stable / 20,
                                                  max=0.975 * stable, step=stable / 40))


# %% [markdown]
# ## Exercise 2: utilisation
#
# Write `utilisation(arrival_rate, service_rate, consumers)`.

# %%
def utilisation(arrival_rate, service_rate, consumers):
    # Your code here.
    return None


print(check_utilisation(utilisation))


# %% jupyter={"source_hidden": true}
def solution_utilisation(arrival_rate, service_rate, consumers):
    return arrival_rate / (consumers * service_rate)


print(check_utilisation(solution_utilisation))

# %% [markdown]
# ## Summary
#
# | idea | rule of thumb |
# |---|---|
# | utilisation | ρ = λ / (c μ); keep it well below 1 |
# | Erlang C | waits grow slowly, then explode as ρ → 1 |
# | Little's law | L = λ W — measure two, get the third |
# | partitions × consumers | parallelism = min of the two |
# | overload | unbounded queues hide it; backpressure and shedding make it explicit |
