"""The RabbitMQ-style queue and exchanges, following RabbitMQ's documented behaviour."""

import pytest

from labsim import ConfigError, Network, World
from labsim.amqp import Message, MessageBroker, Queue, deaths, topic_matches


def events(world, queue="q"):
    amqp = world.frame("amqp")
    return amqp[amqp["queue"] == queue]


def test_competing_consumers_share_and_prefetch_bounds_unacked():
    world = World()
    q = Queue(world, "q")
    a, b = q.subscribe("a", prefetch=2), q.subscribe("b", prefetch=2)
    for i in range(10):
        q.publish(Message(i))
    assert len(a.unacked) == 2 and len(b.unacked) == 2
    assert len(q) == 6
    tag = a.buffer[0].tag
    a.ack(tag)
    assert len(a.unacked) == 2 and len(q) == 5  # the freed slot is refilled at once
    with pytest.raises(ConfigError, match="tag"):
        a.ack(tag)


def test_nack_with_requeue_goes_back_to_the_head_and_is_marked_redelivered():
    world = World()
    q = Queue(world, "q")
    q.publish(Message("first"))
    q.publish(Message("second"))
    c = q.subscribe("c", prefetch=1)
    first = c.buffer.popleft()
    tag, msg = first.tag, first.message
    assert msg.msg_id == "first" and not msg.redelivered
    c.nack(tag, requeue=True)
    again = c.buffer.popleft().message
    assert again.msg_id == "first" and again.redelivered and again.delivery_count == 2


def test_reject_dead_letters_with_the_reason():
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", dead_letter=dlq)
    q.publish(Message("bad"))
    c = q.subscribe("c")
    tag = c.buffer.popleft().tag
    c.reject(tag)
    assert len(dlq) == 1
    assert deaths(dlq._peek_head()) == [{"queue": "q", "reason": "rejected", "count": 1}]


def test_delivery_limit_dead_letters_a_message_returned_more_often_than_the_limit():
    # RabbitMQ 3.10 (conformance script quorum_delivery_limit): limit 3 -> 4 deliveries, the
    # redeliveries carrying x-delivery-count 1..3; the 4th return dead-letters it at once.
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", queue_type="quorum", delivery_limit=3, dead_letter=dlq)
    q.publish(Message("poison"))
    c = q.subscribe("c")
    counts = []
    for _ in range(4):
        delivery = c.buffer.popleft()
        counts.append(delivery.message.headers.get("x-delivery-count"))
        assert len(dlq) == 0
        c.nack(delivery.tag, requeue=True)
    assert counts == [None, 1, 2, 3]
    assert len(q) == 0 and len(dlq) == 1 and not c.buffer
    dead = dlq._peek_head()
    assert deaths(dead) == [{"queue": "q", "reason": "delivery_limit", "count": 1}]
    assert "x-delivery-count" not in dead.headers and dead.delivery_count == 0
    assert events(world)["event"].tolist()[-2:] == ["delivered", "dead-lettered"]  # no requeue


def test_ttl_expires_only_at_the_head():
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", dead_letter=dlq)
    q.publish(Message("long", ttl=10.0))
    q.publish(Message("short", ttl=1.0))
    world.run(until=5)
    # "short" expired at t=1 but sits behind "long": RabbitMQ drops it only at the head.
    assert len(q) == 2 and len(dlq) == 0
    world.run(until=11)
    assert len(q) == 0 and len(dlq) == 2
    assert events(world)["event"].tolist().count("expired") == 2


def test_max_length_drops_head_or_refuses_publish():
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", max_length=2, dead_letter=dlq)
    for i in range(3):
        q.publish(Message(i))
    assert [m.msg_id for m in q._ready[0]] == [1, 2]
    assert deaths(dlq._peek_head())[0]["reason"] == "maxlen"
    strict = Queue(world, "strict", max_length=1, overflow="reject-publish")
    assert strict.publish(Message("a")) is True
    assert strict.publish(Message("b")) is False


def test_priorities_deliver_higher_first():
    world = World()
    q = Queue(world, "q", max_priority=5)
    for i, p in enumerate([0, 5, 1, 5]):
        q.publish(Message(i, priority=p))
    c = q.subscribe("c", prefetch=10)
    assert [d.message.msg_id for d in c.buffer] == [1, 3, 2, 0]


