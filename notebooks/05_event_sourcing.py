# %% [markdown]
# # 05 · Event sourcing
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

check_parameters("05_event_sourcing", globals())  # a bad value stops here, naming the knob and its range

# %%
import sqlite3
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from labsim import Event, World, plots
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
       ylabel="balance")
plt.show()
print(f"balance now: {latest.balance:.2f}; as of day 3.5: {accounts.load('acc-1', as_of_time=3.5).balance:.2f}")


# %% [markdown]
# ## 4. Snapshots: replay cost versus snapshot interval
#
# Replaying is cheap for short streams and expensive for long ones. A **snapshot** stores the state every N events;
# loading starts from the latest snapshot and replays only what came after. **Predict:** how many events does a
# load replay with snapshots every 100 events, for a stream of `HISTORY` events?

# %%
def replayed_per_load(snapshot_every):
    s = InMemoryEventStore()
    repo = Repository(s, Account, snapshot_every=snapshot_every)
    account = Account.open("big", "ada")
    repo.save(account)
    for _ in range(HISTORY - 1):
        account.deposit(1)
        repo.save(account)
    repo.events_replayed = 0
    repo.load("big")
    return repo.events_replayed


cost = pd.DataFrame({"snapshot_every": SNAPSHOT_INTERVALS,
                     "events_replayed": [replayed_per_load(n) for n in SNAPSHOT_INTERVALS]})
fig, ax = plt.subplots()
ax.plot(cost["snapshot_every"], cost["events_replayed"], "o-", label="with snapshots")
ax.axhline(HISTORY, color="tab:red", ls="--", label="no snapshot (full replay)")
ax.set(title=f"Events replayed to load a {HISTORY}-event aggregate", xlabel="snapshot every N events",
       ylabel="events replayed per load", xscale="log", yscale="log")
ax.legend()
plt.show()
print(cost.to_string(index=False))

# %% [markdown]
# A load replays at most N − 1 events after the snapshot — in exchange for storing a snapshot every N writes
# (and for keeping snapshots in step with the code that reads them).

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
    print(f"snapshot every {snapshot_every}: a load replays {replayed_per_load(snapshot_every)} of {HISTORY} events")


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
# ## Summary
#
# | idea | in labsim |
# |---|---|
# | state = fold of events | `Repository.load` replays `read_stream` |
# | optimistic concurrency | `append(..., expected_version)`, `ConcurrencyError`, `append_with_retry` |
# | temporal queries | `load(as_of_version=...)`, `load(as_of_time=...)` |
# | snapshots | `Repository(snapshot_every=N)` |
# | schema evolution | `Upcasters` |
#
# **Next:** `06_cqrs_lag.ipynb` — read models built from these events, and how stale they are.
