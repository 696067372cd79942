"""The SQS-style cloud queue: visibility timeout, at-least-once, no order, redrive, retention."""

import pytest

from labsim import ConfigError, World
from labsim.cloudqueue import CloudQueue


def _world_queue(**options):
    world = World(0)
    return world, CloudQueue(world, "jobs", **options)


def _at(world, t):
    world.run(until=t)


def test_a_received_message_is_invisible_until_its_timeout_then_comes_back():
    world, q = _world_queue(visibility_timeout=5.0)
    q.send("m1")
    first = q.receive("a")
    assert [r.msg_id for r in first] == ["m1"]
    assert q.receive("b") == []  # in flight: invisible
    _at(world, 4.9)
    assert q.receive("b") == []
    _at(world, 5.0)
    again = q.receive("b")
    assert [(r.msg_id, r.receive_count) for r in again] == [("m1", 2)]
    events = world.frames()["cloudqueue"]["event"].tolist()
    assert events == ["sent", "received", "visible-again", "received"]


def test_delete_removes_and_a_stale_handle_deletes_nothing():
    world, q = _world_queue(visibility_timeout=1.0)
    q.send("m1")
    old = q.receive("a")[0].handle
    _at(world, 2.0)
    new = q.receive("b")[0].handle
    assert q.delete(old) is False  # received again since: the old handle is stale
    assert len(q) == 1
    assert q.delete(new) is True
    assert len(q) == 0 and q.delete(new) is False


def test_change_visibility_zero_is_a_nack():
    _world, q = _world_queue(visibility_timeout=30.0)
    q.send("m1")
    handle = q.receive("a")[0].handle
    assert q.change_visibility(handle, 0.0)
    assert [r.msg_id for r in q.receive("b")] == ["m1"]


def test_receive_order_is_not_send_order():
    _world, q = _world_queue()
    for i in range(50):
        q.send(i)
    got = [r.msg_id for r in q.receive("a", max_messages=50)]
    assert sorted(got) == list(range(50))
    assert got != list(range(50))


def test_redrive_moves_a_message_received_too_often_to_the_dead_letter_queue():
    world = World(0)
    dlq = CloudQueue(world, "dlq")
    q = CloudQueue(world, "jobs", visibility_timeout=0.0, max_receive_count=3, dead_letter=dlq)
    q.send("poison")
    counts = []
    for _ in range(5):
        counts += [r.receive_count for r in q.receive("a")]
    assert counts == [1, 2, 3]  # received max_receive_count times, then moved
    assert len(q) == 0 and len(dlq) == 1


def test_retention_deletes_unconsumed_messages():
    world, q = _world_queue(retention=10.0)
    q.send("m1")
    _at(world, 10.0)
    assert q.visible() == 0 and len(q) == 0
    assert world.frames()["cloudqueue"]["event"].tolist() == ["sent", "expired"]


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"visibility_timeout": -1}, "visibility_timeout"),
        ({"max_receive_count": 0, "dead_letter": None}, "max_receive_count"),
        ({"max_receive_count": 3}, "dead_letter"),
        ({"retention": 0}, "retention"),
    ],
)
def test_bad_settings_name_the_setting(options, name):
    with pytest.raises(ConfigError) as err:
        CloudQueue(World(0), "q", **options)
    assert err.value.parameter == name


def test_a_duplicate_send_and_a_bad_batch_size_are_refused():
    _, q = _world_queue()
    q.send("m1")
    with pytest.raises(ConfigError):
        q.send("m1")
    with pytest.raises(ConfigError):
        q.receive("a", max_messages=0)
