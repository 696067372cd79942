"""Each kind of message a Kafka-style client sends gets its typed reply from the broker."""

import dataclasses
import gc
import re
from pathlib import Path

import pytest

from labsim import Network, World, ms
from labsim.kafka import Broker
from labsim.kafka.messages import (
    DUPLICATE_SEQUENCE,
    ILLEGAL_GENERATION,
    OUT_OF_ORDER_SEQUENCE,
    REBALANCE_IN_PROGRESS,
    UNKNOWN_MEMBER_ID,
    UNKNOWN_TOPIC_OR_PARTITION,
    Commit,
    CommitReply,
    Entry,
    ErrorReply,
    Fetch,
    FetchReply,
    Heartbeat,
    HeartbeatReply,
    JoinGroup,
    JoinReply,
    LeaveGroup,
    LeaveReply,
    OffsetFetch,
    OffsetFetchReply,
    PartitionOffsets,
    Position,
    Produce,
    ProduceReply,
)
from labsim.transport import Endpoint, Request, quick_init

KAFKA = Path(__file__).resolve().parents[1] / "labsim" / "kafka"


def conversation(requests, partitions=2):
    """Send ``requests`` one after the other from node ``client``; return the replies."""
    world = World(0)
    net = Network(world, ["broker", "client"], latency=ms(1))
    broker = Broker(net, initial_rebalance_delay=0.05)
    broker.create_topic("t", partitions=partitions)
    client = Endpoint.of(net, "client")
    replies = []

    def talk():
        for request in requests:
            body = request(replies) if callable(request) else request
            replies.append((yield from client.call("broker", body, timeout=1.0)))

    world.process(talk())
    world.run(until=30)
    return replies


def entries(*ids):
    return tuple(Entry(f"k-{i}", i, f"m{i}") for i in ids)


def test_produce_appends_and_fetch_reads_back_in_offset_order():
    produce = Produce("p", "t", 1, None, entries(0, 1, 2))
    fetch = Fetch((Position("t", 0, 0), Position("t", 1, 1)), max_records=10)
    replies = conversation([produce, Produce("p", "nope", 0, None, entries(3)), fetch])
    assert replies[0] == ProduceReply((0, 1, 2))
    assert replies[1] == ErrorReply(UNKNOWN_TOPIC_OR_PARTITION)
    fetched = replies[2]
    assert isinstance(fetched, FetchReply) and len(fetched.batches) == 1  # partition 0 is empty
    batch = fetched.batches[0]
    assert (batch.tp, [r.offset for r in batch.records]) == (("t", 1), [1, 2])
    assert [r.msg_id for r in batch.records] == ["m1", "m2"]


def test_idempotent_produce_acknowledges_a_retry_and_refuses_gaps_and_old_batches():
    first = Produce("p", "t", 0, 0, entries(0, 1))
    second = Produce("p", "t", 0, 2, entries(2))
    replies = conversation(
        [first, second, first, Produce("p", "t", 0, 1, entries(9)), Produce("p", "t", 0, 7, ())]
    )
    assert replies[:3] == [ProduceReply((0, 1)), ProduceReply((2,)), ProduceReply((0, 1))]
    assert replies[3] == ErrorReply(DUPLICATE_SEQUENCE)
    assert replies[4] == ErrorReply(OUT_OF_ORDER_SEQUENCE)


def test_group_requests_get_their_typed_replies():
    join = JoinGroup("g", "range", None, ("t",), 10.0, ())

    def member(replies):
        return replies[1].member

    replies = conversation(
        [
            Produce("p", "t", 0, None, entries(0, 1, 2)),
            join,
            lambda r: Heartbeat("g", member(r), 1),
            lambda r: Heartbeat("g", "stranger", 1),
            lambda r: Heartbeat("g", member(r), 0),
            lambda r: Commit("g", member(r), 1, (Position("t", 0, 2),)),
            lambda r: Commit("g", member(r), 0, (Position("t", 0, 3),)),
            OffsetFetch("g", (("t", 0), ("t", 1))),
            lambda r: LeaveGroup("g", member(r)),
            lambda r: Heartbeat("g", member(r), 1),
        ]
    )
    assert replies[1] == JoinReply("client-1", 1, (("t", 0), ("t", 1)))
    assert replies[2] == HeartbeatReply()
    assert replies[3] == ErrorReply(UNKNOWN_MEMBER_ID)
    assert replies[4] == ErrorReply(REBALANCE_IN_PROGRESS)
    assert replies[5] == CommitReply()
    assert replies[6] == ErrorReply(ILLEGAL_GENERATION)  # a stale generation is fenced
    assert replies[7] == OffsetFetchReply(
        (PartitionOffsets("t", 0, 2, 3), PartitionOffsets("t", 1, None, 0))
    )
    assert replies[8] == LeaveReply()
    assert replies[9] == ErrorReply(UNKNOWN_MEMBER_ID)


def test_the_broker_refuses_a_body_that_is_no_kafka_request():
    with pytest.raises(TypeError, match="no Kafka request"):
        conversation([("produce", "t", 0)])


def test_messages_are_frozen_and_slotted():
    message = Position("t", 0, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.offset = 4
    assert not hasattr(message, "__dict__")
    assert not hasattr(Request(message, 1, "c"), "__dict__")


def test_quick_init_keeps_a_message_a_frozen_value_and_refuses_what_it_cannot_build():
    made = Entry(key="k", value=1, msg_id="m1")
    assert made == Entry("k", 1, "m1") and hash(made) == hash(Entry("k", 1, "m1"))
    assert repr(made) == "Entry(key='k', value=1, msg_id='m1')"
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.value = 2
    with pytest.raises(TypeError, match="msg_id"):
        Entry("k", 1)
    assert dataclasses.replace(Position("t", 0, 3), offset=4) == Position("t", 0, 4)

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithDefault:
        x: int = 0

    @dataclasses.dataclass(frozen=True)
    class NotSlotted:
        x: int

    for cls in (WithDefault, NotSlotted):
        with pytest.raises(TypeError, match="quick_init"):
            quick_init(cls)


def test_no_message_is_unpacked_by_position_and_no_reply_is_a_tuple_or_a_bare_string():
    for path in sorted(KAFKA.glob("*.py")):
        source = path.read_text()
        assert "payload" not in source, path.name
        assert not re.search(r"reply\[\d\]|\(\"(ok|error)\",", source), path.name
    assert "match request.body" in (KAFKA / "broker.py").read_text()


def test_one_endpoint_per_node_kept_outside_the_network():
    world = World(0)
    net = Network(world, ["a", "b"])
    other = Network(World(1), ["a"])
    assert Endpoint.of(net, "a") is Endpoint.of(net, "a")
    assert Endpoint.of(net, "a") is not Endpoint.of(net, "b")
    assert Endpoint.of(other, "a") is not Endpoint.of(net, "a")
    kept = [v for v in vars(net).values() if isinstance(v, dict)]
    assert not any(isinstance(e, Endpoint) for d in kept for e in d.values())


def test_a_finished_network_and_its_endpoints_are_freed():
    import weakref

    world = World(0)
    net = Network(world, ["a"])
    Endpoint.of(net, "a")
    gone = weakref.ref(net)
    del world, net
    gc.collect()
    assert gone() is None
