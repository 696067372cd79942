# %% [markdown]
# # 02 · Consumer groups and rebalances
#
# **The question:** when a member of a consumer group joins, leaves or crashes, which partitions move, who stops
# reading, and what is processed twice or never?
#
# **Learning objectives.** After this notebook you can:
#
# 1. read the assignment each **assignor** (`range`, `roundrobin`, `sticky`, `cooperative-sticky`) produces, and
#    say how many partitions move when a member leaves;
# 2. explain a **rebalance**: why a crashed member is noticed only after the *session timeout*, and why an
#    **eager** rebalance stops every member while a **cooperative** one stops only the partitions that move;
# 3. predict how many members sit **idle** when consumers outnumber partitions;
# 4. choose a **commit policy** knowing what it costs after a crash: duplicates or losses.

# %% tags=["parameters"]
SEED = 3  # seed of every run
PARTITIONS = 6  # partitions of the topic
CONSUMERS = 3  # members of the group
CRASH_AT = 8.0  # when member c1 crashes (seconds)
SESSION_TIMEOUT = 3.0  # silence after which the coordinator drops a member (seconds)
COMMIT_SEEDS = 4  # seeds per commit policy in the comparison table

# %%
from labsim.lessons import check_parameters

check_parameters("02_consumer_groups", globals())

# %%
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from labsim import plots
from labsim.claims import claim
from labsim.exercises import check_idle_consumers, check_moved_partitions
from labsim.kafka import ASSIGNORS, assign
from labsim.scenarios import groups

plots.use_style()

# %% [markdown]
# ## 1. Four assignors, one group
#
# Three members subscribe to two topics of four partitions each. `range` works topic by topic, so the first
# member gets the extra partition of *every* topic; `roundrobin` deals all eight partitions out in turn; the
# sticky kinds balance like round-robin but also remember the previous assignment.

# %%
subscriptions = {m: ["payments", "shipments"] for m in ("c1", "c2", "c3")}
partitions = {"payments": 4, "shipments": 4}
rows = []
for strategy in ASSIGNORS:
    for member, tps in assign(strategy, subscriptions, partitions).items():
        rows.append({"strategy": strategy, "member": member,
                     "partitions": ", ".join(f"{t[:4]}-{p}" for t, p in tps)})
table = pd.DataFrame(rows).pivot(index="member", columns="strategy", values="partitions")
print(table.to_string())
print("partitions per member:", {s: [len(v.split(", ")) for v in table[s]] for s in ASSIGNORS})

# %% [markdown]
# **Predict, then run:** member `c3` leaves a group of four on a 12-partition topic. How many partitions change
# owner under each strategy? Only the three of `c3` *must* move.

# %%
four = {m: ["orders"] for m in ("c1", "c2", "c3", "c4")}
three = {m: ["orders"] for m in ("c1", "c2", "c4")}
moves = {}
for strategy in ASSIGNORS:
    before = assign(strategy, four, {"orders": 12})
    after = assign(strategy, three, {"orders": 12}, previous=before)
    owner_before = {tp: m for m, tps in before.items() for tp in tps}
    moves[strategy] = sum(owner_before[tp] != m for m, tps in after.items() for tp in tps)
fig, ax = plt.subplots(figsize=(7, 3))
bars = ax.bar(list(moves), list(moves.values()), color=plots.COLORS["ok"])
ax.bar_label(bars)
ax.axhline(3, color=plots.COLORS["faulty"], ls="--", lw=1, label="minimum (c3's partitions)")
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
ax.set(title="Partitions that change owner when c3 leaves", xlabel="assignor", ylabel="partitions moved")
ax.legend(fontsize=8)
plt.show()
print(moves)

# %%
claim("the sticky assignors move only c3's three partitions",
      moves["sticky"] == moves["cooperative-sticky"] == 3,
      f"sticky {moves['sticky']}, cooperative-sticky {moves['cooperative-sticky']}")
claim("range and roundrobin move more than the minimum", min(moves["range"], moves["roundrobin"]) > 3,
      f"range {moves['range']}, roundrobin {moves['roundrobin']}")

# %% [markdown]
# ## 2. A member crashes: eager versus cooperative
#
# The producer writes 300 records/s to a `PARTITIONS`-partition topic; `CONSUMERS` members read it. At `CRASH_AT`
# member `c1` crashes and restarts 4 s later. Its heartbeats stop, but the coordinator only notices after
# `SESSION_TIMEOUT` seconds. Then the group rebalances:
#
# * **eager** (`sticky` here): every member revokes *all* its partitions, rejoins, and waits for the new
#   assignment — a stop-the-world pause;
# * **cooperative** (`cooperative-sticky`): members keep consuming what they keep; only the moved partitions
#   pause, over two short rounds.
#
# **Predict:** which setting shows the bigger lag spike? Where does the spike start — at the crash, or later?

