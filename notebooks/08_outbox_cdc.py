# %% [markdown]
# # 08 · The transactional outbox and change data capture
#
# **Learning objectives.** After this notebook you can:
#
# 1. explain why writing to a database *and* publishing to a broker ("dual write") produces **zombies**
#    (committed, never published) and **ghosts** (published, never committed);
# 2. show that a **transactional outbox** or **CDC** produces neither, at the cost of relay lag and duplicates
#    that consumers must dedupe;
# 3. argue why **retries cannot fix** dual writes.

# %% tags=["parameters"]
SEED = 4  # seed of every run (the crash schedule is the same for every design)
ORDERS = 300  # orders placed per run
CRASH_RATE = 0.05  # probability the order service crashes at each step boundary
LOSS = 0.1  # loss on the service–broker link during the fault phase

# %%
from labsim.lessons import check_parameters

check_parameters("08_outbox_cdc", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt
import pandas as pd

from labsim import plots
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
ax = table[["zombie", "ghost"]].plot.bar(rot=0, figsize=(7, 3.4), color=["tab:purple", "tab:gray"])
ax.set(title="Zombies and ghosts after the faults heal", xlabel="", ylabel="orders")
plt.show()
print(table.to_string())

# %% [markdown]
# * **dual write**: a crash right after the commit leaves a **zombie**; a publish whose confirmation was lost
#   looks failed, so the service undoes the order — yet the event arrived: a **ghost**.
# * **outbox** and **CDC**: the event is part of the same local transaction as the order (an outbox row, or the
#   commit log itself), so a relay can always publish it later, and never publishes what was not committed.
#   The price: at-least-once publishing — the `duplicates` column — so consumers dedupe by event id.

# %% [markdown]
# ## 2. Relay lag
#
# The outbox and CDC publish *after* the commit. How long after?

# %%
fig, ax = plt.subplots()
for design in ("outbox", "cdc"):
    relay = runs[design].frames["relay"]
    plots.latency_cdf(relay["published_at"] - relay["committed_at"], ax, unit="s", label=design,
                      title="Commit → published (relay lag)")
relay = runs["dual-write"].frames["relay"]
plots.latency_cdf(relay["published_at"] - relay["committed_at"], ax, unit="s", label="dual-write")
ax.set_xscale("log")
plt.show()
for design, run in runs.items():
    print(f"{design:10} relay lag p50 {run.summary['relay_lag_p50_s']:.3f} s, "
          f"p99 {run.summary['relay_lag_p99_s']:.3f} s")

# %% [markdown]
# Dual write publishes fastest — when it publishes at all. The relays add a poll interval in calm times and
# seconds during faults (they retry until the broker confirms). Here outbox and CDC behave alike: both follow
# the committed changes in order; CDC just reads them from the database's log instead of a table.

# %%
sweep_rows = []
for interval in (0.01, 0.05, 0.2, 0.5):
    s = outbox.run("outbox", SEED, ORDERS, crash_rate=0.0, loss=0.0, relay_interval=interval).summary
    sweep_rows.append({"relay interval (s)": interval, "lag p50 (s)": round(s["relay_lag_p50_s"], 3),
                       "lag p99 (s)": round(s["relay_lag_p99_s"], 3)})
print("without faults:")
print(pd.DataFrame(sweep_rows).to_string(index=False))

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
print(pd.DataFrame(rows).to_string(index=False))


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
           color=["tab:purple", "tab:gray", "tab:orange"])
    ax.set(title=f"{design}, crash rate {crash_rate:.2f}", ylabel="orders")
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
