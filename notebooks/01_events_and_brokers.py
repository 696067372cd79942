# %% [markdown]
# # 01 · Events and brokers
#
# **The question:** when a producer sends events through a broker, who receives each one, and in what order?
#
# **Learning objectives.** After this notebook you can:
#
# 1. read an **event envelope** and follow a chain of events through `correlation_id` and `causation_id`;
# 2. tell a **point-to-point queue** (one consumer group) from **publish/subscribe** (one group per subscriber);
# 3. explain why order is kept **per key** but not across keys, and what a **hot key** does to one partition;
# 4. predict what happens to key placement when a topic **grows**.
#
# Everything below runs through labsim's Kafka-style broker: a producer sends records over a simulated network to
# a broker node that appends them to partition logs; consumers in groups poll them back.

# %% tags=["parameters"]
SEED = 7  # seed of every run in this notebook
MESSAGES = 300  # records for the queue / pub-sub comparison
CONSUMERS = 3  # consumers (and partitions) in that comparison
KEYS = 4  # distinct keys in the ordering experiment
HOT_SHARE = 0.5  # share of all traffic carried by one hot key
PARTITIONS = 6  # partitions in the hot-key experiment

# %%
from labsim.lessons import check_parameters

check_parameters("01_events_and_brokers", globals())

# %%
import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.ticker import MaxNLocator

from labsim import Event, World, causal_graph, plots
from labsim.claims import claim
from labsim.exercises import check_partition_function, check_pubsub_counts
from labsim.kafka import kafka_partition
from labsim.scenarios import brokers

plots.use_style()

# %% [markdown]
# ## 1. The event envelope
#
# Every message in the lab — a broker record, a stored event, a saga step — travels in the same immutable
# envelope. `event_type` says what happened (dot notation, past tense). A **caused** event keeps the
# `correlation_id` of the flow it belongs to and names its direct cause in `causation_id`.

# %%
with World(SEED):  # inside a world, ids and timestamps come from the world: runs stay repeatable
    created = Event("order.created", {"order_id": 42, "total": 99.5}, source="order-service")
    reserved = created.caused("inventory.reserved", {"order_id": 42}, source="inventory")
    charged = created.caused("payment.processed", {"order_id": 42, "amount": 99.5}, source="payment")
    confirmed = charged.caused("order.confirmed", {"order_id": 42}, source="order-service")

for event in (created, reserved, charged, confirmed):
    print(f"{event.event_id:6} {event.event_type:20} correlation={event.correlation_id} "
          f"causation={event.causation_id}")

# %%
graph = causal_graph([created, reserved, charged, confirmed])
labels = {n: graph.nodes[n]["event_type"] for n in graph.nodes}
fig, ax = plt.subplots(figsize=(7, 3))
pos = {created.event_id: (0, 0), reserved.event_id: (1, 0.6), charged.event_id: (1, -0.6),
       confirmed.event_id: (2, -0.6)}
# light nodes, and the labels above them, so the text never sits on a dark fill
nx.draw_networkx_nodes(graph, pos, ax=ax, node_color="#cfe2f3", edgecolors=plots.COLORS["ok"], node_size=500)
nx.draw_networkx_edges(graph, pos, ax=ax, node_size=500, arrowsize=15)
nx.draw_networkx_labels(graph, {n: (x, y + 0.28) for n, (x, y) in pos.items()}, labels=labels, ax=ax,
                        font_size=9)
ax.set_title("Causal graph of one order (edges: cause → effect)")
ax.set_axis_off()
ax.margins(0.25)
plt.show()

# %% [markdown]
# ## 2. Point-to-point queue versus publish/subscribe
#
# Three consumers read the same topic in two setups. **Predict, then run:** in each setup, how many of the
# `MESSAGES` records does each consumer receive?
#
# * **one group** — the three consumers are members of one consumer group: each partition belongs to one
#   member, so each record reaches *one* consumer (a work queue);
# * **a group per consumer** — three groups of one member each: every group gets *every* record (pub/sub).

# %%
who = brokers.queue_vs_pubsub(messages=MESSAGES, consumers=CONSUMERS, partitions=CONSUMERS, seed=SEED)
table = brokers.received(who)
ax = table.plot.bar(rot=0, figsize=(7, 3.4))
ax.axhline(MESSAGES, color=plots.COLORS["neutral"], ls="--", lw=1, label="all records")
ax.set(title="Who receives what", xlabel="consumer", ylabel="records received")
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
ax.legend(fontsize=8)
plt.show()
print(table.to_string())

# %%
shared, everyone = brokers.SETUPS  # "one group (queue)", "group per consumer (pub/sub)"
claim("one group: the counts add up to MESSAGES (the work is shared)", table[shared].sum() == MESSAGES,
      f"{' + '.join(str(n) for n in table[shared])} = {table[shared].sum()}")
claim("a group per consumer: every consumer gets all MESSAGES records", (table[everyone] == MESSAGES).all(),
      f"{table[everyone].min()} to {table[everyone].max()} each")

# %% [markdown]
# In the queue setup the counts add up to `MESSAGES` (work is shared); in pub/sub each consumer gets all of them
# (each subscriber sees the whole stream). Same topic, same records — the **group id** decides.

