import pickle
import tracemalloc
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from labsim import ConfigError
from labsim.scenarios import network
from labsim.sweep import MAX_RUNS, RunError, grid_points, process_pool, sweep

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
    with process_pool(2) as pool:
        warm = sweep(network.figures, GRID, seeds=2, executor=pool, progress=False)
    pd.testing.assert_frame_equal(serial, threaded)
    pd.testing.assert_frame_equal(serial, processes)
    pd.testing.assert_frame_equal(serial, warm)


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True])
def test_process_pool_refuses_a_bad_number_of_workers(workers):
    with pytest.raises(ConfigError, match="workers"):
        process_pool(workers)


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
    with pytest.raises(ConfigError, match="dict") as info:
        sweep(lambda p, s: 1.0, {"x": [1]}, [0], progress=False)
    assert "{'x': 1}" in str(info.value) and "seed 0" in str(info.value)
    with pytest.raises(ValueError, match="seed"):
        sweep(lambda p, s: {"seed": s}, {"x": [1]}, [0], progress=False)


def test_unknown_scenario_parameter_is_named():
    with pytest.raises(ConfigError, match=r"los.*loss"):
        network.run(seed=0, los=0.1)


def figures_of(params, seed):
    """A cheap sweep function (module level, so a process pool can import it)."""
    return {"total": sum(v for v in params.values() if isinstance(v, (int, float))) + seed}


def types_of(params, seed):
    return {
        "types": ",".join(type(v).__name__ for v in params.values()),
        "seed_type": type(seed).__name__,
    }


def fail_on_two(params, seed):
    if params["x"] == 2 and seed == 1:
        raise ZeroDivisionError("division by zero")
    return {"y": params["x"]}


def bad_parameter_inside(params, seed):
    raise ConfigError("loss", params["x"], "a probability in [0, 1]", "network")


def test_validate_sees_every_grid_point_before_the_first_run():
    calls = []

    def fn(params, seed):
        calls.append(("run", params["x"]))
        return {"y": 1}

    def validate(point):
        calls.append(("check", point["x"]))
        if point["x"] == 3:
            raise ConfigError("x", point["x"], "x < 3", "test scenario")

    with pytest.raises(ConfigError, match="x=3"):
        sweep(fn, {"x": [1, 2, 3]}, 2, validate=validate, progress=False)
    assert calls == [("check", 1), ("check", 2), ("check", 3)]  # nothing ran
    calls.clear()
    frame = sweep(fn, {"x": [1, 2]}, 1, validate=validate, progress=False)
    assert calls == [("check", 1), ("check", 2), ("run", 1), ("run", 2)]
    assert len(frame) == 2
    with pytest.raises(ConfigError, match="validate"):
        sweep(fn, {"x": [1]}, 1, validate="yes", progress=False)


def test_a_failing_run_names_its_parameters_and_seed():
    with pytest.raises(RunError) as info:
        sweep(fail_on_two, {"x": [1, 2, 3]}, 2, progress=False)
    error = info.value
    assert isinstance(error, RuntimeError)
    assert error.params == {"x": 2} and error.seed == 1
    assert "{'x': 2}" in str(error) and "seed 1" in str(error)
    assert "ZeroDivisionError: division by zero" in str(error)
    assert isinstance(error.__cause__, ZeroDivisionError)  # chained in-process
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.params, copy.seed, str(copy)) == (error.params, error.seed, str(error))


