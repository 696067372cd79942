"""Seeded probability distributions for service times, latencies and inter-arrival gaps.

Each distribution is a small immutable object with ``sample(rng)`` (``rng`` is one of the
world's named streams, a :class:`random.Random`) and ``mean``. Parameters are validated on
construction, so ``Exponential(rate=0)`` fails at once with a :class:`~labsim.ConfigError`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from labsim.errors import ConfigError, check_non_negative, check_positive

__all__ = [
    "Constant",
    "Distribution",
    "Empirical",
    "Exponential",
    "LogNormal",
    "Normal",
    "Uniform",
    "as_distribution",
]


class Distribution:
    """Base class: a non-negative random quantity drawn from a named random stream."""

    __slots__ = ()

    def sample(self, rng: random.Random) -> float:  # pragma: no cover - abstract
        """Draw one value using ``rng``."""
        raise NotImplementedError

    @property
    def mean(self) -> float:  # pragma: no cover - abstract
        """The distribution's mean (exact, not estimated)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Constant(Distribution):
    """Always ``value`` (>= 0)."""

    value: float

    def __post_init__(self) -> None:
        check_non_negative("value", self.value, "Constant")

    def sample(self, rng: random.Random) -> float:
        return self.value

    @property
    def mean(self) -> float:
        return float(self.value)


@dataclass(frozen=True, slots=True)
class Exponential(Distribution):
    """Exponential with the given ``rate`` (> 0); mean ``1 / rate``.

    Use :meth:`from_mean` when the mean is the natural figure (a latency of 5 ms).
    """

    rate: float

    def __post_init__(self) -> None:
        check_positive("rate", self.rate, "Exponential")

    @classmethod
    def from_mean(cls, mean: float) -> Exponential:
        """Exponential whose mean is ``mean`` (> 0)."""
        return cls(1.0 / check_positive("mean", mean, "Exponential"))

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(self.rate)

    @property
    def mean(self) -> float:
        return 1.0 / self.rate


@dataclass(frozen=True, slots=True)
class Uniform(Distribution):
    """Uniform on ``[low, high]`` with ``0 <= low <= high``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        check_non_negative("low", self.low, "Uniform")
        check_non_negative("high", self.high, "Uniform")
        if self.high < self.low:
            raise ConfigError("high", self.high, f"a number >= low ({self.low})", "Uniform")

    def sample(self, rng: random.Random) -> float:
        return self.low + (self.high - self.low) * rng.random()

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True, slots=True)
class Normal(Distribution):
    """Normal(``mu``, ``sigma``) truncated at 0 (negative draws are redrawn).

    ``mean`` is the mean of the truncated distribution, which is slightly above ``mu`` when
    ``sigma`` is large compared with ``mu``.
    """

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        check_positive("mu", self.mu, "Normal")
        check_non_negative("sigma", self.sigma, "Normal")

    def sample(self, rng: random.Random) -> float:
        # mu > 0 means each draw is accepted with probability > 1/2: the loop ends quickly.
        while True:
            x = rng.gauss(self.mu, self.sigma)
            if x >= 0:
                return x

    @property
    def mean(self) -> float:
        if self.sigma == 0:
            return float(self.mu)
        alpha = -self.mu / self.sigma
        pdf = math.exp(-alpha * alpha / 2) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(alpha / math.sqrt(2))  # P(Z > alpha)
        return self.mu + self.sigma * pdf / tail


@dataclass(frozen=True, slots=True)
class LogNormal(Distribution):
    """Log-normal: ``exp(Normal(mu, sigma))``; heavy right tail, typical of service times.

    Use :meth:`from_mean_cv` to set it by mean and coefficient of variation.
    """

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        if not isinstance(self.mu, (int, float)) or not math.isfinite(self.mu):
            raise ConfigError("mu", self.mu, "a finite number", "LogNormal")
        check_non_negative("sigma", self.sigma, "LogNormal")

    @classmethod
    def from_mean_cv(cls, mean: float, cv: float) -> LogNormal:
        """Log-normal with the given mean (> 0) and coefficient of variation (>= 0)."""
        check_positive("mean", mean, "LogNormal")
        check_non_negative("cv", cv, "LogNormal")
        sigma2 = math.log(1 + cv * cv)
        return cls(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))

    def sample(self, rng: random.Random) -> float:
        return rng.lognormvariate(self.mu, self.sigma)

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)


@dataclass(frozen=True, slots=True)
class Empirical(Distribution):
    """Resamples uniformly from observed ``values`` (all >= 0, at least one)."""

    values: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        values = tuple(self.values)
        if not values:
            raise ConfigError("values", self.values, "at least one value", "Empirical")
        for v in values:
            check_non_negative("values[...]", v, "Empirical")
        object.__setattr__(self, "values", values)

    def sample(self, rng: random.Random) -> float:
        return self.values[int(rng.random() * len(self.values))]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)


def as_distribution(value: Any, parameter: str = "distribution") -> Distribution:
    """Accept a :class:`Distribution` or a plain number (taken as :class:`Constant`)."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Constant(check_non_negative(parameter, value))
    if isinstance(value, Sequence) and not isinstance(value, str):
        return Empirical(tuple(value))
    raise ConfigError(parameter, value, "a labsim.dists distribution or a number >= 0")
