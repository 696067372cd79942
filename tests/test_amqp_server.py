"""The broker on a node: every message kind a publisher and the broker exchange."""

import pytest

from labsim import ConfigError, Network, World
from labsim.amqp import (
    BrokerServer,
    Confirm,
    MessageBroker,
    Nack,
    Publish,
    Publisher,
)
from labsim.transport import Endpoint, Request


def _setup(**queue_options):
    world = World(3)
    network = Network(world, ["producer", "broker"], latency=0.01)
    broker = MessageBroker(world)
    broker.declare_queue("orders", **queue_options)
    arrived = []
    BrokerServer(network.node("broker"), broker, on_publish=arrived.append)
    publisher = Publisher(network.node("producer"), "broker", confirm_timeout=0.5)
    return world, network, broker, publisher, arrived


def _answers(world, publisher, ids):
    answers = []

    def publish_all():
        for msg_id in ids:
            answers.append((yield from publisher.publish("orders", msg_id, {"n": msg_id})))

    world.process(publish_all())
    world.run(until=5)
    return answers


def test_a_publish_is_confirmed_with_the_queues_that_took_it():
    world, _, broker, publisher, arrived = _setup()
    (answer,) = _answers(world, publisher, ["m1"])
    assert answer == Confirm("m1", ("orders",))
    assert arrived == [Publish("", "orders", "m1", {"n": "m1"})]
    assert len(broker.queue("orders")) == 1
    assert broker.queue("orders")._peek_head().body == {"n": "m1"}


def test_a_publish_a_full_queue_refuses_is_nacked():
    world, _, _, publisher, _ = _setup(max_length=1, overflow="reject-publish")
    answers = _answers(world, publisher, ["m1", "m2"])
    assert answers == [Confirm("m1", ("orders",)), Nack("m2", ("orders",))]


def test_a_publish_without_confirm_gets_no_answer():
    world, _, broker, publisher, arrived = _setup()
    publisher.send("orders", "m1")
    world.run(until=1)
    assert [msg.confirm for msg in arrived] == [False]
    assert len(broker.queue("orders")) == 1
    # Only the publish crossed the network: nothing came back to the producer.
    sends = world.frame("net.sends")
    assert sends[["src", "dst"]].values.tolist() == [["producer", "broker"]]


def test_a_lost_publish_leaves_the_publisher_with_none():
    world, network, broker, publisher, _ = _setup()
    network.partition(["producer"], ["broker"])
    assert _answers(world, publisher, ["m1"]) == [None]
    assert len(broker.queue("orders")) == 0


def test_the_server_refuses_what_is_not_an_amqp_request():
    world, network, _, _, _ = _setup()
    network.send("producer", "broker", Request("publish", 1, "producer"))
    with pytest.raises(TypeError, match="no AMQP request"):
        world.run(until=1)


def test_a_broker_from_another_world_is_refused():
    network = Network(World(1), ["broker"])
    with pytest.raises(ConfigError, match="broker"):
        BrokerServer(network.node("broker"), MessageBroker(World(2)))


def test_publisher_and_server_share_the_nodes_endpoints():
    _, network, _, publisher, _ = _setup()
    assert publisher.endpoint is Endpoint.of(network, "producer")