# %%
runs = {
    strategy: groups.run(seed=SEED, strategy=strategy, partitions=PARTITIONS, consumers=CONSUMERS,
                         crash_at=CRASH_AT, session_timeout=SESSION_TIMEOUT)
    for strategy in ("sticky", "cooperative-sticky")
}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
protocol = {"sticky": "eager", "cooperative-sticky": "cooperative"}
for ax, (strategy, run) in zip(axes, runs.items(), strict=True):
    total = run.frames["lag"].groupby("time")["lag"].sum().reset_index()
    ax.plot(total["time"], total["lag"], color=plots.COLORS["ok"], label="total lag")
    ax.axvline(CRASH_AT, color=plots.COLORS["faulty"], ls="--", lw=1, label="c1 crashes")
    for i, r in enumerate(run.frames["rebalances"].itertuples()):
        ax.axvspan(r.start, r.end, color=plots.COLORS["warning"], alpha=0.25, lw=0, label="rebalance" if i == 0 else None)
    ax.set(title=f"{strategy} ({protocol[strategy]} protocol)", xlabel="time (s)",
           ylabel="records behind")
    ax.legend(fontsize=8, loc="upper right")
plt.show()
table = pd.DataFrame({s: r.summary for s, r in runs.items()}).T[
    ["rebalances", "pause_total_s", "max_lag", "duplicates", "lost"]]
print(table.round(3).to_string())

# %%
for strategy, run in runs.items():
    total = run.frames["lag"].groupby("time")["lag"].sum()
    first = run.frames["rebalances"].query("start > @CRASH_AT")["start"].min()
    before_crash = total[total.index < CRASH_AT].max()
    waiting = total[(total.index > CRASH_AT) & (total.index < first)].max()
    claim(f"{strategy}: lag climbs before the first rebalance (over twice its pre-crash peak)",
          waiting > 2 * before_crash, f"{waiting} vs {before_crash} records; rebalance starts at {first:.1f} s")
peaks = table["max_lag"]
claim("the two spikes look alike (peaks within 25 %)", peaks.max() < 1.25 * peaks.min(),
      f"{int(peaks['sticky'])} vs {int(peaks['cooperative-sticky'])} records")
claim("the cooperative group pauses fewer member-seconds",
      table.loc["cooperative-sticky", "pause_total_s"] < table.loc["sticky", "pause_total_s"],
      f"{table.loc['cooperative-sticky', 'pause_total_s']:.2f} vs {table.loc['sticky', 'pause_total_s']:.2f} s")

# %% [markdown]
# Lag starts climbing at the crash, not at the rebalance: for one session timeout nobody reads the dead member's
# partitions (the orange bands are rebalances). That wait dominates both spikes, which is why they look alike —
# shortening the session timeout helps more than changing the protocol. The protocols differ in *who* stops
# during each rebalance: the eager group pauses every healthy member, the cooperative one keeps them working, so
# its paused member-seconds (`pause_total_s`) are lower.

# %%
pauses = pd.concat(
    r.frames["pauses"].assign(strategy=s) for s, r in runs.items()
)
pauses = pauses[pauses["start"] > 1.0]  # leave out the first join at start-up
pauses = pauses.assign(seconds=pauses["end"] - pauses["start"])
print(pauses[["strategy", "consumer", "start", "seconds", "partitions_paused", "kept"]]
      .round(3).to_string(index=False))

# %% [markdown]
# In each row `partitions_paused` counts the partitions that stopped for that (re)join: with the eager protocol
# every member stops everything it had; with the cooperative protocol only revoked partitions stop.

# %% [markdown]
# ## 3. More consumers than partitions
#
# A partition is read by exactly one member of a group. **Predict:** with 6 partitions, how many of 8 consumers
# have nothing to do?

# %%
crowd = groups.run(seed=SEED, partitions=6, consumers=8, crash_at=None, duration=5, drain=2)
events = crowd.frames["consumer_events"]
final = groups.final_assignments(events)
print(final.to_string())
print("idle consumers:", crowd.summary["idle_consumers"])
claim("two of the eight consumers have nothing to do", crowd.summary["idle_consumers"] == 2,
      f"{crowd.summary['idle_consumers']} idle")

# %% [markdown]
# ## 4. Commit policy versus duplicates and losses after a crash
#
# After a crash, the partitions of the dead member restart **from the last committed offset**. What was
# processed but not committed is processed again (**duplicates**); what was committed but not processed is never
# processed (**losses**).

# %%
rows = []
for commit in ("after", "before", "auto"):
    for seed in range(COMMIT_SEEDS):
        s = groups.run(seed=SEED * 100 + seed, commit=commit, partitions=PARTITIONS,
                       consumers=CONSUMERS, crash_at=CRASH_AT, session_timeout=SESSION_TIMEOUT).summary
        rows.append({"commit": commit, "seed": seed, "duplicates": s["duplicates"], "lost": s["lost"]})
