import math
import statistics

import pytest

from labsim import ConfigError, World
from labsim.dists import (
    Constant,
    Empirical,
    Exponential,
    LogNormal,
    Normal,
    Uniform,
    as_distribution,
)

N = 20_000


def sample_mean(dist, n=N):
    rng = World(seed=3).rng("dist")
    return statistics.fmean(dist.sample(rng) for _ in range(n))


@pytest.mark.parametrize(
    "dist",
    [
        Constant(2.0),
        Exponential(4.0),
        Exponential.from_mean(0.005),
        Uniform(1.0, 3.0),
        Normal(1.0, 0.5),
        Normal(0.2, 1.0),  # heavily truncated: the mean property must account for it
        LogNormal.from_mean_cv(2.0, 0.5),
        Empirical((1.0, 2.0, 6.0)),
    ],
    ids=repr,
)
def test_sample_mean_matches_exact_mean(dist):
    # Tolerance: 5 standard errors of the mean, estimated from the sample itself.
    rng = World(seed=11).rng("d")
    xs = [dist.sample(rng) for _ in range(N)]
    sem = statistics.pstdev(xs) / math.sqrt(N)
    assert all(x >= 0 for x in xs)
    assert abs(statistics.fmean(xs) - dist.mean) <= 5 * sem + 1e-12


@pytest.mark.parametrize(
    "make, parameter",
    [
        (lambda: Exponential(0), "rate"),
        (lambda: Exponential(-1), "rate"),
        (lambda: Exponential.from_mean(0), "mean"),
        (lambda: Constant(-0.1), "value"),
        (lambda: Uniform(2, 1), "high"),
        (lambda: Uniform(-1, 1), "low"),
        (lambda: Normal(-1, 1), "mu"),
        (lambda: Normal(1, -1), "sigma"),
        (lambda: LogNormal(0, -1), "sigma"),
        (lambda: LogNormal.from_mean_cv(-1, 0.5), "mean"),
        (lambda: Empirical(()), "values"),
        (lambda: Empirical((1, -2)), "values"),
        (lambda: as_distribution("fast"), "distribution"),
    ],
)
def test_bad_parameters_raise_config_error_naming_the_parameter(make, parameter):
    with pytest.raises(ConfigError) as info:
        make()
    assert info.value.parameter.startswith(parameter)


def test_as_distribution_accepts_numbers_and_lists():
    assert as_distribution(0.5) == Constant(0.5)
    assert as_distribution([1, 2]).mean == 1.5
    d = Exponential(1.0)
    assert as_distribution(d) is d
