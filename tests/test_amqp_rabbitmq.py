"""The RabbitMQ-style queue where a real RabbitMQ 3.10.8 corrected it.

Each behaviour here was a difference the conformance scripts found (``labsim/conformance``,
``data/conformance/rabbitmq-3.10.8.json``); the script named in each test shows the server doing
the same thing.
"""

import pytest

from labsim import ConfigError, World
from labsim.amqp import QUEUE_TYPES, DeadLetterExchange, Message, MessageBroker, Queue, deaths
from labsim.amqp.message import dead_letter_copy, is_dead_letter_cycle


def events(world, queue="q"):
    amqp = world.frame("amqp")
    return amqp[amqp["queue"] == queue]


def take(channel):
    """Everything delivered to ``channel`` so far: [(msg_id, Delivery), ...]."""
    got = []
    while channel.buffer:
        d = channel.buffer.popleft()
        got.append((d.message.msg_id, d))
    return got


def ids(channel):
    return [m for m, _ in take(channel)]


# -- 1. quorum delivery limit (scripts quorum_delivery_limit, quorum_delivery_limit_on_close) ----
def test_returns_by_a_closing_channel_count_towards_the_delivery_limit():
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", queue_type="quorum", delivery_limit=1, dead_letter=dlq)
    q.publish(Message("m1"))
    c1 = q.subscribe("c1")
    assert ids(c1) == ["m1"]
    c1.close()  # 1st return: not more than 1, requeued
    c2 = q.subscribe("c2")
    [(_, d)] = take(c2)
    assert d.message.redelivered and d.message.headers["x-delivery-count"] == 1
    c2.close()  # 2nd return: more than 1, dead-lettered
    assert len(q) == 0 and len(dlq) == 1
    assert deaths(dlq._peek_head())[0]["reason"] == "delivery_limit"
    assert ids(q.subscribe("c3")) == []


def test_a_delivery_limit_of_zero_dead_letters_at_the_first_return():
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", queue_type="quorum", delivery_limit=0, dead_letter=dlq)
    q.publish(Message("m1"))
    c = q.subscribe("c")
    [(_, d)] = take(c)
    c.nack(d.tag, requeue=True)
    assert len(q) == 0 and len(dlq) == 1


def test_nack_without_requeue_on_a_limited_queue_is_rejected_not_limited():
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", queue_type="quorum", delivery_limit=5, dead_letter=dlq)
    q.publish(Message("m1"))
    c = q.subscribe("c")
    [(_, d)] = take(c)
    c.reject(d.tag)
    assert deaths(dlq._peek_head())[0]["reason"] == "rejected"


# -- 2. quorum requeue goes to the back (script quorum_requeue_goes_to_back) --------------------
@pytest.mark.parametrize(
    "queue_type, expected",
    [("classic", ["m1", "m1", "m1", "m1"]), ("quorum", ["m1", "m2", "m3", "m1"])],
)
def test_a_nack_with_requeue_goes_to_the_head_of_classic_and_the_back_of_quorum(
    queue_type, expected
):
    world = World()
    q = Queue(world, "q", queue_type=queue_type)
    for body in ("m1", "m2", "m3"):
        q.publish(Message(body))
    c = q.subscribe("c")
    seen = []
    for _ in range(4):
        [(msg_id, d)] = take(c)
        seen.append(msg_id)
        c.nack(d.tag, requeue=True)
    assert seen == expected


@pytest.mark.parametrize("queue_type", QUEUE_TYPES)
def test_a_closing_channel_returns_its_messages_to_the_head_in_delivery_order(queue_type):
    # Script quorum_close_returns_to_head: a quorum queue, too, serves them first.
    world = World()
    q = Queue(world, "q", queue_type=queue_type)
    for body in ("m1", "m2", "m3", "m4"):
        q.publish(Message(body))
    c1 = q.subscribe("c1", prefetch=2)
    assert ids(c1) == ["m1", "m2"]
    c1.close()
    c2 = q.subscribe("c2", prefetch=10)
    got = take(c2)
    assert [m for m, _ in got] == ["m1", "m2", "m3", "m4"]
    counts = [d.message.headers.get("x-delivery-count") for _, d in got]
    assert counts == ([1, 1, None, None] if queue_type == "quorum" else [None] * 4)


# -- 3. queue types and their features (script classic_refuses_delivery_limit) ------------------
def test_a_classic_queue_refuses_a_delivery_limit_naming_the_quorum_queue():
    world = World()
    with pytest.raises(ConfigError, match="quorum-queue feature") as info:
        Queue(world, "q", delivery_limit=3)
    assert info.value.parameter == "delivery_limit" and info.value.value == 3
    broker = MessageBroker(world)
    with pytest.raises(ConfigError, match="delivery_limit"):
        broker.declare_queue("orders", delivery_limit=3)
    assert "orders" not in broker.queues
    assert broker.declare_queue("orders", queue_type="quorum", delivery_limit=3).delivery_limit == 3


