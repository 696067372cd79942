"""A keyed topic read by consumer groups: the broker experiments of lesson 01.

A producer sends ``messages`` records (Poisson arrivals at ``rate``) to the topic ``orders``;
``consumers`` consumers read it, either all in one consumer group (a work queue: each record
reaches one of them) or each in a group of its own (publish/subscribe: every record reaches
every one). Keys decide partitions: a new key per record, a few random keys, or one hot key
carrying a share of the traffic. The lesson's three experiments are this scenario with
other settings:

* :func:`queue_vs_pubsub` — who receives what, one group versus a group per consumer;
* :func:`key_order` — order is kept per key, not across keys;
* :func:`hot_key` — one key's partition carries the load and the lag.

:func:`producer_retries` (lesson 03) is a producer alone: acknowledgements get lost, retries
append a record twice — unless the producer is idempotent.

:func:`keys_moved` needs no simulation: the share of keys a topic's growth re-maps.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labsim.dists import Exponential
from labsim.errors import ConfigError, check_int
from labsim.faults import FaultPlan
from labsim.kafka import Broker, Consumer, ConsumerConfig, Producer, kafka_partition
from labsim.network import Network
from labsim.params import Params, param
from labsim.result import Result
from labsim.scenarios.base import Scenario
from labsim.world import World, ms

__all__ = [
    "GROUPINGS",
    "HOT_KEY",
    "HOT_KEY_SETTINGS",
    "KEY_ORDER_SETTINGS",
    "SCENARIO",
    "SETUPS",
    "BrokersParams",
    "BrokersScenario",
    "figures",
    "hot_key",
    "key_order",
    "keys_moved",
    "per_partition",
    "processing_order",
    "producer_retries",
    "queue_vs_pubsub",
    "received",
    "run",
]

#: How the consumers are grouped: all in one group, or one group per consumer.
GROUPINGS = ("one", "per-consumer")
#: The key carrying ``hot_share`` of the traffic.
HOT_KEY = "customer-hot"
#: The two setups of :func:`queue_vs_pubsub`, by the label the lesson prints.
SETUPS = {"one group (queue)": "one", "group per consumer (pub/sub)": "per-consumer"}
#: The fixed settings of :func:`key_order`: three consumers, each record takes about 3 ms.
KEY_ORDER_SETTINGS = {"consumers": 3, "rate": 300.0, "processing_ms": 3.0}
#: The fixed settings of :func:`hot_key`: 200 other keys, about 4 ms per record.
HOT_KEY_SETTINGS = {"keys": 200, "processing_ms": 4.0, "drain": 6.0}
#: Longest run (simulated seconds) a parameter set may ask for.
MAX_RUN_S = 1e6


@dataclass(frozen=True)
class BrokersParams(Params):
    """Parameters of the keyed-topic scenario (see :func:`labsim.params.describe`)."""

    context = "brokers scenario"

    messages: int = param(300, "records the producer sends", ge=1, le=10_000_000)
    rate: float = param(200.0, "records per second (Poisson arrivals)", gt=0, le=1e6, unit="1/s")
    partitions: int = param(3, "partitions of the topic", ge=1, le=10_000, soft_max=12)
    consumers: int = param(3, "consumers, named c1, c2, ...", ge=1, le=1000, soft_max=12)
    groups: str = param(
        "one",
        "one: every consumer in one group (a queue); per-consumer: a group each (pub/sub)",
        choices=GROUPINGS,
    )
    keys: int | None = param(
        None, "distinct keys drawn at random (none: a new key per record)", ge=1, le=1_000_000
    )
    hot_share: float | None = param(
        None,
        f"share of records carrying the key {HOT_KEY!r} (none: no hot key)",
        ge=0,
        le=1,
        step=0.1,
        soft_max=0.9,
    )
    processing_ms: float | None = param(
        None,
        "mean processing time per record, exponential (none: the client's constant 1 ms)",
        gt=0,
        le=1e6,
        unit="ms",
    )
    drain: float = param(
        3.0, "seconds after the expected end of sending, to catch up", ge=0, le=1e6, unit="s"
    )

    def check(self) -> None:
        if self.messages / self.rate + self.drain > MAX_RUN_S:
            raise self.error("rate", f"a run of at most {MAX_RUN_S:g} s (messages / rate + drain)")

    @property
    def consumer_names(self) -> list[str]:
        """Consumer node names ``c1`` ... ``cN``."""
        return [f"c{i}" for i in range(1, self.consumers + 1)]

    @property
    def hot_partition(self) -> int:
        """Partition of :data:`HOT_KEY` (-1 without a hot key)."""
        return -1 if self.hot_share is None else kafka_partition(HOT_KEY, self.partitions)


def _publish(world: World, producer: Producer, p: BrokersParams) -> Generator[Any, Any, None]:
    rng = world.rng("workload")
    for i in range(p.messages):
        yield world.env.timeout(rng.expovariate(p.rate))
        # Draw in a fixed order (hot or not, then which key) so each setting keeps its numbers.
        if p.hot_share is not None and rng.random() < p.hot_share:
            key = HOT_KEY
        elif p.keys is not None:
            key = f"customer-{rng.randrange(p.keys)}"
        else:
            key = f"order-{i}"
        producer.send("orders", {"order": i}, key=key)


def processing_order(consumed: pd.DataFrame) -> pd.DataFrame:
    """The ``consumed`` rows in processing order, with ``seq``: the producer's sequence number.

    Comparing ``seq`` along the rows shows per-key and cross-key order.
    """
    seq = consumed["msg_id"].str.rsplit("-", n=1).str[1].astype(int)
    return consumed.assign(seq=seq).sort_values("time", kind="stable", ignore_index=True)


def _violations(order: pd.DataFrame, by: list[str]) -> int:
    # A later record processed before an earlier one, within each group of ``by``.
    return int(sum((g["seq"].diff().dropna() < 0).sum() for _, g in order.groupby(by)))


class BrokersScenario(Scenario):
    """Records through one broker to one or many consumer groups; summary from the tables.

    Summary figures: ``records`` (appended to the log), ``processed``,
    ``distinct_processed``, ``received_min`` / ``received_max`` (records one consumer
    processed), ``per_key_order_violations`` and ``cross_key_order_violations`` (a record
    processed before an earlier one of the same key, or of any key, within a group),
    ``hot_partition`` (-1 without a hot key), ``hot_partition_records``,
    ``hot_partition_max_lag`` and ``other_max_lag`` (largest lag of any other partition).
    """

    name = "brokers"
    description = "a keyed topic read by one consumer group or a group per consumer (lesson 01)"
    lesson = "01_events_and_brokers"
    Params = BrokersParams
    summary_tables = ("log", "consumed", "lag")

    def build(self, p: BrokersParams, world: World, plan: FaultPlan) -> Broker:
        names = p.consumer_names
        network = Network(
            world, ["broker", "producer", *names], latency=Exponential.from_mean(ms(1))
        )
        broker = Broker(network, metrics_interval=0.1)
        broker.create_topic("orders", partitions=p.partitions)
        producer = Producer(network, "producer", broker)
        # Short heartbeats and session timeouts: these runs last seconds, not hours.
        settings: dict[str, Any] = {"heartbeat_interval": 0.5, "session_timeout": 3.0}
        if p.processing_ms is not None:
            settings["processing"] = Exponential.from_mean(ms(p.processing_ms))
        for name in names:
            group = "group" if p.groups == "one" else f"service-{name}"
            config = ConsumerConfig(group=group, **settings)
            Consumer(network, name, broker, ["orders"], config=config)
        world.process(_publish(world, producer, p))
        plan.apply(network)
        return broker

    def until(self, p: BrokersParams) -> float:
        return p.messages / p.rate + p.drain

    def summarize(self, p: BrokersParams, frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
        log, consumed, lag = frames["log"], frames["consumed"], frames["lag"]
        order = processing_order(consumed)
        received = consumed.groupby("consumer").size().reindex(p.consumer_names, fill_value=0)
        records = log.groupby("partition").size()
        max_lag = lag.groupby("partition")["lag"].max()
        hot = p.hot_partition
        return {
            "records": len(log),
            "processed": len(consumed),
            "distinct_processed": int(consumed["msg_id"].nunique()),
            "received_min": int(received.min()),
            "received_max": int(received.max()),
            "per_key_order_violations": _violations(order, ["group", "key"]),
            "cross_key_order_violations": _violations(order, ["group"]),
            "hot_partition": hot,
            "hot_partition_records": int(records.get(hot, 0)),
            "hot_partition_max_lag": int(max_lag.get(hot, 0)),
            "other_max_lag": int(max_lag.drop(hot, errors="ignore").max()) if len(max_lag) else 0,
        }


SCENARIO = BrokersScenario()
run = SCENARIO.run
figures = SCENARIO.figures


def queue_vs_pubsub(
    messages: int = 300, consumers: int = 3, partitions: int = 3, seed: int = 0
) -> dict[str, Result]:
    """Who receives what: one group of ``consumers`` members versus one group per consumer.

    Returns:
        One run per setup, by the labels of :data:`SETUPS` (see :func:`received`).
    """
    return {
        label: run(
            seed=seed, messages=messages, consumers=consumers, partitions=partitions, groups=g
        )
        for label, g in SETUPS.items()
    }


def received(results: Mapping[str, Result]) -> pd.DataFrame:
    """Records each consumer received, one column per run (index ``consumer``)."""
    rows = []
    for setup, result in results.items():
        consumed = result.frames["consumed"]
        for name in result.params.consumer_names:
            rows.append(
                {
                    "setup": setup,
                    "consumer": name,
                    "received": int((consumed["consumer"] == name).sum()),
                }
            )
    return pd.DataFrame(rows).pivot(index="consumer", columns="setup", values="received")


def key_order(messages: int = 400, partitions: int = 3, keys: int = 4, seed: int = 0) -> Result:
    """Numbered records for a few keys, read by one group of three consumers.

    ``processing_order(result.frames["consumed"])`` gives what the consumers processed, in
    order, with the producer's sequence numbers; the summary counts order violations.
    """
    return run(seed=seed, messages=messages, partitions=partitions, keys=keys, **KEY_ORDER_SETTINGS)


def hot_key(
    hot_share: float = 0.5,
    messages: int = 3000,
    partitions: int = 6,
    rate: float = 600.0,
    seed: int = 0,
) -> Result:
    """One key carries ``hot_share`` of the traffic; the rest is spread over 200 keys.

    One consumer per partition; see :func:`per_partition` and the ``lag`` frame.
    """
    return run(
        seed=seed,
        hot_share=hot_share,
        messages=messages,
        partitions=partitions,
        consumers=partitions,
        rate=rate,
        **HOT_KEY_SETTINGS,
    )


def per_partition(result: Result) -> pd.DataFrame:
    """Records appended per partition, and which partition holds the hot key."""
    p = result.params
    table = (
        result.frames["log"]
        .groupby("partition")
        .size()
        .reindex(range(p.partitions), fill_value=0)
        .rename("records")
        .reset_index()
    )
    table["holds hot key"] = table["partition"] == p.hot_partition
    return table


def keys_moved(keys: int = 1000, before: int = 6, after: int = 8) -> float:
    """Fraction of ``keys`` customer keys whose partition changes when a topic grows."""
    check_int("keys", keys, 1, "keys_moved")
    if after <= before:
        raise ConfigError("after", after, f"more partitions than before ({before})", "keys_moved")
    names = [f"customer-{i}" for i in range(keys)]
    return sum(kafka_partition(k, before) != kafka_partition(k, after) for k in names) / keys


def producer_retries(
    idempotent: bool, records: int = 300, ack_loss: float = 0.3, seed: int = 0
) -> dict[str, Any]:
    """A producer sends ``records`` records while ``ack_loss`` of the broker's replies are lost.

    A request whose acknowledgement is lost times out and is sent again; the broker has already
    appended it. With ``idempotent=True`` (Kafka's ``enable.idempotence``) each batch carries
    the producer id and sequence numbers and the broker appends a retried batch only once.

    Returns:
        ``sent`` (records the application sent), ``appended`` (records in the topic's log),
        ``duplicates`` (appended minus distinct), ``acknowledged`` (sends that succeeded) and
        ``retries`` (produce attempts after the first).
    """
    check_int("records", records, 1, "producer_retries")
    if not 0 <= ack_loss < 1:
        raise ConfigError("ack_loss", ack_loss, "a probability in [0, 1)", "producer_retries")
    world = World(seed)
    net = Network(world, ["broker", "producer"], latency=Exponential.from_mean(ms(1)))
    broker = Broker(net)
    broker.create_topic("payments", partitions=4)
    net.link("broker", "producer").loss = ack_loss  # replies get lost, requests do not
    producer = Producer(
        net,
        "producer",
        broker,
        idempotent=idempotent,
        retries=20,
        request_timeout=0.05,
        retry_backoff=0.01,
    )
    events = []

    def send_all() -> Generator[Any, Any, None]:
        for i in range(records):
            events.append(producer.send("payments", {"payment": i}, key=f"customer-{i % 10}"))
            yield world.timeout(0.002)

    world.process(send_all())
    world.run(until=60)
    frames = world.frames()
    log = frames["log"]
    requests = frames["produce_requests"]
    return {
        "idempotent": idempotent,
        "sent": records,
        "appended": len(log),
        "duplicates": len(log) - int(log["msg_id"].nunique()),
        "acknowledged": sum(e.triggered and e.value.ok for e in events),
        "retries": int((requests["attempt"] > 1).sum()),
    }
