"""One contract suite, run against both event store backends."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsim import ConfigError, Event
from labsim.eventsourcing import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    ConcurrencyError,
    DuplicateEventError,
    EventStoreError,
    InMemoryEventStore,
    SqliteEventStore,
    append_with_retry,
)


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryEventStore()
    else:
        s = SqliteEventStore(tmp_path / "events.db")
        yield s
        s.close()


def ev(n, kind="thing.happened", **data):
    return Event(event_type=kind, data={"n": n, **data}, event_id=f"e{n}", timestamp=float(n))


def test_versions_are_zero_based_and_append_returns_the_new_version(store):
    assert store.stream_version("s") is None
    assert store.append("s", [ev(1), ev(2)], NO_STREAM) == 1
    assert store.append("s", [ev(3)], 1) == 2
    assert store.stream_version("s") == 2
    assert [e.stream_version for e in store.read_stream("s")] == [0, 1, 2]
    assert [e.data["n"] for e in store.read_stream("s", 1)] == [2, 3]


def test_recorded_events_keep_the_envelope(store):
    root = Event(
        "order.created",
        {"total": 9.5},
        event_id="a",
        timestamp=1.5,
        source="web",
        metadata={"user": "u1"},
    )
    child = root.caused("order.paid", {"amount": 9.5}, event_id="b", timestamp=2.0)
    store.append("order-1", [root, child], NO_STREAM)
    first, second = store.read_stream("order-1")
    assert first.event == root
    assert second.causation_id == "a" and second.correlation_id == "a"
    assert first.metadata == {"user": "u1"} and first.source == "web"


@pytest.mark.parametrize(
    "setup, expected, ok",
    [
        ([], NO_STREAM, True),
        ([], STREAM_EXISTS, False),
        ([], ANY, True),
        ([], 0, False),
        ([1], NO_STREAM, False),
        ([1], STREAM_EXISTS, True),
        ([1], ANY, True),
        ([1], 0, True),
        ([1], 1, False),
        ([1, 2], 0, False),
    ],
)
def test_expected_version_rules(store, setup, expected, ok):
    if setup:
        store.append("s", [ev(n) for n in setup], NO_STREAM)
    if ok:
        store.append("s", [ev(99)], expected)
        assert store.read_stream("s")[-1].data["n"] == 99
    else:
        with pytest.raises(ConcurrencyError) as info:
            store.append("s", [ev(99)], expected)
        message = str(info.value)
        assert "'s'" in message and repr(expected) in message
        assert len(store.read_stream("s")) == len(setup)


def test_read_all_is_in_global_order_across_streams(store):
    store.append("a", [ev(1)], NO_STREAM)
    store.append("b", [ev(2), ev(3)], NO_STREAM)
    store.append("a", [ev(4)], 0)
    events = store.read_all()
    assert [e.position for e in events] == [0, 1, 2, 3]
    assert [(e.stream_id, e.data["n"]) for e in events] == [("a", 1), ("b", 2), ("b", 3), ("a", 4)]
    assert [e.data["n"] for e in store.read_all(2)] == [3, 4]
    assert [e.data["n"] for e in store.read_all(1, limit=2)] == [2, 3]
    assert store.head == 4


def test_unknown_stream_reads_empty(store):
    assert store.read_stream("nope") == []
    assert store.read_all(10) == []


def test_failed_append_writes_nothing(store):
    store.append("s", [ev(1)], NO_STREAM)
    with pytest.raises(ConcurrencyError):
        store.append("s", [ev(2), ev(3)], NO_STREAM)
    with pytest.raises(ConfigError, match="JSON"):
        store.append("s", [ev(4), Event("x.y", {"bad": object()}, event_id="e5")], 0)
    assert [e.data["n"] for e in store.read_all()] == [1]


def test_retried_append_is_idempotent_and_partial_duplicates_are_refused(store):
    batch = [ev(1), ev(2)]
    assert store.append("s", batch, NO_STREAM) == 1
    assert store.append("s", batch, NO_STREAM) == 1  # the same append again: no-op
    assert len(store.read_all()) == 2
    with pytest.raises(DuplicateEventError, match="e2"):
        store.append("s", [ev(2), ev(3)], 1)
    with pytest.raises(DuplicateEventError):
        store.append("other", [ev(1)], NO_STREAM)
    assert len(store.read_all()) == 2


def test_retry_on_conflict_helper(store):
    store.append("acct", [ev(1, "money.deposited", amount=10)], NO_STREAM)
    calls = []

    def decide(history):
        calls.append(len(history))
        if len(calls) == 1:  # someone else appends between our read and our write
            store.append("acct", [ev(2, "money.deposited", amount=5)], ANY)
        balance = sum(e.data["amount"] for e in history)
        return [Event("money.withdrawn", {"amount": balance}, event_id=f"w{len(calls)}")]

    assert append_with_retry(store, "acct", decide) == 2
    assert calls == [1, 2]
    assert store.read_stream("acct")[-1].data["amount"] == 15


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda s: s.append("s", [ev(1)], "latest"), "expected_version"),
        (lambda s: s.append("s", [ev(1)], -3), "expected_version"),
        (lambda s: s.append("", [ev(1)]), "stream_id"),
        (lambda s: s.append("s", []), "events"),
        (lambda s: s.append("s", [{"event_type": "x"}]), "events"),
        (lambda s: s.read_stream("s", -1), "from_version"),
        (lambda s: s.read_all(0, limit=-1), "limit"),
    ],
)
def test_bad_input(store, call, parameter):
    with pytest.raises(ConfigError) as info:
        call(store)
    assert info.value.parameter == parameter


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(1, 3),
            st.sampled_from(["exact", "stale", "any", "no_stream", "exists"]),
        ),
        max_size=25,
    )
)
def test_random_appends_keep_versions_and_global_order(store, ops):
    # Hypothesis reuses the fixture: start each example from a fresh namespace of streams.
    run = f"run{store.head}-"
    model: dict[str, int] = {}
    committed = []
    counter = [store.head]
    for stream, size, mode in ops:
        sid = run + stream
        actual = model.get(sid)
        expected = {
            "exact": actual if actual is not None else NO_STREAM,
            "stale": (actual - 1) if actual else 5,
            "any": ANY,
            "no_stream": NO_STREAM,
            "exists": STREAM_EXISTS,
        }[mode]
        batch = []
        for _ in range(size):
            counter[0] += 1
            batch.append(Event("t.x", {"i": counter[0]}, event_id=f"{run}{counter[0]}"))
        should_work = (
            mode in ("exact", "any")
            or (mode == "no_stream" and actual is None)
            or (mode == "exists" and actual is not None)
        )
        try:
            version = store.append(sid, batch, expected)
        except ConcurrencyError:
            assert not should_work
            continue
        assert should_work
        model[sid] = (actual if actual is not None else -1) + size
        assert version == model[sid]
        committed.extend(e.event_id for e in batch)
    everything = store.read_all()
    mine = [e for e in everything if e.event_id.startswith(run)]
    assert [e.event_id for e in mine] == committed  # nothing committed is missing, in order
    assert [e.position for e in everything] == list(range(len(everything)))
    for sid, version in model.items():
        assert [e.stream_version for e in store.read_stream(sid)] == list(range(version + 1))


def test_sqlite_file_errors_name_the_file(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(EventStoreError, match=r"junk\.db"):
        SqliteEventStore(junk)
