import dataclasses

import pandas as pd
import pytest

from labsim import ConfigError, Event, World, causal_graph


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
