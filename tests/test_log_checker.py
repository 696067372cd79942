import pandas as pd
import pytest

from labsim import ConfigError, History, World
from labsim.checks import check_kafka, check_log, kafka_history
from labsim.checks.log import KAFKA_FIELDS
from labsim.history import OP_COLUMNS
from labsim.scenarios import groups


def log_frame(rows):
    return pd.DataFrame(rows, columns=["topic", "partition", "offset", "key", "msg_id"])


def consumed_frame(rows):
    return pd.DataFrame(
        rows, columns=["member", "generation", "topic", "partition", "offset", "msg_id"]
    )


def acks_frame(rows):
    return pd.DataFrame(rows, columns=["msg_id", "topic", "partition", "offset", "outcome"])


LOG = log_frame([("t", 0, i, "k", f"m{i}") for i in range(4)])
GOOD = consumed_frame([("c-1", 1, "t", 0, i, f"m{i}") for i in range(4)])
ACKS = acks_frame([(f"m{i}", "t", 0, i, "ok") for i in range(4)])


def kinds(result):
    return sorted(result.anomalies["anomaly"])


def test_clean_run_is_valid():
    result = check_log(LOG, GOOD, ACKS)
    assert result.valid and result.anomalies.empty


def test_reports_acknowledged_but_never_consumed():
    result = check_log(LOG, GOOD[GOOD["offset"] != 2], ACKS)
    assert not result.valid
    # Offset 2 is both lost and jumped over by the consumer session.
    assert kinds(result) == ["lost-write", "poll-skip"]
    assert result.anomalies.set_index("anomaly").loc["lost-write", "offset"] == 2


def test_reports_duplicate_appends_from_producer_retries():
    log = log_frame([*LOG.itertuples(index=False), ("t", 0, 4, "k", "m3")])
    consumed = consumed_frame([*GOOD.itertuples(index=False), ("c-1", 1, "t", 0, 4, "m3")])
    result = check_log(log, consumed, ACKS)
    assert kinds(result) == ["duplicate"]


def test_reports_duplicate_deliveries_unless_allowed():
    again = consumed_frame([*GOOD.itertuples(index=False), ("c-2", 2, "t", 0, 3, "m3")])
    result = check_log(LOG, again, ACKS)
    assert kinds(result) == ["duplicate-delivery"] and not result.valid
    assert check_log(LOG, again, ACKS, allow=("duplicate-delivery",)).valid


def test_reports_non_monotonic_offsets_within_a_session():
    rows = [("c-1", 1, "t", 0, o, f"m{o}") for o in (0, 2, 1, 3)]
    result = check_log(LOG, consumed_frame(rows), ACKS)
    assert "nonmonotonic-poll" in kinds(result)


def test_reports_skipped_offsets_but_not_compaction_gaps():
    rows = [("c-1", 1, "t", 0, o, f"m{o}") for o in (0, 1, 3)]
    result = check_log(LOG, consumed_frame(rows))
    assert kinds(result) == ["poll-skip"]
    assert check_log(LOG, consumed_frame(rows), gaps_allowed=("t",)).valid


def test_reports_per_key_order_violations():
    sends = pd.DataFrame(
        {"producer": ["p"] * 3, "msg_id": ["m0", "m1", "m2"], "topic": ["t"] * 3, "key": ["k"] * 3}
    )
    acks = acks_frame([("m0", "t", 0, 0, "ok"), ("m1", "t", 0, 2, "ok"), ("m2", "t", 0, 1, "ok")])
    log = log_frame([("t", 0, 0, "k", "m0"), ("t", 0, 1, "k", "m2"), ("t", 0, 2, "k", "m1")])
    consumed = consumed_frame(
        [("c", 1, "t", 0, o, m) for o, m in ((0, "m0"), (1, "m2"), (2, "m1"))]
    )
    result = check_log(log, consumed, acks, sends)
    assert kinds(result) == ["nonmonotonic-send"]
    assert result.anomalies.iloc[0]["msg_id"] == "m2"


def test_bad_input_is_named():
    with pytest.raises(ConfigError, match="offset"):
        check_log(LOG.drop(columns="offset"), GOOD)
    with pytest.raises(ConfigError, match="allow"):
        check_log(LOG, GOOD, allow=("everything",))


# -- the same checks over a Jepsen history -------------------------------------------------


def history(*ops):
    """A history recorded live: ``(type, process, f, fields)`` per operation."""
    world = World()
    recorder = History(world, fields=KAFKA_FIELDS)
    for type_, process, f, fields in ops:
        getattr(recorder, type_)(process, f, **fields)
    return world.frame("history")


