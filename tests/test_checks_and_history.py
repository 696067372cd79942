import pandas as pd
import pytest

from labsim import ConfigError, History, World
from labsim.checks import check_delivery


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