def test_a_quorum_queue_refuses_priorities_and_unknown_types_are_named():
    world = World()
    with pytest.raises(ConfigError, match="classic-queue feature") as info:
        Queue(world, "q", queue_type="quorum", max_priority=5)
    assert info.value.parameter == "max_priority"
    with pytest.raises(ConfigError, match="queue_type"):
        Queue(world, "q", queue_type="stream")
    with pytest.raises(ConfigError, match="delivery_limit"):
        Queue(world, "q", queue_type="quorum", delivery_limit=-1)
    assert Queue(world, "q").queue_type == "classic"


# -- 4. queue TTL caps message TTL (scripts queue_ttl_caps_message_ttl, ..._below_queue_ttl) ----
@pytest.mark.parametrize(
    "queue_ttl, message_ttl, expires",
    [(1.0, 5.0, 1.0), (5.0, 1.0, 1.0), (None, 2.0, 2.0), (3.0, None, 3.0), (None, None, None)],
)
def test_the_lower_of_queue_and_message_ttl_applies(queue_ttl, message_ttl, expires):
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", message_ttl=queue_ttl, dead_letter=dlq)
    msg = Message("m1", ttl=message_ttl)
    world.run(until=0.5)
    q.publish(msg)
    if expires is None:
        assert msg.expires_at is None
        world.run(until=100)
        assert len(q) == 1
        return
    assert msg.expires_at == pytest.approx(0.5 + expires)
    world.run(until=0.5 + expires - 0.01)
    assert len(q) == 1
    world.run(until=0.5 + expires + 0.01)
    assert len(q) == 0 and len(dlq) == 1


# -- 5. expired messages behind the head (script expired_behind_head_not_delivered) -------------
def test_an_expired_message_reaching_the_head_while_delivering_is_not_delivered():
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", dead_letter=dlq)
    q.publish(Message("m1"))
    q.publish(Message("m2", ttl=0.1))
    q.publish(Message("m3"))
    world.run(until=0.3)
    assert len(q) == 3  # m2 expired behind m1: still counted (only the head expires)
    c = q.subscribe("c", prefetch=2)
    assert ids(c) == ["m1", "m3"]
    assert len(dlq) == 1 and dlq._peek_head().msg_id == "m2"
    assert events(world)["event"].tolist() == [
        *["published"] * 3,
        "delivered",
        "expired",
        "dead-lettered",
        "delivered",
    ]


def test_a_returned_message_with_a_ttl_expires_on_time_without_consumers():
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", dead_letter=dlq)
    q.publish(Message("m1", ttl=1.0))
    c = q.subscribe("c")
    world.run(until=0.5)
    c.close()  # back in the queue; nobody consumes
    assert len(q) == 1
    world.run(until=1.01)
    assert len(q) == 0 and len(dlq) == 1


# -- 6. TTL 0 (script ttl_zero_reaches_waiting_consumer) ----------------------------------------
def test_ttl_zero_reaches_a_consumer_with_room_and_expires_otherwise():
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", dead_letter=dlq)
    q.publish(Message("early", ttl=0.0))  # no consumer yet: expires at once
    assert len(q) == 0 and [m.msg_id for m in dlq._ready[0]] == ["early"]
    c = q.subscribe("c", prefetch=1)
    q.publish(Message("m1", ttl=0.0))  # c has room: delivered
    q.publish(Message("m2", ttl=0.0))  # c is full: expires at once
    assert ids(c) == ["m1"]
    assert len(q) == 0 and [m.msg_id for m in dlq._ready[0]] == ["early", "m2"]
    assert deaths(dlq._ready[0][1]) == [{"queue": "q", "reason": "expired", "count": 1}]
    # A queue TTL of 0 behaves the same.
    zero = Queue(world, "zero", message_ttl=0.0)
    zc = zero.subscribe("zc", prefetch=1)
    zero.publish(Message("z1"))
    zero.publish(Message("z2"))
    assert ids(zc) == ["z1"] and len(zero) == 0


