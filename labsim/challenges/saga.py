"""Challenge (lesson 09): a saga orchestrator with a durable log.

Orders arrive at the orchestrator (node ``orchestrator``). Each is a saga of three steps,
each on its own service: reserve stock (node ``stock``), charge the payment (node
``payment``), ship the order (node ``shipping``); each step has a compensation (release,
refund, cancel the shipment). The payment service rejects orders above :data:`LIMIT`.

The learner's ``Orchestrator`` is told about each new saga (``start``) and is ticked every
:data:`TICK` seconds to move sagas on. Services are called through a client that answers
``"ok"``, ``"rejected"`` or ``"timeout"``: a request cut by a partition (or to a crashed
service) does not run; a reply cut on the way back leaves a step that ran but looks timed
out. Services deduplicate by the request id the learner passes. The orchestrator crashes at
any step: once faults heal, every saga must be fully committed or fully compensated, and no
compensation may be applied twice.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pandas as pd

from labsim.challenges.base import Challenge, Crashed, Durable, Node, Outcome, Target
from labsim.challenges.projection import without_idle
from labsim.checks import CheckResult, check_sagas
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.world import World

__all__ = ["CHALLENGE", "LIMIT", "STEPS"]

#: Seconds between two ticks of the orchestrator.
TICK = 0.05
#: The saga's steps, in order, each named after its service.
STEPS = ("stock", "payment", "shipping")
#: The payment service rejects orders with an amount above this.
LIMIT = 100
#: Seconds of the run in which orders arrive.
ORDER_PHASE = 2.5

STARTER = '''"""Challenge saga-orchestrator (lesson 09): all or nothing through crashes.

Each saga runs three steps in order: "stock", "payment", "shipping". Payment rejects orders
above 100. If a step is rejected, compensate the steps already done, newest first. A call may
time out: the request may or may not have run (retry it, or compensate it: compensating a
step that never ran does nothing). Your orchestrator crashes (``self`` is lost, a new
Orchestrator is built with the same ``log``). Goal: once faults heal, every saga fully
committed or fully compensated; no compensation applied twice.

Check it:  labsim challenge check saga-orchestrator THIS_FILE.py
"""

STEPS = ["stock", "payment", "shipping"]


class Orchestrator:
    def __init__(self, log, services):
        """Each call below is one step (a crash may fall between two of them).

        log.get(key, default=None) / log.put(key, value)   durable values (the saga log)
        with log.transaction(): ...        puts inside happen all or none
        services.do(step, saga_id, request_id)   -> "ok" | "rejected" | "timeout"
        services.undo(step, saga_id, request_id) -> "ok" | "timeout"
        A service runs a request id once: the same id again just answers again.
        """
        self.log = log
        self.services = services
        self.sagas = {}

    def start(self, saga_id, order):
        """A new saga (``order["amount"]``); called again if you crashed during the call."""
        self.sagas[saga_id] = 0

    def tick(self):
        """Called every 50 ms: move the sagas on."""
        for saga_id, i in list(self.sagas.items()):
            if i < len(STEPS):
                answer = self.services.do(STEPS[i], saga_id, f"{saga_id}-{STEPS[i]}")
                if answer == "ok":
                    self.sagas[saga_id] = i + 1
'''


class _Services:
    """The orchestrator's client of the three services (every call is a step)."""

    def __init__(self, node: Node, network: Network, orders: dict[str, dict[str, Any]], rec: Any):
        self._node = node
        self._network = network
        self._orders = orders
        self._rec = rec
        self.answers: dict[tuple[str, str], str] = {}  # (service, request id) -> answer
        self.done: set[tuple[str, str]] = set()  # (saga, step) done at least once
        self.called: set[str] = set()  # sagas some service heard of

    def _call(self, kind: str, step: str, saga_id: str, request_id: Any) -> str:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}: one of {', '.join(STEPS)}")
        self._node.step(kind, f"{saga_id} {step}")
        net = self._network
        net.send("orchestrator", step, (kind, saga_id))
        if not net.node(step).up or net.is_blocked("orchestrator", step):
            return "timeout"
        self.called.add(saga_id)
        key = (step, str(request_id))
        if key not in self.answers:
            answer = "ok"
            if kind == "do" and step == "payment" and self._orders[saga_id]["amount"] > LIMIT:
                answer = "rejected"
            self.answers[key] = answer
            # A new request runs again (a second charge, a second refund); compensating a
            # step that never ran does nothing.
            if answer == "ok" and (kind == "do" or (saga_id, step) in self.done):
                self.done.add((saga_id, step))
                self._rec(self._node.t, saga_id, step, kind, str(request_id))
        if net.is_blocked(step, "orchestrator"):
            return "timeout"
        net.send(step, "orchestrator", self.answers[key])
        return self.answers[key]

    def do(self, step: str, saga_id: str, request_id: Any) -> str:
        return self._call("do", step, saga_id, request_id)

    def undo(self, step: str, saga_id: str, request_id: Any) -> str:
        return self._call("undo", step, saga_id, request_id)


