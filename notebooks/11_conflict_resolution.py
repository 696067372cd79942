# %% [markdown]
# # 11 · Conflict resolution and CRDTs
#
# **The question:** when replicas accept writes to the same data independently, which writes survive — and can
# the data type itself make sure none is lost?
#
# **Learning objectives.** After this notebook you can:
#
# 1. explain how **last-write-wins** silently loses acknowledged writes, and why clock **skew** makes it worse;
# 2. read **siblings** kept by version vectors and resolve them with a business merge;
# 3. show that **CRDTs** converge after a partition without losing updates, and what that costs in metadata;
# 4. tune anti-entropy **gossip** (interval, fan-out) for time to converge.
#
# Setting: a shopping cart replicated on `REPLICAS` replicas (three by default). Clients add items at any replica
# (a read-modify-write); replicas exchange state by gossip.

# %% tags=["parameters"]
SEED = 5  # seed of every run
REPLICAS = 3  # replicas of the cart
WRITES = 60  # items added per run
SKEWS = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]  # how far r1's clock runs behind (seconds)
SEEDS = 3  # seeds per point in sweeps
PARTITION = (3.0, 12.0)  # r1 cut off from the others (seconds)

# %%
from labsim.lessons import check_parameters

check_parameters("11_conflict_resolution", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt
import pandas as pd

from labsim import plots
from labsim.claims import claim
from labsim.exercises import check_gcounter_merge, check_lww_winner
from labsim.replication import LWWRegister, ORSet, PNCounter, TwoPSet
from labsim.scenarios import conflicts
from labsim.sweep import sweep

plots.use_style()

# %% [markdown]
# ## 1. Last-write-wins under clock skew
#
# Writes come one second apart on average — mostly one after another, not concurrently. With LWW by **physical
# timestamp**, a write at r1 whose clock runs behind gets an *older* stamp than the write it just read, and loses
# silently although it was acknowledged. A **hybrid logical clock** (HLC) never stamps a write below what the
# replica has seen. **Predict:** how do lost writes grow with skew under each?

# %%
grid = {"policy": ["lww-physical", "lww-hlc"], "skew": SKEWS, "write_gap": [1.0], "writes": [40],
        "replicas": [REPLICAS]}
skew_runs = sweep(conflicts.figures, grid, seeds=range(SEEDS))
lost = skew_runs.groupby(["policy", "skew"])["lost_updates"].mean().unstack("policy")
fig, ax = plt.subplots()
for policy, offset in zip(lost.columns, (8, -14), strict=False):
    ax.plot(lost.index, lost[policy], "o-", label=policy)
    for x, v in lost[policy].items():
        ax.annotate(f"{v:.1f}", (x, v), textcoords="offset points", xytext=(0, offset), ha="center", fontsize=8)
ax.set(title="Acknowledged writes lost by last-write-wins", xlabel="clock skew of r1 [s]",
       ylabel=f"lost writes (mean of {SEEDS} seeds, of 40)")
ax.set_ylim(bottom=0, top=lost.to_numpy().max() * 1.25 + 1)
ax.legend()
plt.show()
print(lost.round(2).to_string())

# %%
hlc, physical = lost["lww-hlc"], lost["lww-physical"]
claim("both lose a few truly concurrent writes even without skew", hlc.iloc[0] > 0 and physical.iloc[0] > 0,
      f"{physical.iloc[0]:.1f} and {hlc.iloc[0]:.1f} at skew 0")
claim("the physical clock loses more as skew grows", physical.iloc[-1] > physical.iloc[0],
      f"{physical.iloc[0]:.1f} at skew 0, {physical.iloc[-1]:.1f} at {lost.index[-1]:g} s")
claim("HLC is flat: skew no longer matters", hlc.max() - hlc.min() <= 0.5 and hlc.iloc[-1] < physical.iloc[-1],
      f"{hlc.min():.1f} to {hlc.max():.1f} across skews")


# %% [markdown]
# Both lose a few writes that really were concurrent (two clients read the same cart and wrote back). The physical
# clock loses more and more as skew grows: r1's writes come with stamps from the past. HLC is flat — skew no
# longer matters — but LWW still keeps only one of two concurrent writes.

# %% [markdown]
# ## 2. Version vectors keep siblings
#
# With version vectors, a write supersedes only what its writer had *seen*. Concurrent writes survive side by side
# as **siblings**; the next client that reads the key sees all of them and must merge them. If clients write
# *blind* (without reading first), siblings pile up.

# %%
def siblings(blind):
    """Divergence samples of a version-vector cart: 50 writes, 0.2 s apart on average."""
    run = conflicts.run(seed=SEED, policy="version-vectors", blind=blind, writes=50, write_gap=0.2,
                        quiet=3.0, replicas=REPLICAS)
    return run.frames["divergence"]


blind, resolving = siblings(blind=True), siblings(blind=False)
fig, ax = plt.subplots()
ax.step(blind["time"], blind["max_siblings"], where="post", label="blind writes")
ax.step(resolving["time"], resolving["max_siblings"], where="post", label="read, merge, write")
ax.set(title="Siblings of one key over time", xlabel="time [s]", ylabel="most siblings at a replica [count]")
ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
ax.legend()
plt.show()
print(f"most siblings — blind: {blind['max_siblings'].max()}, read-merge-write: {resolving['max_siblings'].max()}")

# %%
claim("blind writes pile up siblings; read-merge-write keeps them few",
      blind["max_siblings"].max() > resolving["max_siblings"].max(),
      f"{blind['max_siblings'].max()} vs {resolving['max_siblings'].max()}")

# %% [markdown]
# ## 3. A custom merge
#
# How the client merges siblings is a **business decision**. For a cart, the union keeps every item (a removed
# item can come back — the well-known Dynamo cart anomaly); picking one sibling loses the others' items. For stock,
# neither works: concurrent decrements must *add up*, which is what a PN-counter does.

# %%
rows = []
for resolver in ("union", "pick-one"):
    s = conflicts.run(seed=SEED, policy="version-vectors", resolver=resolver, writes=WRITES,
                      replicas=REPLICAS).summary
    rows.append({"merge": resolver, "lost_updates": s["lost_updates"], "final_items": s["final_items"]})
merges = pd.DataFrame(rows).set_index("merge")
print(merges.reset_index().to_string(index=False))

stock = 10
lww_r1 = LWWRegister().assign(stock - 2, 1.0, "r1")  # r1 sells 2 and writes the new stock
lww_r2 = LWWRegister().assign(stock - 3, 1.1, "r2")  # r2 concurrently sells 3
pn = PNCounter().increment("warehouse", stock)
pn_r1, pn_r2 = pn.decrement("r1", 2), pn.decrement("r2", 3)
print(f"stock after selling 2 + 3 of {stock}: LWW register says {lww_r1.merge(lww_r2).value}, "
      f"PN-counter says {pn_r1.merge(pn_r2).value}")

# %%
claim("the union merge keeps every item; picking one sibling loses some",
      merges.loc["union", "lost_updates"] == 0 and merges.loc["pick-one", "lost_updates"] > 0,
      f"lost: union {merges.loc['union', 'lost_updates']}, pick-one {merges.loc['pick-one', 'lost_updates']}")
claim("only the PN-counter adds the two sales up", pn_r1.merge(pn_r2).value == stock - 5
      and lww_r1.merge(lww_r2).value != stock - 5, f"{stock - 5} left")

# %% [markdown]
# ## 4. CRDTs converge through a partition
#
# r1 is cut off from `PARTITION[0]` to `PARTITION[1]`; clients add items everywhere for the first ~9 s. The cart
# is an observed-remove set (OR-set). **Predict:** how many distinct replica states are there once the writes
# stop but the partition lasts, and how long after the heal until they agree?

# %%
crdt = conflicts.run(seed=SEED, policy="crdt", writes=WRITES, write_gap=0.15, replicas=REPLICAS,
                     partition_start=PARTITION[0], partition_end=PARTITION[1])
ax = plots.timeseries(crdt.frames["divergence"], "time", "distinct_states", faults=crdt.frames["faults"],
                      title="Distinct replica states (OR-set cart)", ylabel="distinct states",
                      labels={"distinct_states": "distinct replica states"})
ax.set_yticks(range(1, REPLICAS + 1))
plt.show()
s = crdt.summary
print(f"lost updates: {s['lost_updates']}, converged: {s['converged']}, "
      f"{s['time_to_converge_s']:.2f} s after the heal, final items: {s['final_items']}")

# %%
div = crdt.frames["divergence"]
before_heal = div.loc[div["time"] < PARTITION[1], "distinct_states"].iloc[-1]
claim("just before the heal r1 is on its own: two distinct states", before_heal == 2, f"{before_heal} states")
claim("after the heal all replicas agree, within a second, and no item is lost",
      s["converged"] and s["time_to_converge_s"] < 1.0 and s["lost_updates"] == 0,
      f"{s['time_to_converge_s']:.2f} s, {s['lost_updates']} lost")

# %% [markdown]
# While writes arrive, replicas differ briefly even without a partition (gossip takes a round to spread them).
# Once the writes stop, the other replicas agree but r1 is stuck on its own state — two distinct states — until the
# partition heals; then a gossip round or two make all replicas equal, and no item is lost. The
# OR-set also handles removals: an add concurrent with a remove wins, and, unlike a 2P-set, a removed item can be
# added again.

# %%
base = ORSet().add("milk", "r1")
print("OR-set, remove at r1 while r2 re-adds:", sorted(base.remove("milk").merge(base.add("milk", "r2")).value))
print("2P-set, remove then add again:", sorted(TwoPSet().add("milk").remove("milk").add("milk").value))

# %% [markdown]
# ## 5. Tuning gossip
#
# Time to converge after the heal, for 5 replicas, by gossip interval and fan-out (peers per round).

# %%
grid = {"policy": ["crdt"], "replicas": [5], "gossip_interval": [0.1, 0.25, 0.5, 1.0], "fanout": [1, 2],
        "writes": [40], "write_gap": [0.25], "partition_start": [2.0], "partition_end": [12.0]}
gossip = sweep(conflicts.figures, grid, seeds=range(SEEDS))
ttc = gossip.groupby(["gossip_interval", "fanout"])["time_to_converge_s"].mean().unstack("fanout")
fig, ax = plt.subplots()
for fanout in ttc.columns:
    ax.plot(ttc.index, ttc[fanout], "o-", label=f"fan-out {fanout}")
ax.set(title=f"Time to converge after a partition heals (mean of {SEEDS} seeds)",
       xlabel="gossip interval [s]", ylabel="time to converge [s]")
ax.set_ylim(bottom=0)
ax.legend()
plt.show()
print(ttc.round(2).to_string())

# %%
claim("convergence takes longer with a longer gossip interval, for each fan-out",
      (ttc.iloc[-1] > ttc.iloc[0]).all(),
      ", ".join(f"fan-out {f}: {ttc[f].iloc[0]:.2f} → {ttc[f].iloc[-1]:.2f} s" for f in ttc.columns))
claim("a larger fan-out converges no slower", (ttc[2] <= ttc[1] + 1e-9).all(),
      f"mean {ttc[2].mean():.2f} s vs {ttc[1].mean():.2f} s")

# %% [markdown]
# Convergence time grows with the interval (roughly a few rounds are needed) and shrinks with fan-out — at the
# price of more messages per round.

# %% [markdown]
# And versus the partition's length: the longer r1 is cut off, the more the two sides diverge — but the time to
# converge *after the heal* stays within a few gossip rounds, because state-based gossip ships the whole state in
# one round.

# %%
grid = {"policy": ["crdt"], "replicas": [5], "gossip_interval": [0.25], "writes": [40], "write_gap": [0.25],
        "partition_start": [2.0], "partition_end": [4.0, 8.0, 12.0, 20.0]}
lengths = sweep(conflicts.figures, grid, seeds=range(SEEDS))
by_length = lengths.assign(partition_s=lengths["partition_end"] - 2.0).groupby("partition_s")[
    "time_to_converge_s"].mean()
print(by_length.round(2).to_string())

# %%
claim("however long the partition, convergence takes a few gossip rounds (at most 5 × 0.25 s)",
      by_length.max() <= 5 * 0.25,
      f"{by_length.min():.2f} to {by_length.max():.2f} s for partitions of {by_length.index.min():g} to "
      f"{by_length.index.max():g} s")

# %% [markdown]
# ## 6. The policies side by side

# %%
rows = []
for policy, resolver in [("lww-physical", "union"), ("lww-hlc", "union"), ("version-vectors", "union"),
                         ("version-vectors", "pick-one"), ("crdt", "union")]:
    s = conflicts.run(seed=SEED, policy=policy, resolver=resolver, writes=WRITES, skew=1.0,
                      replicas=REPLICAS).summary
    name = policy if policy != "version-vectors" else f"version-vectors ({resolver})"
    rows.append({"policy": name, "lost_updates": s["lost_updates"], "max_siblings": s["max_siblings"],
                 "metadata_size": s["metadata_size"], "converged": s["converged"]})
side = pd.DataFrame(rows).set_index("policy")
print(side.reset_index().to_string(index=False))

# %%
claim("every policy converges", side["converged"].all(), f"{len(side)} of {len(side)}")
claim("LWW loses writes; version vectors (union) and the OR-set lose none",
      (side.loc[["lww-physical", "lww-hlc"], "lost_updates"] > 0).all()
      and (side.loc[["version-vectors (union)", "crdt"], "lost_updates"] == 0).all(),
      f"LWW {side.loc['lww-physical', 'lost_updates']} and {side.loc['lww-hlc', 'lost_updates']} lost")
claim("the OR-set carries the most metadata", side["metadata_size"].idxmax() == "crdt",
      f"{side.loc['crdt', 'metadata_size']} vs {side.loc['lww-hlc', 'metadata_size']} for LWW")


# %% [markdown]
# Every policy converges — convergence is not correctness. LWW is cheap (two fields of metadata) and loses writes;
# version vectors keep everything but push merging to the client; the OR-set never loses an addition but carries
# a tag per add (its metadata grows with the history).

# %% [markdown]
# ## Exercise: merge a grow-only counter
#
# A G-counter state is a dict `replica -> count`. Write `merge(a, b)` so that replicas converge whatever order
# and however often they exchange states.

# %%
def merge(a, b):
    # Your code here.
    return None


print(check_gcounter_merge(merge))


# %% jupyter={"source_hidden": true}
def solution(a, b):
    return {r: max(a.get(r, 0), b.get(r, 0)) for r in set(a) | set(b)}


print(check_gcounter_merge(solution))

# %% [markdown]
# ## Try it: sliders
#
# Pick a policy and a skew; count the lost writes.

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import interact

from labsim.params import slider


def show_policy(policy="lww-physical", skew=1.0):
    s = conflicts.run(seed=SEED, policy=policy, skew=skew, writes=WRITES, replicas=REPLICAS).summary
    print(f"{policy}, skew {skew:g} s: {s['lost_updates']} of {WRITES} additions lost, "
          f"{s['max_siblings']} siblings at most, metadata {s['metadata_size']}")


_ = interact(show_policy, policy=slider(conflicts.ConflictParams, "policy"),
             skew=slider(conflicts.ConflictParams, "skew", value=1.0))


# %% [markdown]
# ## Exercise 2: who wins under last-write-wins?
#
# Write `lww(writes)`: given writes `(value, timestamp, replica)` in the order they *arrived*, return the value
# LWW keeps. Ties on timestamp go to the greater replica id.

# %%
def lww(writes):
    # Your code here.
    return None


print(check_lww_winner(lww))


# %% jupyter={"source_hidden": true}
def solution_lww(writes):
    return max(writes, key=lambda w: (w[1], w[2]))[0]


print(check_lww_winner(solution_lww))

# %% [markdown]
# ## What you saw
#
# - LWW by physical clock lost more acknowledged writes as skew grew; HLC made skew irrelevant but still lost
#   concurrent writes.
# - Version vectors kept concurrent writes as siblings; blind writers piled them up, and the merge is the
#   business's choice.
# - The OR-set converged through a partition a few gossip rounds after the heal, losing nothing — and carried the
#   most metadata.
#
# | policy | loses acknowledged writes? | who merges | metadata |
# |---|---|---|---|
# | LWW (physical clock) | yes, more under skew | nobody | timestamp |
# | LWW (HLC) | yes, concurrent ones | nobody | timestamp |
# | version vectors | no (with a union merge) | the client | a vector per sibling |
# | CRDT | no | the data type | grows with history |

# %% [markdown]
# ## Next
#
# `12_scaling_and_backpressure.ipynb` — how many consumers a queue needs, and what to do when they are not enough.

# %% [markdown]
# **Build it yourself.** The challenges `cart-crdt` and `broadcast` give you the component of this lesson to write;
# labsim grades it under seeded chaos and shrinks any failure to its smallest fault plan (see `14_challenges.ipynb`):
#
#     labsim challenge starter cart-crdt > my_cart_crdt.py
#     labsim challenge check cart-crdt my_cart_crdt.py
#     labsim challenge starter broadcast > my_broadcast.py
#     labsim challenge check broadcast my_broadcast.py