def test_a_crashed_consumer_gets_its_unacked_messages_requeued():
    world = World()
    net = Network(world, ["c1", "c2"])
    q = Queue(world, "q")
    for i in range(4):
        q.publish(Message(i))
    c1 = q.subscribe("c1", prefetch=3, node=net.node("c1"))
    assert len(c1.unacked) == 3
    world.run(until=0.1)
    net.crash("c1")
    world.run(until=0.2)
    assert not c1.open and len(q) == 4
    c2 = q.subscribe("c2", prefetch=10, node=net.node("c2"))
    got = [(d.message.msg_id, d.message.redelivered) for d in c2.buffer]
    assert got == [(0, True), (1, True), (2, True), (3, False)]


def test_exchanges_route_fanout_direct_and_topic():
    world = World()
    broker = MessageBroker(world)
    for name in ("billing", "shipping", "eu-orders", "audit"):
        broker.declare_queue(name)
    broker.declare_exchange("events", "fanout")
    broker.bind("events", "billing")
    broker.bind("events", "shipping")
    assert broker.publish("events", "whatever", Message(1)).queues == ("billing", "shipping")
    broker.declare_exchange("direct", "direct")
    broker.bind("direct", "billing", "order.paid")
    assert broker.publish("direct", "order.paid", Message(2)).queues == ("billing",)
    assert broker.publish("direct", "order.shipped", Message(3)).queues == ()
    broker.declare_exchange("topics", "topic")
    broker.bind("topics", "eu-orders", "order.*.eu")
    broker.bind("topics", "audit", "#")
    assert broker.publish("topics", "order.created.eu", Message(4)).queues == ("eu-orders", "audit")
    assert broker.publish("topics", "order.created.us", Message(5)).queues == ("audit",)


@pytest.mark.parametrize(
    "pattern, key, expected",
    [
        ("a.*.c", "a.b.c", True),
        ("a.*.c", "a.c", False),
        ("a.#", "a", True),
        ("a.#", "a.b.c", True),
        ("#.c", "a.b.c", True),
        ("*", "a.b", False),
        ("#", "", True),
    ],
)
def test_topic_matching(pattern, key, expected):
    assert topic_matches(pattern, key) is expected


def test_bad_queue_and_exchange_settings():
    world = World()
    broker = MessageBroker(world)
    broker.declare_queue("q")
    with pytest.raises(ConfigError, match="prefetch"):
        broker.queue("q").subscribe("c", prefetch=0)
    with pytest.raises(ConfigError, match="message_ttl"):
        Queue(world, "x", message_ttl=-1)
    broker.declare_exchange("ex", "fanout")
    with pytest.raises(ConfigError, match="missing"):
        broker.bind("ex", "missing")
    with pytest.raises(ConfigError, match="kind"):
        broker.declare_exchange("other", "headers")
    with pytest.raises(ConfigError, match="exchange"):
        broker.publish("nope", "k", Message(1))


def test_record_state_writes_ready_and_unacked_messages_as_rows():
    world = World()
    broker = MessageBroker(world)
    broker.declare_queue("empty")
    q = broker.declare_queue("q", max_priority=1)
    for i in range(3):
        q.publish(Message(i, priority=i % 2))
    c = q.subscribe("c", prefetch=1)  # takes the high-priority message 1
    broker.record_state()
    state = world.frame("amqp_state")
    assert list(state.columns) == ["queue", "msg_id", "state", "consumer", "delivery_count"]
    rows = state[["msg_id", "state", "consumer"]].fillna({"consumer": "-"}).to_dict("records")
    assert rows == [
        {"msg_id": 0, "state": "ready", "consumer": "-"},
        {"msg_id": 2, "state": "ready", "consumer": "-"},
        {"msg_id": 1, "state": "unacked", "consumer": "c"},
    ]
    assert set(state["queue"]) == {"q"} and len(c.unacked) == 1


def test_record_state_of_empty_queues_is_an_empty_table():
    world = World()
    MessageBroker(world).record_state()
    assert world.frame("amqp_state").empty
