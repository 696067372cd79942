"""One contract suite, run against both event store backends."""

import numpy as np
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


def test_reads_cannot_rewrite_history(store):
    store.append("a", [Event("thing.happened", {"n": 1, "lines": [{"q": 1}]}, event_id="x1")])
    first = store.read_stream("a")[0]
    with pytest.raises(TypeError, match="read-only"):
        first.data["n"] = 999
    with pytest.raises(TypeError, match="read-only"):
        first.data["lines"][0]["q"] = 999
    with pytest.raises(TypeError, match="read-only"):
        store.read_all()[0].metadata["injected"] = True
    again = store.read_stream("a")[0]
    assert again.data == {"n": 1, "lines": [{"q": 1}]} and again.metadata == {}
    assert again.event.data == again.data


def _outcome(call):
    """What a call did: ('ok', result) or ('raised', exception type, parameter)."""
    try:
        result = call()
    except Exception as exc:  # the outcome itself is compared
        return ("raised", type(exc), getattr(exc, "parameter", None))
    return ("ok", result)


def _stores(tmp_path):
    sqlite = SqliteEventStore(tmp_path / "contract.db")
    return InMemoryEventStore(), sqlite


class _NotAnEvent:
    event_id = "fake"


#: Bad calls, each with the parameter the ConfigError must name.
BAD_CALLS = [
    ("stream id ''", lambda s: s.append("", [ev(1)]), "stream_id"),
    ("stream id None", lambda s: s.append(None, [ev(1)]), "stream_id"),
    ("stream id 5", lambda s: s.append(5, [ev(1)]), "stream_id"),
    ("stream id list", lambda s: s.append(["s"], [ev(1)]), "stream_id"),
    ("events not an Event", lambda s: s.append("s", _NotAnEvent()), "events"),
    ("events a dict", lambda s: s.append("s", {"event_type": "x"}), "events"),
    ("events a str", lambda s: s.append("s", "thing.happened"), "events"),
    ("events an int", lambda s: s.append("s", 5), "events"),
    ("events None", lambda s: s.append("s", None), "events"),
    ("list with a non-Event", lambda s: s.append("s", [ev(1), "x"]), "events"),
    ("list with a dict", lambda s: s.append("s", [ev(1), {"event_type": "x"}]), "events"),
    ("empty list", lambda s: s.append("s", []), "events"),
    ("empty generator", lambda s: s.append("s", (e for e in [])), "events"),
    ("expected -2", lambda s: s.append("s", [ev(1)], -2), "expected_version"),
    ("expected -1", lambda s: s.append("s", [ev(1)], -1), "expected_version"),
    ("expected 1.5", lambda s: s.append("s", [ev(1)], 1.5), "expected_version"),
    ("expected 0.0", lambda s: s.append("s", [ev(1)], 0.0), "expected_version"),
    ("expected 'x'", lambda s: s.append("s", [ev(1)], "x"), "expected_version"),
    ("expected True", lambda s: s.append("s", [ev(1)], True), "expected_version"),
    ("expected None", lambda s: s.append("s", [ev(1)], None), "expected_version"),
    ("expected np.bool_", lambda s: s.append("s", [ev(1)], np.bool_(False)), "expected_version"),
    ("NaN in data", lambda s: s.append("s", [Event("x.y", {"v": float("nan")})]), "data"),
    ("inf in data", lambda s: s.append("s", [Event("x.y", {"v": float("inf")})]), "data"),
    ("int key in data", lambda s: s.append("s", [Event("x.y", {1: "a"})]), "data"),
    ("nested int key", lambda s: s.append("s", [Event("x.y", {"a": [{2: "b"}]})]), "data"),
    ("object in data", lambda s: s.append("s", [Event("x.y", {"o": object()})]), "data"),
    (
        "object in metadata",
        lambda s: s.append("s", [Event("x.y", metadata={"o": {1}})]),
        "metadata",
    ),
    ("read_stream None", lambda s: s.read_stream(None), "stream_id"),
    ("read_stream 5", lambda s: s.read_stream(5), "stream_id"),
    ("read_stream from 1.0", lambda s: s.read_stream("s", 1.0), "from_version"),
    ("read_stream from True", lambda s: s.read_stream("s", True), "from_version"),
    ("read_all from -1", lambda s: s.read_all(-1), "from_position"),
    ("read_all from 'x'", lambda s: s.read_all("x"), "from_position"),
    ("read_all limit 2.0", lambda s: s.read_all(0, limit=2.0), "limit"),
    ("stream_version None", lambda s: s.stream_version(None), "stream_id"),
]


