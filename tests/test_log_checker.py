import pandas as pd
import pytest

from labsim import ConfigError
from labsim.checks import check_log


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
    assert kinds(result) == ["lost", "skipped"]
    assert result.anomalies.set_index("anomaly").loc["lost", "offset"] == 2


def test_reports_duplicate_appends_from_producer_retries():
    log = log_frame([*LOG.itertuples(index=False), ("t", 0, 4, "k", "m3")])
    consumed = consumed_frame([*GOOD.itertuples(index=False), ("c-1", 1, "t", 0, 4, "m3")])
    result = check_log(log, consumed, ACKS)
    assert kinds(result) == ["duplicate-append"]


def test_reports_duplicate_deliveries_unless_allowed():
    again = consumed_frame([*GOOD.itertuples(index=False), ("c-2", 2, "t", 0, 3, "m3")])
    result = check_log(LOG, again, ACKS)
    assert kinds(result) == ["duplicate-delivery"] and not result.valid
    assert check_log(LOG, again, ACKS, allow=("duplicate-delivery",)).valid


def test_reports_non_monotonic_offsets_within_a_session():
    rows = [("c-1", 1, "t", 0, o, f"m{o}") for o in (0, 2, 1, 3)]
    result = check_log(LOG, consumed_frame(rows), ACKS)
    assert "non-monotonic" in kinds(result)


def test_reports_skipped_offsets_but_not_compaction_gaps():
    rows = [("c-1", 1, "t", 0, o, f"m{o}") for o in (0, 1, 3)]
    result = check_log(LOG, consumed_frame(rows))
    assert kinds(result) == ["skipped"]
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
    assert kinds(result) == ["key-order"]
    assert result.anomalies.iloc[0]["msg_id"] == "m2"


def test_bad_input_is_named():
    with pytest.raises(ConfigError, match="offset"):
        check_log(LOG.drop(columns="offset"), GOOD)
    with pytest.raises(ConfigError, match="allow"):
        check_log(LOG, GOOD, allow=("everything",))
