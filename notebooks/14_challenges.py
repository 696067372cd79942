# %% [markdown]
# # 14 · Challenges: bring your own component
#
# **Can you write a component that survives chaos?** Until now you turned knobs. Here you write the component, and
# labsim grades it: it runs your class under many seeded chaos plans, and when something breaks it hands back the
# *smallest* fault plan that still breaks it, the command that replays exactly that case, and a drawing.
#
# By the end of this notebook you will be able to:
#
# 1. list the challenges and print a starter file;
# 2. read a failing report: the broken target, the checker's words, the shrunk plan and its trace;
# 3. replay a shrunk case bit for bit and draw it;
# 4. fix the component and see every target hold.

# %% tags=["parameters"]
SEED = 0  # first seed of the chaos plans
SEEDS = 20  # seeded chaos plans each check tries

# %%
from labsim.lessons import check_parameters

# A bad value stops here, naming the knob and its range.
check_parameters("14_challenges", globals())

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from labsim import plots
from labsim.challenges import CHALLENGES, check, starter

plots.use_style()

# %% [markdown]
# ## 1. The ladder
#
# Each challenge belongs to a lesson, names one class to write and states its invariant and numeric targets. From
# a terminal: `labsim challenge list`, `labsim challenge starter NAME`, `labsim challenge check NAME FILE.py`.

# %%
for name, ch in CHALLENGES.items():
    print(f"{name:<20} {ch.lesson:<24} {ch.goal}")

# %% [markdown]
# ## 2. A first attempt: a dedupe window that forgets
#
# The idempotent consumer of lesson 03 sits behind an at-least-once broker. Here is its starter:

# %%
print(starter("idempotent-consumer"))

# %% [markdown]
# A common first attempt remembers the ids it has seen, but only the last two. **Predict, then run:** which fault
# breaks it, and how many faults does the shrunk plan need?

# %%
ATTEMPT = """
class Consumer:
    def __init__(self, store):
        self.store = store

    def handle(self, message):
        with self.store.transaction():
            window = self.store.get("window", [])
            if message.msg_id in window:
                return
            self.store.apply(message.msg_id, message.data["amount"])
            self.store.put("window", (window + [message.msg_id])[-2:])
"""
Path("my_consumer.py").write_text(ATTEMPT)
result = check("idempotent-consumer", "my_consumer.py", seeds=SEEDS, seed=SEED)
print(result.text)

# %% [markdown]
# The report names the broken target and the checker's anomaly rows, then the plan shrunk by delta debugging:
# faults removed, shortened and the message count cut for as long as the same target still failed. Removing any
# single fault of that plan makes the run pass. The trace shows why: a message came back (a lost ack, a duplicate copy or a crash before the ack)
# after the window had moved on, and its effect was applied twice.

# %%
print("faults in the first failing plan:", len(result.report.original.plan))
print("faults in the shrunk plan:", len(result.plan))
print("claim: the shrunk plan is smaller:", len(result.plan) < len(result.report.original.plan))

# %% [markdown]
# ## 3. Replay it, and draw it
#
# The replay command in the report runs exactly this case again: the same seed, the plan saved as YAML and the
# same message count. In Python:

# %%
case = result.failure
case.plan.save("PLAN.yaml")
again = check(
    "idempotent-consumer", "my_consumer.py", seed=case.seed, plan=case.plan, messages=case.size
)
print("replayed figures equal:", again.failure.outcome.figures == case.outcome.figures)

# %%
result.draw()
plt.show()

# %% [markdown]
# ## 4. The fix
#
# Store the id of every applied message in the *same transaction* as its effect, and never forget it: a crash
# before the commit loses both, a crash after it keeps both.

# %%
FIX = """
class Consumer:
    def __init__(self, store):
        self.store = store

    def handle(self, message):
        key = f"seen:{message.msg_id}"
        with self.store.transaction():
            if self.store.get(key):
                return
            self.store.apply(message.msg_id, message.data["amount"])
            self.store.put(key, True)
"""
Path("my_consumer.py").write_text(FIX)
fixed = check("idempotent-consumer", "my_consumer.py", seeds=SEEDS, seed=SEED)
print(fixed.text)

# %% [markdown]
# Chaos samples crash times; `exhaustive=True` instead places a crash after every step of the consumer, for 1 to
# 5 messages. The fix survives every placement:

# %%
every = check("idempotent-consumer", "my_consumer.py", exhaustive=True)
print(f"{every.report.runs} crash placements, passed: {every.passed}")

# %% [markdown]
# ## What you saw
#
# | step | what labsim gave you |
# |---|---|
# | failing check | the broken target, the checker's rows, a fault plan shrunk to what matters |
# | replay | the same case bit for bit from seed, plan and message count |
# | fix | every target held under every seeded plan and every crash placement |
#
# **Next:** `labsim challenge starter outbox-relay` and `labsim challenge starter cart-crdt`; the reference
# solutions are in `notebooks/solutions/challenges/`.

# %%
for name in ("my_consumer.py", "PLAN.yaml"):
    Path(name).unlink()
