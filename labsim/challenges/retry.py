"""Challenge (lesson 03): a retry policy that finishes every call without a retry storm.

Clients (node ``clients``) start one call every :data:`GAP` seconds to a downstream service
(node ``downstream``). A served call takes :data:`CALL` seconds; the downstream admits at most
:data:`CAPACITY` calls per :data:`WINDOW` (a call over capacity is refused at once). It
crashes: every call it is serving fails at that instant, and calls made while it is down are
refused. After a failure the learner's ``RetryPolicy`` (one instance per call, with its own
random stream) says how long to wait before the next attempt.

Targets: every call has succeeded :data:`RECOVER` seconds after the last outage ended
(completion), and no 50 ms window sees more than :data:`BOUND` calls reach the live
downstream (no storm). Backoff without jitter fails the second: the calls that failed
together at the crash retry together, in waves.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import pandas as pd

from labsim.challenges.base import Challenge, LearnerError, Node, Outcome, Target, guard
from labsim.checks import CheckResult
from labsim.errors import is_real
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.world import World

__all__ = ["BOUND", "CALL", "CAPACITY", "CHALLENGE", "GAP", "RECOVER", "WINDOW"]

#: Seconds between two new calls.
GAP = 0.025
#: Seconds a served call takes on the downstream.
CALL = 0.5
#: Seconds a refused attempt takes to fail (connection refused, or over capacity).
REFUSED = 0.002
#: Length of one capacity window, seconds.
WINDOW = 0.05
#: Calls the downstream admits per window.
CAPACITY = 4
#: Storm bound: calls reaching the live downstream per window.
BOUND = 15
#: Seconds after the last outage (or the last new call) by which every call must succeed.
RECOVER = 3.0

STARTER = '''"""Challenge retry-policy (lesson 03): retry without a storm.

Clients start one call every 25 ms to a downstream that admits at most 4 calls per 50 ms
window (more are refused). A served call takes 500 ms. The downstream crashes: the calls it
was serving fail at that instant, and calls made while it is down are refused.

Each call gets its own RetryPolicy (with its own random stream ``rng``). After a failed
attempt the client asks ``delay(attempt)`` how long to wait before attempt number
``attempt`` (2, 3, ...). Return seconds (>= 0), or None to give up on the call.

Goal: every call has succeeded 3 s after the last outage, and no 50 ms window ever sees more
than 15 calls reach the live downstream (no retry storm).

Check it:  labsim challenge check retry-policy THIS_FILE.py
"""


class RetryPolicy:
    def __init__(self, rng):
        """``rng`` is this call's own random stream: rng.random(), rng.uniform(a, b), ..."""
        self.rng = rng

    def delay(self, attempt):
        """Seconds to wait before attempt number ``attempt`` (2 for the first retry)."""
        return 0.01
