# %% [markdown]
# # 03 · Delivery semantics, retries, dead letters and idempotency
#
# **Learning objectives.** After this notebook you can:
#
# 1. say what **at-most-once**, **at-least-once** and **exactly-once effects** (at-least-once + an idempotent
#    consumer) each promise, and show each one's failure under the same chaos;
# 2. explain why retries need **backoff with jitter**, from a plot of a retry storm;
# 3. recognise the **poison-message loop** and fix it with a delivery limit and a **dead-letter queue**;
# 4. size an idempotent consumer's **dedupe window**.

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

from labsim import plots
from labsim.exercises import check_backoff, check_quiz
from labsim.metrics import rate_over_time
from labsim.scenarios import delivery, late_duplicate, poison_loop, retry_storm

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
ax = table[["lost", "duplicate effects"]].plot.bar(rot=0, figsize=(8, 3.6), color=["tab:red", "tab:orange"])
ax.set(title=f"Per run of {MESSAGES} orders (mean of {SEEDS} seeds)", xlabel="", ylabel="orders")
plt.show()
print(table.round(3).to_string())

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
# 40 workers call a downstream service that is down from t = 1 s to t = 3 s. Each failed call is retried with
# exponential backoff (0.1 s, 0.2 s, 0.4 s, ...). **Predict:** what does the downstream see when it comes back?

# %%
storms = {jitter: retry_storm.run(jitter, SEED) for jitter in ("none", "full")}
fig, ax = plt.subplots()
for jitter, storm in storms.items():
    per_bin = rate_over_time(storm.frames["attempts"]["time"], bin_width=0.05, end=8.0)
    ax.step(per_bin["time"], per_bin["rate"], where="post", label=f"jitter: {jitter}")
ax.axvspan(1.0, 3.0, color="tab:red", alpha=0.12, lw=0, label="downstream down")
ax.set(title="Calls per second reaching the downstream service", xlabel="time (s)",
       ylabel="calls per second", xlim=(0, 8))
ax.legend()
plt.show()
print(pd.DataFrame([{"jitter": jitter, **storm.summary} for jitter, storm in storms.items()])
      .round(2).to_string(index=False))

# %% [markdown]
# Without jitter, every worker that failed at the same moment retries at the same moment: the calls arrive in
# synchronised waves, and the biggest wave hits the service just as it recovers. Full jitter (a random delay
# between 0 and the backoff) spreads the same retries out and halves the peak.

# %% [markdown]
# ## 3. The poison loop and the dead-letter queue
#
# One message can never be processed (a "poison" message). The worker nacks it **with requeue** — so it goes
# back to the head of the queue and is redelivered at once. **Predict:** how many of the 19 orders behind it are
# processed in 2 s?

# %%
loops = {limit: poison_loop.run(seed=SEED, delivery_limit=limit) for limit in (None, 3)}
print(pd.DataFrame([{"delivery_limit": "none" if limit is None else limit, **result.summary}
                    for limit, result in loops.items()]).to_string(index=False))
fig, ax = plt.subplots()
for limit, result in loops.items():
    amqp = result.frames["amqp"]
    acked = amqp[(amqp["queue"] == "orders") & (amqp["event"] == "acked")]
    ax.step(acked["time"], range(1, len(acked) + 1), where="post",
            label=f"delivery limit {limit}")
ax.set(title="Orders processed behind a poison message", xlabel="time (s)", ylabel="orders acknowledged",
       ylim=(0, 20))
ax.legend()
plt.show()

# %% [markdown]
# Without a limit, the worker spends all its time on the poison message: **head-of-line blocking**, and not one
# order gets through. With a delivery limit of 3 the broker dead-letters it after the third delivery, and the
# queue moves. The dead-letter queue keeps it for a human (or a later fix) to look at.

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
ax.bar(window["delay"].astype(str), window["effects"], color=["tab:green" if e == 1 else "tab:red"
                                                               for e in window["effects"]])
ax.set(title=f"Charges for one payment delivered twice (inbox keeps ids {RETENTION:g} s)",
       xlabel="seconds between the two deliveries", ylabel="charges")
plt.show()
print(window.to_string(index=False))


# %% [markdown]
# Size the window from the longest time a duplicate can still arrive: producer retries, redelivery after a
# consumer crash, replays. When that has no bound, keep the id with the effect itself (a unique key in the
# same database), not in a cache.

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
    ax.bar(["lost", "duplicate effects"], [s["lost"], s["duplicate_effects"]], color=["tab:red", "tab:orange"])
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
# ## Summary
#
# | pattern | protects against | costs |
# |---|---|---|
# | at-least-once (confirms, ack after) | loss | duplicates |
# | idempotent consumer (inbox) | duplicate effects | an id store, a window to size |
# | backoff + jitter | retry storms | slower recovery for some messages |
# | delivery limit + DLQ | poison loops | a queue someone must watch |
