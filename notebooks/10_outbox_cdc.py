# %% [markdown]
# # 10 · The transactional outbox and change data capture
#
# **The question:** how does a service change its database *and* tell the rest of the system, so that neither
# happens without the other — even when it crashes?
#
# **Learning objectives.** After this notebook you can:
#
# 1. explain why writing to a database *and* publishing to a broker ("dual write") produces **zombies**
#    (committed, never published) and **ghosts** (published, never committed);
# 2. show that a **transactional outbox** or **CDC** produces neither, at the cost of relay lag and duplicates
#    that consumers must dedupe;
# 3. argue why **retries cannot fix** dual writes.

# %% tags=["parameters"]
SEED = 4  # seed of every run (the same seed for every design; crashes strike at random step boundaries)
ORDERS = 300  # orders placed per run
CRASH_RATE = 0.05  # probability the order service crashes at each step boundary
LOSS = 0.1  # loss on the service–broker link during the fault phase

# %%
from labsim.lessons import check_parameters

check_parameters("10_outbox_cdc", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from labsim import plots
from labsim.claims import claim
from labsim.exercises import check_quiz, check_zombies_and_ghosts
from labsim.outbox import DESIGNS
from labsim.scenarios import outbox

plots.use_style()

# %% [markdown]
# ## 1. Three designs, one crash schedule
#
# **Predict, then run:** which design leaves orders that the rest of the system never hears about? Which lets
# the rest of the system hear about orders that do not exist?

# %%
runs = {d: outbox.run(d, SEED, ORDERS, crash_rate=CRASH_RATE, loss=LOSS) for d in DESIGNS}
table = pd.DataFrame({d: r.summary for d, r in runs.items()}).T[
    ["committed", "published", "zombie", "ghost", "duplicates"]].astype(int)
ax = table[["zombie", "ghost"]].plot.bar(rot=0, figsize=(7, 3.4), color=[plots.COLORS["faulty"], plots.COLORS["other"]])
ax.set(title="Zombies and ghosts after the faults heal", xlabel="design", ylabel="orders [count]")
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
plots.label_bars(ax)
plt.show()
print(table.to_string())

# %%
claim("dual write leaves both zombies and ghosts",
      table.loc["dual-write", "zombie"] > 0 and table.loc["dual-write", "ghost"] > 0,
      f"{table.loc['dual-write', 'zombie']} zombies, {table.loc['dual-write', 'ghost']} ghosts")
claim("outbox and CDC leave neither, but publish duplicates",
      (table.loc[["outbox", "cdc"], ["zombie", "ghost"]] == 0).all().all()
      and (table.loc[["outbox", "cdc"], "duplicates"] > 0).all(),
      f"duplicates: outbox {table.loc['outbox', 'duplicates']}, CDC {table.loc['cdc', 'duplicates']}")

# %% [markdown]
# * **dual write**: a crash right after the commit leaves a **zombie**; a publish whose confirmation was lost
#   looks failed, so the service undoes the order — yet the event arrived: a **ghost**.
# * **outbox** and **CDC**: the event is part of the same local transaction as the order (an outbox row, or the
#   commit log itself), so a relay can always publish it later, and never publishes what was not committed.
#   The price: at-least-once publishing — the `duplicates` column — so consumers dedupe by event id.

# %% [markdown]
# ## 2. Relay lag
#
# The outbox and CDC publish *after* the commit. How long after? They differ where their mechanism differs: the
# outbox relay **polls** its outbox table every `relay_interval` (50 ms), so a commit waits for the next poll;
# CDC **tails the commit log** — there is no outbox table and nothing to poll, the log reader sees each commit a
# moment after it is written and publishes in commit order. Both retry until the broker confirms.
# **Predict:** which curve is further left?

# %%
fig, ax = plt.subplots()
for design in ("dual-write", "outbox", "cdc"):
    relay = runs[design].frames["relay"]
    plots.latency_cdf(relay["published_at"] - relay["committed_at"], ax, unit="s", label=design,
                      title="Commit → published (relay lag)", quantity="relay lag: commit → published",
                      counted="published orders")
ax.set_xscale("log")
ax.set_xlabel("relay lag: commit → published [s]")
plt.show()
for design, run in runs.items():
    print(f"{design:10} relay lag p50 {run.summary['relay_lag_p50_s']:.3f} s, "
          f"p99 {run.summary['relay_lag_p99_s']:.3f} s")

# %%
p50 = {d: r.summary["relay_lag_p50_s"] for d, r in runs.items()}
claim("dual write publishes fastest — when it publishes at all",
      p50["dual-write"] < p50["cdc"] and p50["dual-write"] < p50["outbox"],
      f"p50 {p50['dual-write'] * 1000:.0f} ms")
claim("CDC publishes sooner than the polling outbox",
      p50["cdc"] < p50["outbox"],
      f"p50 {p50['cdc'] * 1000:.0f} ms vs {p50['outbox'] * 1000:.0f} ms")

# %% [markdown]
# Dual write publishes fastest — when it publishes at all. The outbox relay adds its poll interval, and during
# faults both relays add seconds (they retry until the broker confirms, in order, so one unconfirmed event holds
# up those behind it). Without faults the difference is just the poll:

# %%
sweep_rows = []
for interval in (0.01, 0.05, 0.2, 0.5):
    s = outbox.run("outbox", SEED, ORDERS, crash_rate=0.0, loss=0.0, relay_interval=interval).summary
    sweep_rows.append({"outbox poll interval (s)": interval, "outbox lag p50 (s)": round(s["relay_lag_p50_s"], 3),
                       "outbox lag p99 (s)": round(s["relay_lag_p99_s"], 3)})
calm_cdc = outbox.run("cdc", SEED, ORDERS, crash_rate=0.0, loss=0.0).summary
calm_sweep = pd.DataFrame(sweep_rows)
print("without faults:")
print(calm_sweep.to_string(index=False))
print(f"CDC (no poll): lag p50 {calm_cdc['relay_lag_p50_s']:.3f} s, p99 {calm_cdc['relay_lag_p99_s']:.3f} s")

# %%
claim("without faults the outbox lag grows with its poll interval",
      calm_sweep["outbox lag p50 (s)"].is_monotonic_increasing
      and calm_sweep["outbox lag p50 (s)"].iloc[-1] > calm_sweep["outbox lag p50 (s)"].iloc[0],
      f"p50 {calm_sweep['outbox lag p50 (s)'].iloc[0]} s at 0.01 s, {calm_sweep['outbox lag p50 (s)'].iloc[-1]} s "
      "at 0.5 s")
claim("CDC's calm lag is below even the fastest-polling outbox",
      calm_cdc["relay_lag_p50_s"] < calm_sweep["outbox lag p50 (s)"].min(),
      f"{calm_cdc['relay_lag_p50_s']:.3f} s vs {calm_sweep['outbox lag p50 (s)'].min()} s")

# %% [markdown]
# ## 3. Why retries cannot fix dual writes
#
# Give the dual-write service retries for the publish. **Predict:** which anomaly goes away, which stays?

# %%
rows = []
for retries in (0, 1, 3, 10):
    s = outbox.run("dual-write", SEED, ORDERS, crash_rate=CRASH_RATE, loss=LOSS,
                   publish_retries=retries).summary
    rows.append({"publish retries": retries, "zombie": s["zombie"], "ghost": s["ghost"],
                 "duplicates": s["duplicates"]})
retry_table = pd.DataFrame(rows)
print(retry_table.to_string(index=False))

# %%
no_retry, most = retry_table.iloc[0], retry_table.iloc[-1]
claim("the zombies stay, whatever the retries", (retry_table["zombie"] > 0).all(),
      ", ".join(f"{r}: {z}" for r, z in zip(retry_table["publish retries"], retry_table["zombie"], strict=True)))
claim("retries shrink the ghosts and create duplicates",
      most["ghost"] <= no_retry["ghost"] and most["duplicates"] > no_retry["duplicates"],
      f"ghosts {no_retry['ghost']} → {most['ghost']}, duplicates {no_retry['duplicates']} → {most['duplicates']}")


# %% [markdown]
# Retries shrink the ghosts (fewer publishes are given up on) but create duplicates, and the **zombies stay**:
# a crash between the commit and the publish erases the only record that a publish was owed. Only making the
# "to publish" fact part of the same transaction — an outbox row or the commit log — survives the crash.

# %% [markdown]
# ## Exercise: zombies and ghosts
#
# Write `classify(committed, published)` returning `(zombies, ghosts)` as sets of order ids.

# %%
def classify(committed, published):
    # Your code here.
    return None


print(check_zombies_and_ghosts(classify))


# %% jupyter={"source_hidden": true}
def solution(committed, published):
    return committed - published, published - committed


print(check_zombies_and_ghosts(solution))

# %% [markdown]
# ## Try it: sliders
#
# Pick a design and a crash rate.

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import interact

from labsim.params import slider


def show_design(design="dual-write", crash_rate=CRASH_RATE):
    s = outbox.run(design, SEED, ORDERS, crash_rate=crash_rate, loss=LOSS).summary
    _, ax = plt.subplots(figsize=(5, 3))
    ax.bar(["zombie", "ghost", "duplicates"], [s["zombie"], s["ghost"], s["duplicates"]],
           color=[plots.COLORS["faulty"], plots.COLORS["other"], plots.COLORS["warning"]])
    ax.set(title=f"{design}, crash rate {crash_rate:.2f}", xlabel="anomaly", ylabel="orders [count]")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    plt.show()


# The sliders' ranges are the outbox scenario's declared ranges.
_ = interact(show_design, design=slider(outbox.OutboxParams, "design", value="dual-write"),
             crash_rate=slider(outbox.OutboxParams, "crash_rate", value=CRASH_RATE))

# %% [markdown]
# ## Exercise 2: name the anomaly
#
# For each story, answer `"zombie"`, `"ghost"` or `"duplicate"`.

# %%
answers = {
    "crash after commit, before publish": "",
    "publish arrives, the service thinks it failed and undoes the order": "",
    "outbox relay crashes after publishing, before marking sent": "",
}
print(check_quiz("publishing", answers))

# %% jupyter={"source_hidden": true}
print(check_quiz("publishing", {
    "crash after commit, before publish": "zombie",
    "publish arrives, the service thinks it failed and undoes the order": "ghost",
    "outbox relay crashes after publishing, before marking sent": "duplicate",
}))

# %% [markdown]
# ## What you saw
#
# - Dual write left zombies and ghosts under the same faults where the outbox and CDC left neither — at the price
#   of duplicates that consumers dedupe by event id.
# - The outbox relay's lag is its poll interval in calm times; CDC tails the commit log and publishes sooner.
# - Retries made dual write's ghosts fewer and its duplicates more; its zombies stayed.
#
# ## Next
#
# `11_conflict_resolution.ipynb` — when two replicas accept writes to the same data, whose write wins?

# %% [markdown]
# **Build it yourself.** The challenge `outbox-relay` gives you the component of this lesson to write;
# labsim grades it under seeded chaos and shrinks any failure to its smallest fault plan (see `14_challenges.ipynb`):
#
#     labsim challenge starter outbox-relay > my_outbox_relay.py
#     labsim challenge check outbox-relay my_outbox_relay.py
