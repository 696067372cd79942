"""Small broker experiments for lesson 01: queue versus pub/sub, keys and order, hot keys.

Each function runs a short seeded simulation through the lab's broker and returns tidy frames.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pandas as pd

from labsim.broker import Broker, Consumer, ConsumerConfig, Producer, kafka_partition
from labsim.dists import Exponential
from labsim.errors import ConfigError, check_int, check_positive, check_probability
from labsim.network import Network
from labsim.world import World, ms

__all__ = ["hot_key", "key_order", "keys_moved", "queue_vs_pubsub"]


def _setup(
    seed: int, consumers: list[str], partitions: int
) -> tuple[World, Network, Broker, Producer]:
    world = World(seed)
    network = Network(
        world, ["broker", "producer", *consumers], latency=Exponential.from_mean(ms(1))
    )
    broker = Broker(world, network, metrics_interval=0.1)
    broker.create_topic("orders", partitions=partitions)
    producer = Producer(world, network, "producer", broker)
    return world, network, broker, producer


def _consumers(
    world: World,
    network: Network,
    broker: Broker,
    names: list[str],
    *,
    processing_ms: float | None = None,
    groups: dict[str, str] | None = None,
) -> None:
    # Short heartbeats and session timeouts: these lessons run for seconds, not hours.
    settings: dict[str, Any] = {"heartbeat_interval": 0.5, "session_timeout": 3.0}
    if processing_ms is not None:
        settings["processing"] = Exponential.from_mean(ms(processing_ms))
    for name in names:
        group = (groups or {}).get(name, "group")
        Consumer(
            world, network, name, broker, ["orders"], config=ConsumerConfig(group=group, **settings)
        )


def _publish(
    world: World, producer: Producer, messages: int, rate: float, key_of: Any
) -> Generator[Any, Any, None]:
    rng = world.rng("workload")
    for i in range(messages):
        yield world.env.timeout(rng.expovariate(rate))
        producer.send("orders", {"order": i}, key=key_of(i, rng))


def queue_vs_pubsub(
    messages: int = 300, consumers: int = 3, partitions: int = 3, seed: int = 0
) -> pd.DataFrame:
    """Who receives what: one group of ``consumers`` members versus one group per consumer.

    Returns:
        One row per (setup, consumer): ``setup`` (``"one group (queue)"`` or
        ``"group per consumer (pub/sub)"``), ``consumer``, ``received``, ``distinct``.
    """
    check_int("messages", messages, 1, "queue_vs_pubsub")
    check_int("consumers", consumers, 1, "queue_vs_pubsub")
    rows = []
    for setup in ("one group (queue)", "group per consumer (pub/sub)"):
        names = [f"c{i}" for i in range(1, consumers + 1)]
        world, network, broker, producer = _setup(seed, names, partitions)
        groups = {n: "billing" if setup.startswith("one") else f"service-{n}" for n in names}
        _consumers(world, network, broker, names, groups=groups)
        world.process(_publish(world, producer, messages, 200.0, lambda i, r: f"order-{i}"))
        world.run(until=messages / 200.0 + 3)
        consumed = world.frame("consumed")
        for name in names:
            mine = consumed[consumed["consumer"] == name]
            rows.append(
                {
                    "setup": setup,
                    "consumer": name,
                    "received": len(mine),
                    "distinct": mine["msg_id"].nunique(),
                }
            )
    return pd.DataFrame(rows)


def key_order(
    messages: int = 400, partitions: int = 3, keys: int = 4, seed: int = 0
) -> pd.DataFrame:
    """Produce numbered events for a few keys; return what the consumers processed, in order.

    Returns:
        The ``consumed`` rows (time, consumer, partition, offset, key, seq) plus ``seq``, the
        producer's sequence number, so per-key and global order can be compared.
    """
    check_int("keys", keys, 1, "key_order")
    names = ["c1", "c2", "c3"]
    world, network, broker, producer = _setup(seed, names, partitions)
    _consumers(world, network, broker, names, processing_ms=3.0)
    world.process(
        _publish(world, producer, messages, 300.0, lambda i, r: f"customer-{r.randrange(keys)}")
    )
    world.run(until=messages / 300.0 + 3)
    consumed = world.frame("consumed")
    seq = consumed["msg_id"].str.rsplit("-", n=1).str[1].astype(int)
    return consumed.assign(seq=seq).sort_values("time", kind="stable", ignore_index=True)


def hot_key(
    hot_share: float = 0.5,
    messages: int = 3000,
    partitions: int = 6,
    rate: float = 600.0,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """One key carries ``hot_share`` of the traffic; the rest is spread over 200 keys.

    Returns:
        ``{"per_partition": records per partition, "lag": lag over time per partition}``.
    """
    check_probability("hot_share", hot_share, "hot_key")
    check_positive("rate", rate, "hot_key")
    names = [f"c{i}" for i in range(1, partitions + 1)]
    world, network, broker, producer = _setup(seed, names, partitions)
    _consumers(world, network, broker, names, processing_ms=4.0)

    def key_of(i: int, rng: Any) -> str:
        return "customer-hot" if rng.random() < hot_share else f"customer-{rng.randrange(200)}"

    world.process(_publish(world, producer, messages, rate, key_of))
    world.run(until=messages / rate + 6)
    log = world.frame("log")
    per_partition = (
        log.groupby("partition")
        .size()
        .reindex(range(partitions), fill_value=0)
        .rename("records")
        .reset_index()
    )
    hot = kafka_partition("customer-hot", partitions)
    per_partition["holds hot key"] = per_partition["partition"] == hot
    return {"per_partition": per_partition, "lag": world.frame("lag")}


def keys_moved(keys: int = 1000, before: int = 6, after: int = 8) -> float:
    """Fraction of ``keys`` customer keys whose partition changes when a topic grows."""
    check_int("keys", keys, 1, "keys_moved")
    if after <= before:
        raise ConfigError("after", after, f"more partitions than before ({before})", "keys_moved")
    names = [f"customer-{i}" for i in range(keys)]
    return sum(kafka_partition(k, before) != kafka_partition(k, after) for k in names) / keys
