from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pandas as pd
import pytest

from labsim import ConfigError
from labsim.scenarios import network
from labsim.sweep import grid_points, sweep

GRID = {"loss": [0.0, 0.3], "duration": [2.0]}


def test_grid_points_is_the_cartesian_product_in_order():
    assert grid_points({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]


def test_serial_sweep_has_one_row_per_run_with_params_seed_and_figures():
    frame = sweep(network.figures, GRID, seeds=[1, 2], progress=False)
    assert list(frame.columns[:3]) == ["loss", "duration", "seed"]
    assert len(frame) == 4
    assert frame["seed"].tolist() == [1, 2, 1, 2]
    lossless = frame[frame["loss"] == 0.0]
    assert (lossless["delivered_fraction"] == 1).all()  # over before the default partition
    lossy = frame[frame["loss"] == 0.3]
    assert (lossy["delivered_fraction"] < lossless["delivered_fraction"].to_numpy()).all()


def test_same_frame_whichever_executor():
    serial = sweep(network.figures, GRID, seeds=2, progress=False)
    with ThreadPoolExecutor(2) as pool:
        threaded = sweep(network.figures, GRID, seeds=2, executor=pool, progress=False)
    with ProcessPoolExecutor(2) as pool:
        processes = sweep(network.figures, GRID, seeds=2, executor=pool, progress=False)
    pd.testing.assert_frame_equal(serial, threaded)
    pd.testing.assert_frame_equal(serial, processes)


@pytest.mark.cluster
def test_sweep_on_a_dask_local_cluster_matches_serial():
    distributed = pytest.importorskip("distributed")
    serial = sweep(network.figures, GRID, seeds=2, progress=False)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_cluster = sweep(
            network.figures, GRID, seeds=2, executor=client.get_executor(), progress=False
        )
    pd.testing.assert_frame_equal(serial, on_cluster)


@pytest.mark.parametrize(
    "grid, seeds, parameter",
    [
        ({"loss": []}, [1], "grid['loss']"),
        ({"loss": 0.1}, [1], "grid['loss']"),
        ([("loss", [0.1])], [1], "grid"),
        ({"loss": [0.1]}, [], "seeds"),
        ({"loss": [0.1]}, [-1], "seeds"),
    ],
)
def test_bad_sweeps(grid, seeds, parameter):
    with pytest.raises(ConfigError) as info:
        sweep(network.figures, grid, seeds, progress=False)
    assert info.value.parameter == parameter


def test_sweep_function_must_return_figures_that_do_not_shadow_params():
    with pytest.raises(TypeError, match="dict"):
        sweep(lambda p, s: 1.0, {"x": [1]}, [0], progress=False)
    with pytest.raises(ValueError, match="seed"):
        sweep(lambda p, s: {"seed": s}, {"x": [1]}, [0], progress=False)


def test_unknown_scenario_parameter_is_named():
    with pytest.raises(ConfigError, match=r"los.*loss"):
        network.run(seed=0, los=0.1)