# -- 7. x-death history (script delayed_retry_through_ttl_queue, delayed_retry_counts_deaths) ---
def test_dead_letter_copy_keeps_the_history_newest_first_with_counts():
    msg = Message("m1", ttl=5.0)
    msg.headers["x-delivery-count"] = 2
    once = dead_letter_copy(msg, "q", "rejected")
    assert once.expires_at is None and "x-delivery-count" not in once.headers
    twice = dead_letter_copy(dead_letter_copy(once, "retry", "expired"), "q", "rejected")
    thrice = dead_letter_copy(twice, "retry", "expired")
    assert deaths(thrice) == [
        {"queue": "retry", "reason": "expired", "count": 2},
        {"queue": "q", "reason": "rejected", "count": 2},
    ]
    assert thrice.headers["x-first-death-queue"] == "q"
    assert thrice.headers["x-first-death-reason"] == "rejected"
    assert deaths(once) == [{"queue": "q", "reason": "rejected", "count": 1}]  # copies, not views
    assert deaths(msg) == []


def delayed_retry_broker(world):
    broker = MessageBroker(world)
    broker.declare_exchange("ex", "direct")
    broker.declare_exchange("retry-ex", "direct")
    q = broker.declare_queue("q", dead_letter_exchange="retry-ex")
    broker.declare_queue("retry", message_ttl=0.2, dead_letter_exchange="ex")
    broker.bind("ex", "q", "k")
    broker.bind("retry-ex", "retry", "k")
    return broker, q


def test_a_delayed_retry_goes_round_and_counts_each_death():
    world = World()
    broker, q = delayed_retry_broker(world)
    broker.publish("ex", "k", Message("m1"))
    c = q.subscribe("c")
    for _ in range(2):
        [(_, d)] = take(c)
        c.reject(d.tag)
        world.run(until=world.now + 0.3)
    [(_, d)] = take(c)
    assert d.message.routing_key == "k"
    assert deaths(d.message) == [
        {"queue": "retry", "reason": "expired", "count": 2},
        {"queue": "q", "reason": "rejected", "count": 2},
    ]
    assert d.message.headers["x-first-death-queue"] == "q"


def test_a_dead_letter_cycle_without_a_rejection_is_dropped():
    # Script dead_letter_cycle_is_dropped: a TTL queue dead-lettering to itself.
    world = World()
    broker = MessageBroker(world)
    broker.declare_exchange("ex", "direct")
    broker.declare_queue("q", message_ttl=0.1, dead_letter_exchange="ex")
    audit = broker.declare_queue("audit")
    broker.bind("ex", "q", "k")
    broker.bind("ex", "audit", "k")
    broker.publish("ex", "k", Message("m1"))
    world.run(until=1.0)
    assert len(broker.queue("q")) == 0  # not back in q: dropped
    copies = list(audit._ready[0])  # the original and the dead-lettered copy
    assert [deaths(m) for m in copies] == [[], [{"queue": "q", "reason": "expired", "count": 1}]]
    # The same with a queue as the target.
    self_loop = Queue(world, "loop", message_ttl=0.1)
    self_loop.dead_letter = self_loop
    self_loop.publish(Message("m2"))
    world.run(until=2.0)
    assert len(self_loop) == 0


@pytest.mark.parametrize(
    "history, target, cycle",
    [
        ([], "q", False),
        ([{"queue": "q", "reason": "expired"}], "q", True),
        ([{"queue": "q", "reason": "rejected"}], "q", False),
        ([{"queue": "r", "reason": "expired"}, {"queue": "q", "reason": "expired"}], "q", True),
        ([{"queue": "r", "reason": "expired"}, {"queue": "q", "reason": "rejected"}], "q", False),
        ([{"queue": "r", "reason": "rejected"}, {"queue": "q", "reason": "expired"}], "q", False),
        ([{"queue": "r", "reason": "maxlen"}], "q", False),
    ],
)
def test_rabbitmq_cycle_rule(history, target, cycle):
    assert is_dead_letter_cycle(target, history) is cycle


# -- 8. basic.cancel (script cancel_keeps_unacked) ----------------------------------------------
def test_cancel_stops_deliveries_but_keeps_unacked_messages_settleable():
    world = World()
    dlq = Queue(world, "dlq")
    q = Queue(world, "q", dead_letter=dlq)
    for i in range(1, 6):
        q.publish(Message(f"m{i}"))
    c1 = q.subscribe("c1", prefetch=3)
    got = dict(take(c1))
    c1.cancel()
    assert c1.open and not c1.consuming and c1.free == 0
    assert len(q) == 2 and q.unacked == 3
    c1.ack(got["m1"].tag)  # room in the window, but no more deliveries
    assert not c1.buffer and len(q) == 2
    c2 = q.subscribe("c2", prefetch=10)
    assert ids(c2) == ["m4", "m5"]
    c1.nack(got["m2"].tag, requeue=True)  # settled after the cancel: back to the queue
    [(msg_id, d)] = take(c2)
    assert msg_id == "m2" and d.message.redelivered
    c1.close()  # what is still unacknowledged returns now
    [(msg_id, d)] = take(c2)
    assert msg_id == "m3" and d.message.redelivered
    assert len(dlq) == 0 and q.channels == [c2]


