"""The shared ``check_*`` helpers: NumPy numbers pass like Python ones, NaN/inf/bool do not."""

import math
import pickle

import numpy as np
import pytest

from labsim import ConfigError
from labsim.errors import (
    check_choice,
    check_finite,
    check_int,
    check_non_negative,
    check_positive,
    check_probability,
)


@pytest.mark.parametrize("value", [np.int64(3), np.int32(3), np.uint8(3), 3])
def test_check_int_accepts_numpy_integers_and_returns_a_python_int(value):
    result = check_int("n", value, 1)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 3.0, np.float64(3.0), "3", None, -1])
def test_check_int_refuses_bools_floats_text_and_small_values(value):
    with pytest.raises(ConfigError) as info:
        check_int("n", value, 0, "here")
    assert info.value.parameter == "n" and "integer >= 0" in str(info.value)


@pytest.mark.parametrize(
    "check", [check_positive, check_non_negative, check_probability, check_finite]
)
@pytest.mark.parametrize("value", [np.float64(0.5), np.float32(0.5), 0.5, np.int64(1), 1])
def test_real_checks_accept_numpy_numbers_and_return_python_floats(check, value):
    result = check("x", value)
    assert result == float(value) and type(result) is float


@pytest.mark.parametrize(
    "check", [check_positive, check_non_negative, check_probability, check_finite]
)
@pytest.mark.parametrize(
    "value", [math.nan, np.float64("nan"), math.inf, -math.inf, True, np.bool_(False), "0.5"]
)
def test_real_checks_refuse_nan_inf_bools_and_text(check, value):
    with pytest.raises(ConfigError) as info:
        check("x", value, "ctx")
    assert info.value.parameter == "x" and "ctx" in str(info.value)


def test_check_probability_refuses_nan():
    # NaN compares false with everything, so a range test alone lets it through in some
    # forms; the check refuses it explicitly and names the parameter and the range.
    with pytest.raises(ConfigError, match=r"p=nan.*\[0, 1\]"):
        check_probability("p", float("nan"))


def test_check_choice_does_not_read_a_bool_as_a_number_nor_crash_on_unhashables():
    assert check_choice("n", np.int64(2), [1, 2]) == 2
    with pytest.raises(ConfigError, match="one of 1, 2"):
        check_choice("n", True, [1, 2])
    with pytest.raises(ConfigError, match="one of"):
        check_choice("mode", ["a"], {"a", "b"})


def test_config_error_survives_pickling():
    error = ConfigError("rate", -1, "a number > 0", "Exponential")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.parameter == "rate" and copy.context == "Exponential"
