"""The same M/M/c workload four ways: labsim, SimPy (two styles) and Ciw, in one process.

λ=8, μ=1, c=10, 200,000 messages (median of 3 runs each, alternating), plus the peak memory
of a 1,000,000-message labsim run measured in a child process. Prints one JSON line:
``labsim_rate``, ``simpy_rate`` (Resource with c servers, a process per customer — the usual
style), ``simpy_lean_rate`` (one Store, c long-lived consumer processes — the floor),
``ciw_rate``, ``wait_mean``, ``erlang_c``, ``peak_rss_mb`` (every message's row) and
``peak_rss_mb_summary_level`` (``record_level="summary"``: per-phase totals only).

Targets: labsim >= 0.8 x simpy_rate, faster than Ciw, peak memory for 1M messages < 1 GiB,
and < 150 MB at the summary level.

Run: ``.venv/bin/python benchmarks/mmc.py [messages]``
"""

from __future__ import annotations

import random
import resource
import subprocess
import sys
from pathlib import Path

import ciw
import simpy
from _common import emit, rate, rates_interleaved

from labsim.scenarios.queueing import erlang_c_wait, mmc

LAM, MU, C = 8.0, 1.0, 10
MESSAGES = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000


def run_labsim() -> int:
    mmc(LAM, MU, C, MESSAGES, seed=1)
    return MESSAGES


def run_simpy_resource() -> int:
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=C)
    rng = random.Random(1)
    waits = []

    def customer():
        arrived = env.now
        with servers.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(MU))

    def source():
        for _ in range(MESSAGES):
            yield env.timeout(rng.expovariate(LAM))
            env.process(customer())

    env.process(source())
    env.run()
    return len(waits)


def run_simpy_lean() -> int:
    env = simpy.Environment()
    store = simpy.Store(env)
    rng = random.Random(1)
    waits = []

    def consumer():
        while True:
            arrived = yield store.get()
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(MU))

    def source():
        for _ in range(MESSAGES):
            yield env.timeout(rng.expovariate(LAM))
            store.put(env.now)

    for _ in range(C):
        env.process(consumer())
    env.process(source())
    env.run()
    return len(waits)


def run_ciw() -> int:
    ciw.seed(1)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAM)],
        service_distributions=[ciw.dists.Exponential(rate=MU)],
        number_of_servers=[C],
    )
    sim = ciw.Simulation(network)
    # Ciw stops on simulated time: run long enough for about MESSAGES arrivals.
    sim.simulate_until_max_time(MESSAGES / LAM)
    return len(sim.get_all_records())


PEAK_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from _common import peak_rss_kib
from labsim.scenarios.queueing import mmc
mmc(8.0, 1.0, 10, 1_000_000, seed=1, record_level={level!r})
print(peak_rss_kib())
"""


def peak_rss_mb(level: str = "full") -> float:
    """Peak RSS (MB) of a 1,000,000-message run at ``level``, alone in a child process."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT.format(here=str(Path(__file__).parent), level=level)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip()) / 1024


def main() -> None:
    rates = rates_interleaved(
        {
            "labsim_rate": run_labsim,
            "simpy_rate": run_simpy_resource,
            "simpy_lean_rate": run_simpy_lean,
        }
    )
    rates["ciw_rate"] = rate(run_ciw, repeats=1 if MESSAGES > 50_000 else 3)
    result = mmc(LAM, MU, C, MESSAGES, seed=1)
    emit(
        {
            "benchmark": "mmc",
            "messages": MESSAGES,
            **rates,
            "labsim_vs_simpy": rates["labsim_rate"] / rates["simpy_rate"],
            "labsim_vs_lean": rates["labsim_rate"] / rates["simpy_lean_rate"],
            "labsim_vs_ciw": rates["labsim_rate"] / rates["ciw_rate"],
            "wait_mean": result.wait_mean,
            "erlang_c": erlang_c_wait(LAM, MU, C),
            "peak_rss_mb": peak_rss_mb(),
            "peak_rss_mb_summary_level": peak_rss_mb("summary"),
            "this_process_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


if __name__ == "__main__":
    main()
