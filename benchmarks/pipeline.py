"""Joint pipeline: runs per minute at the default size, so a workshop knows what a sweep costs.

Runs the textbook, naive and kafka (textbook on a topic) architectures (default workload:
200 orders under the shared chaos) in turns, with ``record_level="summary"`` as a sweep does,
and reports the median runs per minute of each, SimPy events per order, and the time a
144-design sweep
(:data:`labsim.scenarios.pipeline.compare.DESIGN_SPACE`) takes on one core at that rate.

Run: ``.venv/bin/python benchmarks/pipeline.py [repeats]``
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from _common import emit, rates_interleaved

from labsim.scenarios import pipeline
from labsim.scenarios.pipeline.compare import DESIGN_SPACE, load_architecture
from labsim.sweep import grid_points

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ARCH = Path(__file__).resolve().parents[1] / "data" / "architectures"


def main() -> None:
    designs = {n: load_architecture(ARCH / f"{n}.yaml")[0] for n in ("textbook", "naive")}

    def runner(design: dict) -> object:
        def one() -> int:
            pipeline.run(design, 0, record_level="summary")
            return 1

        return one

    designs["kafka"] = load_architecture(ARCH / "kafka.yaml")[0]
    rates = rates_interleaved({n: runner(d) for n, d in designs.items()}, REPEATS)
    per_minute = {n: r * 60 for n, r in rates.items()}
    # SimPy events per order, counted on one run (env.step calls).
    import simpy

    steps = 0
    original = simpy.Environment.step

    def counting(self: simpy.Environment) -> None:
        nonlocal steps
        steps += 1
        original(self)

    simpy.Environment.step = counting  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        pipeline.run(designs["textbook"], 0, record_level="summary")
        one_run_s = time.perf_counter() - start
    finally:
        simpy.Environment.step = original  # type: ignore[method-assign]
    orders = pipeline.SCENARIO.defaults()["orders"]
    sweep_runs = len(grid_points(DESIGN_SPACE))
    emit(
        {
            "benchmark": "pipeline",
            "orders_per_run": orders,
            "textbook_runs_per_minute": per_minute["textbook"],
            "naive_runs_per_minute": per_minute["naive"],
            "kafka_runs_per_minute": per_minute["kafka"],
            "simpy_events_per_order": steps / orders,
            "simpy_events_per_s": steps / one_run_s,
            "design_space_runs": sweep_runs,
            "design_space_minutes_one_core": sweep_runs / per_minute["textbook"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


if __name__ == "__main__":
    main()