# %% [markdown]
# ## 3. Order is kept per key, not across keys
#
# Records with the same key always go to the same partition (`murmur2(key) % partitions`), and a partition is
# read in offset order by one consumer. So the consumers see each key's events in the order they were produced —
# but events of *different* keys interleave differently than they were sent. **Predict:** how many per-key order
# violations will there be? And across keys?

# %%
ordered = brokers.key_order(partitions=3, keys=KEYS, seed=SEED)
consumed = brokers.processing_order(ordered.frames["consumed"])
print(f"records processed: {ordered.summary['processed']}")
print(f"per-key order violations:  {ordered.summary['per_key_order_violations']}")
print(f"cross-key order violations: {ordered.summary['cross_key_order_violations']} "
      "(a later record processed before an earlier one)")
print(consumed.groupby("key")["partition"].unique().apply(list).to_string())

# %%
per_key = ordered.summary["per_key_order_violations"]
cross_key = ordered.summary["cross_key_order_violations"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), width_ratios=[2, 1])
ax = axes[0]
for key, g in consumed.groupby("key"):
    ax.plot(g["time"], g["seq"], ".", ms=3, label=f"{key} → partition {g['partition'].iloc[0]}")
ax.set(title="Processing order: each key climbs steadily; keys interleave",
       xlabel="time processed (s)", ylabel="producer sequence number")
ax.legend(fontsize=8, markerscale=3)
bars = axes[1].bar(["within a key", "across keys"], [per_key, cross_key], color=[plots.COLORS["good"], plots.COLORS["faulty"]])
axes[1].bar_label(bars)
axes[1].yaxis.set_major_locator(MaxNLocator(integer=True))
axes[1].set(title="Order violations", xlabel="records compared", ylabel="violations (count)")
plt.show()

# %%
claim("no record is processed before an earlier record of its own key", per_key == 0,
      f"{per_key} per-key violations")
claim("across keys, later records are processed before earlier ones", cross_key > 0,
      f"{cross_key} cross-key violations")

# %% [markdown]
# ## 4. A hot key
#
# One customer produces `HOT_SHARE` of all traffic. Its key maps to a single partition, and a partition is
# consumed by one member: that member must do half the work alone while the others idle.

# %%
hot = brokers.hot_key(hot_share=HOT_SHARE, partitions=PARTITIONS, seed=SEED)
per_partition = brokers.per_partition(hot)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
hot_p = hot.summary["hot_partition"]
colors = [plots.COLORS["hot"] if h else plots.COLORS["ok"] for h in per_partition["holds hot key"]]
axes[0].bar(per_partition["partition"], per_partition["records"], color=colors)
axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
axes[0].set(title="Records per partition (red: hot key)", xlabel="partition", ylabel="records")
lag = hot.frames["lag"].pivot_table(index="time", columns="partition", values="lag")
others = [c for c in lag.columns if c != hot_p]
for i, partition in enumerate(others):  # same colours as the left panel
    axes[1].plot(lag.index, lag[partition], color=plots.COLORS["ok"], lw=1, alpha=0.6,
                 label="other partitions" if i == 0 else None)
axes[1].plot(lag.index, lag[hot_p], color=plots.COLORS["hot"], lw=2, label=f"partition {hot_p} (hot key)")
axes[1].set(title="Lag per partition (red: hot key)", xlabel="time (s)", ylabel="records behind")
axes[1].legend(fontsize=8)
plt.show()
print(per_partition.to_string(index=False))
print(f"max lag: hot partition {hot.summary['hot_partition_max_lag']}, "
      f"others {hot.summary['other_max_lag']}")

# %%
hot_lag, other_lag = hot.summary["hot_partition_max_lag"], hot.summary["other_max_lag"]
claim("the hot partition holds the most records",
      per_partition["records"].idxmax() == per_partition.index[per_partition["holds hot key"]][0],
      f"{hot.summary['hot_partition_records']} of {hot.summary['records']}")
claim("the hot partition's lag climbs far above the others (over 10 times)", hot_lag > 10 * max(other_lag, 1),
      f"max lag {hot_lag} vs {other_lag} records")

# %% [markdown]
# The hot partition's lag climbs for as long as the burst lasts while the other partitions stay near zero. It
# falls in steps because its consumer commits offsets after each poll batch (up to 500 records). Adding
# consumers would not help: one partition is never shared within a group. The fixes are in the key — split the
# hot key (e.g. `customer-hot#3`) or give up per-key order for it.

# %% [markdown]
# ## 5. Growing a topic moves keys
#
# Kafka never shrinks a topic, but you may add partitions. The partition of a key is `hash % count`, so changing
# the count re-maps most keys — and records of one key written before and after the change now live in two
# partitions: **per-key order is lost across the change**.

# %%
moved = {after: brokers.keys_moved(1000, 6, after) for after in (7, 8, 12)}
for after, share in moved.items():
    print(f"6 → {after} partitions: {share:.1%} of keys move")
claim("growing 6 → 7 or 6 → 8 partitions moves most keys", min(moved[7], moved[8]) > 0.5,
      f"{moved[7]:.0%} and {moved[8]:.0%}")