'''


def _outages(plan: FaultPlan) -> list[tuple[float, float]]:
    """(start, end) of every fault that takes the downstream away (``inf``: never ends)."""
    out = []
    for f in plan:
        hits = f.kind == "crash" and "downstream" in f.nodes
        hits = hits or (f.kind in ("partition", "one-way-partition"))
        if hits:
            out.append((f.at, math.inf if f.until is None else f.until))
    return out


def _run(cls: type, world: World, network: Network, plan: FaultPlan, size: int) -> Outcome:
    table = world.table("challenge.attempts", ("time", "call", "attempt", "live", "result")).add
    done = world.table("challenge.done", ("time", "call", "attempts")).add
    started = world.table("challenge.calls", ("time", "call")).add
    clients = Node(world, network, "clients", plan, lambda: None)
    steps = world.table("challenge.steps", ("time", "node", "step", "detail")).add
    crashes = sorted(f.at for f in plan if f.kind == "crash" and "downstream" in f.nodes)
    admitted: dict[int, int] = {}
    outages = _outages(plan)
    last = max([size * GAP, *(end for _, end in outages)])
    end = last + RECOVER if math.isfinite(last) else 6.0 + size * GAP

    def attempts(t: float, call_id: str, n: int, up: bool, result: str) -> None:
        table(t, call_id, n, up, result)
        steps(t, "clients", "attempt", f"{call_id} #{n} {result}")

    def live() -> bool:
        return network.node("downstream").up and not network.is_blocked("clients", "downstream")

    def attempt(call_id: str, n: int) -> Generator[Any, Any, bool]:
        now = world.now
        if not live():
            attempts(now, call_id, n, False, "refused")
            yield world.timeout(REFUSED)
            return False
        w = int(now / WINDOW + 1e-9)
        if admitted.get(w, 0) >= CAPACITY:
            attempts(now, call_id, n, True, "over capacity")
            yield world.timeout(REFUSED)
            return False
        admitted[w] = admitted.get(w, 0) + 1
        crash = next((c for c in crashes if now < c <= now + CALL), None)
        if crash is not None:
            attempts(now, call_id, n, True, "admitted")
            yield world.timeout(crash - now)
            steps(world.now, "clients", "failed", f"{call_id} #{n} (downstream crashed)")
            return False
        attempts(now, call_id, n, True, "admitted")
        yield world.timeout(CALL)
        return True

    def call(i: int) -> Generator[Any, Any, None]:
        call_id = f"c{i}"
        started(world.now, call_id)
        policy = guard(clients, cls, world.rng(f"retry-{call_id}"))
        n = 1
        while True:
            if (yield from attempt(call_id, n)):
                done(world.now, call_id, n)
                return
            n += 1
            wait = guard(clients, policy.delay, n)
            if wait is None:
                steps(world.now, "clients", "give up", call_id)
                return
            if not is_real(wait) or isinstance(wait, bool) or not wait >= 0:
                raise LearnerError(
                    f"delay({n}) returned {wait!r}: expected seconds (a number >= 0), "
                    "or None to give up"
                )
            yield world.timeout(float(wait))

    def source() -> Generator[Any, Any, None]:
        for i in range(1, size + 1):
            world.process(call(i))
            yield world.timeout(GAP)

    world.process(source())
    world.run(until=end)
    frames = world.frames()
    return _measure(frames, size, end)


def _measure(frames: dict[str, pd.DataFrame], size: int, end: float) -> Outcome:
    calls, done, att = (
        frames["challenge.calls"],
        frames["challenge.done"],
        frames["challenge.attempts"],
    )
    missing = sorted(set(calls["call"]) - set(done["call"]), key=lambda c: int(c[1:]))
    unfinished = CheckResult(
        "completion",
        not missing,
        pd.DataFrame({"call": missing}),
        f"{len(missing)} of {len(calls)} call(s) not done by t={end:.3f} s",
    )
    up = att[att["live"].astype(bool)]
    per = (up["time"] / WINDOW + 1e-9).astype(int).value_counts().sort_index()
    worst = int(per.max()) if len(per) else 0
    over = per[per > BOUND]
    storm = CheckResult(
        "storm",
        over.empty,
        pd.DataFrame(
            {
                "window_start": [round(w * WINDOW, 3) for w in over.index],
                "calls": over.to_numpy(),
            }
        ),
        f"at most {worst} call(s) reached the live downstream in one {WINDOW * 1000:g} ms "
        f"window (bound {BOUND})",
    )
    figures = {"unfinished": float(len(missing)), "storm": float(worst)}
    return Outcome(figures, [unfinished, storm], frames, ["clients", "downstream"], end)


CHALLENGE = Challenge(
    name="retry-policy",
    lesson="03_delivery_semantics",
    goal="retry failed calls so that all finish after an outage, without a retry storm",
    invariant=f"every call succeeds by {RECOVER:g} s after the last outage, and no "
    f"{WINDOW * 1000:g} ms window sees more than {BOUND} calls reach the live downstream",
    targets=(
        Target("unfinished", "<=", 0, f"calls not done {RECOVER:g} s after the last outage"),
        Target("storm", "<=", BOUND, "most calls reaching the live downstream in one window"),
    ),
    fault_kinds=("crash",),
    class_name="RetryPolicy",
    methods=("delay",),
    starter=STARTER,
    runner=_run,
    nodes=("clients", "downstream"),
    protect=("clients",),
    duration=2.0,
    size=48,
    intensity=0.5,
)
