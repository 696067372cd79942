"""Queueing theory baselines: an M/M/c workload through the lab's work queue, and Erlang C.

``mmc(arrival_rate, service_rate, consumers, messages, seed)`` publishes ``messages`` with
Poisson arrivals to one partitionless :class:`~labsim.broker.queue.WorkQueue` served by
``consumers`` competing consumers with exponential processing times. Its ``wait_mean`` (time
from publish to start of processing, after a warm-up of the first 10 % of messages) should
match :func:`erlang_c_wait`; its frames satisfy Little's law.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labsim.broker.queue import WorkQueue
from labsim.dists import Exponential
from labsim.errors import ConfigError, ConfigWarning, check_int, check_positive
from labsim.result import Result, make_params
from labsim.world import World

__all__ = [
    "MMCResult",
    "QueueingParams",
    "erlang_c",
    "erlang_c_wait",
    "figures",
    "little_law",
    "mmc",
    "run",
    "utilisation",
]

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
class MMCResult:
    """Outcome of :func:`mmc`.

    Attributes:
        wait_mean: Mean time from publish to start of processing (after warm-up).
        erlang_c_wait: The theoretical mean wait for the same λ, μ, c.
        utilisation: ρ = λ / (c μ).
        summary: Headline figures.
        frames: ``queue.processed`` (msg_id, consumer, published, started, finished).
    """

    wait_mean: float
    erlang_c_wait: float
    utilisation: float
    summary: dict[str, Any]
    frames: dict[str, pd.DataFrame]


def _sample_length(
    world: World, queue: WorkQueue, interval: float, until_done: int
) -> Generator[Any, Any, None]:
    add = world.table("queue.length", ("time", "waiting"), level="summary").add
    timeout = world.env.timeout
    while queue.completed < until_done:
        add(world.env.now, len(queue))
        yield timeout(interval)


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


def mmc(
    arrival_rate: float, service_rate: float, consumers: int, messages: int = 10_000, seed: int = 0
) -> MMCResult:
    """Run an M/M/c workload through a work queue with competing consumers.

    Args:
        arrival_rate: λ, messages per second (> 0).
        service_rate: μ, messages per second one consumer processes (> 0).
        consumers: c, the number of competing consumers (>= 1).
        messages: Messages to publish (>= 10).
        seed: Seed of the run.

    Warns:
        ConfigWarning: when ρ = λ / (c μ) >= 1 — the queue then grows without bound and the
            mean wait depends on how many messages you send, not on the system.
    """
    check_positive("arrival_rate", arrival_rate, "mmc")
    check_positive("service_rate", service_rate, "mmc")
    check_int("consumers", consumers, 1, "mmc")
    check_int("messages", messages, 10, "mmc")
    rho = utilisation(arrival_rate, service_rate, consumers)
    if rho >= 1:
        warnings.warn(
            f"utilisation rho = arrival_rate / (consumers * service_rate) = {rho:.3f} >= 1: the "
            "queue grows without bound; the mean wait reflects the run length, not a steady state",
            ConfigWarning,
            stacklevel=2,
        )
    world = World(seed)
    queue = WorkQueue(world)
    service = Exponential(service_rate)
    for i in range(consumers):
        queue.add_consumer(f"consumer-{i}", service)
    world.process(_arrivals(world, queue, arrival_rate, messages))
    # Sample the queue length independently of the per-message rows, so Little's law can be
    # checked between two different measurements (time-average length versus lambda * W).
    world.process(_sample_length(world, queue, 4.0 / arrival_rate, messages))
    world.run()
    if queue.completed != messages:
        raise ConfigError("messages", messages, "a run that completes", "mmc")  # pragma: no cover
    frame = world.frame("queue.processed")
    published = frame["published"].to_numpy()
    started = frame["started"].to_numpy()
    msg_ids = frame["msg_id"].to_numpy()
    steady = msg_ids >= int(messages * WARMUP_FRACTION)
    wait = float(np.mean(started[steady] - published[steady]))
    theory = erlang_c_wait(arrival_rate, service_rate, consumers)
    summary = {
        "wait_mean": wait,
        "erlang_c_wait": theory,
        "utilisation": rho,
        "messages": messages,
        "sojourn_mean": float(np.mean(frame["finished"].to_numpy()[steady] - published[steady])),
    }
    frames = {"queue.processed": frame, "queue.length": world.frame("queue.length")}
    return MMCResult(wait, theory, rho, summary, frames)


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


@dataclass(frozen=True)
class QueueingParams:
    """Parameters of the M/M/c scenario (see :func:`mmc`)."""

    arrival_rate: float = 8.0
    service_rate: float = 1.0
    consumers: int = 10
    messages: int = 10_000

    def __post_init__(self) -> None:
        check_positive("arrival_rate", self.arrival_rate, "queueing scenario")
        check_positive("service_rate", self.service_rate, "queueing scenario")
        check_int("consumers", self.consumers, 1, "queueing scenario")
        check_int("messages", self.messages, 10, "queueing scenario")


def run(
    params: QueueingParams | Mapping[str, Any] | None = None, seed: int = 0, **overrides: Any
) -> Result:
    """:func:`mmc` as a scenario: ``run({"arrival_rate": 9}, seed=3)``.

    Summary: ``wait_mean``, ``erlang_c_wait``, ``utilisation``, ``sojourn_mean``,
    ``little_relative_error``.
    """
    p = make_params(QueueingParams, params, overrides)
    r = mmc(p.arrival_rate, p.service_rate, p.consumers, p.messages, seed)
    law = little_law(r.frames["queue.processed"], r.frames["queue.length"])
    summary = {k: v for k, v in r.summary.items() if k != "messages"}
    summary["little_relative_error"] = law["relative_error"]
    return Result("queueing", p, seed, summary, r.frames)


def figures(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``run(params, seed).summary`` for sweeps."""
    return run(dict(params), seed).summary
