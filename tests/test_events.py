import copy
import dataclasses
import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest
import yaml

from labsim import ConfigError, Event, World, causal_graph
from labsim.events import FrozenDict, FrozenList, thaw


def test_defaults_and_immutability():
    event = Event(event_type="order.created", data={"order_id": 1})
    assert event.event_version == 1
    assert event.correlation_id == event.event_id
    assert event.causation_id is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.event_type = "order.paid"


def test_inside_a_world_ids_and_timestamps_come_from_the_world():
    def make(seed):
        world = World(seed)
        out = []

        def proc():
            yield world.timeout(2.5)
            out.append(Event("order.created", {"n": 1}))

        world.process(proc())
        world.run()
        return out[0]

    a, b = make(1), make(1)
    assert a.event_id == b.event_id == "evt-1"
    assert a.timestamp == 2.5


def test_caused_event_keeps_correlation_and_points_at_its_cause():
    with World():
        root = Event("order.created", {"order_id": 7})
        child = root.caused("payment.requested", {"amount": 10})
        grandchild = child.caused("payment.succeeded")
    assert child.correlation_id == grandchild.correlation_id == root.event_id
    assert child.causation_id == root.event_id
    assert grandchild.causation_id == child.event_id


def test_causal_graph_from_events_and_from_a_frame():
    with World():
        root = Event("order.created")
        a = root.caused("inventory.reserved")
        b = root.caused("payment.processed")
        c = b.caused("order.confirmed")
    events = [root, a, b, c]
    graph = causal_graph(events)
    assert set(graph.edges) == {
        (root.event_id, a.event_id),
        (root.event_id, b.event_id),
        (b.event_id, c.event_id),
    }
    assert graph.nodes[c.event_id]["event_type"] == "order.confirmed"
    frame = pd.DataFrame([e.to_dict() for e in events])
    assert set(causal_graph(frame).edges) == set(graph.edges)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"event_type": ""}, "event_type"),
        ({"event_type": "x", "data": [1, 2]}, "data"),
        ({"event_type": "x", "event_version": 0}, "event_version"),
    ],
)
def test_bad_envelopes(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        Event(**kwargs)
    assert info.value.parameter == parameter


def test_causal_graph_rejects_frames_without_ids():
    with pytest.raises(ConfigError, match="causation_id"):
        causal_graph(pd.DataFrame({"event_id": ["a"]}))


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"metadata": 5}, "metadata"),
        ({"metadata": ["a"]}, "metadata"),
        ({"data": None}, "data"),
        ({"event_id": 5}, "event_id"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": None}, "event_id"),
        ({"event_type": 3}, "event_type"),
        ({"source": None}, "source"),
        ({"source": 7}, "source"),
        ({"correlation_id": 12}, "correlation_id"),
        ({"correlation_id": ""}, "correlation_id"),
        ({"causation_id": 3}, "causation_id"),
        ({"causation_id": ""}, "causation_id"),
        ({"event_version": True}, "event_version"),
        ({"event_version": 1.0}, "event_version"),
        ({"event_version": "2"}, "event_version"),
        ({"event_version": np.int64(0)}, "event_version"),
        ({"timestamp": math.nan}, "timestamp"),
        ({"timestamp": math.inf}, "timestamp"),
        ({"timestamp": "1.5"}, "timestamp"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": False}, "timestamp"),
    ],
)
def test_every_envelope_field_is_checked(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        Event(**{"event_type": "x.happened", **kwargs})
    assert info.value.parameter == parameter
    assert parameter in str(info.value) and "Event" in str(info.value)


def test_bad_metadata_is_reported_as_metadata_not_data():
    # Before: Event(metadata=5) raised a message about ``data={}``.
    with pytest.raises(ConfigError, match=r"metadata=5") as info:
        Event("x.happened", metadata=5)
    assert "data={}" not in str(info.value)


def test_numpy_version_and_timestamp_are_stored_as_python_numbers():
    event = Event("x.happened", event_version=np.int64(2), timestamp=np.float32(1.5))
    assert event.event_version == 2 and type(event.event_version) is int
    assert event.timestamp == 1.5 and type(event.timestamp) is float
    assert type(Event("x.happened", timestamp=3).timestamp) is float
    assert Event("x.happened", correlation_id=None, event_id="a").correlation_id == "a"


def test_data_and_metadata_are_deeply_read_only():
    original = {"items": [{"sku": "a", "qty": 1}], "tags": {"x"}, "pair": (1, [2])}
    event = Event("order.created", original, metadata={"headers": {"k": "v"}})
    attempts = [
        lambda: event.data.__setitem__("total", 1),
        lambda: event.data.pop("items"),
        lambda: event.data.update(total=1),
        lambda: event.data.setdefault("total", 1),
        lambda: event.data.clear(),
        lambda: event.data["items"].append({"sku": "b"}),
        lambda: event.data["items"].__setitem__(0, None),
        lambda: event.data["items"][0].__setitem__("qty", 99),
        lambda: event.data["pair"][1].append(3),
        lambda: event.metadata["headers"].__setitem__("k", "changed"),
        lambda: event.metadata.__delitem__("headers"),
    ]
    for attempt in attempts:
        with pytest.raises(TypeError, match="read-only"):
            attempt()
    assert event.data["tags"] == frozenset({"x"})  # sets become frozensets
    # The caller's own dict stays theirs: changing it does not change the event.
    original["items"][0]["qty"] = 50
    assert event.data["items"][0]["qty"] == 1


def test_frozen_data_still_behaves_like_a_dict_for_its_readers():
    data = {"order_id": 7, "lines": [{"sku": "a"}], "total": 9.5}
    event = Event("order.created", data, metadata={"user": "u1"})
    assert isinstance(event.data, dict) and isinstance(event.data, FrozenDict)
    assert isinstance(event.data["lines"], list) and isinstance(event.data["lines"], FrozenList)
    assert event.data == data and repr(event.data) == repr(data) and f"{event.data}" == str(data)
    assert json.loads(json.dumps(event.data, sort_keys=True)) == data
    assert yaml.safe_load(yaml.safe_dump(event.data)) == data
    assert yaml.safe_load(yaml.safe_dump(thaw(event.data))) == data
    assert type(thaw(event.data)) is dict and type(thaw(event.data)["lines"]) is list
    frame = pd.DataFrame([event.data, Event("order.created", {"order_id": 8}).data])
    assert frame["order_id"].tolist() == [7, 8]
    mutable = dict(event.data)
    mutable["total"] = 10.0  # a shallow copy is the caller's to change
    assert {**event.data, "total": 1}["total"] == 1 and event.data["total"] == 9.5
    assert event.to_dict()["data"] == data and type(event.to_dict()["data"]) is dict
    assert event.evolve(data={**event.data, "total": 1.0}).data["total"] == 1.0


def test_events_pickle_copy_and_hash():
    event = Event("order.created", {"lines": [{"sku": "a"}]}, event_id="e1", metadata={"m": [1]})
    for clone in (pickle.loads(pickle.dumps(event)), copy.deepcopy(event), copy.copy(event)):
        assert clone == event
        assert type(clone.data) is FrozenDict and type(clone.data["lines"]) is FrozenList
        assert type(clone.data["lines"][0]) is FrozenDict
        with pytest.raises(TypeError):
            clone.data["lines"].append(1)
    assert hash(event) == hash(pickle.loads(pickle.dumps(event)))
    assert len({event, copy.deepcopy(event)}) == 1


def test_caused_events_freeze_their_data_too():
    with World():
        root = Event("order.created", {"order_id": 1})
        child = root.caused("payment.requested", {"amounts": [1, 2]})
    with pytest.raises(TypeError):
        child.data["amounts"].append(3)
    assert root.caused("order.closed").data == {}
