# %% [markdown]
# # 06 · Event sourcing
#
# **The question:** if state is only a list of what happened, how do you read it, change it safely, ask what it
# was yesterday, and keep reading it fast as the list grows?
#
# **Learning objectives.** After this notebook you can:
#
# 1. store state as a **stream of events** and rebuild it by **replay**;
# 2. use **expected versions** to stop two writers from both changing one aggregate, and retry on conflict;
# 3. answer **temporal queries** — the state as of a version or a time;
# 4. weigh **snapshots** against replay cost, and read old events in a new shape with **upcasters**;
# 5. open the event store's SQLite file with pandas.

# %% tags=["parameters"]
SEED = 1  # seed of the simulated timeline
DEPOSITS = 12  # deposits in the temporal-query example
HISTORY = 1234  # events in the aggregate used for the snapshot experiment
SNAPSHOT_INTERVALS = [10, 50, 100, 250, 500]  # snapshot every N events

# %%
from labsim.lessons import check_parameters

check_parameters("06_event_sourcing", globals())  # a bad value stops here, naming the knob and its range

# %%
import sqlite3
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd

from labsim import Event, World, plots
from labsim.claims import claim
from labsim.eventsourcing import (
    NO_STREAM,
    Account,
    ConcurrencyError,
    InMemoryEventStore,
    Order,
    Repository,
    SqliteEventStore,
    Upcasters,
    append_with_retry,
)
from labsim.exercises import check_balance_fold, check_upcaster

plots.use_style()

# %% [markdown]
# ## 1. Append and replay
#
# An order is not a row that gets updated: it is the list of what happened to it. Commands check the rules and
# *record* events; the repository appends them to the order's stream; loading replays them.

# %%
store = InMemoryEventStore()
orders = Repository(store, Order)
world = World(SEED)  # one world for the notebook: event ids (evt-1, evt-2, ...) stay unique
with world:  # inside a world, ids and timestamps come from it, so this output is repeatable
    order = Order.create("42", "ada", [{"sku": "book", "qty": 2, "price": 12.5}])
    order.pay(25.0)
    orders.save(order)
    order.ship()
    orders.save(order)
stream = pd.DataFrame([{"version": e.stream_version, "position": e.position, "type": e.event_type,
                        "data": e.data} for e in store.read_stream("order-42")])
print(stream.to_string(index=False))
again = orders.load("42")
print(f"replayed: status={again.status}, total={again.total}, version={again.version}")

# %% [markdown]
# ## 2. A concurrency conflict
#
# Two clerks load order 43 at version 0. One pays it, the other cancels it. Both are valid against what each saw —
# but only one may win. The repository appends with the **expected version** it loaded; the second append finds
# the stream moved on. **Predict:** which save fails?

# %%
with world:
    orders.save(Order.create("43", "grace", [{"sku": "pen", "qty": 1, "price": 3.0}]))
    clerk_a, clerk_b = orders.load("43"), orders.load("43")
    clerk_a.pay(3.0)
    clerk_b.cancel("customer called")
    orders.save(clerk_a)
    try:
        orders.save(clerk_b)
    except ConcurrencyError as conflict:
        print("ConcurrencyError:", conflict)
print("order 43 is now:", orders.load("43").status)


# %% [markdown]
# The usual fix is to **reload and decide again**: `append_with_retry` reads the stream, asks a decision function
# for new events, and retries when someone appended in between.

# %%
def cancel_if_unpaid(history):
    paid = any(e.event_type == "order.paid" for e in history)
    return [] if paid else [Event("order.cancelled", {"reason": "timeout", "refund": 0.0})]


version = append_with_retry(store, "order-43", cancel_if_unpaid)
print("decision on a paid order appends nothing; stream version stays", version)

# %% [markdown]
# ## 3. Temporal queries
#
# Because every change is kept, yesterday's state is one replay away. An account receives `DEPOSITS` deposits,
# one per simulated day, and one large withdrawal in the middle.

# %%
accounts = Repository(store, Account)


def banking():
    rng = world.rng("deposits")
    account = Account.open("acc-1", "ada")
    accounts.save(account)
    for day in range(1, DEPOSITS + 1):
        yield world.timeout(1.0)
        account.deposit(round(rng.uniform(10, 100), 2))
        if day == DEPOSITS // 2:
            account.withdraw(round(account.balance * 0.8, 2))
        accounts.save(account)


