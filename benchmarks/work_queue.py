"""Messages per second through a work queue: 8 consumers, acks, prefetch 10.

labsim: a RabbitMQ-style :class:`~labsim.amqp.queues.Queue` and 8
:class:`~labsim.amqp.workers.Worker` processes (prefetch 10, ack after processing, exponential
processing times). Baseline, in the same run: a bare SimPy ``Store`` with 8 long-lived consumer
processes and the same workload.
Prints one JSON line (medians of 3 runs taken in turns); target ratio >= 0.6.

Run: ``.venv/bin/python benchmarks/work_queue.py [messages]`` (not ``queue.py``: a script of
that name would shadow the standard library module ``queue`` that networkx imports).
"""

from __future__ import annotations

import random
import sys

import simpy
from _common import emit, rates_interleaved

from labsim import Exponential, Network, World
from labsim.amqp import Message, Queue, Worker

MESSAGES = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
CONSUMERS, PREFETCH = 8, 10
SERVICE_RATE = 1.0
ARRIVAL_RATE = 0.8 * CONSUMERS * SERVICE_RATE


def run_labsim() -> int:
    world = World(1)
    names = [f"w{i}" for i in range(CONSUMERS)]
    network = Network(world, names)
    queue = Queue(world, "work")
    for name in names:
        node = network.node(name)
        Worker(
            node,
            lambda n=name, nd=node: queue.subscribe(n, PREFETCH, nd),
            processing=Exponential(SERVICE_RATE),
        )

    def arrivals():
        rng = world.rng("arrivals")
        for i in range(MESSAGES):
            yield world.env.timeout(rng.expovariate(ARRIVAL_RATE))
            queue.publish(Message(i))

    world.process(arrivals())
    world.run()
    done = len(world.frame("effects"))
    assert done == MESSAGES, done
    return done


def run_bare_simpy() -> int:
    env = simpy.Environment()
    store = simpy.Store(env)
    rng = random.Random(1)
    done = 0

    def consumer():
        nonlocal done
        while True:
            yield store.get()
            yield env.timeout(rng.expovariate(SERVICE_RATE))
            done += 1  # the "ack"

    def arrivals():
        for i in range(MESSAGES):
            yield env.timeout(rng.expovariate(ARRIVAL_RATE))
            store.put(i)

    for _ in range(CONSUMERS):
        env.process(consumer())
    env.process(arrivals())
    env.run()
    assert done == MESSAGES
    return done


def main() -> None:
    rates = rates_interleaved({"simpy": run_bare_simpy, "labsim": run_labsim})
    bare, labsim_rate = rates["simpy"], rates["labsim"]
    emit(
        {
            "benchmark": "queue",
            "messages": MESSAGES,
            "consumers": CONSUMERS,
            "prefetch": PREFETCH,
            "labsim_rate": labsim_rate,
            "simpy_rate": bare,
            "ratio": labsim_rate / bare,
            "target_ratio": 0.6,
        }
    )


if __name__ == "__main__":
    main()