commits = pd.DataFrame(rows).groupby("commit")[["duplicates", "lost"]].sum()
commits = commits.reindex(["after", "before", "auto"])
ax = commits.plot.bar(rot=0, figsize=(7, 3.4), color=[plots.COLORS["warning"], plots.COLORS["faulty"]])
for bars in ax.containers:  # auto-commit's duplicates dwarf the rest: print every value on its bar
    ax.bar_label(bars, fontsize=8)
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
ax.set(title=f"After a crash, summed over {COMMIT_SEEDS} seeds", xlabel="commit policy",
       ylabel="records")
plt.show()
print(commits.to_string())

# %%
claim("commit after processing loses nothing", commits.loc["after", "lost"] == 0,
      f"{commits.loc['after', 'lost']} lost, {commits.loc['after', 'duplicates']} duplicates")
claim("commit before processing duplicates nothing", commits.loc["before", "duplicates"] == 0,
      f"{commits.loc['before', 'duplicates']} duplicates, {commits.loc['before', 'lost']} lost")
claim("auto-commit duplicates the most", commits["duplicates"].idxmax() == "auto",
      f"{commits.loc['auto', 'duplicates']} vs {commits.loc['after', 'duplicates']} (after)")


# %% [markdown]
# * **after** processing → at-least-once: a crash re-delivers the unfinished batch, never loses;
# * **before** processing → at-most-once: the unfinished batch is lost, never duplicated;
# * **auto**-commit every 2 s → duplicates of up to one commit interval of work.
#
# No commit policy gives exactly-once *effects* by itself — lesson 03 adds an idempotent consumer for that.

# %% [markdown]
# ## Exercise: idle consumers
#
# Write `idle(partitions, consumers)` returning how many members of one group get no partition at all.

# %%
def idle(partitions, consumers):
    # Your code here.
    return None


print(check_idle_consumers(idle))


# %% jupyter={"source_hidden": true}
def solution(partitions, consumers):
    return max(0, consumers - partitions)


print(check_idle_consumers(solution))

# %% [markdown]
# ## Try it: a slider
#
# Shorten the session timeout and watch the lag spike after the crash (section 2 used `SESSION_TIMEOUT`).

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import interact

from labsim.params import slider
from labsim.scenarios.groups import GroupParams


def show_crash(session_timeout=SESSION_TIMEOUT, strategy="sticky"):
    run = groups.run(seed=SEED, strategy=strategy, session_timeout=session_timeout,
                     heartbeat_interval=session_timeout / 6, crash_at=CRASH_AT)
    total = run.frames["lag"].groupby("time")["lag"].sum()
    _, ax = plt.subplots(figsize=(7, 3))
    ax.plot(total.index, total.to_numpy())
    ax.axvline(CRASH_AT, color=plots.COLORS["faulty"], ls="--", lw=1)
    ax.set(title=f"{strategy}, session timeout {session_timeout:.1f} s: max lag {run.summary['max_lag']}",
           xlabel="time (s)", ylabel="records behind")
    plt.show()


_ = interact(show_crash, session_timeout=slider(GroupParams, "session_timeout", value=SESSION_TIMEOUT),
             strategy=slider(GroupParams, "strategy", value="sticky"))


# %% [markdown]
# ## Exercise 2: how many partitions moved?
#
# Write `moved(before, after)`: given two assignments (member → list of `(topic, partition)`), count the
# partitions whose owner changed. Partitions that did not exist before do not count.

# %%
def moved(before, after):
    # Your code here.
    return None


print(check_moved_partitions(moved))


# %% jupyter={"source_hidden": true}
def solution_moved(before, after):
    owner = {tp: m for m, tps in before.items() for tp in tps}
    return sum(1 for m, tps in after.items() for tp in tps if tp in owner and owner[tp] != m)


print(check_moved_partitions(solution_moved))

# %% [markdown]
# ## What you saw
#
# | question | answer in this lab |
# |---|---|
# | who gets which partition? | the assignor; sticky kinds move the fewest |
# | when is a crash noticed? | after the session timeout |
# | who pauses in a rebalance? | eager: everyone; cooperative: moved partitions only |
# | duplicates or losses? | commit after processing → duplicates; before → losses |
#
# **Next:** `03_delivery_semantics.ipynb` — retries, dead-letter queues and idempotent consumers.

# %% [markdown]
# **Build it yourself.** The challenge `commit-strategy` gives you the component of this lesson to write;
# labsim grades it under seeded chaos and shrinks any failure to its smallest fault plan (see `14_challenges.ipynb`):
#
#     labsim challenge starter commit-strategy > my_commit_strategy.py
#     labsim challenge check commit-strategy my_commit_strategy.py