def test_record_state_still_lists_a_cancelled_consumers_unacked_messages():
    world = World()
    broker = MessageBroker(world)
    q = broker.declare_queue("q")
    q.publish(Message("m1"))
    q.subscribe("c", prefetch=1).cancel()
    broker.record_state()
    assert world.frame("amqp_state")[["msg_id", "state"]].values.tolist() == [["m1", "unacked"]]


# -- 9. dead-letter exchange (scripts dead_letter_rejected, dead_letter_keeps_routing_key) ------
def test_dead_letters_are_routed_through_the_dead_letter_exchange():
    world = World()
    broker = MessageBroker(world)
    broker.declare_exchange("dlx", "topic")
    for name, pattern in (("dl-a", "a.#"), ("dl-b", "b.#"), ("dl-dead", "dead")):
        broker.declare_queue(name)
        broker.bind("dlx", name, pattern)
    broker.declare_exchange("ex", "topic")
    own = broker.declare_queue("own", dead_letter_exchange="dlx")  # the message's own key
    keyed = broker.declare_queue(
        "keyed", dead_letter_exchange="dlx", dead_letter_routing_key="dead"
    )
    assert isinstance(own.dead_letter, DeadLetterExchange)
    assert (keyed.dead_letter.exchange, keyed.dead_letter.routing_key) == ("dlx", "dead")
    broker.bind("ex", "own", "#")
    broker.bind("ex", "keyed", "#")
    broker.publish("ex", "a.1", Message("m1"))
    broker.publish("ex", "b.1", Message("m2"))
    for queue in (own, keyed):
        c = queue.subscribe(f"c-{queue.name}", prefetch=10)
        for _, d in take(c):
            c.reject(d.tag)
    routed = {
        n: [(m.msg_id, m.routing_key) for m in broker.queue(n)._ready[0]]
        for n in ("dl-a", "dl-b", "dl-dead")
    }
    assert routed == {
        "dl-a": [("m1", "a.1")],
        "dl-b": [("m2", "b.1")],
        "dl-dead": [("m1", "dead"), ("m2", "dead")],
    }
    assert deaths(broker.queue("dl-dead")._ready[0][0])[0]["queue"] == "keyed"


def test_a_dead_letter_exchange_may_come_later_and_a_missing_one_drops():
    world = World()
    broker = MessageBroker(world)
    q = broker.declare_queue("q", dead_letter_exchange="later", dead_letter_routing_key="k")
    q.publish(Message("m1"))
    q.publish(Message("m2"))
    c = q.subscribe("c", prefetch=2)
    (_, d1), (_, d2) = take(c)
    c.reject(d1.tag)  # no exchange "later" yet: dropped, as RabbitMQ does
    broker.declare_exchange("later", "direct")
    broker.declare_queue("dlq")
    broker.bind("later", "dlq", "k")
    c.reject(d2.tag)
    assert [m.msg_id for m in broker.queue("dlq")._ready[0]] == ["m2"]
    assert events(world)["event"].tolist().count("dead-lettered") == 2


def test_the_default_exchange_and_the_queue_shortcut_both_reach_a_queue():
    world = World()
    broker = MessageBroker(world)
    dlq = broker.declare_queue("dlq")
    via_default = broker.declare_queue("a", dead_letter_exchange="", dead_letter_routing_key="dlq")
    shortcut = broker.declare_queue("b", dead_letter="dlq")
    assert shortcut.dead_letter is dlq
    for queue in (via_default, shortcut):
        queue.publish(Message(queue.name))
        c = queue.subscribe("c")
        c.reject(c.buffer.popleft().tag)
    assert [(m.msg_id, m.routing_key) for m in dlq._ready[0]] == [("a", "dlq"), ("b", "")]


def test_dead_letter_options_that_contradict_each_other_are_refused():
    world = World()
    broker = MessageBroker(world)
    broker.declare_queue("dlq")
    with pytest.raises(ConfigError, match="dead_letter_routing_key"):
        broker.declare_queue("q", dead_letter_routing_key="k")  # RabbitMQ refuses it too
    with pytest.raises(ConfigError, match="dead_letter="):
        broker.declare_queue("q", dead_letter="dlq", dead_letter_exchange="dlx")
    with pytest.raises(ConfigError, match="missing"):
        broker.declare_queue("q", dead_letter="missing")
    assert "q" not in broker.queues
