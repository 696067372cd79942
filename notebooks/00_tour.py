# %% [markdown]
# # 00 · A tour of labsim
#
# **The question:** how can a simulated distributed system give the same numbers every time you run it, and how
# do you read what it did?
#
# **The lab in ten minutes.** Every lesson that follows is built from the pieces you meet here.
#
# By the end of this notebook you will be able to:
#
# 1. create a `World` from a **seed** and explain why the same seed always gives the same numbers;
# 2. build a small **network**, look at its latency distribution, and read a plot where a **fault** is shaded;
# 3. describe a fault as **data** (a `FaultPlan`) and generate a random one (`chaos`);
# 4. run a **sweep** over a parameter and several seeds, and read the resulting table;
# 5. check your own prediction with a **checking function**.
#
# Run the cells from top to bottom (*Run → Run All Cells*). Change the values in the next cell and run everything again to explore.

# %% tags=["parameters"]
SEED = 42  # every random number in a run derives from this seed
NODES = 4  # nodes in the network (an even number: the partition cuts it into two halves)
RATE = 50.0  # messages per second each node sends
DURATION = 10.0  # seconds of simulated sending
LATENCY_MS = 5.0  # mean one-way latency (exponential)
PARTITION = (3.0, 6.0)  # the network is cut in two halves during this interval (seconds)
SWEEP_LOSSES = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]  # loss probabilities for the sweep
SWEEP_SEEDS = 3  # seeds per loss probability

# %%
from labsim.lessons import check_parameters