print("customer-42:", kafka_partition("customer-42", 6), "→", kafka_partition("customer-42", 8))

# %% [markdown]
# The partitioner is the *client's*, not the broker's. The Java client (and `kafka-python`) hash the key with
# murmur2; librdkafka — under `confluent-kafka` and most non-Java clients — defaults to CRC32
# (`consistent_random`). Two services writing one topic with different clients split a key's records across
# partitions, and per-key order with them:

# %%
from labsim.conformance import consistent_partition

for key in ("order-1", "alice", "bob", "order-2"):
    java, rdkafka = kafka_partition(key, 6), consistent_partition(key, 6)
    print(f"{key:>8}: Java client → partition {java}, librdkafka → partition {rdkafka}")
split = [k for k in ("order-1", "alice", "bob") if kafka_partition(k, 6) != consistent_partition(k, 6)]
claim("the two clients' default partitioners place the same key differently", len(split) == 3,
      f"{len(split)} of 3 keys")

# %% [markdown]
# ## 6. Retention and log compaction
#
# A topic is a log, not a queue: records stay after they are read, until **retention** removes old ones (by age or
# size). A **compacted** topic keeps only the latest record per key — the current state of each key — and drops a
# key entirely once its latest record is a *tombstone* (value `None`) older than `delete_retention`. Offsets never
# change: compaction leaves gaps.

# %%
from labsim.kafka import Topic, TopicConfig

prices = Topic("prices", TopicConfig(partitions=1, compacted=True, delete_retention=5.0))
log = prices.partitions[0]
for t, (key, value) in enumerate([("apple", 1.0), ("pear", 2.0), ("apple", 1.1), ("plum", 3.0),
                                  ("pear", None), ("apple", 1.2)]):
    log.append(key, value, float(t))
print("before compaction:", [(r.offset, r.key, r.value) for r in log.records])
prices.apply_retention(now=6.0)
print("after compaction: ", [(r.offset, r.key, r.value) for r in log.records])
prices.apply_retention(now=20.0)  # the tombstone for pear is now older than delete_retention
print("later:            ", [(r.offset, r.key, r.value) for r in log.records])
print("end offset stays", log.end_offset)

# %% [markdown]
# ## Exercise: implement Kafka's keyed partitioner
#
# Using only `labsim.kafka.murmur2` (which returns Java's signed 32-bit hash), write `partition_for(key, n)`
# returning the partition the Java client picks for a string key. The checker compares with Kafka on many keys
# and explains a mismatch.

# %%
from labsim.kafka import murmur2


def partition_for(key, n):
    # Your code here.
    return None


print(check_partition_function(partition_for))


# %% [markdown] tags=["solution"]
# <details><summary><b>Solution</b> (the hidden cell below)</summary>
#
# Hash the UTF-8 bytes, clear the sign bit with `& 0x7fffffff` (Java's `toPositive`), then take the remainder.
# `abs()` is not the same: for a negative hash it gives a different number.
# </details>

# %% jupyter={"source_hidden": true}
def solution(key, n):
    return (murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % n


print(check_partition_function(solution))

# %% [markdown]
# ## Try it: a slider
#
# Change the hot key's share of the traffic and watch the records per partition (section 4 used the default).

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import interact

from labsim.params import slider
from labsim.scenarios.brokers import BrokersParams


def show_hot_key(hot_share=HOT_SHARE):
    counts = brokers.per_partition(brokers.hot_key(hot_share=hot_share, partitions=PARTITIONS, seed=SEED))
    colors = [plots.COLORS["hot"] if h else plots.COLORS["ok"] for h in counts["holds hot key"]]
    _, ax = plt.subplots(figsize=(6, 3))
    ax.bar(counts["partition"], counts["records"], color=colors)
    ax.set(title=f"Records per partition, hot share {hot_share:.0%}", xlabel="partition", ylabel="records")
    plt.show()


_ = interact(show_hot_key, hot_share=slider(BrokersParams, "hot_share", value=HOT_SHARE))


# %% [markdown]
# ## Exercise 2: queue or pub/sub?
#
# Write `received(messages, consumers, setup)`: records received in total by all consumers, when `setup` is
# `"one group"` (all consumers in one group) or `"group per consumer"`.

# %%
def received(messages, consumers, setup):
    # Your code here.
    return None


print(check_pubsub_counts(received))


# %% jupyter={"source_hidden": true}
def solution_received(messages, consumers, setup):
    return messages if setup == "one group" else messages * consumers


print(check_pubsub_counts(solution_received))

# %% [markdown]
# ## What you saw
#
# | idea | what you saw |
# |---|---|
# | envelope | ids link events into a causal graph |
# | queue vs pub/sub | decided by consumer groups, not by the topic |
# | keys | same key → same partition → order kept for that key only |
# | hot key | one partition, one consumer, all the lag |
# | growing a topic | most keys move; order across the change is lost |
# | retention, compaction | old records go; a compacted topic keeps the latest value per key |
#
# **Next:** `02_consumer_groups.ipynb` — assignors, rebalances and commits.