def sent(msg_id, offset, producer="p", partition=0):
    where = {"topic": "t", "partition": partition, "msg_id": msg_id}
    return [
        ("invoke", producer, "send", where),
        ("ok", producer, "send", {**where, "offset": offset}),
    ]


def polled(offset, msg_id, process="c-1", generation=1, group="g"):
    fields = {"group": group, "generation": generation, "topic": "t", "partition": 0}
    return [
        ("invoke", process, "poll", {}),
        ("ok", process, "poll", {**fields, "offset": offset, "msg_id": msg_id}),
    ]


def found(*ops, **options):
    return kinds(check_kafka(history(*ops), **options))


CLEAN = [*sent("m0", 0), *sent("m1", 1), *polled(0, "m0"), *polled(1, "m1")]


def test_a_clean_history_is_valid_and_an_unacknowledged_send_is_not_a_lost_write():
    assert found(*CLEAN) == []
    gave_up = [("invoke", "p", "send", {"msg_id": "m2"}), ("info", "p", "send", {"msg_id": "m2"})]
    result = check_kafka(history(*CLEAN, *gave_up))
    assert result.valid and "2 processed; 0 lost-write" in result.summary


def test_each_jepsen_anomaly_is_found():
    assert found(*sent("m0", 0), *sent("m1", 1), *polled(0, "m0")) == ["lost-write"]
    assert found(*CLEAN, *polled(2, "m1")) == ["duplicate"]
    assert found(*CLEAN, *polled(1, "m9", process="d-1", group="other")) == ["inconsistent-offsets"]
    skip = [*sent("m0", 0), *sent("m1", 1), *sent("m2", 2), *polled(0, "m0"), *polled(2, "m2")]
    assert found(*skip) == ["lost-write", "poll-skip"]
    back = [*CLEAN, *polled(0, "m0")]
    assert found(*back) == ["duplicate-delivery", "nonmonotonic-poll"]
    overtaken = [
        ("invoke", "p", "send", {"topic": "t", "partition": 0, "msg_id": "m0"}),
        *sent("m1", 0),
        ("ok", "p", "send", {"topic": "t", "partition": 0, "msg_id": "m0", "offset": 1}),
        *polled(0, "m1"),
        *polled(1, "m0"),
    ]
    result = check_kafka(history(*overtaken))
    assert kinds(result) == ["nonmonotonic-send"]
    assert result.anomalies.iloc[0]["msg_id"] == "m1"


def test_a_rebalance_or_another_group_may_read_again_but_one_group_twice_is_listed():
    again = [*CLEAN, *polled(0, "m0", generation=2)]
    assert found(*again) == ["duplicate-delivery"]
    assert found(*again, allow=("duplicate-delivery",)) == ["duplicate-delivery"]
    assert check_kafka(history(*again), allow=("duplicate-delivery",)).valid
    assert found(*CLEAN, *polled(0, "m0", process="d-1", group="other")) == []


def test_the_broker_log_tells_which_offsets_exist():
    ops = [*polled(0, "m0"), *polled(2, "m2")]
    assert found(*ops) == []  # nobody saw offset 1: no skip can be proven
    log = log_frame([("t", 0, i, "k", f"m{i}") for i in range(3)])
    assert kinds(check_kafka(history(*ops), log)) == ["poll-skip"]


def test_kafka_history_turns_client_tables_into_send_and_poll_operations():
    sends = pd.DataFrame(
        {"time": [0.0, 0.1], "producer": "p", "msg_id": ["m0", "m1"], "topic": "t", "key": "k"}
    )
    acks = ACKS.iloc[:2].assign(time=[0.2, 0.3], producer="p")
    consumed = GOOD.iloc[:2].assign(time=[0.4, 0.5], group="g")
    h = kafka_history(consumed, acks, sends)
    assert list(h.columns) == [*OP_COLUMNS, *KAFKA_FIELDS]
    assert list(zip(h["type"], h["f"], strict=True)) == [
        ("invoke", "send"),
        ("invoke", "send"),
        ("ok", "send"),
        ("ok", "send"),
        ("invoke", "poll"),
        ("ok", "poll"),
        ("invoke", "poll"),
        ("ok", "poll"),
    ]
    assert h["index"].tolist() == list(range(8))
    assert check_kafka(h).valid


@pytest.mark.parametrize(
    "commit, expected",
    [("before", {"lost-write"}), ("after", {"duplicate-delivery"})],
)
def test_a_crashed_group_member_shows_what_its_commit_policy_costs(commit, expected):
    r = groups.run(seed=2, commit=commit, duration=12, drain=5)
    f = r.frames
    result = check_log(f["log"], f["consumed"], f["acks"], f["sends"])
    assert set(kinds(result)) == expected
    assert not result.valid