world.process(banking())
world.run()
latest = accounts.load("acc-1")
balances = [accounts.load("acc-1", as_of_version=v).balance for v in range(latest.version + 1)]
fig, ax = plt.subplots()
ax.step(range(latest.version + 1), balances, where="post")
ax.set(title="Balance as of each version (one replay per point)", xlabel="stream version",
       ylabel="balance [currency units]")
plt.show()
print(f"balance now: {latest.balance:.2f}; as of day 3.5: {accounts.load('acc-1', as_of_time=3.5).balance:.2f}")


# %% [markdown]
# ## 4. Snapshots: replay cost versus snapshot storage
#
# Replaying is cheap for short streams and expensive for long ones. A **snapshot** stores the state every N events;
# loading starts from the latest snapshot and replays only what came after. The aggregate below receives `HISTORY`
# events, and is loaded after **every** write, so the cost is averaged over all stream lengths, not read at one
# lucky length. **Predict:** with snapshots every 100 events, how many events does a load replay on average, and
# how many snapshots were written?

# %%
def snapshot_costs(snapshot_every):
    """Replay cost of a load after every write, and the snapshots written, for one interval."""
    s = InMemoryEventStore()
    repo = Repository(s, Account, snapshot_every=snapshot_every)
    account = Account.open("big", "ada")
    repo.save(account)
    replays, written, last = [], 0, None
    for _ in range(HISTORY - 1):
        account.deposit(1)
        repo.save(account)
        snap = repo.snapshots.get(account.stream_id)
        if snap is not None and snap[0] != last:
            written, last = written + 1, snap[0]
        repo.events_replayed = 0
        repo.load("big")
        replays.append(repo.events_replayed)
    replays = replays or [0]
    return {"snapshot_every": snapshot_every, "mean_replayed": round(sum(replays) / len(replays), 1),
            "worst_replayed": max(replays), "snapshots_written": written}


cost = pd.DataFrame([snapshot_costs(n) for n in SNAPSHOT_INTERVALS])
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.plot(cost["snapshot_every"], cost["mean_replayed"], "o-", label="mean per load")
left.plot(cost["snapshot_every"], cost["worst_replayed"], "s--", label="worst load")
left.axhline(HISTORY, color=plots.COLORS["faulty"], ls=":", label=f"no snapshot: {HISTORY} (full replay)")
left.set(title="Read cost: events replayed per load", xlabel="snapshot every N events",
         ylabel="events replayed per load [events]", xscale="log", yscale="log")
left.legend(loc="lower right", frameon=True, framealpha=1)
right.bar([str(n) for n in cost["snapshot_every"]], cost["snapshots_written"], color=plots.COLORS["good"])
for i, n in enumerate(cost["snapshots_written"]):
    right.annotate(str(n), (i, n), ha="center", va="bottom")
right.set(title="Write cost: snapshots written", xlabel="snapshot every N events",
          ylabel="snapshots written [count]")
right.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
fig.suptitle(f"The snapshot trade-off for a {HISTORY}-event aggregate")
plt.show()
print(cost.to_string(index=False))

# %%
fine, coarse = cost.to_dict("records")[0], cost.to_dict("records")[-1]
claim("a longer interval replays more per load (left panel rises)",
      cost["mean_replayed"].is_monotonic_increasing and coarse["mean_replayed"] > fine["mean_replayed"],
      f"every {fine['snapshot_every']}: {fine['mean_replayed']} events, "
      f"every {coarse['snapshot_every']}: {coarse['mean_replayed']} events on average")
claim("... and writes fewer snapshots (right panel falls)",
      cost["snapshots_written"].is_monotonic_decreasing
      and coarse["snapshots_written"] <= fine["snapshots_written"],
      f"{fine['snapshots_written']} vs {coarse['snapshots_written']} snapshots")
claim("no load replays more than N - 1 events after its snapshot",
      (cost["worst_replayed"] <= cost["snapshot_every"] - 1).all(),
      ", ".join(f"N={n}: worst {w}" for n, w in zip(cost["snapshot_every"], cost["worst_replayed"], strict=True)))

# %% [markdown]
# Neither end is free: snapshots every 10 events make loads cheap but write a snapshot for every tenth event;
# every 500 writes almost none but a load replays hundreds of events. On average a load replays about half the
# interval (at most N − 1) — in exchange for a snapshot every N writes (and for keeping snapshots in step with
# the code that reads them).

# %% [markdown]
# ## 5. Upcasting: old events in a new shape
#
# Events are immutable, but their schema evolves. `money.deposited` started as `{"amount": 10}` (v1), gained a
# currency (v2), then became integer cents (v3). A live system holds all three. **Upcasters** turn each old
# version into the next when it is read, so handlers only know v3.