def _run(cls: type, world: World, network: Network, plan: FaultPlan, size: int) -> Outcome:
    effects = world.table("challenge.effects", ("time", "saga", "step", "kind", "request")).add
    orch = Node(world, network, "orchestrator", plan, lambda: None)
    log = Durable(orch)
    orders = {f"s{i}": {"amount": 60 if i % 3 else 150} for i in range(1, size + 1)}
    services = _Services(orch, network, orders, effects)
    orch.make = lambda: cls(log, services)
    waiting: list[str] = []  # sagas whose start call has not returned yet

    def client() -> Generator[Any, Any, None]:
        for saga_id in orders:
            waiting.append(saga_id)
            yield world.timeout(ORDER_PHASE / size)

    ticks: list[tuple[float, float]] = []

    def ticking() -> Generator[Any, Any, None]:
        while True:
            while waiting:
                if orch.call("start", waiting[0], dict(orders[waiting[0]])) is Crashed:
                    return
                waiting.pop(0)
                yield world.timeout(orch.spent())
            if orch.call("tick") is Crashed:
                return
            ticks.append((world.now, world.now + orch.spent()))
            yield world.timeout(orch.spent() + TICK)

    def restart(_node: Any) -> None:
        orch.build()
        orch.node.process(ticking())

    orch.build()
    orch.node.on_restart(restart)
    orch.node.process(ticking())
    world.process(client())
    end = 5.0
    world.run(until=end)
    frames = world.frames()
    frames["challenge.steps"] = without_idle(frames["challenge.steps"], "orchestrator", ticks)
    eff = frames["challenge.effects"]
    rows = []
    for saga_id in orders:
        mine = eff[eff["saga"] == saga_id]
        count = {
            (s, k): int(((mine["step"] == s) & (mine["kind"] == k)).sum())
            for s in STEPS
            for k in ("do", "undo")
        }
        held = {s: count[(s, "do")] - count[(s, "undo")] > 0 for s in STEPS}
        rows.append(
            {
                "saga": saga_id,
                "order_status": "approved" if all(held.values()) else None,
                "reserved": held["stock"],
                "charged": count[("payment", "do")] > 0,
                "refunded": count[("payment", "undo")] >= count[("payment", "do")] > 0,
                "shipped": held["shipping"],
                "done": sum(count[(s, "do")] for s in STEPS),
                "undone": sum(count[(s, "undo")] for s in STEPS),
                "heard": saga_id in services.called,
            }
        )
    outcomes = pd.DataFrame(rows)
    sagas = check_sagas(outcomes)
    over = []
    for (saga_id, step), group in eff.groupby(["saga", "step"]):
        dos, undos = (group["kind"] == "do").sum(), (group["kind"] == "undo").sum()
        if undos > 1 or dos > 1:
            over.append({"saga": saga_id, "step": step, "done": int(dos), "undone": int(undos)})
    twice = CheckResult(
        "applied twice",
        not over,
        pd.DataFrame(over, columns=["saga", "step", "done", "undone"]),
        f"{len(over)} (saga, step) pairs done or compensated more than once",
    )
    figures = {
        "half_done": float(len(sagas.anomalies)),
        "double_compensations": float(sum(max(r["undone"] - 1, 0) for r in over)),
        "double_steps": float(sum(max(r["done"] - 1, 0) for r in over)),
        "never_started": float((~outcomes["heard"]).sum()),
    }
    nodes = ["orchestrator", *STEPS]
    return Outcome(figures, [sagas, twice], frames, nodes, end)


CHALLENGE = Challenge(
    name="saga-orchestrator",
    lesson="09_sagas",
    goal="orchestrate sagas with a durable log through crashes and timeouts",
    invariant="once faults heal, every saga is fully committed or fully compensated; no step "
    "is done twice and no compensation applied twice; every saga is started",
    targets=(
        Target("half_done", "<=", 0, "sagas neither fully committed nor fully compensated"),
        Target("double_compensations", "<=", 0, "compensations applied more than once"),
        Target("double_steps", "<=", 0, "steps done more than once"),
        Target("never_started", "<=", 0, "sagas whose steps were never called"),
    ),
    fault_kinds=("crash", "partition", "one-way-partition"),
    class_name="Orchestrator",
    methods=("start", "tick"),
    starter=STARTER,
    runner=_run,
    nodes=("orchestrator", *STEPS),
    protect=STEPS,
    duration=4.0,
    size=6,
    exhaustive_node="orchestrator",
)