check_parameters("00_tour", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt

from labsim import Fault, FaultPlan, World, chaos, plots
from labsim.claims import claim
from labsim.exercises import check_delivered_fraction, check_sends_needed
from labsim.scenarios import network
from labsim.sweep import sweep

plots.use_style()

# %% [markdown]
# ## 1. A World and its seed
#
# A `World` holds the simulated clock, the recorder and **named random streams**. Each stream is derived from the
# pair *(seed, name)*, so the stream called `"network"` gives the same numbers in every run with the same seed —
# and adding another component (with its own stream) never changes them.
#
# **Predict, then run:** will the two lines below print the same three numbers?

# %%
a = World(seed=SEED)
b = World(seed=SEED)
draws_a = [round(a.rng("network").random(), 4) for _ in range(3)]
b.rng("a-new-component").random()  # another component draws first...
draws_b = [round(b.rng("network").random(), 4) for _ in range(3)]
print("world a, stream 'network':", draws_a)
print("world b, stream 'network':", draws_b)
claim("the two worlds draw the same numbers from 'network'", draws_a == draws_b)

# %% [markdown]
# They are equal: the extra draw happened on another stream. This is what makes experiments comparable — two
# variants of a system see the *same* random arrivals and delays and differ only by the change you made.

# %% [markdown]
# ## 2. A network of four nodes
#
# The network scenario has `NODES` nodes, `n1`, `n2`, …; every node sends `RATE` messages per second to a random
# peer. Links add an exponential latency. From `PARTITION[0]` to `PARTITION[1]` seconds the network is **partitioned**:
# the first half of the nodes cannot reach the second half.

# %%
params = network.NetworkParams(
    nodes=NODES,
    rate=RATE,
    duration=DURATION,
    latency_ms=LATENCY_MS,
    partition_start=PARTITION[0],
    partition_end=PARTITION[1],
)
print(network.SCENARIO.fault_plan(params, SEED))

# %%
world = World(SEED)
net = network.build(params, world)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
plots.draw_topology(net, axes[0], title="before the partition")
world.run(until=(PARTITION[0] + PARTITION[1]) / 2)
plots.draw_topology(net, axes[1], title=f"at t = {world.now:g} s (dashed: cut)")
plt.show()

# %% [markdown]
# ## 3. Latency
#
# Every delivery is a row in the `net.deliveries` table: when it was sent and when it arrived. Latency is the
# difference. **Predict:** with an exponential latency of mean 5 ms, is the median above or below 5 ms?

# %%
result = network.run(params, seed=SEED)
deliveries = result.frames["net.deliveries"]
latency = deliveries["time"] - deliveries["sent_at"]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
plots.latency_histogram(latency, axes[0])
plots.latency_cdf(latency, axes[1])
plt.show()
print(f"deliveries: {len(latency)}")
print(f"mean latency: {latency.mean() * 1000:.2f} ms, median: {latency.median() * 1000:.2f} ms, "
      f"p99: {result.summary['latency_p99_ms']:.2f} ms")
claim("the median latency is below the mean", latency.median() < latency.mean(),
      f"{latency.median() * 1000:.1f} vs {latency.mean() * 1000:.1f} ms")
claim("the p99 is several (over 3) times the mean",
      result.summary["latency_p99_ms"] > 3 * latency.mean() * 1000,
      f"{result.summary['latency_p99_ms'] / (latency.mean() * 1000):.1f} times")

# %% [markdown]
# The median is *below* the mean: an exponential distribution has a long right tail, and the p99 is several times
# the mean. Tail latency, not the average, is what users notice.

# %% [markdown]
# ## 4. What a partition does to delivery
#
# The plot shows messages sent and delivered per second; the shaded band is the partition (read from the recorded
# `faults` table, not drawn by hand). **Predict:** during the partition, what share of messages still arrives?

# %%
plots.delivery_over_time(result)
plt.show()
sends = result.frames["net.sends"]
drops = result.frames["net.drops"]
during = sends["time"].between(*PARTITION)
dropped = (drops["reason"] == "partition").sum()
print(f"sent during the partition: {during.sum()}, dropped by it: {dropped}")
print(f"delivered fraction over the whole run: {result.summary['delivered_fraction']:.3f}")
dropped_share = dropped / during.sum()
claim("about two thirds of the messages sent during the partition are dropped",
      abs(dropped_share - 2 / 3) < 0.1, f"{dropped_share:.0%} dropped; two of three peers are cut off")

# %% [markdown]
# About two thirds of the messages sent during the partition are dropped: a node has three peers, and two of them
# are on the other side of the cut. Messages between nodes on the same side still flow.

# %% [markdown]
# ## 5. Same seed, same numbers
#
# A run is a pure function of its parameters and seed. Re-running reproduces every row of every table — a failing
# experiment can be replayed bit for bit. A different seed gives a different (but statistically similar) run.

# %%
again = network.run(params, seed=SEED)
other = network.run(params, seed=SEED + 1)
print("same seed, identical deliveries table:", again.frames["net.deliveries"].equals(deliveries))
print("same seed, same summary:", again.summary == result.summary)
print(f"seed {SEED}: delivered fraction {result.summary['delivered_fraction']:.4f}")
print(f"seed {SEED + 1}: delivered fraction {other.summary['delivered_fraction']:.4f}")

# %% [markdown]
# ## 6. Faults are data
#
# A `FaultPlan` is a list of timed faults you can print, save as YAML and apply to any network. `chaos` generates
# a random plan from a seed: a **fault phase** followed by a **heal phase** in which the system must recover.

# %%
plan = FaultPlan((
    Fault(2.0, "crash", until=4.0, nodes=("n3",)),
    Fault(5.0, "loss", until=7.0, nodes=("n1",), value=0.3),
))
print(plan)
print()
print(plan.to_yaml())
print(chaos(SEED, duration=60, kinds=["partition", "crash", "slow-link"], intensity=0.5,
            nodes=params.node_names))


# %% [markdown]
# ## 7. A sweep: loss probability versus delivered fraction
#
# `sweep(fn, grid, seeds)` runs every combination of the grid with every seed and returns one row per run. Here
# the partition is switched off so only link loss matters. **Predict** the shape of the curve before you run it.

# %%
def delivered_without_partition(p, seed):
    run = network.run(dict(p, partition_start=None, partition_end=None, duration=3.0), seed)
    return {"delivered_fraction": run.summary["delivered_fraction"]}


table = sweep(delivered_without_partition, {"loss": SWEEP_LOSSES}, seeds=range(SWEEP_SEEDS))
by_loss = table.groupby("loss")["delivered_fraction"].agg(["mean", "std"]).reset_index()
fig, ax = plt.subplots()
ax.errorbar(by_loss["loss"], by_loss["mean"], yerr=by_loss["std"], marker="o", capsize=3,
            label=f"simulation (mean ± sd of {SWEEP_SEEDS} seeds)")
ax.plot(by_loss["loss"], 1 - by_loss["loss"], "--", label="theory: 1 − loss")
ax.set(title="Delivered fraction versus loss probability", xlabel="loss probability per message",
       ylabel="delivered fraction")
ax.legend()
plt.show()
print(by_loss.round(4).to_string(index=False))
gap = (by_loss["mean"] - (1 - by_loss["loss"])).abs().max()
claim("the points sit on the line 1 − loss (within 0.05)", gap < 0.05, f"largest gap {gap:.3f}")

# %% [markdown]
# The points sit on the line `1 − loss`: with no retries, every lost message is simply gone. Lesson 03 adds
# retries and acknowledgements, and shows what they cost (duplicates).

# %% [markdown]
# ## 8. Try it: a slider
#
# Move the sliders to change the loss probability and the partition length; the plot re-runs the simulation
# with the same seed each time. (The plain call above used the defaults.)

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import FloatSlider, interact

from labsim.params import slider


def show(loss=0.0, partition_length=3.0):
    start = PARTITION[0]
    run = network.run(params, seed=SEED, loss=loss,
                      partition_start=start if partition_length > 0 else None,
                      partition_end=start + partition_length if partition_length > 0 else None)
    plots.delivery_over_time(run, title=f"loss={loss:.2f}, partition {partition_length:.1f} s: "
                                        f"{run.summary['delivered_fraction']:.1%} delivered")
    plt.show()


# The loss slider's range is the scenario's declared range for `loss`.
_ = interact(show, loss=slider(network.NetworkParams, "loss", value=0.0),
             partition_length=FloatSlider(value=3.0, min=0.0, max=6.0, step=0.5))


# %% [markdown]
# ## Exercise: predict the delivered fraction
#
# In the 4-node network each message is lost with probability `loss`, and for a share `partition_share` of the
# run the network is cut in two halves. Write `my_delivered_fraction(loss, partition_share)` that predicts the
# fraction of messages delivered, then run the cell: the checking function tells you what, if anything, is off.
#
# *Hint:* to which peers can a node still talk during the partition?

# %%
def my_delivered_fraction(loss, partition_share):
    # Replace the next line with your formula.
    return None


print(check_delivered_fraction(my_delivered_fraction))


# %% [markdown] tags=["solution"]
# <details><summary><b>Solution</b> (expand the hidden cell below)</summary>
#
# A message survives the link with probability `1 − loss`. During the partition a random peer is on the other
# side with probability 2/3, so the partition lets through `1 − partition_share · 2/3` of the messages. Both must
# happen, so the probabilities multiply.
# </details>

# %% jupyter={"source_hidden": true}
def solution(loss, partition_share):
    return (1 - loss) * (1 - partition_share * 2 / 3)


print(check_delivered_fraction(solution))
share = (PARTITION[1] - PARTITION[0]) / DURATION
print(f"prediction for this notebook's run: {solution(0.0, share):.3f}, "
      f"simulated: {result.summary['delivered_fraction']:.3f}")


# %% [markdown]
# ## Exercise 2: send it more than once
#
# Each copy of a message is lost independently with probability `loss`. Write `sends_needed(loss, confidence)`:
# the fewest copies to send so that at least one arrives with probability `confidence`.

# %%
def sends_needed(loss, confidence):
    # Your code here.
    return None


print(check_sends_needed(sends_needed))

# %% jupyter={"source_hidden": true}
import math


def solution_sends(loss, confidence):
    return math.ceil(math.log(1 - confidence) / math.log(loss))


print(check_sends_needed(solution_sends))

# %% [markdown]
# ## What you saw
#
# | idea | where it is in labsim |
# |---|---|
# | a seed fixes the whole run | `World(seed)`, `world.rng(name)` |
# | everything observable is a row | `result.frames` (tidy DataFrames) |
# | faults are data | `Fault`, `FaultPlan`, `chaos` |
# | many runs → one table | `labsim.sweep.sweep` |
#
# **Next:** `01_events_and_brokers.ipynb` — the event envelope, queues versus pub/sub, partitions and keys.
