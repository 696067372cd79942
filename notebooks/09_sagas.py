# %% [markdown]
# # 09 · Sagas and compensation
#
# **The question:** how does a business transaction that spans four services end all-or-nothing without a
# distributed transaction — even when services crash?
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

check_parameters("09_sagas", globals())  # a bad value stops here, naming the knob and its range

# %%
import matplotlib.pyplot as plt
import networkx as nx
import pandas as pd

from labsim import causal_graph, plots
from labsim.claims import claim
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
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
plots.saga_timeline(calm.frames, ok, axes[0], title=f"Saga {ok}: committed", legend=False)
plots.saga_timeline(calm.frames, undone, axes[1], title=f"Saga {undone}: compensated", legend=False)
legend = {}  # one legend for both panels: each entry once
for ax in axes:
    for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
        legend.setdefault(label, handle)
fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=len(legend), fontsize=8)
fig.subplots_adjust(bottom=0.22, wspace=0.3)
plt.show()
print(calm.frames["sagas"].query("saga == @undone")[["event", "step", "detail"]].to_string(index=False))

# %%
undone_log = calm.frames["sagas"].query("saga == @undone")
done_steps = undone_log.query("event == 'step.succeeded'")["step"].tolist()
compensated = undone_log.query("event == 'compensation.done'")["step"].tolist()
ok_steps = calm.frames["saga_steps"].query("saga == @ok")
claim(f"saga {ok} committed with every command done",
      (ok_steps["outcome"] == "ok").all() and outcomes.set_index("saga").loc[ok, "outcome"] == "committed",
      f"{len(ok_steps)} commands, none failed")
claim(f"saga {undone} compensated its completed steps in reverse order",
      len(compensated) > 0 and compensated == done_steps[::-1][:len(compensated)],
      f"done: {' → '.join(done_steps)}; undone: {' → '.join(compensated)}")

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
recovery_table = pd.DataFrame(rows)
print(recovery_table.to_string(index=False))

# %%
with_log, without_log = recovery_table.iloc[0], recovery_table.iloc[1]
claim("with the saga log no saga ends half done, and money and stock add up",
      with_log["half done"] == 0 and with_log["money and stock conserved"], "0 half done")
claim("a restarted orchestrator that ignores its log leaves sagas half done",
      without_log["half done"] > 0 and not without_log["money and stock conserved"],
      f"{without_log['half done']} of {SAGAS} half done")

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
styles = pd.DataFrame(rows)
print(styles.to_string(index=False))

# %%
msgs = styles.groupby("style")["messages per saga"].mean()
claim("both styles end all-or-nothing, with or without crashes", (styles["half done"] == 0).all(),
      "0 half done in every run")
claim("choreography sends fewer messages per saga than orchestration",
      msgs["choreography"] < msgs["orchestration"],
      f"{msgs['choreography']:.1f} vs {msgs['orchestration']:.1f} on average over the two crash rates")

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
nx.draw_networkx(graph, pos, ax=ax, node_color=plots.COLORS["ok"], node_size=300, with_labels=False)
for node, (x, y) in pos.items():
    ax.annotate(graph.nodes[node].get("event_type", "?"), (x, y), textcoords="offset points",
                xytext=(0, 12), ha="center", fontsize=8)
ax.set_title(f"Choreography: the causal chain of saga {undone}")
ax.set_axis_off()
ax.margins(0.15)
plt.show()
chain = [graph.nodes[n].get("event_type", "?") for n in nx.topological_sort(graph)]
print(" → ".join(chain))

# %%
claim("the chain starts with the order and ends with its outcome",
      chain[0] == "order.created" and chain[-1] in ("order.confirmed", "order.cancelled"),
      f"{chain[0]} … {chain[-1]}, {len(chain)} events")

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

# %%
by = iso.set_index("countermeasure")
claim("with no countermeasure updates are lost and stock is oversold",
      by.loc["none", "lost_updates"] > 0 and by.loc["none", "oversold"] > 0,
      f"{by.loc['none', 'lost_updates']} lost updates, {by.loc['none', 'oversold']} units oversold")
claim("reread and commutative updates stop both, but dirty reads remain",
      (by.loc[["reread", "commutative"], ["lost_updates", "oversold"]] == 0).all().all()
      and by.loc[["reread", "commutative"], "dirty_reads"].sum() > 0,
      f"{by.loc['reread', 'dirty_reads']} + {by.loc['commutative', 'dirty_reads']} dirty reads")
claim("the semantic lock has no anomaly and the longest mean latency",
      (by.loc["semantic-lock", ["lost_updates", "oversold", "dirty_reads"]] == 0).all()
      and by["latency_mean_s"].idxmax() == "semantic-lock",
      f"{by.loc['semantic-lock', 'latency_mean_s']:.2f} s vs at most "
      f"{by.drop('semantic-lock')['latency_mean_s'].max():.2f} s for the others")


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
from matplotlib.ticker import MaxNLocator

from labsim.params import slider


def show_sagas(style="orchestration", crash_rate=CRASH_RATE, recovery=True):
    s = sagas.run(style, SEED, SAGAS, crash_rate, recovery=recovery).summary
    _, ax = plt.subplots(figsize=(6, 3))
    ax.bar(["committed", "compensated", "half done"], [s["committed"], s["compensated"], s["half_done"]],
           color=[plots.COLORS["good"], plots.COLORS["ok"], plots.COLORS["faulty"]])
    ax.set(title=f"{style}, crash rate {crash_rate:.2f}", xlabel="outcome", ylabel="sagas [count]")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
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

# %% [markdown]
# ## What you saw
#
# - A saga is steps with compensations; a failure before the pivot undid the completed steps in reverse order,
#   each decision in the orchestrator's log.
# - With the saga log a crashed orchestrator resumed every saga; without it, sagas ended half done.
# - Choreography sent fewer messages, but its story had to be rebuilt from correlation and causation ids.
# - Concurrent sagas lose updates and oversell without a countermeasure; the semantic lock removed every anomaly,
#   at the price of waiting.
#
# ## Next
#
# `10_outbox_cdc.ipynb` — how a service changes its database and publishes an event without losing either.

# %% [markdown]
# **Build it yourself.** The challenge `saga-orchestrator` gives you the component of this lesson to write;
# labsim grades it under seeded chaos and shrinks any failure to its smallest fault plan (see `14_challenges.ipynb`):
#
#     labsim challenge starter saga-orchestrator > my_saga_orchestrator.py
#     labsim challenge check saga-orchestrator my_saga_orchestrator.py
