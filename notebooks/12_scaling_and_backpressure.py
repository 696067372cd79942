# %% [markdown]
# # 12 · Scaling, backpressure and queueing theory
#
# **The question:** how many consumers does a queue need, and what should happen when even they are not
# enough?
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

check_parameters("12_scaling_and_backpressure", globals())

# %%
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from labsim import ConfigWarning, plots
from labsim.claims import claim
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
       ylabel="mean wait before processing [s]")
ax.legend()
plt.show()
print(points.round(3).to_string(index=False))

# %%
gap = (points["simulated_wait_s"] - points["erlang_c_wait_s"]).abs()
tolerance = np.maximum(0.05, 0.2 * points["erlang_c_wait_s"])
worst = gap.idxmax()
claim("every simulated mean wait agrees with Erlang C within max(0.05 s, 20 %)", (gap <= tolerance).all(),
      f"largest gap {gap[worst]:.2f} s at ρ = {points['rho'][worst]:.2f}")
theory = {rho: erlang_c_wait(rho * POOL * SERVICE_RATE, SERVICE_RATE, POOL) for rho in (0.7, 0.87, 0.97)}
claim("in theory, ρ from 0.87 to 0.97 adds more wait than ρ from 0 to 0.7",
      theory[0.97] - theory[0.87] > theory[0.7],
      f"+{theory[0.97] - theory[0.87]:.2f} s vs {theory[0.7]:.2f} s")

# %% [markdown]
# The points follow the curve — the lab's queue behaves like the theory says (within the noise of a finite
# run). The curve is nearly flat up to ρ ≈ 0.7, then bends up sharply: the last 10 % of utilisation costs more
# waiting than the first 70 %.
#
# **Little's law** links three figures of any stable queue: average number waiting L = arrival rate λ × average
# wait W. The lab measures L by sampling the queue length, independently of the per-message waits:

# %%
run = mmc(3.0, SERVICE_RATE, POOL, messages=MESSAGES, seed=SEED)
law = little_law(run.frames["queue.processed"], run.frames["queue.length"])
print(f"L (sampled queue length) = {law['L']:.3f}")
print(f"λ × W                     = {law['lambda']:.3f} × {law['W']:.3f} = {law['lambda_W']:.3f}")
print(f"relative difference       = {law['relative_error']:.2%}")
claim("Little's law holds: L and λ × W agree within 5 %", law["relative_error"] < 0.05,
      f"L = {law['L']:.2f}, λ × W = {law['lambda_W']:.2f}")

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
growth = overloaded_longer.wait_mean / overloaded.wait_mean
claim(f"at ρ = {overloaded.utilisation:.2f} twice the messages give at least 1.5 × the mean wait", growth >= 1.5,
      f"{growth:.1f} ×")

# %% [markdown]
# Twice the messages, about twice the wait: the wait grows without bound.

# %% [markdown]
# ## 3. Lag versus partitions × consumers
#
# A keyed topic takes 300 records/s; each record needs 8 ms, so one consumer handles 125/s and at least three
# must work in parallel. **Predict:** with 6 consumers and 2 partitions, is the lag low?

# %%
grid = scaling.lag_grid(GRID, GRID, seeds=[SEED])
heat = grid.pivot(index="partitions", columns="consumers", values="max_lag")
fig, ax = plt.subplots(figsize=(5.4, 4.2))
image = ax.imshow(heat.to_numpy(), cmap="viridis_r", origin="lower")
ax.set_xticks(range(len(heat.columns)), labels=heat.columns)
ax.set_yticks(range(len(heat.index)), labels=heat.index)
for i in range(len(heat.index)):
    for j in range(len(heat.columns)):
        red, green, blue, _ = image.cmap(image.norm(heat.iloc[i, j]))
        bright = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5  # text dark on light cells
        ax.text(j, i, int(heat.iloc[i, j]), ha="center", va="center", color="black" if bright else "white",
                fontsize=9)
ax.set(title="Maximum lag [records] over a 5 s burst (dark = high)", xlabel="consumers", ylabel="partitions")
ax.grid(False)  # grid lines would cut through the cells; each cell prints its value, so no colour bar
plt.show()
print(heat.to_string())

