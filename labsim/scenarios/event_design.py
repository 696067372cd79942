"""Event design (lesson 07): the commit-order gap, and schema changes in a rolling deploy.

Two scenarios of the one shape:

* ``commit-gap`` (:data:`SCENARIO`): concurrent writers append to a global log whose
  positions are taken at transaction begin and become visible at commit
  (:mod:`labsim.eventsourcing.gap`); three readers follow it — naive (checkpoint = highest
  position seen), high-water mark, gap timeout — and the summary counts what each missed.
* ``rolling-deploy`` (:data:`DEPLOY`): producers and consumers upgraded from v1 to v2 of
  ``order.placed`` one instance at a time (:mod:`labsim.eventsourcing.schema`); the summary
  counts the events that went to the dead-letter queue and, per (event version, consumer
  version) pair, the fraction read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.dists import Exponential
from labsim.eventsourcing.gap import READERS, missed_events, simulate
from labsim.eventsourcing.schema import EVOLUTIONS, ORDERS, POLICIES, rolling_deploy
from labsim.metrics import percentiles
from labsim.params import Params, param
from labsim.scenarios.base import Scenario
from labsim.world import World, ms

__all__ = [
    "DEPLOY",
    "SCENARIO",
    "CommitGapParams",
    "CommitGapScenario",
    "RollingDeployParams",
    "RollingDeployScenario",
    "compatibility_matrix",
    "figures",
    "run",
    "run_deploy",
]

_KEY = {"naive": "naive", "high-water mark": "high_water", "gap timeout": "gap_timeout"}


@dataclass(frozen=True)
class CommitGapParams(Params):
    """Parameters of the commit-order gap scenario."""

    context = "commit-gap scenario"

    writers: int = param(4, "concurrent writers (1: no concurrency, no gap)", ge=1, le=64)
    events: int = param(
        400, "transactions begun (one event each)", ge=1, le=1_000_000, soft_max=2000
    )
    rate: float = param(
        100.0, "transactions begun per second, all writers", gt=0, le=1e5, unit="1/s"
    )
    commit_ms: float = param(
        20.0,
        "mean time a transaction stays open (exponential)",
        gt=0,
        le=1e5,
        unit="ms",
        step=5.0,
        soft_max=200.0,
    )
    abort_probability: float = param(
        0.02,
        "probability a transaction rolls back (its position stays a hole)",
        ge=0,
        le=1,
        step=0.01,
        soft_max=0.3,
    )
    poll_ms: float = param(10.0, "time between two polls of each reader", gt=0, le=1e5, unit="ms")
    gap_timeout_ms: float = param(
        100.0,
        "gap-timeout reader: how long it waits at a hole before skipping it",
        gt=0,
        le=1e6,
        unit="ms",
        step=10.0,
        soft_max=500.0,
    )
    quiet: float = param(
        2.0,
        "seconds after the last transaction ends, for readers to catch up",
        gt=0,
        le=1e4,
        unit="s",
    )


class CommitGapScenario(Scenario):
    """Concurrent writers, a log with commit-order gaps, and three readers.

    Summary: ``committed``, ``aborted``, and per reader (``naive``, ``high_water``,
    ``gap_timeout``): ``<reader>_missed``, ``<reader>_duplicates``, ``<reader>_delay_p50_ms``
    and ``<reader>_delay_p99_ms`` (commit → applied).
    """

    name = "commit-gap"
    description = "concurrent writers: a naive log reader skips late commits (lesson 07)"
    lesson = "07_event_design"
    Params = CommitGapParams
    summary_tables = ("gap.commits", "gap.applied")
    positional = ("", "events")

    def build(self, p: CommitGapParams, world: World, plan: Any) -> Any:
        return simulate(
            world,
            writers=p.writers,
            events=p.events,
            rate=p.rate,
            commit_time=Exponential.from_mean(ms(p.commit_ms)),
            abort_probability=p.abort_probability,
            poll=ms(p.poll_ms),
            gap_timeout=ms(p.gap_timeout_ms),
            quiet=p.quiet,
        )

    def until(self, p: CommitGapParams) -> None:
        return None  # the readers stop `quiet` seconds after the last transaction ends

    def summarize(self, p: CommitGapParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        commits, applied = frames["gap.commits"], frames["gap.applied"]
        table = missed_events(commits, applied).set_index("reader")
        done = commits[commits["outcome"] == "committed"].set_index("position")["ended_at"]
        out: dict[str, Any] = {
            "committed": len(done),
            "aborted": int((commits["outcome"] == "aborted").sum()),
        }
        for reader in READERS:
            key = _KEY[reader]
            rows = applied[applied["reader"] == reader]
            delay = (rows["time"].to_numpy() - done.reindex(rows["position"]).to_numpy()) * 1000
            pct = percentiles(delay, (50, 99))
            out[f"{key}_missed"] = int(table.loc[reader, "missed"])
            out[f"{key}_duplicates"] = int(table.loc[reader, "duplicates"])
            out[f"{key}_delay_p50_ms"] = round(pct["p50"], 2)
            out[f"{key}_delay_p99_ms"] = round(pct["p99"], 2)
        return out


@dataclass(frozen=True)
class RollingDeployParams(Params):
    """Parameters of the rolling-deploy scenario."""

    context = "rolling-deploy scenario"

    change: str = param(
        "backward",
        "the v1 → v2 change of order.placed, named by the policy it satisfies",
        choices=POLICIES,
    )
    order: str = param("consumers first", "which side is upgraded first", choices=ORDERS)
    producers: int = param(3, "producer instances", ge=1, le=100)
    consumers: int = param(3, "consumer instances", ge=1, le=100)
    rate: float = param(50.0, "events per second, all producers", gt=0, le=1e5, unit="1/s")
    start: float = param(2.0, "when the first instance is upgraded", ge=0, le=1e5, unit="s")
    step: float = param(1.0, "time between two instance upgrades", gt=0, le=1e4, unit="s")
    quiet: float = param(4.0, "seconds after the last upgrade", gt=0, le=1e5, unit="s")


class RollingDeployScenario(Scenario):
    """A v1 → v2 schema change rolled out instance by instance.

    Summary: ``consumed``, ``dead_lettered``, ``dead_letter_fraction``, and the fraction read
    for each pair seen: ``read_v1_by_v1``, ``read_v1_by_v2``, ``read_v2_by_v1``,
    ``read_v2_by_v2`` (NaN when the pair never met in this order of upgrades).
    """

    name = "rolling-deploy"
    description = "schema change in a rolling deploy: what lands in the DLQ (lesson 07)"
    lesson = "07_event_design"
    Params = RollingDeployParams
    summary_tables = ("schema.consumed",)
    positional = ("change",)

    def build(self, p: RollingDeployParams, world: World, plan: Any) -> None:
        rolling_deploy(
            world,
            EVOLUTIONS[p.change],
            order=p.order,
            producers=p.producers,
            consumers=p.consumers,
            rate=p.rate,
            start=p.start,
            step=p.step,
            duration=self.until(p),
        )

    def until(self, p: RollingDeployParams) -> float:
        return p.start + (p.producers + p.consumers) * p.step + p.quiet

    def summarize(
        self, p: RollingDeployParams, frames: Mapping[str, pd.DataFrame]
    ) -> dict[str, Any]:
        rows = frames["schema.consumed"]
        dead = int((rows["outcome"] == "dead-letter").sum())
        out: dict[str, Any] = {
            "consumed": len(rows),
            "dead_lettered": dead,
            "dead_letter_fraction": round(dead / len(rows), 4) if len(rows) else 0.0,
        }
        ok = (
            (rows["outcome"] == "ok")
            .groupby([rows["producer_version"], rows["consumer_version"]])
            .mean()
        )
        for event in (1, 2):
            for consumer in (1, 2):
                value = ok.get((event, consumer), float("nan"))
                out[f"read_v{event}_by_v{consumer}"] = round(float(value), 4)
        return out


def compatibility_matrix(runs: Mapping[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Fraction of events read, per change and (event version → consumer version) pair.

    Args:
        runs: ``(change, order) -> schema.consumed`` frames of rolling-deploy runs.

    Returns:
        One row per change, columns ``"v1 event → v1 consumer"`` ... ``"v2 → v2"`` (pairs
        pooled over the orders given).
    """
    rows = []
    for change in dict.fromkeys(c for c, _ in runs):
        frame = pd.concat([f for (c, _), f in runs.items() if c == change])
        ok = (
            (frame["outcome"] == "ok")
            .groupby([frame["producer_version"], frame["consumer_version"]])
            .mean()
        )
        row: dict[str, Any] = {"change": change}
        for event in (1, 2):
            for consumer in (1, 2):
                value = ok.get((event, consumer), float("nan"))
                row[f"v{event} event → v{consumer} consumer"] = round(float(value), 3)
        rows.append(row)
    return pd.DataFrame(rows).set_index("change")


SCENARIO = CommitGapScenario()
DEPLOY = RollingDeployScenario()
run = SCENARIO.run
figures = SCENARIO.figures
run_deploy = DEPLOY.run
