# %% [markdown]
# # 04 · Network faults and the checkers that catch them
#
# **The question:** what does each network fault do to the messages, and how do you *detect* it from what was
# recorded?
#
# **Learning objectives.** After this notebook you can:
#
# 1. name what each network fault does to messages — latency, loss, duplication, reordering, partitions,
#    crashes;
# 2. use a **checker** (a pure function of the recorded frames) to detect each anomaly, and read its report;
# 3. read a **space-time diagram** of a small run.
#
# Every experiment is the tour's 4-node network with one fault switched on. The checkers are the same ones the
# lab's tests use — and each has a test where it *must* find the anomaly.

# %% tags=["parameters"]
SEED = 8  # seed of every run
RATE = 30.0  # messages per second per node
DURATION = 6.0  # seconds of sending
LOSS = 0.1  # loss probability in the loss experiment
DUPLICATE = 0.1  # duplication probability in the duplication experiment

# %%
from labsim.lessons import check_parameters

check_parameters("04_network_faults", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt
import pandas as pd

from labsim import Fault, plots
from labsim.checks import check_delivery, check_order
from labsim.claims import claim
from labsim.exercises import check_quiz, check_reordered_count
from labsim.metrics import rate_over_time
from labsim.scenarios import network

plots.use_style()
base = dict(rate=RATE, duration=DURATION, partition_start=None, partition_end=None)

# %% [markdown]
# ## 1. Latency and a slow link
#
# From t = 2 s to t = 4 s every link of node `n1` is 20 times slower. **Predict:** does anything get lost?

# %%
slow = network.run(base, seed=SEED,
                   extra_faults=(Fault(2.0, "slow-link", 4.0, nodes=("n1",), value=20.0),))
d = slow.frames["net.deliveries"]
fig, ax = plt.subplots()
ax.plot(d["sent_at"], (d["time"] - d["sent_at"]) * 1000, ".", ms=2)
plots.shade_faults(ax, slow.frames["faults"], end=DURATION)
ax.set(title="Latency of each message", xlabel="sent at (s)", ylabel="latency (ms)", yscale="log")
ax.legend(fontsize=8)
plt.show()
slow_check = check_delivery(slow.frames["net.sends"], d)
print(slow_check)

# %%
latency = d["time"] - d["sent_at"]
touches_n1 = (d["src"] == "n1") | (d["dst"] == "n1")
during = d["sent_at"].between(2.0, 3.9)
slow_median = latency[touches_n1 & during].median()
normal_median = latency[~during].median()
claim("the slow link loses nothing", slow_check.valid, slow_check.summary)
claim("latency to or from n1 jumps by an order of magnitude (over 10 times)", slow_median > 10 * normal_median,
      f"median {slow_median * 1000:.0f} vs {normal_median * 1000:.1f} ms")

# %% [markdown]
# A slow link loses nothing — the delivery checker is happy — but latency jumps by an order of magnitude for
# messages to or from `n1`. Timeouts set for the normal case would now fire, and retries would start.

# %% [markdown]
# ## 2. Loss and duplication
#
# The **delivery checker** compares what was sent with what arrived, by message id.

# %%
lossy = network.run(base, seed=SEED, loss=LOSS)
dup = network.run(base, seed=SEED, duplicate=DUPLICATE)
found = {}
for name, run in (("loss", lossy), ("duplication", dup)):
    result = check_delivery(run.frames["net.sends"], run.frames["net.deliveries"])
    found[name] = result.anomalies["anomaly"].value_counts()
    print(f"{name:12}", result)
    print(result.anomalies.head(3).to_string(index=False))
    print()
claim("with loss the checker finds lost messages and no duplicates",
      found["loss"].get("lost", 0) > 0 and found["loss"].get("duplicated", 0) == 0,
      f"{found['loss'].get('lost', 0)} lost")
claim("with duplication it finds duplicates and nothing lost",
      found["duplication"].get("duplicated", 0) > 0 and found["duplication"].get("lost", 0) == 0,
      f"{found['duplication'].get('duplicated', 0)} duplicated")

# %% [markdown]
# ## 3. Reordering
#
# By default links are FIFO. With `reorder=True` each message takes its own random delay, so a later message can
# overtake an earlier one. The **order checker** looks, per sender → receiver channel, for a message arriving
# after one sent later.

# %%
in_order = {}
for reorder in (False, True):
    run = network.run(base, seed=SEED, reorder=reorder)
    in_order[reorder] = check_order(run.frames["net.deliveries"])
    print(f"reorder={reorder!s:5}", in_order[reorder])
claim("FIFO links keep order; reordering links break it", in_order[False].valid and not in_order[True].valid,
      f"{len(in_order[True].anomalies)} reordered arrivals with reorder=True")

# %% [markdown]
# ## 4. A partition and a crash
#
# Both drop messages, for different reasons, and the network records why.

# %%
# At the default DURATION = 6 s: partition from 1.0 to 2.5 s, n3 down from 3.5 to 5.0 s (the times scale with it).
cut = (DURATION / 6, DURATION * 5 / 12)
crash = (DURATION * 7 / 12, DURATION * 5 / 6)
faulty = network.run(base, seed=SEED, partition_start=cut[0], partition_end=cut[1],
                     extra_faults=(Fault(crash[0], "crash", crash[1], nodes=("n3",)),))
ax = plots.delivery_over_time(faulty, title="Delivery with a partition, then a crash of n3")
fsends = faulty.frames["net.sends"]
by_n3 = rate_over_time(fsends.loc[fsends["src"] == "n3", "time"], 0.25, DURATION)
ax.step(by_n3["time"], by_n3["rate"], where="post", color=plots.COLORS["good"], label="sent by n3")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
plt.show()
reasons = faulty.frames["net.drops"]["reason"].value_counts()
print(reasons.to_string())
print(check_delivery(fsends, faulty.frames["net.deliveries"]))

# %%
sent_in_cut = fsends["time"].between(*cut).sum()
cut_share = reasons.get("partition", 0) / sent_in_cut
claim("about two thirds of the traffic sent during the partition is dropped", abs(cut_share - 2 / 3) < 0.15,
      f"{cut_share:.0%} of {sent_in_cut}")
down = faulty.frames["net.drops"].query("reason == 'receiver-down'")
claim("while n3 is down, messages to it are dropped on arrival", len(down) > 0 and (down["dst"] == "n3").all(),
      f"{len(down)} receiver-down drops, all to n3")
before = ((fsends["src"] == "n3") & (fsends["time"] < crash[0])).sum() / crash[0]
after = ((fsends["src"] == "n3") & (fsends["time"] >= crash[0])).sum()
claim("n3 sends nothing from its crash to the end, even after it is back up", after == 0,
      f"{before:.0f} messages/s before, {after} after")

# %% [markdown]
# During the partition about two thirds of the traffic crosses the cut and is dropped (`partition`). While `n3` is
# down, messages *to* it are dropped on arrival (`receiver-down`). And `n3` sends nothing from the crash on (the
# green line falls to zero and stays there): its sender process was interrupted and, in this scenario, is not
# restarted when the node comes back. That is a quarter of the senders; the total "sent" line is too noisy to
# prove it (about 120 random messages per second, counted in quarter-second bins, swing by more than the 30 per
# second n3 stops sending). Plot the sender you suspect, not only the total.

# %% [markdown]
# ## 5. A space-time diagram
#
# Four nodes, a handful of messages, with loss, duplication and reordering on. Time runs down; each arrow is a
# delivery and ends in a dot on its receiver's line; a dashed orange arrow, bent slightly so it does not hide its
# original, is a duplicate copy; a dashed red line stopping short in a cross is a dropped message. Each carries
# its message id.

# %%
small = network.run(dict(nodes=4, rate=3.0, duration=2.0, partition_start=None, partition_end=None,
                         loss=0.15, duplicate=0.15, reorder=True, latency_ms=150.0), seed=SEED)
fig, ax = plt.subplots(figsize=(7, 6))
plots.sequence_diagram(small.frames, ["n1", "n2", "n3", "n4"], ax, until=2.5)
plt.show()
summary = pd.DataFrame({
    "checker": ["delivery", "order"],
    "result": [str(check_delivery(small.frames["net.sends"], small.frames["net.deliveries"])),
               str(check_order(small.frames["net.deliveries"]))],
})
print(summary.to_string(index=False))

# %%
small_delivery = check_delivery(small.frames["net.sends"], small.frames["net.deliveries"])
kinds = small_delivery.anomalies["anomaly"].value_counts()
copies = small.frames["net.deliveries"].query("copy == 1")["msg_id"].nunique()  # messages with a copy
claim("the delivery checker lists every orange copy as a duplicate", kinds.get("duplicated", 0) == copies,
      f"{copies} copies drawn, {kinds.get('duplicated', 0)} duplicated")
claim("... and every red cross as lost", kinds.get("lost", 0) == len(small.frames["net.drops"]),
      f"{len(small.frames['net.drops'])} drops drawn, {kinds.get('lost', 0)} lost")


# %% [markdown]
# ## Exercise: count reordered arrivals
#
# Write `reordered(seqs)`: given the sequence numbers of one channel's messages *in arrival order*, count the
# arrivals that came after a message sent later (a repeated number is a duplicate, not a reordering).

# %%
def reordered(seqs):
    # Your code here.
    return None


print(check_reordered_count(reordered))


# %% jupyter={"source_hidden": true}
def solution(seqs):
    highest, count = None, 0
    for s in seqs:
        if highest is not None and s < highest:
            count += 1
        highest = s if highest is None else max(highest, s)
    return count


print(check_reordered_count(solution))

# %% [markdown]
# ## Try it: sliders
#
# Change loss and duplication, switch reordering on, and read the checkers' verdicts.

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import interact

from labsim.params import slider


def show_checks(loss=0.0, duplicate=0.0, reorder=False):
    run = network.run(base, seed=SEED, loss=loss, duplicate=duplicate, reorder=reorder)
    print(check_delivery(run.frames["net.sends"], run.frames["net.deliveries"]))
    print(check_order(run.frames["net.deliveries"]))


# The sliders' ranges are the network scenario's declared ranges.
_ = interact(show_checks, loss=slider(network.NetworkParams, "loss", value=0.0),
             duplicate=slider(network.NetworkParams, "duplicate", value=0.0),
             reorder=slider(network.NetworkParams, "reorder", value=False))

# %% [markdown]
# ## Exercise 2: which checker?
#
# For each symptom, name the checker that reports it: `"check_delivery"` or `"check_order"`.

# %%
answers = {"a message never arrives": "", "a message arrives twice": "", "a later message arrives first": ""}
print(check_quiz("checkers", answers))

# %% jupyter={"source_hidden": true}
print(check_quiz("checkers", {"a message never arrives": "check_delivery",
                              "a message arrives twice": "check_delivery",
                              "a later message arrives first": "check_order"}))

# %% [markdown]
# ## What you saw: what catches what
#
# | fault | symptom | checker |
# |---|---|---|
# | latency, slow link | late messages, timeouts | latency percentiles (no loss) |
# | loss, partition, crash | messages never arrive | `check_delivery` → *lost* |
# | duplication | a message arrives twice | `check_delivery` → *duplicated* |
# | reordering | later message first | `check_order` |
#
# A crashed sender that never restarts shows up in its own send rate, not in the total.
#
# **Next:** `05_rabbitmq_and_brokers.ipynb` — RabbitMQ's exchanges, prefetch and dead-lettering,
# and Kafka, RabbitMQ and a cloud queue compared on one workload. Then
# `06_event_sourcing.ipynb` — storing state as a log of events, and rebuilding it.
