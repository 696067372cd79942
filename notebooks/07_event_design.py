# %% [markdown]
# # 07 · Event design and schema evolution
#
# **The question:** next Tuesday the orders team changes `order.placed`, and the finance team wants a brand-new
# report over *last year's* events. Which decisions, taken when the events were first designed, decide whether
# both go smoothly — or fill a dead-letter queue and a report with holes?
#
# **Learning objectives.** After this notebook you can:
#
# 1. name every field of the **event envelope** and build events that carry their **causal chain**;
# 2. tell **commands** from **events**, **domain** from **integration** events, and **facts** from **deltas** —
#    and say what each choice costs a consumer that joins late;
# 3. predict what a **schema change** does during a rolling deploy under each compatibility policy (backward,
#    forward, full, none), and which side to upgrade first;
# 4. build a **new projection** from a year of old events with **upcasters**;
# 5. explain the **commit-order gap** and fix a log reader with a **high-water mark**;
# 6. keep an event store's size in check with **snapshots and archival**.

# %% tags=["parameters"]
SEED = 2  # seed of every run
WRITERS = 4  # concurrent writers in the commit-order-gap experiment
EVENTS = 400  # transactions those writers begin (one event each)
COMMIT_MS = 20.0  # mean time a writer's transaction stays open (ms)
WRITER_COUNTS = [1, 2, 4, 8]  # writer counts of the gap sweep
DAYS = 730  # days of event-store growth in the retention section
ARCHIVE_AFTER = 90  # days after an order closes before its events are archived

# %%
from labsim.lessons import check_parameters

