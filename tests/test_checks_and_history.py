import pandas as pd
import pytest

from labsim import ConfigError, History, World
from labsim.checks import check_delivery
from labsim.history import OP_COLUMNS, as_history, pair


def frame(ids):
    return pd.DataFrame({"msg_id": ids})


def test_delivery_checker_passes_when_everything_arrives_once():
    result = check_delivery(frame([1, 2, 3]), frame([3, 1, 2]))
    assert result.valid and bool(result)
    assert result.anomalies.empty
    assert "0 lost, 0 duplicated" in result.summary


def test_delivery_checker_reports_a_lost_message():
    result = check_delivery(frame([1, 2, 3]), frame([1, 3]))
    assert not result.valid
    assert result.anomalies.to_dict("records") == [{"key": 2, "anomaly": "lost", "count": 0}]
    assert str(result).startswith("[FAIL] delivery")


def test_delivery_checker_reports_duplicates_unless_allowed():
    result = check_delivery(frame([1, 2]), frame([1, 2, 2, 2]))
    assert not result.valid
    assert result.anomalies.to_dict("records") == [{"key": 2, "anomaly": "duplicated", "count": 3}]
    assert check_delivery(frame([1, 2]), frame([1, 2, 2]), allow_duplicates=True).valid


def test_delivery_checker_reports_messages_nobody_sent():
    result = check_delivery(frame([1]), frame([1, 99]))
    assert not result.valid
    assert result.anomalies["anomaly"].tolist() == ["unexpected"]


def test_delivery_checker_needs_the_key_column():
    with pytest.raises(ConfigError, match="msg_id"):
        check_delivery(pd.DataFrame({"id": [1]}), frame([1]))


def test_history_records_jepsen_style_operations():
    world = World()
    history = History(world)

    def client():
        history.invoke("c1", "send", 1)
        yield world.timeout(0.5)
        history.ok("c1", "send", 1)
        history.invoke("c1", "send", 2)
        yield world.timeout(1)
        history.info("c1", "send", 2)
        history.invoke("c1", "read")
        history.fail("c1", "read")

    world.process(client())
    world.run()
    h = world.frame("history")
    assert h["type"].tolist() == ["invoke", "ok", "invoke", "info", "invoke", "fail"]
    assert h["index"].tolist() == list(range(6))
    assert h["time"].tolist() == [0, 0.5, 0.5, 1.5, 1.5, 1.5]


def test_history_fields_of_a_model_and_bad_fields_are_named():
    world = World()
    history = History(world, "ops", fields=("topic", "offset"))
    history.invoke("p", "send", topic="t")
    history.ok("p", "send", topic="t", offset=3)
    h = world.frame("ops")
    assert list(h.columns) == [*OP_COLUMNS, "topic", "offset"]
    assert h["offset"].isna().tolist() == [True, False] and h["offset"].iloc[1] == 3
    with pytest.raises(ConfigError, match="field"):
        history.ok("p", "send", partition=0)
    with pytest.raises(ConfigError, match="fields"):
        History(world, "bad", fields=("time",))


def test_as_history_orders_by_time_keeping_ties_and_refuses_unknown_types():
    ops = pd.DataFrame(
        {
            "time": [1.0, 0.5, 1.0, None],
            "process": ["a", "b", "c", "d"],
            "type": ["ok", "invoke", "ok", "info"],
            "f": "read",
            "value": [1, 2, 3, 4],
        }
    )
    h = as_history(ops)
    assert h["process"].tolist() == ["b", "a", "c", "d"]
    assert h["index"].tolist() == [0, 1, 2, 3]
    assert list(h.columns) == [*OP_COLUMNS, "value"]
    with pytest.raises(ConfigError, match="type"):
        as_history(ops.assign(type="done"))


def test_pair_matches_each_invocation_with_its_completion():
    world = World()
    history = History(world)

    def client():
        history.invoke("c1", "send", 1)
        history.invoke("c2", "send", 2)
        yield world.timeout(1)
        history.ok("c2", "send", 2)
        history.info("c1", "send")
        history.invoke("c1", "send", 3)  # never completes

    world.process(client())
    world.run()
    pairs = pair(world.frame("history"))
    assert pairs["process"].tolist() == ["c1", "c2", "c1"]
    assert pairs["type"].tolist() == ["info", "ok", "info"]
    assert pairs["value"].tolist() == [1, 2, 3]
    assert pairs["completed"].isna().tolist() == [False, False, True]