@pytest.mark.parametrize("pool", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_a_failing_run_names_its_parameters_and_seed_under_an_executor(pool):
    with pool(2) as executor, pytest.raises(RunError) as info:
        sweep(fail_on_two, {"x": [1, 2, 3]}, 2, executor=executor, progress=False)
    assert info.value.params == {"x": 2} and info.value.seed == 1
    assert "{'x': 2}" in str(info.value) and "seed 1" in str(info.value)
    assert "ZeroDivisionError" in str(info.value)


def test_a_config_error_inside_a_run_stays_a_config_error_naming_the_run():
    with ProcessPoolExecutor(1) as executor, pytest.raises(ConfigError) as info:
        sweep(bad_parameter_inside, {"x": [5]}, [3], executor=executor, progress=False)
    assert info.value.parameter == "loss"
    assert "{'x': 5}" in str(info.value) and "seed 3" in str(info.value)


def test_a_generator_as_grid_values_is_read_once_and_runs():
    # Before: the check consumed the generator and the sweep silently had no rows.
    frame = sweep(figures_of, {"x": (v for v in [1, 2]), "y": iter([10])}, 1, progress=False)
    assert frame[["x", "y", "total"]].values.tolist() == [[1, 10, 11], [2, 10, 12]]
    assert grid_points({"a": (v for v in "xy")}) == [{"a": "x"}, {"a": "y"}]


def test_numpy_arrays_as_grid_values_are_passed_as_python_numbers():
    frame = sweep(
        types_of,
        {"n": np.arange(3), "p": np.linspace(0.0, 1.0, 2), "flag": np.array([True])},
        np.arange(2),
        progress=False,
    )
    assert len(frame) == 12  # 3 n x 2 p x 1 flag x 2 seeds
    assert set(frame["types"]) == {"int,float,bool"} and set(frame["seed_type"]) == {"int"}
    assert frame["n"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    points = grid_points({"n": np.arange(2, dtype=np.int32)})
    assert points == [{"n": 0}, {"n": 1}] and type(points[0]["n"]) is int


@pytest.mark.parametrize(
    "seeds", [np.int64(2), [np.int64(0), np.int32(1)], np.arange(2), range(2), iter([0, 1])]
)
def test_numpy_and_lazy_seeds_are_accepted(seeds):
    frame = sweep(figures_of, {"x": [1]}, seeds, progress=False)
    assert frame["seed"].tolist() == [0, 1]
    assert all(type(s) is int for s in frame["seed"].tolist())


def test_a_huge_range_of_seeds_is_refused_without_being_listed():
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as info:
            sweep(figures_of, {"x": [1, 2]}, range(0, 20_000_000), progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # a list of 20M seeds would take hundreds of MB
    message = str(info.value)
    assert info.value.parameter == "seeds"
    assert "2 grid point(s) x 20000000 seeds = 40000000 runs" in message
    assert f"at most {MAX_RUNS}" in message


def test_too_many_runs_from_an_endless_seed_iterator_are_refused():
    def endless():
        n = 0
        while True:
            yield n
            n += 1

    with pytest.raises(ConfigError, match="at least"):
        sweep(figures_of, {"x": [1]}, endless(), progress=False)


def test_too_big_a_grid_is_refused_naming_its_size():
    grid = {"a": range(1000), "b": range(1001)}
    with pytest.raises(ConfigError) as info:
        sweep(figures_of, grid, 1, progress=False)
    assert info.value.parameter == "grid"
    assert "1000 a x 1001 b = 1001000 point(s)" in str(info.value)
    with pytest.raises(ConfigError, match="grid"):
        grid_points(grid)


@pytest.mark.parametrize(
    "seeds",
    [
        range(-1, 3),
        range(5, 5),
        range(0, 3, -1),
        0,
        -2,
        1.5,
        "12",
        True,
        [1, True],
        [1.0],
        [-1],
        None,
        {"a": 1},
        [np.float64(1.0)],
    ],
)
def test_bad_seeds_are_config_errors(seeds):
    with pytest.raises(ConfigError) as info:
        sweep(figures_of, {"x": [1]}, seeds, progress=False)
    assert info.value.parameter == "seeds"


@pytest.mark.parametrize(
    "grid, parameter",
    [
        ({"x": np.array(3)}, "grid['x']"),
        ({"x": {"a": 1}}, "grid['x']"),
        ({"x": b"ab"}, "grid['x']"),
        ({"x": None}, "grid['x']"),
        ({"x": iter([])}, "grid['x']"),
        ({5: [1]}, "grid"),
        ({"seed": [1]}, "grid['seed']"),
        (None, "grid"),
    ],
)
def test_bad_grids_are_config_errors(grid, parameter):
    with pytest.raises(ConfigError) as info:
        sweep(figures_of, grid, 1, progress=False)
    assert info.value.parameter == parameter


def test_bad_function_or_executor_is_a_config_error():
    with pytest.raises(ConfigError, match="fn"):
        sweep("figures", {"x": [1]}, 1, progress=False)
    with pytest.raises(ConfigError, match="executor"):
        sweep(figures_of, {"x": [1]}, 1, executor=2, progress=False)


def test_same_frame_whichever_executor_with_numpy_and_generator_values():
    def grid():
        return {"x": np.arange(3), "y": (v for v in [0.5, 1.5])}

    serial = sweep(figures_of, grid(), range(1, 3), progress=False)
    with ProcessPoolExecutor(2) as pool:
        processes = sweep(figures_of, grid(), range(1, 3), executor=pool, progress=False)
    pd.testing.assert_frame_equal(serial, processes)
    assert len(serial) == 12


def test_numpy_grid_values_reach_a_scenario_as_python_numbers():
    # Before: "duration=np.int64(2) is not accepted; expected a finite number > 0".
    frame = sweep(network.figures, {"duration": np.arange(2, 3)}, np.int64(1), progress=False)
    assert frame["duration"].tolist() == [2] and len(frame) == 1