# %%
needed = math.ceil(300 * 0.008)  # 300 records/s x 8 ms each: consumers busy at once
parallel = grid["partitions"].clip(upper=grid["consumers"])  # min(partitions, consumers)
enough, short = grid[parallel >= needed]["max_lag"], grid[parallel < needed]["max_lag"]
claim(f"every cell with min(partitions, consumers) ≥ {needed} has a lower lag than every other cell",
      len(enough) > 0 and len(short) > 0 and enough.max() < short.min(),
      f"at most {enough.max():.0f} vs at least {short.min():.0f} records")

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
styles = {"unbounded": "-", "block": "-", "drop": "--"}  # drop dashed: it overlaps unbounded at 0 behind
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for policy, result in runs.items():
    length, processed = result.frames["queue.length"], result.frames["queue.processed"]
    arrivals = result.frames["arrivals"]
    axes[0].plot(length["time"], length["waiting"], styles[policy], label=policy)
    wait = np.sort((processed["started"] - processed["published"]).to_numpy())
    axes[1].step(wait, np.arange(1, wait.size + 1) / wait.size, styles[policy], where="post", label=policy)
    axes[2].plot(arrivals["time"], arrivals["behind"], styles[policy], label=policy)
axes[0].set(title="Messages waiting in the queue", xlabel="time [s]", ylabel="messages waiting")
axes[1].set(title="Wait in the queue (CDF)", xlabel="queue wait [s]", ylabel="fraction of messages ≤ x",
            ylim=(0, 1.02))
axes[2].set(title="How far the producer is behind its demand", xlabel="time [s]",
            ylabel="producer behind [s]")
for ax in axes:
    ax.legend()
plt.show()
summary = pd.DataFrame([r.summary for r in runs.values()], index=pd.Index(list(runs), name="policy"))
print(summary.round(2).to_string())

# %%
s = summary
claim("the consumers are the bottleneck: all three policies process within 5 % of the same throughput",
      s["throughput"].max() <= 1.05 * s["throughput"].min(),
      f"{s['throughput'].min():.2f} to {s['throughput'].max():.2f} messages/s")
claim("unbounded: the queue wait is tens of seconds, over 10 × that of block and drop",
      s.loc["unbounded", "wait_p99_s"] > 10 * s.loc[["block", "drop"], "wait_p99_s"].max(),
      f"p99 {s.loc['unbounded', 'wait_p99_s']:.0f} s vs at most {s.loc[['block', 'drop'], 'wait_p99_s'].max():.0f} s")
claim("block looks as good as drop in the queue, but its producer falls behind by tens of seconds",
      s.loc["block", "producer_behind_max_s"] >= 10 and s.loc["drop", "producer_behind_max_s"] == 0,
      f"{s.loc['block', 'producer_behind_max_s']:.0f} s behind vs "
      f"{s.loc['drop', 'producer_behind_max_s']:.0f} s for drop")
claim("drop keeps the producer on time by refusing messages; the others refuse none",
      s.loc["drop", "refused"] > 0 and s.loc[["unbounded", "block"], "refused"].sum() == 0,
      f"{s.loc['drop', 'refused']} refused")


# %% [markdown]
# All three process the same number of messages per second — the consumers are the bottleneck either way. What
# differs is **where the excess goes**: into an ever-longer queue (unbounded: waits of tens of seconds), back to
# the producer (block: the queue wait stays as small as with drop — the middle panel alone would call it a
# free lunch — but the right panel shows the source falling further and further behind its demand), or onto
# the floor (drop: `refused` messages). Backpressure does not remove overload; it moves it to where it can be
# seen and handled.

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
# ## What you saw
#
# | idea | rule of thumb |
# |---|---|
# | utilisation | ρ = λ / (c μ); keep it well below 1 |
# | Erlang C | waits grow slowly, then explode as ρ → 1; the simulation agrees with the formula |
# | Little's law | L = λ W — measure two, get the third |
# | ρ ≥ 1 | no steady state: the wait grows with the length of the run |
# | partitions × consumers | parallelism = min of the two |
# | overload | unbounded queues hide it in the wait; backpressure moves it to the producer; shedding refuses it |
#
# ## Next
#
# [13 · Observability](13_observability.ipynb): the lag, utilisation and waiting you sized here, read as an operator
# reads them — on a dashboard, with alerts, during an incident. Then plug your own component into the lab in
# [14 · Challenges](14_challenges.ipynb), and design a whole pipeline within a budget in
# [15 · Capstone](15_capstone.ipynb).