check_parameters("07_event_design", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from labsim import Event, World, causal_graph, plots
from labsim.claims import claim
from labsim.eventsourcing import DomainError, InMemoryEventStore, Order, Repository, replay
from labsim.eventsourcing.backfill import DAY, ORDER_UPCASTERS, RevenueByMonth, year_of_orders
from labsim.eventsourcing.boundary import PUBLIC_FIELDS, to_integration
from labsim.eventsourcing.retention import (
    KEEPING,
    RETENTION_POLICIES,
    STYLES,
    late_joiner,
    store_growth,
)
from labsim.eventsourcing.schema import EVOLUTIONS, POLICIES
from labsim.exercises import check_causal_chain, check_high_water, check_schema_policies
from labsim.scenarios import event_design

plots.use_style()

# %% [markdown]
# ## 1. The envelope, in full
#
# Every event in the lab — a broker message, a stored event, a saga step — travels in one immutable envelope
# (`labsim.Event`). A checkout request causes an order; the order causes a payment. **Predict:** which fields
# does the payment share with the order, and which point back at it?

# %%
with World(SEED):  # inside a world, ids and timestamps come from the simulation: runs repeat exactly
    request = Event("checkout.requested", {"cart_id": "k-17"}, source="web", timestamp=10.0,
                    metadata={"user_agent": "lab", "schema": "checkout.requested/1"})
    placed = request.caused("order.placed", {"order_id": "o-42", "amount": 59.9, "coupon": "NEW10"},
                            source="orders", timestamp=10.2, metadata={"schema": "order.placed/1"})
    charged = placed.caused("payment.charged", {"order_id": "o-42", "amount": 59.9},
                            source="payments", timestamp=11.0, event_version=2)
envelope = pd.DataFrame({e.event_type: e.to_dict() for e in (request, placed, charged)})
print(envelope.to_string())

# %%
fields = ["event_id", "event_type", "event_version", "timestamp", "source", "correlation_id",
          "causation_id", "data", "metadata"]
claim("the envelope has exactly these nine fields", list(envelope.index) == fields, ", ".join(fields))
claim("one correlation id runs through the whole flow",
      request.correlation_id == placed.correlation_id == charged.correlation_id, request.correlation_id)
claim("each causation id names the direct cause",
      placed.causation_id == request.event_id and charged.causation_id == placed.event_id,
      f"{charged.event_id} ← {placed.event_id} ← {request.event_id}")
graph = causal_graph([request, placed, charged])
claim("the causal graph is a path from the request", list(graph.edges) ==
      [(request.event_id, placed.event_id), (placed.event_id, charged.event_id)], f"{graph.number_of_edges()} edges")

# %% [markdown]
# | field | what it is for |
# |---|---|
# | `event_id` | unique id: consumers dedupe on it (lesson 03) |
# | `event_type` | what happened, dot notation, **past tense**: `order.placed` |
# | `event_version` | the version of the `data` schema (section 2) |
# | `timestamp` | when it happened (here simulated seconds) |
# | `source` | which service emitted it |
# | `correlation_id` | the business flow it belongs to — the same for every event of one checkout |
# | `causation_id` | the event that directly caused it (`None` for a root) |
# | `data` | the payload |
# | `metadata` | headers: schema name, tracing, tenant… never business data |
#
# `Event.caused(...)` derives a child: same `correlation_id`, `causation_id` = the parent's `event_id`.

# %% [markdown]
# ### Commands versus events
#
# A **command** asks (`PayOrder`, imperative, sent to *one* handler, which may refuse); an **event** tells
# (`order.paid`, past tense, published to anyone, and it cannot be refused — it already happened). In the event-sourced
# `Order` of lesson 06, the methods are the commands. **Predict:** what does the store hold after a refused command?

# %%
store = InMemoryEventStore()
orders = Repository(store, Order)
with World(SEED):
    order = Order.create("o-1", "ada", [{"sku": "book", "qty": 2, "price": 10.0}])
    order.cancel("changed my mind")
    orders.save(order)
    before = store.head
    try:
        order.pay(20.0)  # the command: "pay this order"
        outcome = "accepted"
    except DomainError as refusal:
        outcome = f"refused: {refusal}"
print(f"command PayOrder → {outcome}")
print("events in the store:", [e.event_type for e in store.read_all(0)])
claim("a refused command leaves no event behind", outcome.startswith("refused") and store.head == before,
      f"{store.head} events before and after")

# %% [markdown]
# ### Domain events versus integration events
#
# Inside the orders service every change is a **domain event** (`order.created` with its lines, `order.paid`…):
# only the service reads them, so the team can reshape them freely. What **crosses the boundary** is an
# **integration event**: fewer and coarser, a self-contained contract with its own version, and a causal link back.

# %%
store = InMemoryEventStore()
orders = Repository(store, Order)
rng = np.random.default_rng(SEED)
with World(SEED):
    for n in range(20):
        lines = [{"sku": f"s{k}", "qty": int(rng.integers(1, 4)), "price": 5.0} for k in range(int(rng.integers(1, 4)))]
        order = Order.create(f"o{n}", f"c{n % 5}", lines)
        if n % 4:
            order.pay(order.total)
            if n % 3 == 0:
                order.ship()
        orders.save(order)
    domain = store.read_all(0)
    public = to_integration(domain)
boundary = pd.DataFrame({
    "domain (inside orders)": [len(domain), len({e.event_type for e in domain}),
                               ", ".join(sorted({k for e in domain for k in e.data}))],
    "integration (published)": [len(public), len({e.event_type for e in public}), ", ".join(public[0].data)],
}, index=["events", "event types", "payload fields"])
print(boundary.to_string())
print("\none published event:", public[0].to_dict())

# %%
claim("fewer events cross the boundary than happen inside", len(public) < len(domain), f"{len(public)} of {len(domain)}")
claim("every published event carries only the contract's fields and points at its domain event",
      all(tuple(e.data) == PUBLIC_FIELDS and e.causation_id in {d.event_id for d in domain} for e in public),
      ", ".join(PUBLIC_FIELDS))

# %% [markdown]
# ### Facts versus deltas, and the consumer that joins late
#
# A stock service can publish **facts** (`stock.level_set {sku, level: 17}`) or **deltas**
# (`stock.adjusted {sku, by: -3}`). A new consumer joins after 400 changes on 20 SKUs. The Kafka log (lesson 01)
# keeps either the whole history, only the last 100 records (retention), or the latest record per key (compaction).
# **Predict:** in which cells does the late joiner get stock levels wrong?

# %%
joins = pd.DataFrame([{"style": s, "log keeps": k, **late_joiner(s, k, seed=SEED)} for s in STYLES for k in KEEPING])
print(joins.to_string(index=False))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for ax, column, label in ((axes[0], "events_read", "events read to catch up [count]"),
                          (axes[1], "keys_wrong", "SKUs with a wrong level [count]")):
    table = joins.pivot(index="log keeps", columns="style", values=column).loc[list(KEEPING), list(STYLES)]
    table.plot.bar(ax=ax, rot=0, color=[plots.COLORS["good"], plots.COLORS["faulty"]])
    ax.set(title=f"Late joiner: {column.replace('_', ' ')}", xlabel="what the log keeps", ylabel=label)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    plots.label_bars(ax)
plt.tight_layout()
plt.show()

# %%
cell = joins.set_index(["style", "log keeps"])
claim("deltas are right only when the whole history is kept",
      cell.loc[("delta", "whole history"), "keys_wrong"] == 0
      and (cell.loc[[("delta", "retention"), ("delta", "compacted")], "keys_wrong"] > 0).all(),
      f"{cell.loc[('delta', 'retention'), 'keys_wrong']} and {cell.loc[('delta', 'compacted'), 'keys_wrong']} "
      "SKUs wrong after retention and compaction")
claim("facts on a compacted log are right after reading one record per SKU",
      cell.loc[("fact", "compacted"), "keys_wrong"] == 0
      and cell.loc[("fact", "compacted"), "events_read"] == cell.loc[("fact", "compacted"), "keys"],
      f"{cell.loc[('fact', 'compacted'), 'events_read']} records instead of "
      f"{cell.loc[('delta', 'whole history'), 'events_read']}")


# %% [markdown]
# Facts cost bytes on every event and lose the *why* (a level of 17 does not say "3 were sold"); deltas are small and
# meaningful but tie every consumer to the whole history. Many teams publish both: deltas for those who need the story,
# a periodic fact (or a compacted "current state" topic) for those who join late.

# %% [markdown]
# ## Exercise 1: build the causal chain
#
# Write `follow_up(root)` that returns `[payment.charged, order.shipped]`: the payment caused by the `root`
# (an `order.placed`), the shipment caused by the payment. Give each a `source` and a `timestamp` not before the
# root's. The checker verifies the chain with a root that was itself caused by something else.

# %%
def follow_up(root):
    # Your code here: use root.caused(...)
    return None


print(check_causal_chain(follow_up))


# %% jupyter={"source_hidden": true}
def solution_follow_up(root):
    payment = root.caused("payment.charged", {"amount": 59.9}, source="payments", timestamp=root.timestamp + 1)
    shipped = payment.caused("order.shipped", {}, source="shipping", timestamp=root.timestamp + 2)
    return [payment, shipped]


print(check_causal_chain(solution_follow_up))

# %% [markdown]
# ## 2. Schema changes during a rolling deploy
#
# Three producers and three consumers of `order.placed` are upgraded from v1 to v2 one instance per second. A
# consumer reads each event with **its own** schema: unknown fields are ignored, missing ones take their default, a
# missing required field sends the event to the **dead-letter queue**. Four changes, each named by the policy it
# satisfies — computed by reading each version's payload with the other version's schema:

# %%
for evo in EVOLUTIONS.values():
    print(f"{evo.policy:9} {evo.change:48} v1 fields {[f.name for f in evo.v1.fields]} → v2 {[f.name for f in evo.v2.fields]}")

# %% [markdown]
# **Predict:** for the *backward* change (v2 drops the required `coupon`), which upgrade order fills the dead-letter
# queue — consumers first, or producers first?

# %%
deploys = {(c, o): event_design.run_deploy(c, SEED, order=o) for c in POLICIES for o in event_design.ORDERS}
dead = pd.DataFrame({o: {c: deploys[(c, o)].summary["dead_lettered"] for c in POLICIES}
                     for o in event_design.ORDERS})
ax = dead.plot.bar(rot=0, figsize=(8, 3.4), color=[plots.COLORS["ok"], plots.COLORS["warning"]])
ax.set(title="Dead letters during a rolling v1 → v2 deploy", xlabel="change (named by the policy it satisfies)",
       ylabel="events dead-lettered [count]")
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
plots.label_bars(ax)
ax.legend(title="upgrade order")
plt.show()
print(dead.to_string())
reasons = pd.concat([r.frames["schema.consumed"].assign(change=c, order=o) for (c, o), r in deploys.items()])
print("\nwhat lands in the dead-letter queue, and why:")
print(reasons[reasons["outcome"] == "dead-letter"].groupby(["change", "order", "producer_version", "consumer_version",
                                                            "reason"]).size().rename("events").to_string())

# %% [markdown]
# The wrong order, over time: the backward change rolled out producers first. Each dashed line is one instance
# upgraded. **Predict:** when does the dead-letter queue start filling, and when does it stop?

# %%
wrong = deploys[("backward", "producers first")]
rows, ups = wrong.frames["schema.consumed"], wrong.frames["schema.upgrades"]
bins = np.arange(0, rows["time"].max() + 0.5, 0.5)
counts = pd.crosstab(pd.cut(rows["time"], bins, right=False), rows["outcome"]).reindex(columns=["ok", "dead-letter"],
                                                                                      fill_value=0)
fig, ax = plt.subplots(figsize=(9, 3.4))
ax.bar(bins[:-1], counts["ok"], width=0.5, align="edge", color=plots.COLORS["ok"], label="read")
ax.bar(bins[:-1], counts["dead-letter"], width=0.5, align="edge", bottom=counts["ok"], color=plots.COLORS["faulty"],
       label="dead-lettered")
for side, color in (("producer", plots.COLORS["warning"]), ("consumer", plots.COLORS["good"])):
    for i, t in enumerate(ups.loc[ups["side"] == side, "time"]):
        ax.axvline(t, color=color, ls="--", lw=1, label=f"a {side} upgraded" if i == 0 else None)
ax.set(title="Backward change, producers upgraded first", xlabel="time [s]", ylabel="events per 0.5 s [count]")
ax.set_ylim(0, 1.4 * counts.sum(axis=1).max())
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
ax.legend(fontsize=8, ncol=2, loc="upper left", frameon=True, framealpha=1)
plt.show()
first_up = ups.loc[ups["side"] == "producer", "time"].min()
last_up = ups.loc[ups["side"] == "consumer", "time"].max()
dlq_times = rows.loc[rows["outcome"] == "dead-letter", "time"]
claim("dead letters start with the first upgraded producer and stop when the last consumer is upgraded",
      dlq_times.min() >= first_up and dlq_times.max() < last_up,
      f"dead letters between {dlq_times.min():.1f} s and {dlq_times.max():.1f} s; upgrades from {first_up:.0f} s "
      f"to {last_up:.0f} s")

# %% [markdown]
# The share of dead letters grows with each upgraded producer, is total while every producer writes v2 and no consumer
# reads it, and shrinks with each upgraded consumer. A rolling deploy is a period of *mixed versions* — as long as it
# takes — and the policy has to cover every pair that meets during it.

# %%
claim("a full change dead-letters nothing, whatever the order", (dead.loc["full"] == 0).all(), "0 and 0")
claim("a backward change is safe only with consumers upgraded first",
      dead.loc["backward", "consumers first"] == 0 < dead.loc["backward", "producers first"],
      f"{dead.loc['backward', 'producers first']} dead letters producers first")
claim("a forward change is safe only with producers upgraded first",
      dead.loc["forward", "producers first"] == 0 < dead.loc["forward", "consumers first"],
      f"{dead.loc['forward', 'consumers first']} dead letters consumers first")
claim("a breaking change dead-letters in both orders", (dead.loc["none"] > 0).all(),
      f"{dead.loc['none', 'consumers first']} and {dead.loc['none', 'producers first']}")

# %% [markdown]
# The **compatibility matrix**, computed from every delivery of the eight runs (fraction of events read, per event
# version and consumer version; the two orders together meet all four pairs):

# %%
matrix = event_design.compatibility_matrix({k: r.frames["schema.consumed"] for k, r in deploys.items()})
print(matrix.to_string())
claim("the matrix names each policy: backward = new reads old, forward = old reads new",
      matrix.loc["backward", "v1 event → v2 consumer"] == 1 and matrix.loc["backward", "v2 event → v1 consumer"] == 0
      and matrix.loc["forward", "v2 event → v1 consumer"] == 1 and matrix.loc["forward", "v1 event → v2 consumer"] == 0
      and (matrix.loc["full"] == 1).all(), "from the recorded deliveries")

# %% [markdown]
# **Backward** (new readers read old data): upgrade **consumers first**. **Forward** (old readers read new data):
# upgrade **producers first**. **Full**: any order — and the only kind that also survives a *rollback*. **None**: no
# order works; publish a new event type (`order.placed.v2` on its own topic) and run both until the old one drains.

# %% [markdown]
# ## Exercise 2: classify the changes
#
# For each change, answer `"full"`, `"backward"`, `"forward"` or `"none"`. The checker computes the answer by
# reading each version with the other's schema, and tells you which read failed.

# %%
policy_answers = {
    "add an optional field (currency, default 'EUR')": "",
    "remove a required field (coupon)": "",
    "add a required field (currency, no default)": "",
    "rename a required field (amount → total)": "",
}
print(check_schema_policies(policy_answers))

# %% jupyter={"source_hidden": true}
print(check_schema_policies({
    "add an optional field (currency, default 'EUR')": "full",
    "remove a required field (coupon)": "backward",
    "add a required field (currency, no default)": "forward",
    "rename a required field (amount → total)": "none",
}))

# %% [markdown]
# ## 3. A read model the business asks for a year later
#
# The store holds a year of orders. On day 180 the team changed `order.created`: v1 had `total` in euros, v2 has
# `total_cents` and a `currency`. Nobody rewrote the old events. Now finance wants **revenue per month and currency** —
# a projection that never existed. It is written for v2 only and built by replaying the whole store.
# **Predict:** what does it report for the first six months without an upcaster?

# %%
history = InMemoryEventStore()
truth = year_of_orders(history, seed=SEED)
with_up = replay(history, RevenueByMonth(ORDER_UPCASTERS))
without = replay(history, RevenueByMonth())
rows = {name: pd.DataFrame(p.rows(), columns=p.columns) for name, p in (("with upcasters", with_up),
                                                                         ("without", without))}


def by_month(currency=None):
    """Revenue per month in units (one currency, or all of them for the checks below)."""
    per = {name: (r if currency is None else r[r["currency"] == currency]).groupby("month")["revenue_cents"].sum()
           for name, r in rows.items()}
    return pd.DataFrame(per).reindex(range(1, 14)).fillna(0) / 100


monthly = by_month()
change_month = 180 * DAY // (30 * DAY) + 1
currencies = sorted(rows["with upcasters"]["currency"].unique())
fig, axes = plt.subplots(1, len(currencies), figsize=(11, 3.6))
for ax, currency in zip(axes, currencies, strict=True):
    revenue = by_month(currency)
    revenue.plot.bar(ax=ax, rot=0, legend=False, color=[plots.COLORS["good"], plots.COLORS["faulty"]])
    ax.axvline(change_month - 1.5, color=plots.COLORS["ink"], ls="--", lw=1, label="v2 from here (day 180)")
    ax.set(title=f"{currency} revenue by month, replayed", xlabel="month [30-day periods]", ylabel=f"revenue [{currency}]",
           ylim=(0, 1.4 * revenue.to_numpy().max()))
axes[0].legend(loc="upper left", ncol=1)
plt.show()
print(f"events replayed: {history.head}; v1 events the v2-only handler could not read: {without.unreadable}")
print(f"revenue: truth {truth / 100:,.2f}, with upcasters {sum(with_up.state().values()) / 100:,.2f}, "
      f"without {sum(without.state().values()) / 100:,.2f}")

# %%
claim("with upcasters the new projection matches the truth to the cent", sum(with_up.state().values()) == truth,
      f"{truth} cents")
claim("without them the first months are empty: the v1 events are unreadable",
      (monthly.loc[:int(change_month) - 1, "without"] == 0).all() and without.unreadable > 0,
      f"{without.unreadable} order.created v1 events")
claim("the stored events were not rewritten",
      {e.event_version for e in history.read_all(0) if e.event_type == "order.created"} == {1, 2}, "v1 and v2 stored")

# %% [markdown]
# The upcaster (`v1 → v2`: `total_cents = round(total × 100)`, `currency = "EUR"`) runs **on read**, so every
# handler only knows the newest shape, and the history stays as it happened (month 13 holds only the year's last
# five days; USD orders only began with v2, so the USD panel starts in month 7 with or without it). Its price: the chain must live as long
# as a single v1 event does — which, in an event store, is for ever (or until section 5's archive).

# %% [markdown]
# ## 4. The commit-order gap
#
# Many SQL event stores take a global position from a sequence when a transaction **begins**; the event becomes
# visible when it **commits**. With concurrent writers, position 7 can be visible while 6 is still open. A projection
# that follows the log by position and keeps "the highest position I saw" as its checkpoint has already moved past
# 6 when it appears. Three readers follow the same log: **naive**, **high-water mark** (reads only up to just below
# the lowest open transaction, which the store knows), and **gap timeout** (waits at a hole, gives up after 100 ms).
# **Predict:** which reader misses events?

# %%
gap = event_design.run(seed=SEED, writers=WRITERS, events=EVENTS, commit_ms=COMMIT_MS)
commits, applied = gap.frames["gap.commits"], gap.frames["gap.applied"]
done = commits[commits["outcome"] == "committed"]
seen_naive = set(applied.loc[applied["reader"] == "naive", "position"])
missed = done[~done["position"].isin(seen_naive)]
t0 = max(0.0, float(missed["ended_at"].min()) - 0.15) if len(missed) else 0.0  # zoom on the first skip
window = done[done["ended_at"].between(t0, t0 + 0.4)]
fig, ax = plt.subplots(figsize=(9, 3.8))
ax.scatter(window["ended_at"], window["position"], s=14, color=plots.COLORS["ok"], label="event committed (visible)")
late = missed[missed["ended_at"].between(t0, t0 + 0.4)]
ax.scatter(late["ended_at"], late["position"], s=60, color=plots.COLORS["faulty"], marker="x",
           label="committed below the naive checkpoint: skipped")
for reader, color in (("naive", plots.COLORS["faulty"]), ("high-water mark", plots.COLORS["good"])):
    rows = applied[applied["reader"] == reader].sort_values("time")
    rows = rows.assign(checkpoint=rows["position"].cummax())
    rows = rows[rows["time"].between(t0, t0 + 0.4)]
    ax.step(rows["time"], rows["checkpoint"], where="post", color=color, lw=1.2, label=f"{reader} reader: highest position applied")
ax.set(title=f"Commit-order gap with {WRITERS} writers (a 0.4 s window)", xlabel="time [s]",
       ylabel="global position [#]")
ax.legend(fontsize=8)
plt.show()
readers = pd.DataFrame({r: {"missed": gap.summary[f"{k}_missed"], "duplicates": gap.summary[f"{k}_duplicates"],
                            "delay p50 [ms]": gap.summary[f"{k}_delay_p50_ms"],
                            "delay p99 [ms]": gap.summary[f"{k}_delay_p99_ms"]}
                        for r, k in (("naive", "naive"), ("high-water mark", "high_water"),
                                     ("gap timeout", "gap_timeout"))}).T
readers[["missed", "duplicates"]] = readers[["missed", "duplicates"]].astype(int)
print(f"{gap.summary['committed']} committed, {gap.summary['aborted']} rolled back (holes for ever)")
print(readers.to_string())

# %%
if WRITERS > 1:
    claim("the naive reader skips events committed after a later position",
          gap.summary["naive_missed"] > 0, f"{gap.summary['naive_missed']} of {gap.summary['committed']}")
claim("the high-water-mark reader misses none and applies none twice",
      gap.summary["high_water_missed"] == 0 and gap.summary["high_water_duplicates"] == 0,
      f"{gap.summary['committed']} of {gap.summary['committed']}")
if WRITERS > 1:
    claim("its price is latency: one slow transaction holds every later event back",
          gap.summary["high_water_delay_p99_ms"] > gap.summary["naive_delay_p99_ms"],
          f"p99 {gap.summary['high_water_delay_p99_ms']:.0f} ms vs {gap.summary['naive_delay_p99_ms']:.0f} ms")

# %% [markdown]
# **Predict:** with one writer, is there a gap at all? And with eight?

# %%
sweep = pd.DataFrame([{"writers": w, **{r: event_design.run(seed=SEED, writers=w, events=EVENTS,
                                                             commit_ms=COMMIT_MS).summary[f"{k}_missed"]
                                          for r, k in (("naive", "naive"), ("high-water mark", "high_water"))}}
                      for w in WRITER_COUNTS]).set_index("writers")
ax = sweep.plot(marker="o", figsize=(7, 3.2), color=[plots.COLORS["faulty"], plots.COLORS["good"]])
ax.set(title="Events a reader never applies, by number of writers", xlabel="concurrent writers [count]",
       ylabel="events missed [count]")
ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
plt.show()
print(sweep.to_string())

# %%
claim("the high-water-mark reader misses nothing at any concurrency", (sweep["high-water mark"] == 0).all(),
      ", ".join(f"{w}: 0" for w in sweep.index))
if 1 in sweep.index:
    claim("one writer commits in position order: no gap, nothing missed", sweep.loc[1, "naive"] == 0, "0 missed")
if len(sweep) > 1 and sweep.index.max() > 1:
    claim("with concurrent writers the naive reader misses events", sweep.loc[sweep.index.max(), "naive"] > 0,
          f"{sweep.loc[sweep.index.max(), 'naive']} with {sweep.index.max()} writers")


# %% [markdown]
# The fix needs one fact from the store: the **lowest position still in flight** (PostgreSQL readers get it from
# `pg_snapshot_xmin`; some stores serialise appends to make commit order equal position order — requirement 11 in
# `docs/eventstore-requirements.md`). The gap-timeout reader needs nothing from the store, but a transaction slower
# than its timeout is skipped: move the slider below and watch its misses appear as `commit_ms` grows.

# %% [markdown]
# ## Exercise 3: the high-water mark
#
# Write `high_water(allocated, in_flight)`: positions `1..allocated` have been handed out, `in_flight` is the set of
# positions whose transaction is still open. Return the highest position a reader may safely read up to.

# %%
def high_water(allocated, in_flight):
    # Your code here.
    return None


print(check_high_water(high_water))


# %% jupyter={"source_hidden": true}
def solution_high_water(allocated, in_flight):
    return min(in_flight) - 1 if in_flight else allocated


print(check_high_water(solution_high_water))

# %% [markdown]
# ## Try it: sliders
#
# Change the writers and how long each transaction stays open; watch what each reader misses.

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import interact

from labsim.params import slider


def show_gap(writers=WRITERS, commit_ms=COMMIT_MS, gap_timeout_ms=100.0):
    s = event_design.run(seed=SEED, writers=writers, events=EVENTS, commit_ms=commit_ms,
                         gap_timeout_ms=gap_timeout_ms).summary
    _, ax = plt.subplots(figsize=(6, 3))
    ax.bar(["naive", "high-water mark", "gap timeout"], [s["naive_missed"], s["high_water_missed"],
                                                          s["gap_timeout_missed"]],
           color=[plots.COLORS["faulty"], plots.COLORS["good"], plots.COLORS["warning"]])
    ax.set(title=f"{writers} writers, {commit_ms:g} ms transactions", xlabel="reader", ylabel="events missed [count]")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    plt.show()


P = event_design.CommitGapParams
_ = interact(show_gap, writers=slider(P, "writers", value=WRITERS), commit_ms=slider(P, "commit_ms", value=COMMIT_MS),
             gap_timeout_ms=slider(P, "gap_timeout_ms", value=100.0))

# %% [markdown]
# ## 5. Retention and archival
#
# An event store never deletes, so it grows for ever. Orders arrive at about 200 a day, each writes 6 events over its
# life. **Snapshot + archive:** `ARCHIVE_AFTER` days after an order closes, its events move to cheap archive storage
# and one snapshot of its final state stays hot. **Predict:** does the hot store stop growing?

# %%
growth = pd.concat([store_growth(p, days=DAYS, archive_after=ARCHIVE_AFTER, seed=SEED) for p in RETENTION_POLICIES])
fig, ax = plt.subplots(figsize=(9, 3.6))
for policy, color in zip(RETENTION_POLICIES, (plots.COLORS["faulty"], plots.COLORS["good"]), strict=True):
    g = growth[growth["policy"] == policy]
    ax.plot(g["day"], g["hot_mb"], color=color, label=f"hot store: {policy}")
archived = growth[growth["policy"] == "snapshot + archive"]
ax.plot(archived["day"], archived["archive_mb"], color=plots.COLORS["neutral"], ls="--", label="archive (cold storage)")
ax.set(title="Event-store size over time", xlabel="time [days]", ylabel="size [MB]")
ax.legend()
plt.show()
end = growth.groupby("policy").last()
print(end[["hot_events", "hot_mb", "archive_events", "archive_mb", "snapshots"]].to_string())

# %%
keep, arch = end.loc["keep everything"], end.loc["snapshot + archive"]
claim("snapshot + archive keeps the hot store smaller than keep-everything",
      arch["hot_mb"] < keep["hot_mb"] or ARCHIVE_AFTER + 20 >= DAYS,
      f"{arch['hot_mb']:.0f} MB vs {keep['hot_mb']:.0f} MB after {DAYS} days")
claim("no event is lost: hot plus archived events equal every event written",
      (growth.query("policy == 'snapshot + archive'")["hot_events"].to_numpy()
       + growth.query("policy == 'snapshot + archive'")["archive_events"].to_numpy()
       == growth.query("policy == 'keep everything'")["hot_events"].to_numpy()).all(),
      f"{int(keep['hot_events']):,} events")
hot_events = archived.set_index("day")["hot_events"]
if ARCHIVE_AFTER + 60 >= DAYS // 2:
    print(f"ARCHIVE_AFTER = {ARCHIVE_AFTER} days leaves too little of the {DAYS} days to see the archive work")
else:
    claim("after the first archive the hot event count levels off",
          hot_events.iloc[-1] < 1.2 * hot_events.iloc[ARCHIVE_AFTER + 60],
          f"{hot_events.iloc[ARCHIVE_AFTER + 60]:,} on day {ARCHIVE_AFTER + 60}, {hot_events.iloc[-1]:,} "
          f"on day {DAYS - 1}")

# %% [markdown]
# The hot **events** level off (only open and recently closed orders keep theirs); what still grows is one small
# snapshot per closed order — archive those too, or keep them in a cheaper table. The archive is not a bin: section
# 3's replay had to read *every* event, so a new projection must be able to read the archive (slower, but complete).

# %% [markdown]
# ## What you saw

# %%
summary = pd.DataFrame([
    ("envelope", "correlation id shared by the flow, causation id = direct cause",
     f"{len(fields)} fields, path of {graph.number_of_edges()} edges"),
    ("command vs event", "a refused command leaves no event", f"{before} events before and after"),
    ("domain vs integration", "fewer, coarser, contract-only events cross the boundary",
     f"{len(public)} of {len(domain)} events"),
    ("fact vs delta", "a late joiner on a compacted log: facts right, deltas wrong",
     f"{cell.loc[('delta', 'compacted'), 'keys_wrong']} of {cell.loc[('delta', 'compacted'), 'keys']} SKUs wrong"),
    ("schema change", "backward → consumers first; forward → producers first",
     f"{dead.loc['backward', 'producers first']} dead letters in the wrong order"),
    ("new projection", "replay a year with upcasters", f"{without.unreadable} v1 events unreadable without"),
    ("commit-order gap", "naive checkpoint skips; high-water mark misses none",
     f"{gap.summary['naive_missed']} vs {gap.summary['high_water_missed']} missed"),
    ("retention", "snapshot + archive", f"hot {arch['hot_mb']:.0f} MB vs {keep['hot_mb']:.0f} MB"),
], columns=["topic", "lesson", "this run"])
print(summary.to_string(index=False))

# %% [markdown]
# - The envelope's `correlation_id` and `causation_id` turn a run into a causal graph; `metadata` carries headers,
#   never business data.
# - A command may be refused; an event cannot. Domain events stay inside; integration events are the contract.
# - Deltas tie consumers to the whole history; facts let a late joiner start from a compacted log.
# - Compatibility is a property of *pairs* of versions: the deploy order must match the policy, and only *full*
#   survives any order (and a rollback).
# - A projection nobody planned can be built from old events if upcasters bridge their shapes.
# - A log read by position must stop at a high-water mark when writers commit concurrently.
#
# ## Next
#
# `08_cqrs_lag.ipynb` — once a projection reads every event, how *late* does it read them?

# %% [markdown]
# **Build it yourself.** The challenge `projection-checkpoint` (lesson 08) runs your projector behind this very log
# with gaps, under crashes (see `14_challenges.ipynb`):
#
#     labsim challenge starter projection-checkpoint > my_projector.py
#     labsim challenge check projection-checkpoint my_projector.py
