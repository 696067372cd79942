"""Recording levels: bounded running totals, time-ordered tables, summary-level runs."""

import math

import pytest

from labsim import ConfigError
from labsim.record import Recorder, Table
from labsim.scenarios.queueing import mmc


def test_totals_keep_count_sum_min_max_per_key_in_first_seen_order():
    totals = Recorder().totals("t", ("phase",), ("wait", "size"))
    for phase, wait, size in [("b", 2.0, 5), ("a", 1.0, 1), ("b", 4.0, 3), ("b", 3.0, 9)]:
        totals.add(phase, wait, size)
    frame = totals.frame()
    assert frame["phase"].tolist() == ["b", "a"]
    b = frame.iloc[0]
    assert (b["count"], b["wait_sum"], b["wait_min"], b["wait_max"]) == (3, 9.0, 2.0, 4.0)
    assert (b["size_sum"], b["size_min"], b["size_max"]) == (17, 3, 9)
    assert len(totals) == 2


def test_totals_below_the_level_record_nothing_and_a_wrong_row_is_refused():
    off = Recorder("off").totals("t", ("k",), ("v",))
    off.add("x", 1.0)
    assert off.frame().empty
    totals = Recorder().totals("t", ("k",), ("v",))
    with pytest.raises(TypeError, match="2 values expected"):
        totals.add("x", 1.0, 2.0)


def test_a_name_is_either_a_table_or_totals():
    recorder = Recorder()
    recorder.table("t", ("a", "b"))
    with pytest.raises(ConfigError, match="already declared"):
        recorder.totals("t", ("a",), ("b",))
    recorder.totals("u", ("a",), ("b",))
    with pytest.raises(ConfigError, match="already declared"):
        recorder.table("u", ("a", "b"))


def test_an_ordered_table_returns_its_rows_in_time_order_stably():
    table = Table("t", ("time", "what"), order_by="time")
    for time, what in [(1.0, "a"), (3.0, "c"), (2.0, "b1"), (2.0, "b2"), (4.0, "d")]:
        table.add(time, what)
    frame = table.frame()
    assert frame["what"].tolist() == ["a", "b1", "b2", "c", "d"]
    assert frame.index.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ConfigError, match="order_by"):
        Table("t", ("time",), order_by="when")


def test_mmc_at_summary_level_gives_the_full_level_figures_without_per_message_rows():
    full = mmc(8.0, 1.0, 10, 5000, seed=3)
    summary = mmc(8.0, 1.0, 10, 5000, seed=3, record_level="summary")
    assert len(full.frames["queue.processed"]) == 5000
    assert summary.frames["queue.processed"].empty
    assert summary.frames["queue.totals"]["count"].sum() == 5000
    assert summary.summary.keys() == full.summary.keys()
    for name, value in full.summary.items():
        assert math.isclose(summary.summary[name], value, rel_tol=1e-9), name


def test_typed_columns_give_the_frame_a_list_would_and_refuse_other_values():
    typed = Table("t", ("id", "time", "who"), typed={"id": "q", "time": "d"})
    plain = Table("t", ("id", "time", "who"))
    assert typed.frame().equals(plain.frame())  # empty: the same empty frame
    for row in [(1, 0.5, "a"), (2, 1.25, "b"), (3, 2, "c")]:
        typed.add(*row)
        plain.add(*row)
    assert typed.frame().equals(plain.frame())
    assert str(typed.frame()["time"].dtype) == "float64"
    with pytest.raises(TypeError):
        typed.add("four", 3.0, "d")
    with pytest.raises(ConfigError, match="typed"):
        Table("t", ("id",), typed={"id": "s"})
    with pytest.raises(ConfigError, match="typed"):
        Table("t", ("id",), typed={"when": "d"})
