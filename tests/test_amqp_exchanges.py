"""Exchanges and the broker's name lookups: one routing rule, one lookup for every name."""

import pytest

from labsim import ConfigError, World
from labsim.amqp import (
    DEFAULT_EXCHANGE,
    EXCHANGE_KINDS,
    Exchange,
    Message,
    MessageBroker,
    Queue,
    Routed,
)
from labsim.amqp.exchanges import binding_matches


@pytest.mark.parametrize(
    "kind, binding, key, expected",
    [
        ("fanout", "anything", "order.paid", True),
        ("direct", "order.paid", "order.paid", True),
        ("direct", "order.paid", "order.shipped", False),
        ("topic", "order.*", "order.paid", True),
        ("topic", "order.*", "order.paid.eu", False),
        ("topic", "order.#", "order.paid.eu", True),
    ],
)
def test_one_rule_decides_every_kind_of_binding(kind, binding, key, expected):
    assert kind in EXCHANGE_KINDS
    assert binding_matches(kind, binding, key) is expected


def test_a_queue_bound_twice_gets_one_copy_in_binding_order():
    world = World()
    a, b = Queue(world, "a"), Queue(world, "b")
    exchange = Exchange("events", "topic")
    exchange.bind(b, "order.#")
    exchange.bind(a, "order.*")
    exchange.bind(b, "#")
    assert exchange.route("order.paid") == [b, a]
    assert exchange.route("invoice") == [b]


def test_the_default_exchange_routes_by_queue_name():
    world = World()
    broker = MessageBroker(world)
    broker.declare_queue("orders")
    broker.declare_queue("audit")
    routed = broker.publish(DEFAULT_EXCHANGE, "orders", Message("m1"))
    assert routed == Routed(("orders",))
    assert len(broker.queue("orders")) == 1 and len(broker.queue("audit")) == 0
    assert broker.publish("", "nowhere", Message("m2")) == Routed(())


def test_a_full_queue_that_rejects_publishes_is_named_in_routed_refused():
    world = World()
    broker = MessageBroker(world)
    broker.declare_queue("small", max_length=1, overflow="reject-publish")
    broker.declare_queue("big")
    broker.declare_exchange("all", "fanout")
    broker.bind("all", "small")
    broker.bind("all", "big")
    assert broker.publish("all", "", Message(1)) == Routed(("small", "big"))
    assert broker.publish("all", "", Message(2)) == Routed(("big",), refused=("small",))


@pytest.mark.parametrize("use", ["exchange", "bind", "publish"])
def test_every_use_of_a_missing_exchange_names_the_declared_ones(use):
    broker = MessageBroker(World())
    broker.declare_queue("q")
    broker.declare_exchange("events", "fanout")
    calls = {
        "exchange": lambda: broker.exchange("nope"),
        "bind": lambda: broker.bind("nope", "q"),
        "publish": lambda: broker.publish("nope", "k", Message(1)),
    }
    with pytest.raises(ConfigError, match=r"exchange='nope'.*a declared exchange.*'events'"):
        calls[use]()


def test_a_missing_queue_names_the_declared_ones():
    broker = MessageBroker(World())
    broker.declare_queue("orders")
    broker.declare_exchange("events", "fanout")
    with pytest.raises(ConfigError, match=r"queue='nope'.*a declared queue.*'orders'"):
        broker.bind("events", "nope")
    with pytest.raises(ConfigError, match="queue='nope'"):
        broker.declare_queue("x", dead_letter="nope")
