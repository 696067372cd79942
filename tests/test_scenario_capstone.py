"""The knobs of lesson 15, the capstone, which is built on the joint pipeline (its scenario,
scorecard, costs and design sweeps are tested in tests/test_scenario_pipeline.py)."""

import pytest

from labsim import ConfigError
from labsim.lessons import check_parameters

KNOBS = dict(
    SEED=1,
    PUBLISHING="dual-write",
    TRANSPORT="queue",
    PARTITIONS=4,
    PAYMENT_CONSUMERS=1,
    INVENTORY_CONSUMERS=1,
    INBOX=False,
    COMMIT="after",
    RETRY="none",
    DLQ=False,
    SAGA="orchestration",
    SAGA_LOG=False,
    CHECKPOINT_EVERY=50,
    READ_STRATEGY="none",
    ROBUSTNESS_SEEDS=[1, 2, 3],
    SWEEP_ORDERS=100,
)


@pytest.mark.parametrize(
    "bad",
    [
        {"SAGA": "freestyle"},
        {"PAYMENT_CONSUMERS": 0},
        {"SAGA_LOG": "yes"},
        {"ROBUSTNESS_SEEDS": []},
        {"RETRY": "forever"},
        {"TRANSPORT": "carrier-pigeon"},
    ],
)
def test_lesson_knobs_are_checked(bad):
    check_parameters("15_capstone", KNOBS)
    with pytest.raises(ConfigError) as info:
        check_parameters("15_capstone", {**KNOBS, **bad})
    assert info.value.parameter == next(iter(bad))
