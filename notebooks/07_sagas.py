# %% [markdown]
# # 07 · Sagas and compensation
#
# **Learning objectives.** After this notebook you can:
#
# 1. describe a saga as steps with **compensations**, split by a **pivot** into "can still undo" and "must
#    finish";
# 2. follow a failed saga's **compensation** on a timeline;
# 3. explain how a **saga log** lets a crashed orchestrator resume — and what happens without it;
# 4. compare **orchestration** and **choreography** on latency, messages, failure handling and visibility;
# 5. name the isolation anomalies of concurrent sagas and the countermeasures (**semantic lock** among them).

# %% tags=["parameters"]
SEED = 3  # seed of every run
SAGAS = 100  # orders per run
CRASH_RATE = 0.05  # probability a service crashes while handling a message (fault phase)

# %%
from labsim.lessons import check_parameters

check_parameters("07_sagas", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt
import networkx as nx
import pandas as pd

from labsim import causal_graph, plots
from labsim.exercises import check_compensation_plan, check_quiz
from labsim.sagas import ORDER_SAGA
from labsim.scenarios import saga_isolation, sagas

plots.use_style()

# %% [markdown]
# ## 1. The order saga
#
# Five steps across four services. Before the pivot (the charge) each step can be undone; after it, the saga
# must go forward, retrying until it succeeds.

# %%
print(pd.DataFrame([{"step": s.name, "service": s.service, "action": s.action,
                     "compensation": s.compensation or "-", "kind": s.kind}
                    for s in ORDER_SAGA.steps]).to_string(index=False))

# %% [markdown]
# ## 2. The happy path and a compensation, on a timeline
#
# Without faults: most orders commit; some find the stock exhausted or the card declined and compensate.

# %%
calm = sagas.run("orchestration", SEED, SAGAS, 0.0)
outcomes = sagas.outcomes(calm.frames)
ok = outcomes[outcomes["outcome"] == "committed"]["saga"].iloc[0]
undone = outcomes[(outcomes["outcome"] == "compensated") & outcomes["charged"].eq(False)
                  & outcomes["order_status"].eq("cancelled")]["saga"].iloc[0]
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
plots.saga_timeline(calm.frames, ok, axes[0], title=f"Saga {ok}: committed")
plots.saga_timeline(calm.frames, undone, axes[1], title=f"Saga {undone}: compensated")
plt.show()
print(calm.frames["sagas"].query("saga == @undone")[["event", "step", "detail"]].to_string(index=False))

# %% [markdown]
# The compensated saga failed at a step before the pivot; the orchestrator then ran the compensations of the
# completed steps **in reverse order**, and logged each decision.

# %% [markdown]
# ## 3. Crashes, and recovery from the saga log
#
# Now every service — and the orchestrator — crashes with probability `CRASH_RATE` at each message it handles,
# at a random point (before or after changing its database). **Predict:** with the saga log, how many sagas end
# half done? And if a restarted orchestrator ignored its log?

# %%
rows = []
for recovery in (True, False):
    s = sagas.run("orchestration", SEED, SAGAS, CRASH_RATE, recovery=recovery).summary
    rows.append({"saga log used on restart": recovery, "committed": s["committed"],
                 "compensated": s["compensated"], "half done": s["half_done"],
                 "money and stock conserved": s["conserved"]})
print(pd.DataFrame(rows).to_string(index=False))

# %% [markdown]
# With the log, a restarted orchestrator reads every unfinished saga's stream and resumes at the step it
# stood at; participants recognise re-sent commands by their idempotency key, so nothing is done twice. Without
# it, every saga in flight at a crash is abandoned: reserved stock stays reserved, cards stay charged.
#
# Here is the log of a saga during which a command was sent twice (after a crash or a lost reply), as stored in
# the event store:

# %%
crashy = sagas.run("orchestration", SEED, SAGAS, CRASH_RATE)
retried = crashy.frames["saga_steps"].query("duplicate")["saga"]
example = retried.iloc[0] if len(retried) else crashy.frames["saga_starts"]["saga"].iloc[0]
print(f"saga {example}:")
print(crashy.frames["sagas"].query("saga == @example")[["time", "event", "step"]].round(3)
      .to_string(index=False))
print("\ncommands it received twice (answered from the idempotency store):")
print(crashy.frames["saga_steps"].query("saga == @example and duplicate")[
    ["time", "service", "command"]].round(3).to_string(index=False))

# %% [markdown]
# ## 4. Orchestration versus choreography
#
# In **choreography** there is no conductor: each service reacts to the previous service's event and emits the
# next one (order.created → inventory.reserved → payment.processed → shipping.scheduled → order.confirmed, or
# the failure events that trigger compensation). Each service writes its events to an outbox in the same
# transaction as its change.

# %%
rows = []
for style in sagas.STYLES:
    for crash_rate in (0.0, CRASH_RATE):
        s = sagas.run(style, SEED, SAGAS, crash_rate).summary
        rows.append({"style": style, "crash rate": crash_rate, "half done": s["half_done"],
                     "p50 latency (s)": round(s["latency_p50_s"], 3),
                     "p99 latency (s)": round(s["latency_p99_s"], 3),
                     "messages per saga": round(s["messages_per_saga"], 1)})
print(pd.DataFrame(rows).to_string(index=False))

# %% [markdown]
# Both styles end all-or-nothing. Choreography needs fewer messages (no command/reply pairs) but the flow lives
# in four services' subscriptions: to see one order's story you must rebuild it from correlation and causation
# ids — the causal graph below. The orchestrator's log *is* that story.

# %%
choreo = sagas.run("choreography", SEED, SAGAS, 0.0)
messages = choreo.frames["saga_messages"]
one = messages[messages["correlation_id"] == undone].drop_duplicates("event_id")
graph = causal_graph(one)
fig, ax = plt.subplots(figsize=(8, 3))
pos = {n: (i, 0) for i, n in enumerate(nx.topological_sort(graph))}
nx.draw_networkx(graph, pos, ax=ax, node_color="tab:blue", node_size=300, with_labels=False)
for node, (x, y) in pos.items():
    ax.annotate(graph.nodes[node].get("event_type", "?"), (x, y), textcoords="offset points",
                xytext=(0, 12), ha="center", fontsize=8)
ax.set_title(f"Choreography: the causal chain of saga {undone}")
ax.set_axis_off()
ax.margins(0.15)
plt.show()
print(" → ".join(graph.nodes[n].get("event_type", "?") for n in nx.topological_sort(graph)))

# %% [markdown]
# ## 5. Concurrent sagas: isolation anomalies
#
# Sagas commit step by step, so other sagas see their intermediate states. 200 sagas compete for 100 units; each
# reads the stock, thinks for a moment and writes it back, then charges a card (30 % declined, releasing the
# units). **Predict** what goes wrong with no countermeasure.

# %%
iso = pd.DataFrame([{"countermeasure": c, **saga_isolation.run(c, SEED).summary}
                    for c in saga_isolation.COUNTERMEASURES])
print(iso.round(3).to_string(index=False))


# %% [markdown]
# * **none** — two sagas read the same stock and both write their decrement: **lost updates**, and more units
#   sold than exist (**oversold**).
# * **reread** (re-check before writing) and **commutative** updates ("decrement if enough", applied
#   atomically) stop the lost updates, but a saga can still be turned away by a reservation that is later
#   compensated — a **dirty read**.
# * **semantic lock** — a reservation marks the item *PENDING* and other sagas wait for the outcome: no
#   anomaly, at the price of waiting (mean latency).

# %% [markdown]
# ## Exercise: the compensation plan
#
# Write `to_compensate(steps, failed_index)`: the compensating commands to run, in order, when the step at
# `failed_index` fails (each step has `.compensation`, `None` for pivot/retriable steps).

# %%
def to_compensate(steps, failed_index):
    # Your code here.
    return None


print(check_compensation_plan(to_compensate))


# %% jupyter={"source_hidden": true}
def solution(steps, failed_index):
    return [s.compensation for s in reversed(steps[:failed_index]) if s.compensation]


print(check_compensation_plan(solution))

# %% [markdown]
# ## Try it: sliders
#
# Raise the crash rate and switch the saga log off and on.

# %%
# NBVAL_IGNORE_OUTPUT
from ipywidgets import interact

from labsim.params import slider


def show_sagas(style="orchestration", crash_rate=CRASH_RATE, recovery=True):
    s = sagas.run(style, SEED, SAGAS, crash_rate, recovery=recovery).summary
    _, ax = plt.subplots(figsize=(6, 3))
    ax.bar(["committed", "compensated", "half done"], [s["committed"], s["compensated"], s["half_done"]],
           color=["tab:green", "tab:blue", "tab:red"])
    ax.set(title=f"{style}, crash rate {crash_rate:.2f}", ylabel="sagas")
    plt.show()


# The sliders' ranges are the saga scenario's declared ranges.
_ = interact(show_sagas, style=slider(sagas.SagaParams, "style"),
             crash_rate=slider(sagas.SagaParams, "crash_rate", value=CRASH_RATE),
             recovery=slider(sagas.SagaParams, "recovery"))

# %% [markdown]
# ## Exercise 2: step kinds
#
# Classify each step as `"compensatable"`, `"pivot"` or `"retriable"`.

# %%
answers = {"reserve stock": "", "charge the card": "", "send the confirmation email": ""}
print(check_quiz("step kinds", answers))

# %% jupyter={"source_hidden": true}
print(check_quiz("step kinds", {"reserve stock": "compensatable", "charge the card": "pivot",
                                "send the confirmation email": "retriable"}))
