"""Messages per second through labsim's Network versus a bare SimPy model of the same workload.

Workload: 3 nodes, one sender pushing N messages to one receiver, exponential link latency
(mean 5 ms), no faults. The bare model is a Store per node plus one delay process per
message — what one writes by hand in SimPy. Both run in this process, alternately, and the
JSON line gives each median rate and their ratio (labsim / bare; target >= 0.7).

Run: ``.venv/bin/python benchmarks/network.py [messages]``
"""

from __future__ import annotations

import random
import sys

import simpy
from _common import emit, rates_interleaved

from labsim import Exponential, Network, World, ms

MESSAGES = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
GAP = 1e-4  # seconds between sends


def run_labsim(record_level: str = "full") -> int:
    world = World(seed=1, record_level=record_level)
    net = Network(world, ["a", "b", "c"], latency=Exponential.from_mean(ms(5)))
    received = 0

    def sender():
        for i in range(MESSAGES):
            net.send("a", "b", i)
            yield world.env.timeout(GAP)

    def receiver():
        nonlocal received
        inbox = net.node("b").inbox
        while True:
            yield inbox.get()
            received += 1

    world.process(sender())
    net.node("b").process(receiver())
    world.run()
    assert received == MESSAGES, received
    return received


def run_bare_simpy() -> int:
    env = simpy.Environment()
    rng = random.Random(1)
    inboxes = {n: simpy.Store(env) for n in "abc"}
    received = 0

    def deliver(msg, dst):
        yield env.timeout(rng.expovariate(1 / ms(5)))
        yield inboxes[dst].put(msg)

    def sender():
        for i in range(MESSAGES):
            env.process(deliver(i, "b"))
            yield env.timeout(GAP)

    def receiver():
        nonlocal received
        while True:
            yield inboxes["b"].get()
            received += 1

    env.process(sender())
    env.process(receiver())
    env.run()
    assert received == MESSAGES
    return received


def main() -> None:
    rates = rates_interleaved(
        {"simpy": run_bare_simpy, "full": run_labsim, "summary": lambda: run_labsim("summary")}
    )
    bare, full, summary = rates["simpy"], rates["full"], rates["summary"]
    emit(
        {
            "benchmark": "network",
            "messages": MESSAGES,
            "labsim_rate": full,
            "labsim_summary_level_rate": summary,
            "simpy_rate": bare,
            "ratio": full / bare,
            "ratio_summary_level": summary / bare,
            "target_ratio": 0.7,
        }
    )


if __name__ == "__main__":
    main()
