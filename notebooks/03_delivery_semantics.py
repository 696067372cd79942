# %% [markdown]
# # 03 · Delivery semantics, retries, dead letters and idempotency
#
# **The question:** when messages, workers and acknowledgements get lost, can a broker deliver each message
# exactly once — and if not, how do you get each *effect* exactly once?
#
# **Learning objectives.** After this notebook you can:
#
# 1. say what **at-most-once**, **at-least-once** and **exactly-once effects** (at-least-once + an idempotent
#    consumer) each promise, and show each one's failure under the same chaos;
# 2. explain why retries need **backoff with jitter**, from a plot of a retry storm;
# 3. recognise the **poison-message loop** and fix it with a delivery limit and a **dead-letter queue**;
# 4. size an idempotent consumer's **dedupe window**;
# 5. say what Kafka's **idempotent producer** and **transactions** give, and what they do not.

# %% tags=["parameters"]
SEED = 2  # seed of every run (also seeds the chaos plan)
MESSAGES = 500  # orders published per run
SEEDS = 3  # seeds for the comparison table
RETENTION = 10.0  # seconds the inbox remembers a processed message id

# %%
from labsim.lessons import check_parameters

check_parameters("03_delivery_semantics", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from labsim import plots
from labsim.claims import claim
from labsim.exercises import check_backoff, check_quiz
from labsim.metrics import rate_over_time
from labsim.scenarios import brokers, delivery, late_duplicate, poison_loop, retry_storm

plots.use_style()

# %% [markdown]
# ## 1. Three semantics, one chaos plan
#
# A producer publishes `MESSAGES` orders to a queue; three workers charge a card for each. The same seeded chaos
# hits each run: workers crash mid-processing, the link from producer to broker drops 10 % of messages for a
# while, and now and then a worker dies right after charging and before acknowledging.

# %%
print(delivery.default_chaos(delivery.DeliveryParams(messages=MESSAGES), SEED))

# %% [markdown]
# **Predict, then run:** which semantics loses orders? Which charges a card twice? Which does neither?

# %%
rows = []
for semantics in delivery.SEMANTICS:
    for seed in range(SEED, SEED + SEEDS):
        s = delivery.run(semantics, seed, MESSAGES).summary
        rows.append({"semantics": semantics, "seed": seed, "lost": s["lost"],
                     "duplicate effects": s["duplicate_effects"], "p99 latency (s)": s["latency_p99_s"]})
table = pd.DataFrame(rows).groupby("semantics", sort=False)[
    ["lost", "duplicate effects", "p99 latency (s)"]].mean()
ax = table[["lost", "duplicate effects"]].plot.bar(rot=0, figsize=(8, 3.6), color=[plots.COLORS["faulty"], plots.COLORS["warning"]])
ax.set(title=f"Per run of {MESSAGES} orders (mean of {SEEDS} seeds)", xlabel="semantics", ylabel="orders")
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
plt.show()
print(table.round(3).to_string())

# %%
amo, alo, inbox = (table.loc[s] for s in ("at-most-once", "at-least-once", "at-least-once+inbox"))
claim("at-most-once loses orders and never charges twice", amo["lost"] > 0 and amo["duplicate effects"] == 0,
      f"{amo['lost']:.1f} lost per run")
claim("at-least-once loses nothing but charges some cards twice",
      alo["lost"] == 0 and alo["duplicate effects"] > 0, f"{alo['duplicate effects']:.1f} duplicate charges per run")
claim("at-least-once + inbox: no loss, no duplicate", inbox["lost"] == 0 and inbox["duplicate effects"] == 0)

# %% [markdown]
# * **at-most-once** (fire-and-forget publish, ack before processing): anything lost on the wire or in a crashed
#   worker is gone; nothing is ever charged twice.
# * **at-least-once** (publisher confirms with retries, ack after processing): nothing is lost, but a lost confirm
#   makes the producer publish again, and a crash between the charge and the ack makes the broker redeliver —
#   the card is charged twice.
# * **at-least-once + inbox**: the workers record each processed order id together with the charge; a
#   redelivered order is acknowledged without charging again. No loss, no duplicate: *exactly-once effects*.

# %% [markdown]
# ## 2. Retry storms and jitter
#
# 40 workers call a downstream service that is down from t = 1 s to t = 3 s. A worker retries a failed call in
# place with exponential backoff (0.1 s, 0.2 s, 0.4 s, ... — it holds its message meanwhile), while new calls
# queue up behind the busy workers. The service can serve 40 calls per 50 ms (800 per second, four times the
# normal load); a call beyond that fails as **overload** and is retried too. **Predict:** what does the
# downstream see when it comes back, and what does it cost?

# %%
storms = {jitter: retry_storm.run(jitter, SEED) for jitter in ("none", "full")}
capacity = storms["none"].params.capacity
fig, ax = plt.subplots(figsize=(8, 3.6))
for jitter, storm in storms.items():
    per_bin = rate_over_time(storm.frames["attempts"]["time"], bin_width=retry_storm.BIN, end=8.0)
    ax.step(per_bin["time"], per_bin["rate"], where="post", label=f"jitter: {jitter}")
ax.axvspan(1.0, 3.0, color=plots.COLORS["faulty"], alpha=0.12, lw=0, label="downstream down")
ax.axhline(capacity / retry_storm.BIN, color="black", ls="--", lw=1, label="capacity (more calls fail)")
ax.set(title="Calls per second reaching the downstream service", xlabel="time (s)",
       ylabel="calls per second", xlim=(0, 8))
ax.legend(fontsize=8)
plt.show()
print(pd.DataFrame([{"jitter": jitter, **storm.summary} for jitter, storm in storms.items()])
      .round(2).to_string(index=False))


# %%
def peak(storm):
    per_bin = rate_over_time(storm.frames["attempts"]["time"], bin_width=retry_storm.BIN, end=8.0)
    top = per_bin.loc[per_bin["count"].idxmax()]
    return int(top["count"]), float(top["time"])


(none_peak, none_at), (full_peak, full_at) = peak(storms["none"]), peak(storms["full"])
after_recovery = {j: int(s.frames["attempts"]["time"].between(3.0, 3.5).sum()) for j, s in storms.items()}
claim("without jitter the service gets few calls in the first 0.5 s after it recovers",
      after_recovery["none"] < after_recovery["full"],
      f"{after_recovery['none']} vs {after_recovery['full']} calls with full jitter")
claim("the no-jitter wave comes later, over 1 s after recovery, and is the tallest",
      none_at > 4.0 and none_at > full_at and none_peak > full_peak,
      f"{none_peak} calls in 50 ms at {none_at:.2f} s vs {full_peak} at {full_at:.2f} s with full jitter")
claim("the no-jitter wave is above the capacity", none_peak > capacity, f"{none_peak} > {capacity} per 50 ms")
over = {j: s.summary["overloaded"] for j, s in storms.items()}
claim("it costs over three times as many overloaded (failed) calls as full jitter",
      over["none"] > 3 * over["full"], f"{over['none']} vs {over['full']}")

# %% [markdown]
# Without jitter the workers' backoffs stay in lock-step: the workers got stuck together at the start of the
# outage, their retries fail together while it lasts, and their next backoff (1.6 s) runs past the recovery. So
# for a while after t = 3 s the service is up but hardly called, while the backlog grows; then every worker wakes
# at about the same moment, succeeds, and drains the backlog at full speed — the tallest wave, well above the
# capacity. The calls over capacity fail and are retried, in lock-step again. Full jitter (a random delay between
# 0 and the backoff) wakes some workers right after recovery: the backlog starts draining at once, its tallest
# bin comes earlier and is lower, and far fewer calls fail for overload.

# %% [markdown]
# ## 3. The poison loop and the dead-letter queue
#
# One message can never be processed (a "poison" message). The worker nacks it **with requeue** — so it goes
# back to the head of the queue and is redelivered at once. There is **one** worker, with prefetch 1. **Predict:**
# how many of the 19 orders behind it are processed in 2 s?
#
# A delivery limit is a **quorum-queue** feature in RabbitMQ (a classic queue has none), so the run with a limit
# uses a quorum queue. A quorum queue counts the *returns* of a message: with `delivery-limit` N it dead-letters
# the message when it is returned the (N+1)th time — after N + 1 deliveries. (It also puts a returned message at
# the back of the queue, so the orders behind it move even before that.)

# %%
loops = {limit: poison_loop.run(seed=SEED, delivery_limit=limit) for limit in (None, 3)}
print(pd.DataFrame([{"delivery_limit": "none" if limit is None else limit, **result.summary}
                    for limit, result in loops.items()]).to_string(index=False))
fig, ax = plt.subplots()
for limit, result in loops.items():
    amqp = result.frames["amqp"]
    acked = amqp[(amqp["queue"] == "orders") & (amqp["event"] == "acked")]
    end = result.params.duration
    # start at (0, 0) and run to the end of the run, so a line that never rises is drawn too
    times = [0.0, *acked["time"], end]
    counts = [0, *range(1, len(acked) + 1), len(acked)]
    label = "no limit (classic queue)" if limit is None else f"delivery limit {limit} (quorum queue)"
    ax.step(times, counts, where="post", label=label, lw=2 if limit is None else 1.5)
ax.set(title="Orders processed behind a poison message (one worker, prefetch 1)", xlabel="time (s)",
       ylabel="orders acknowledged", xlim=(0, end), ylim=(-0.5, 20))
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
ax.legend()
plt.show()

# %%
stuck, freed = loops[None].summary, loops[3].summary
claim("with no limit (one worker, prefetch 1) not one order gets through in 2 s", stuck["others_processed"] == 0,
      f"the poison message was delivered {stuck['poison_deliveries']} times")
claim("with delivery limit 3 it is dead-lettered after 3 + 1 deliveries",
      freed["poison_deliveries"] == 4 and freed["dead_lettered"] == 1,
      f"{freed['poison_deliveries']} deliveries, {freed['dead_lettered']} dead-lettered")
limited = loops[3].frames["amqp"]
done_at = limited[(limited["queue"] == "orders") & (limited["event"] == "acked")]["time"].max()
claim("... and all 19 orders are processed well within the 2 s", freed["others_processed"] == 19 and done_at < 1.0,
      f"the last at {done_at:.2f} s")

# %% [markdown]
# Without a limit, the worker spends all its time on the poison message: **head-of-line blocking**, and not one
# order gets through — with this one worker and prefetch 1. (With more workers or a larger prefetch, the others
# would take the orders behind it; the poison message would still burn one worker's time forever.) With a
# delivery limit of 3 the quorum queue dead-letters it on its fourth delivery, and the queue moves. The
# dead-letter queue keeps it for a human (or a later fix) to look at.

# %% [markdown]
# ### Checked against a real RabbitMQ
#
# The queue in these runs is a model. To know that its delivery limit is RabbitMQ's, the lab runs one short
# script on the model and on a real RabbitMQ 3.10.8: declare a quorum queue with `x-delivery-limit` 3 and a
# dead-letter exchange, publish one message, and nack it with requeue every time it arrives. The server's trace
# is kept in `data/conformance/`, so this cell needs no server. Read the two columns line by line: the limit
# counts *returns*, so the message is delivered four times (the redeliveries carry `x-delivery-count` 1, 2, 3)
# and the fourth nack sends it to the dead-letter queue. Before the model was checked this way it dead-lettered
# after three deliveries: an off-by-one only the real thing shows.

# %%
from labsim.conformance import side_by_side

trace = side_by_side("quorum_delivery_limit")
left = {column: "{:<44}".format for column in ("model", "server")}
print(trace.loc[6:].to_string(formatters=left, justify="left"))
deliveries = int(trace["server"].str.startswith("c <- m1").sum())
claim(
    f"the model's trace equals {trace.attrs['server']}'s, event for event",
    trace["same"].all(),
    f"{len(trace)} events",
)
claim(
    "with x-delivery-limit 3 the message is delivered 4 times, then dead-lettered",
    deliveries == 4 and trace["server"].iloc[-1].endswith("x-death=delivery_limit@q"),
    f"{deliveries} deliveries",
)

# %% [markdown]
# ## 4. The dedupe window
#
# The inbox cannot remember every id forever; it keeps them for `RETENTION` seconds. A duplicate that arrives
# later than that — say, a producer that resends after a long partition — is charged again.

# %%
window = pd.DataFrame([
    {"delay": delay, **late_duplicate.run(seed=SEED, retention=RETENTION, delay=delay).summary}
    for delay in (1.0, 5.0, 9.0, 11.0, 30.0, 60.0)])
fig, ax = plt.subplots(figsize=(7, 3))
ax.bar(window["delay"].astype(str), window["effects"], color=[plots.COLORS["good"] if e == 1 else plots.COLORS["faulty"]
                                                               for e in window["effects"]])
ax.yaxis.set_major_locator(MaxNLocator(integer=True))
ax.set(title=f"Charges for one payment delivered twice (inbox keeps ids {RETENTION:g} s)",
       xlabel="seconds between the two deliveries (s)", ylabel="charges")
plt.show()
print(window.to_string(index=False))

# %%
inside, outside = window[window["delay"] < RETENTION], window[window["delay"] > RETENTION]
claim("a duplicate inside the window is charged once", (inside["effects"] == 1).all(),
      f"delays {', '.join(f'{d:g}' for d in inside['delay'])} s")
claim("a duplicate later than the window is charged again", (outside["effects"] == 2).all(),
      f"delays {', '.join(f'{d:g}' for d in outside['delay'])} s")

# %% [markdown]
# Size the window from the longest time a duplicate can still arrive: producer retries, redelivery after a
# consumer crash, replays. When that has no bound, keep the id with the effect itself (a unique key in the
# same database), not in a cache.

# %% [markdown]
# ## 5. Can a broker give us exactly once?
#
# *Delivery*, no: a message whose acknowledgement is lost must be sent again (or dropped) — the sender cannot
# tell "it never arrived" from "it arrived and the answer got lost". What brokers offer instead removes the
# duplicates a retry makes, at one hop.
#
# **Kafka's idempotent producer** (`enable.idempotence`, the default since Kafka 3.0): every batch carries the
# producer id and a sequence number per partition, and the broker appends a batch it has already appended only
# once. Below, a producer sends 300 payments while 30 % of the broker's replies are lost, so many requests time
# out and are retried. **Predict:** how many records end up in the topic's log, with and without it?

# %%
produced = pd.DataFrame([brokers.producer_retries(idempotent, seed=SEED) for idempotent in (False, True)])
print(produced.to_string(index=False))

# %%
plain, idem = produced.set_index("idempotent").loc[False], produced.set_index("idempotent").loc[True]
claim("without idempotence, retries after lost replies append duplicates to the log", plain["duplicates"] > 0,
      f"{plain['appended']} records for {plain['sent']} sends, {plain['duplicates']} duplicates")
claim("with the idempotent producer the same retries append each record once",
      idem["duplicates"] == 0 and idem["appended"] == idem["sent"] and idem["retries"] > 0,
      f"{idem['retries']} retries, {idem['appended']} records")


# %% [markdown]
# The producer still retried just as often: idempotence does not stop the retries, it makes them harmless *in
# the log*. It covers one producer session writing to Kafka, nothing else.
#
# **Kafka transactions** (not simulated in this lab) go one step further, *inside Kafka*: a producer writes to
# several partitions and commits the consumer offsets of what it read, all or nothing; consumers with
# `isolation.level=read_committed` never see an aborted write. A read-process-write pipeline from topic to topic
# then has exactly-once effects. What they do **not** give: anything outside Kafka. Charging a card, calling an
# HTTP service or writing to another database is not part of the transaction; a crash after the charge and
# before the commit replays the record, and the card is charged again.
#
# So the precise claim: **exactly-once delivery is impossible; exactly-once *effects* need either an idempotent
# effect (an inbox of processed ids, a unique key, an idempotent producer) or a transaction that spans the effect
# itself** (Kafka transactions when the effect is a Kafka write; one database transaction holding the effect and
# the inbox row — lesson 10's outbox — when it is a database write).

# %% [markdown]
# ## Exercise: an exponential backoff schedule
#
# Write `backoff(attempt, base, cap)`: the delay after failed attempt number `attempt` (1 for the first failure),
# doubling from `base` and never above `cap`. (Jitter is then applied on top of it.)

# %%
def backoff(attempt, base, cap):
    # Your code here.
    return None


print(check_backoff(backoff))


# %% jupyter={"source_hidden": true}
def solution(attempt, base, cap):
    return min(cap, base * 2 ** (attempt - 1))


print(check_backoff(solution))

# %% [markdown]
# ## Try it: sliders
#
# Pick a semantics and turn up the crash-after-effect probability (section 1 used the defaults).

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import interact

from labsim.params import slider


def show_semantics(semantics="at-least-once", crash_after_effect=0.01, loss=0.1):
    s = delivery.run(semantics, SEED, MESSAGES, crash_after_effect=crash_after_effect, loss=loss).summary
    _, ax = plt.subplots(figsize=(5, 3))
    ax.bar(["lost", "duplicate effects"], [s["lost"], s["duplicate_effects"]], color=[plots.COLORS["faulty"], plots.COLORS["warning"]])
    ax.set(title=semantics, ylabel="orders")
    plt.show()


# The sliders' ranges are the scenario's declared ranges.
_ = interact(show_semantics, semantics=slider(delivery.DeliveryParams, "semantics"),
             crash_after_effect=slider(delivery.DeliveryParams, "crash_after_effect", value=0.01),
             loss=slider(delivery.DeliveryParams, "loss", value=0.1))

# %% [markdown]
# ## Exercise 2: which semantics saves you?
#
# For each failure, name the weakest semantics that still gives the right outcome: `"at-most-once"`,
# `"at-least-once"` or `"at-least-once+inbox"`.

# %%
answers = {
    "a worker crashes after charging the card, before acking": "",
    "the producer's publish is lost on the network": "",
    "a worker crashes in the middle of processing, before charging": "",
}
print(check_quiz("semantics", answers))

# %% jupyter={"source_hidden": true}
print(check_quiz("semantics", {
    "a worker crashes after charging the card, before acking": "at-least-once+inbox",
    "the producer's publish is lost on the network": "at-least-once",
    "a worker crashes in the middle of processing, before charging": "at-least-once",
}))

# %% [markdown]
# ## What you saw
#
# | pattern | protects against | costs |
# |---|---|---|
# | at-least-once (confirms, ack after) | loss | duplicates |
# | idempotent consumer (inbox) | duplicate effects | an id store, a window to size |
# | idempotent producer | duplicates in the log from producer retries | nothing worth mentioning (one hop only) |
# | backoff + jitter | retry storms that overload a recovering service | slower recovery for some messages |
# | delivery limit (quorum queue) + DLQ | poison loops | a queue someone must watch |
#
# Exactly-once *delivery* does not exist; exactly-once *effects* come from idempotence or a transaction that
# spans the effect.
#
# **Next:** `04_network_faults.ipynb` — the faults behind all this, and the checkers that catch them.

# %% [markdown]
# **Build it yourself.** The challenges `idempotent-consumer` and `retry-policy` give you the component of this lesson to write;
# labsim grades it under seeded chaos and shrinks any failure to its smallest fault plan (see `14_challenges.ipynb`):
#
#     labsim challenge starter idempotent-consumer > my_idempotent_consumer.py
#     labsim challenge check idempotent-consumer my_idempotent_consumer.py
#     labsim challenge starter retry-policy > my_retry_policy.py
#     labsim challenge check retry-policy my_retry_policy.py