# %%
upcasters = Upcasters()
upcasters.register("money.deposited", 1, lambda d: {**d, "currency": "EUR"})
upcasters.register("money.deposited", 2,
                   lambda d: {"amount_cents": round(d["amount"] * 100), "currency": d["currency"]})
mixed = InMemoryEventStore()
mixed.append("account-legacy", [
    Event("money.deposited", {"amount": 10}, event_id="d1"),
    Event("money.deposited", {"amount": 5.5, "currency": "USD"}, event_id="d2", event_version=2),
    Event("money.deposited", {"amount_cents": 700, "currency": "EUR"}, event_id="d3", event_version=3),
], NO_STREAM)
rows = []
for stored in mixed.read_stream("account-legacy"):
    shaped = upcasters.upcast(stored)
    rows.append({"stored as": f"v{stored.event_version} {stored.data}",
                 "read as": f"v{shaped.event_version} {shaped.data}"})
print(pd.DataFrame(rows).to_string(index=False))

# %% [markdown]
# ## 6. The SQLite file, read back with pandas
#
# `SqliteEventStore` keeps everything in one append-only table; any SQL tool can read it.

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "orders.db"
    with SqliteEventStore(path) as disk, World(SEED):
        repo = Repository(disk, Order)
        for n, who in enumerate(["ada", "grace", "alan"]):
            o = Order.create(str(n), who, [{"sku": "book", "qty": n + 1, "price": 10.0}])
            o.pay(o.total)
            repo.save(o)
    with sqlite3.connect(path) as db:
        table = pd.read_sql_query(
            "SELECT position - 1 AS position, stream_id, stream_version, event_type, data FROM events",
            db)
print(table.to_string(index=False))


# %% [markdown]
# ## Exercise: fold events into state
#
# Write `balance(events)`: given an account's recorded events in order (`event_type` and `data`), return its
# balance.

# %%
def balance(events):
    # Your code here.
    return None


print(check_balance_fold(balance))


# %% jupyter={"source_hidden": true}
def solution(events):
    total = 0.0
    for e in events:
        if e.event_type == "money.deposited":
            total += e.data["amount"]
        elif e.event_type == "money.withdrawn":
            total -= e.data["amount"]
    return total


print(check_balance_fold(solution))

# %% [markdown]
# ## Try it: a slider
#
# How many events does a load replay, for a snapshot interval of your choice?

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import IntSlider, interact


def show_snapshots(snapshot_every=100):
    c = snapshot_costs(snapshot_every)
    print(f"snapshot every {snapshot_every}: a load replays {c['mean_replayed']} of {HISTORY} events on average; "
          f"{c['snapshots_written']} snapshots written")


_ = interact(show_snapshots, snapshot_every=IntSlider(value=100, min=5, max=1000, step=5))


# %% [markdown]
# ## Exercise 2: an upcaster
#
# Version 1 of `money.deposited` had no currency; version 2 adds `"currency": "EUR"` for old events. Write
# `upcast_v1_to_v2(data)` returning the v2 data. (Stored events are immutable: do not modify `data`.)

# %%
def upcast_v1_to_v2(data):
    # Your code here.
    return None


print(check_upcaster(upcast_v1_to_v2))


# %% jupyter={"source_hidden": true}
def solution_upcast(data):
    return {**data, "currency": "EUR"}


print(check_upcaster(solution_upcast))

# %% [markdown]
# ## What you saw
#
# - A stream replays into the order and the account; the expected version stopped the second clerk.
# - Every past balance was one replay away.
# - Snapshots trade read cost (events replayed per load) against write cost (snapshots written): both panels move
#   in opposite directions, and neither end is free.
# - Upcasters let handlers read three stored versions as one.
#
# | idea | in labsim |
# |---|---|
# | state = fold of events | `Repository.load` replays `read_stream` |
# | optimistic concurrency | `append(..., expected_version)`, `ConcurrencyError`, `append_with_retry` |
# | temporal queries | `load(as_of_version=...)`, `load(as_of_time=...)` |
# | snapshots | `Repository(snapshot_every=N)` |
# | schema evolution | `Upcasters` |
#
# ## Next
#
# `07_event_design.ipynb` — what goes into an event, how its schema evolves while services
# deploy one by one, and how a projection reads a log that concurrent writers fill. Then
# `08_cqrs_lag.ipynb` — read models built from these events, and how stale they are.
