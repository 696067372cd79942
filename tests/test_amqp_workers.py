"""Workers live on a node: the world follows from it, deliveries come as typed objects."""

import pytest

from labsim import ConfigError, Network, World
from labsim.amqp import Delivery, Message, MessageBroker, Queue, Worker, start_workers


def test_a_channel_hands_out_deliveries_with_their_tag():
    world = World()
    q = Queue(world, "q")
    channel = q.subscribe("c", prefetch=2)
    q.publish(Message("m1"))
    got = []

    def take():
        got.append((yield channel.get()))

    world.process(take())
    world.run()
    (delivery,) = got
    assert isinstance(delivery, Delivery) and delivery.message.msg_id == "m1"
    assert delivery.tag in channel.unacked
    channel.ack(delivery.tag)
    assert not channel.unacked


def test_a_worker_takes_its_world_from_its_node():
    world = World(1)
    network = Network(world, ["w"])
    q = MessageBroker(world).declare_queue("q")
    node = network.node("w")
    worker = Worker(node, lambda: q.subscribe("w", 1, node), processing=0.01)
    q.publish(Message("m1"))
    world.run(until=1)
    assert worker.world is world and worker.name == "w"
    assert world.frame("effects")["msg_id"].tolist() == ["m1"]


def test_start_workers_refuses_a_network_of_another_world():
    q = MessageBroker(World(1)).declare_queue("q")
    with pytest.raises(ConfigError, match="start_workers"):
        start_workers(q, Network(World(2), ["w"]), ["w"])
