"""Queueing theory baselines: an M/M/c workload through the lab's work queue, and Erlang C.

``mmc(arrival_rate, service_rate, consumers, messages, seed)`` publishes ``messages`` with
Poisson arrivals to one partitionless :class:`~labsim.workqueue.WorkQueue` served by
``consumers`` competing consumers with exponential processing times. Its ``wait_mean`` (time
from publish to start of processing, after a warm-up of the first 10 % of messages) should
match :func:`erlang_c_wait`; its frames satisfy Little's law. It is the ``queueing`` scenario
(:data:`SCENARIO`) called with the queue's parameters by position.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labsim.dists import Exponential
from labsim.errors import ConfigError, ConfigWarning, check_int, check_positive
from labsim.faults import FaultPlan
from labsim.params import Params, param
from labsim.result import Result
from labsim.scenarios.base import Scenario
from labsim.workqueue import WorkQueue
from labsim.world import World

__all__ = [
    "SCENARIO",
    "WARMUP_FRACTION",
    "QueueingParams",
    "QueueingScenario",
    "erlang_c",
    "erlang_c_wait",
    "figures",
    "little_law",
    "mmc",
    "run",
    "utilisation",
]

#: Share of the first messages left out of the mean wait (the queue starts empty).
WARMUP_FRACTION = 0.1


def utilisation(arrival_rate: float, service_rate: float, consumers: int) -> float:
    """ρ = λ / (c μ): the fraction of time each consumer is busy in the long run."""
    return arrival_rate / (consumers * service_rate)


def erlang_c(arrival_rate: float, service_rate: float, consumers: int) -> float:
    """Probability that an arriving message has to wait (Erlang C), for ρ < 1."""
    check_positive("arrival_rate", arrival_rate, "erlang_c")
    check_positive("service_rate", service_rate, "erlang_c")
    check_int("consumers", consumers, 1, "erlang_c")
    rho = utilisation(arrival_rate, service_rate, consumers)
    if rho >= 1:
        return 1.0
    a = arrival_rate / service_rate  # offered load in Erlangs
    # Sum in a numerically stable way: term_k = a^k / k!
    term, total = 1.0, 1.0
    for k in range(1, consumers):
        term *= a / k
        total += term
    top = term * a / consumers / (1 - rho)  # a^c / c! / (1 - rho)
    return top / (total + top)


def erlang_c_wait(arrival_rate: float, service_rate: float, consumers: int) -> float:
    """Mean waiting time in an M/M/c queue, ``Wq = C(c, a) / (c μ − λ)`` (∞ when ρ ≥ 1)."""
    if utilisation(arrival_rate, service_rate, consumers) >= 1:
        return math.inf
    return erlang_c(arrival_rate, service_rate, consumers) / (
        consumers * service_rate - arrival_rate
    )


@dataclass(frozen=True)
class QueueingParams(Params):
    """Parameters of the M/M/c scenario (see :func:`labsim.params.describe`)."""

    context = "queueing scenario"

    arrival_rate: float = param(
        8.0, "λ: messages arriving per second (Poisson)", gt=0, le=1e6, unit="1/s"
    )
    service_rate: float = param(
        1.0, "μ: messages one consumer handles per second (exponential)", gt=0, le=1e6, unit="1/s"
    )
    consumers: int = param(10, "c: competing consumers sharing the queue", ge=1, le=10_000)
    messages: int = param(
        10_000, "messages to publish (the first 10 % are warm-up)", ge=10, le=10_000_000
    )

    @property
    def utilisation(self) -> float:
        """ρ = λ / (c μ)."""
        return utilisation(self.arrival_rate, self.service_rate, self.consumers)


def _arrivals(
    world: World, queue: WorkQueue, rate: float, messages: int
) -> Generator[Any, Any, None]:
    rng = world.rng("arrivals")
    timeout = world.env.timeout
    expovariate = rng.expovariate
    publish = queue.publish
    for i in range(messages):
        yield timeout(expovariate(rate))
        publish(i)


def little_law(processed: pd.DataFrame, lengths: pd.DataFrame) -> dict[str, float]:
    """Little's law for the waiting line: L = λ W, from two independent measurements.

    Args:
        processed: Per-message rows (``published``, ``started``): give λ (arrivals per second
            over the run) and W (mean wait).
        lengths: Regular samples of the number of messages waiting (``waiting``): their mean
            is the time-average queue length L.

    Returns:
        ``{"L": ..., "lambda": ..., "W": ..., "lambda_W": ..., "relative_error": ...}``.
    """
    published = processed["published"]
    span = float(lengths["time"].max() - lengths["time"].min())
    if span <= 0 or len(processed) < 2:
        raise ConfigError("lengths", len(lengths), "samples spanning a positive time", "little_law")
    lam = (len(processed) - 1) / float(published.max() - published.min())
    w = float((processed["started"] - published).mean())
    big_l = float(lengths["waiting"].mean())
    return {
        "L": big_l,
        "lambda": lam,
        "W": w,
        "lambda_W": lam * w,
        "relative_error": abs(big_l - lam * w) / (lam * w) if w > 0 else float("nan"),
    }


class QueueingScenario(Scenario):
    """An M/M/c queue: Poisson arrivals, ``consumers`` competing consumers, one work queue.

    Summary figures: ``wait_mean`` (publish to start of processing, after the warm-up),
    ``erlang_c_wait`` (theory for the same λ, μ, c), ``utilisation``, ``sojourn_mean``
    (publish to end of processing) and ``little_relative_error`` (sampled queue length
    against λ W).
    """

    name = "queueing"
    description = "an M/M/c workload through one work queue, against Erlang C (lesson 12)"
    lesson = "12_scaling_and_backpressure"
    Params = QueueingParams
    # queue.processed (one row per message) is recorded at the full level only; at the summary
    # level the per-phase running totals give the same figures in bounded memory.
    summary_tables = ("queue.length", "queue.totals")

    def build(self, p: QueueingParams, world: World, plan: FaultPlan) -> WorkQueue:
        if p.utilisation >= 1:
            warnings.warn(
                f"utilisation rho = arrival_rate / (consumers * service_rate) = "
                f"{p.utilisation:.3f} >= 1: the queue grows without bound; the mean wait "
                "reflects the run length, not a steady state",
                ConfigWarning,
                stacklevel=4,
            )
        queue = WorkQueue(world, phase=_Phase(int(p.messages * WARMUP_FRACTION)))
        service = Exponential(p.service_rate)
        for i in range(p.consumers):
            queue.add_consumer(f"consumer-{i}", service)
        world.process(_arrivals(world, queue, p.arrival_rate, p.messages))
        # Sample every four mean inter-arrival times until the last message is done.
        queue.sample_length(4.0 / p.arrival_rate, lambda: queue.completed < p.messages)
        return queue

    def until(self, p: QueueingParams) -> None:
        return None  # every message is served, then nothing is left to happen

    def finish(self, p: QueueingParams, system: WorkQueue, world: World) -> None:
        system.record_state()

    def summarize(self, p: QueueingParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        processed = frames["queue.processed"]
        totals = frames.get("queue.totals")
        if totals is not None and not totals.empty:  # recorded at every level
            return _summary_from_totals(p, totals, frames["queue.length"])
        published = processed["published"].to_numpy()
        started = processed["started"].to_numpy()
        steady = processed["msg_id"].to_numpy() >= int(p.messages * WARMUP_FRACTION)
        law = little_law(processed, frames["queue.length"])
        return {
            "wait_mean": float(np.mean(started[steady] - published[steady])),
            "erlang_c_wait": erlang_c_wait(p.arrival_rate, p.service_rate, p.consumers),
            "utilisation": p.utilisation,
            "sojourn_mean": float(
                np.mean(processed["finished"].to_numpy()[steady] - published[steady])
            ),
            "little_relative_error": law["relative_error"],
        }


class _Phase:
    """``"warm-up"`` for the first ``warmup`` messages (ids 0, 1, ...), then ``"steady"``."""

    __slots__ = ("warmup",)

    def __init__(self, warmup: int):
        self.warmup = warmup

    def __call__(self, msg_id: int) -> str:
        return "steady" if msg_id >= self.warmup else "warm-up"


def _summary_from_totals(
    p: QueueingParams, totals: pd.DataFrame, lengths: pd.DataFrame
) -> dict[str, Any]:
    """The summary from the per-phase totals, the same at every recording level (the same
    figures as from the per-message rows, up to the order in which the sums are added)."""
    steady = totals[totals["phase"] == "steady"].iloc[0]
    count = int(totals["count"].sum())
    span = float(totals["published_max"].max() - totals["published_min"].min())
    if span <= 0 or count < 2 or lengths.empty:
        raise ConfigError("messages", p.messages, "a run long enough for Little's law", "queueing")
    lam = (count - 1) / span
    w = float(totals["wait_sum"].sum()) / count
    big_l = float(lengths["waiting"].mean())
    return {
        "wait_mean": float(steady["wait_sum"] / steady["count"]),
        "erlang_c_wait": erlang_c_wait(p.arrival_rate, p.service_rate, p.consumers),
        "utilisation": p.utilisation,
        "sojourn_mean": float(steady["sojourn_sum"] / steady["count"]),
        "little_relative_error": abs(big_l - lam * w) / (lam * w) if w > 0 else float("nan"),
    }


SCENARIO = QueueingScenario()
run = SCENARIO.run
figures = SCENARIO.figures


def mmc(
    arrival_rate: float,
    service_rate: float,
    consumers: int,
    messages: int = 10_000,
    seed: int = 0,
    record_level: str = "full",
) -> Result:
    """Run an M/M/c workload through a work queue with competing consumers.

    Args:
        arrival_rate: λ, messages per second (> 0).
        service_rate: μ, messages per second one consumer processes (> 0).
        consumers: c, the number of competing consumers (>= 1).
        messages: Messages to publish (>= 10).
        seed: Seed of the run.
        record_level: ``"full"`` (every message's row) or ``"summary"`` (per-phase totals
            only: the same summary figures, in memory that does not grow with ``messages``).

    Returns:
        The ``queueing`` scenario's :class:`~labsim.result.Result`: ``.wait_mean``,
        ``.erlang_c_wait``, ``.utilisation`` and the other summary figures, and ``.frames``
        with ``queue.processed`` (msg_id, consumer, published, started, finished) and
        ``queue.length`` (time, waiting).

    Warns:
        ConfigWarning: when ρ = λ / (c μ) >= 1 — the queue then grows without bound and the
            mean wait depends on how many messages you send, not on the system.
    """
    return SCENARIO.run(
        seed=seed,
        record_level=record_level,
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        consumers=consumers,
        messages=messages,
    )