@pytest.mark.parametrize(
    "call, parameter", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_both_stores_refuse_the_same_bad_input_the_same_way(tmp_path, call, parameter):
    memory, sqlite = _stores(tmp_path)
    try:
        for s in (memory, sqlite):
            s.append("s", [ev(100)], NO_STREAM)
        outcomes = [_outcome(lambda s=s: call(s)) for s in (memory, sqlite)]
        assert outcomes[0] == outcomes[1] == ("raised", ConfigError, parameter)
        for s in (memory, sqlite):  # nothing was written
            assert [e.event_id for e in s.read_all()] == ["e100"]
            assert s.stream_version("s") == 0
    finally:
        sqlite.close()


GOOD_EXPECTED = [
    ("np.int64(0)", np.int64(0), ("ok", 1)),
    ("np.int32(0)", np.int32(0), ("ok", 1)),
    ("0", 0, ("ok", 1)),
    ("1 (stale)", 1, ("raised", ConcurrencyError, None)),
    ("np.int64(3) (stale)", np.int64(3), ("raised", ConcurrencyError, None)),
    ("ANY", ANY, ("ok", 1)),
    ("NO_STREAM", NO_STREAM, ("raised", ConcurrencyError, None)),
    ("STREAM_EXISTS", STREAM_EXISTS, ("ok", 1)),
]


@pytest.mark.parametrize(
    "expected, outcome", [g[1:] for g in GOOD_EXPECTED], ids=[g[0] for g in GOOD_EXPECTED]
)
def test_both_stores_treat_expected_versions_alike(tmp_path, expected, outcome):
    memory, sqlite = _stores(tmp_path)
    try:
        results = []
        for s in (memory, sqlite):
            s.append("s", [ev(1)], NO_STREAM)
            results.append(_outcome(lambda s=s: s.append("s", [ev(2)], expected)))
        assert results[0] == results[1] == outcome
        if outcome[0] == "raised":  # the message shows the expected version as a plain int
            with pytest.raises(ConcurrencyError) as info:
                memory.append("s", [ev(2)], expected)
            shown = repr(expected) if expected is NO_STREAM else repr(int(expected))
            assert f"expected version {shown}," in str(info.value)
    finally:
        sqlite.close()


def test_numpy_read_positions_are_accepted(store):
    store.append("s", [ev(1), ev(2), ev(3)], NO_STREAM)
    assert [e.data["n"] for e in store.read_stream("s", np.int64(1))] == [2, 3]
    assert [e.data["n"] for e in store.read_all(np.int32(0), limit=np.int64(2))] == [1, 2]


@pytest.mark.parametrize(
    "bad",
    [
        "not an event",
        Event("x.y", {"v": float("nan")}, event_id="bad"),
        Event("x.y", {7: "int key"}, event_id="bad"),
        Event("x.y", metadata={"when": object()}, event_id="bad"),
    ],
    ids=["non-event", "nan", "int-key", "metadata"],
)
def test_an_append_with_one_bad_event_writes_nothing(store, bad):
    store.append("s", [ev(1)], NO_STREAM)
    with pytest.raises(ConfigError):
        store.append("s", [ev(2), ev(3), bad, ev(4)], 0)
    assert [e.event_id for e in store.read_all()] == ["e1"]
    assert store.stream_version("s") == 0 and store.head == 1
    assert store.append("s", [ev(2)], 0) == 1  # the store is still usable


def test_a_generator_of_events_is_appended_once(store):
    assert store.append("s", (ev(n) for n in (1, 2)), NO_STREAM) == 1
    assert [e.data["n"] for e in store.read_stream("s")] == [1, 2]


def test_sqlite_file_errors_name_the_file(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(EventStoreError, match=r"junk\.db"):
        SqliteEventStore(junk)
