"""The work queue against queueing theory: Erlang C for the mean wait, Little's law."""

import math
import statistics

import pytest

from labsim import ConfigError, ConfigWarning
from labsim.scenarios.queueing import erlang_c, erlang_c_wait, little_law, mmc


def test_erlang_c_known_values():
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lambda).
    assert erlang_c(0.5, 1, 1) == pytest.approx(0.5)
    assert erlang_c_wait(0.5, 1, 1) == pytest.approx(1.0)
    # M/M/2 with lambda = mu = 1: P(wait) = 1/3, Wq = 1/3.
    assert erlang_c(1, 1, 2) == pytest.approx(1 / 3)
    assert erlang_c_wait(1, 1, 2) == pytest.approx(1 / 3)
    # Unstable: infinite wait.
    assert erlang_c_wait(2, 1, 2) == math.inf


@pytest.mark.slow
@pytest.mark.parametrize(
    "lam, mu, c",
    [(0.5, 1.0, 1), (3.0, 1.0, 4), (8.0, 1.0, 10), (15.0, 2.0, 9)],
)
def test_mean_wait_matches_erlang_c(lam, mu, c):
    """Seeded replications; tolerance from their spread.

    Each replication's mean wait is one observation; the mean of 8 of them should be within
    4 standard errors of Erlang C (a 1-in-15,000 false alarm for a normal mean), plus 2 % for
    the small bias the finite warm-up leaves.
    """
    waits = [mmc(lam, mu, c, messages=20_000, seed=s).wait_mean for s in range(8)]
    mean = statistics.fmean(waits)
    sem = statistics.stdev(waits) / math.sqrt(len(waits))
    theory = erlang_c_wait(lam, mu, c)
    assert abs(mean - theory) <= 4 * sem + 0.02 * theory, (mean, theory, sem)


def test_littles_law_holds_on_the_frames():
    result = mmc(8.0, 1.0, 10, messages=30_000, seed=3)
    law = little_law(result.frames["queue.processed"], result.frames["queue.length"])
    # L is sampled every four mean inter-arrival times: thousands of samples of the line.
    assert law["relative_error"] < 0.03, law
    assert law["lambda"] == pytest.approx(8.0, rel=0.03)


def test_littles_law_detects_a_wrong_measurement():
    result = mmc(8.0, 1.0, 10, messages=20_000, seed=3)
    lengths = result.frames["queue.length"].assign(waiting=lambda d: d["waiting"] * 1.5)
    law = little_law(result.frames["queue.processed"], lengths)
    assert law["relative_error"] > 0.3


def test_same_seed_same_run_and_frames_have_one_row_per_message():
    a = mmc(3.0, 1.0, 4, messages=2_000, seed=9)
    b = mmc(3.0, 1.0, 4, messages=2_000, seed=9)
    assert a.wait_mean == b.wait_mean
    assert len(a.frames["queue.processed"]) == 2_000
    assert a.frames["queue.processed"]["consumer"].nunique() == 4


def test_utilisation_at_or_above_one_warns_with_the_value():
    with pytest.warns(ConfigWarning, match=r"rho .* = 1\.250"):
        result = mmc(5.0, 1.0, 4, messages=500, seed=0)
    assert result.erlang_c_wait == math.inf


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"arrival_rate": 0}, "arrival_rate"),
        ({"arrival_rate": -1}, "arrival_rate"),
        ({"service_rate": 0}, "service_rate"),
        ({"consumers": 0}, "consumers"),
        ({"messages": 5}, "messages"),
    ],
)
def test_bad_mmc_parameters(kwargs, parameter):
    args = {"arrival_rate": 1.0, "service_rate": 1.0, "consumers": 2, "messages": 100, **kwargs}
    with pytest.raises(ConfigError) as info:
        mmc(**args)
    assert info.value.parameter == parameter
