"""The broker: topics on a network node, produce and fetch, and a group coordinator.

Clients reach the broker only through the network (:mod:`labsim.transport`), so latency,
loss, partitions and crashes between them behave as they do in a real deployment. Each request
is one typed message of :mod:`labsim.kafka.messages`; produce and fetch are served here, the
group requests by the broker's :class:`~labsim.kafka.group.GroupCoordinator`. The broker
itself is a single node that does not crash in these lessons (a crash of the broker node drops
requests until it restarts; its logs survive, as they are on disk).

Recorded tables: ``log`` (every append), ``lag`` (sampled per group and partition), and the
coordinator's ``commits`` and ``rebalances``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from labsim.errors import ConfigError, check_non_negative, check_positive
from labsim.kafka.assignors import TopicPartition
from labsim.kafka.group import Group, GroupCoordinator
from labsim.kafka.lag import LagSampler, ignore_change
from labsim.kafka.log import Record, Topic, TopicConfig
from labsim.kafka.messages import (
    DUPLICATE_SEQUENCE,
    OUT_OF_ORDER_SEQUENCE,
    UNKNOWN_TOPIC_OR_PARTITION,
    Commit,
    ErrorReply,
    Fetch,
    Fetched,
    FetchReply,
    Heartbeat,
    JoinGroup,
    LeaveGroup,
    OffsetFetch,
    Produce,
    ProduceReply,
)
from labsim.network import Network, Node
from labsim.transport import Endpoint, Request

__all__ = ["Broker"]


class Broker:
    """A Kafka-like broker hosted on node ``node`` of ``network``.

    Args:
        network: The network whose node hosts the broker (its world records the tables).
        node: Node name of the broker.
        rebalance_timeout: How long a rebalance waits for members to rejoin (seconds).
        initial_rebalance_delay: How long the first rebalance of an empty group waits for more
            members to join (Kafka's ``group.initial.rebalance.delay.ms``), so consumers
            started together get one assignment instead of a cascade of rebalances.
        metrics_interval: Period of the lag sampler (seconds); ``None`` disables it.
        maintenance_interval: Period of retention/compaction and session checks (seconds).
    """

    def __init__(
        self,
        network: Network,
        node: str = "broker",
        *,
        rebalance_timeout: float = 5.0,
        initial_rebalance_delay: float = 0.1,
        metrics_interval: float | None = 0.1,
        maintenance_interval: float = 0.05,
    ):
        self.world = world = network.world
        self.network = network
        self.node = network.node(node)
        self.name = node
        self.rebalance_timeout = check_positive("rebalance_timeout", rebalance_timeout, "Broker")
        initial_rebalance_delay = check_non_negative(
            "initial_rebalance_delay", initial_rebalance_delay, "Broker"
        )
        self.maintenance_interval = check_positive(
            "maintenance_interval", maintenance_interval, "Broker"
        )
        if metrics_interval is not None:
            check_positive("metrics_interval", metrics_interval, "Broker")
        self.topics: dict[str, Topic] = {}
        # Idempotent producers: (producer id, topic, partition) -> (last sequence, offsets of
        # the recent batches by first sequence): a retried batch is acknowledged, not appended.
        self._sequences: dict[tuple[str, str, int], tuple[int, dict[int, tuple[int, ...]]]] = {}
        log = world.table(
            "log", ("time", "topic", "partition", "offset", "key", "msg_id", "producer")
        )
        self._log = log.add if log.enabled else None  # None: left out, no call per record
        lag = world.table(
            "lag",
            ("time", "group", "topic", "partition", "end_offset", "committed", "lag"),
            level="summary",
        )
        # The sampler sleeps through quiet stretches; what it samples tells it of each change.
        # No sampler at all when the recording level leaves the table out.
        self.lag_sampler = (
            LagSampler(self, metrics_interval, lag)
            if metrics_interval is not None and lag.enabled
            else None
        )
        self._changed = self.lag_sampler.changed if self.lag_sampler else ignore_change
        self.endpoint = Endpoint.of(network, node)
        self.endpoint.serve(self._handle)
        self.coordinator = GroupCoordinator(
            self.endpoint,
            self.topics,
            rebalance_timeout=self.rebalance_timeout,
            initial_rebalance_delay=initial_rebalance_delay,
            on_change=self._changed,
        )
        self.node.process(self._maintenance())
        if self.lag_sampler is not None:
            self.node.process(self.lag_sampler.run())
        self.node.on_restart(self._restart)

    def _restart(self, node: Node) -> None:
        # The endpoint restarts its own listener; the broker restarts its housekeeping.
        node.process(self._maintenance())

    # -- topics -----------------------------------------------------------------------------
    def create_topic(self, name: str, partitions: int = 1, **config: Any) -> Topic:
        """Create a topic (see :class:`~labsim.kafka.log.TopicConfig` for the options)."""
        if name in self.topics:
            raise ConfigError("topic", name, "a name not already in use", self.name)
        try:
            cfg = TopicConfig(partitions=partitions, **config)
        except TypeError as exc:
            raise ConfigError(
                "topic option",
                sorted(config),
                "partitions, retention_time, retention_records, compacted, delete_retention",
                name,
            ) from exc
        topic = Topic(name, cfg, on_grow=self._changed)
        self.topics[name] = topic
        self._changed()
        return topic

    def topic(self, name: str) -> Topic:
        """The topic ``name`` (ConfigError listing the topics if it does not exist)."""
        try:
            return self.topics[name]
        except KeyError:
            raise ConfigError("topic", name, f"one of {sorted(self.topics)}", self.name) from None

    def partition_counts(self) -> dict[str, int]:
        """topic -> number of partitions."""
        return {name: len(t.partitions) for name, t in self.topics.items()}

    def end_offsets(self) -> dict[TopicPartition, int]:
        """(topic, partition) -> log end offset."""
        return {
            (name, p): log.end_offset
            for name, t in self.topics.items()
            for p, log in enumerate(t.partitions)
        }

    # -- serving ----------------------------------------------------------------------------
    def _handle(self, request: Request) -> None:
        match request.body:
            case Produce() as msg:
                self.endpoint.reply(request, self._append(msg))
            case Fetch() as msg:
                self.endpoint.reply(request, self._read(msg))
            case JoinGroup() as msg:
                self.coordinator.join(request, msg)
            case Heartbeat() as msg:
                self.coordinator.heartbeat(request, msg)
            case Commit() as msg:
                self.coordinator.commit(request, msg)
            case OffsetFetch() as msg:
                self.coordinator.offset_fetch(request, msg)
            case LeaveGroup() as msg:
                self.coordinator.leave(request, msg)
            case body:
                raise TypeError(f"{self.name}: no Kafka request: {body!r}")

    def _append(self, msg: Produce) -> ProduceReply | ErrorReply:
        topic = self.topics.get(msg.topic)
        if topic is None or not 0 <= msg.partition < len(topic.partitions):
            return ErrorReply(UNKNOWN_TOPIC_OR_PARTITION)
        first_seq = msg.first_sequence
        if first_seq is not None:
            seq_key = (msg.producer, msg.topic, msg.partition)
            last_seq, recent = self._sequences.get(seq_key, (-1, {}))
            if first_seq in recent:
                return ProduceReply(recent[first_seq])  # a retried batch: acknowledge again
            if first_seq <= last_seq:
                return ErrorReply(DUPLICATE_SEQUENCE)
            if first_seq != last_seq + 1:
                return ErrorReply(OUT_OF_ORDER_SEQUENCE)
        append, record = topic.partitions[msg.partition].append, self._log
        now = self.world.env.now
        name, partition, producer = msg.topic, msg.partition, msg.producer
        offsets = []
        for entry in msg.entries:
            key, msg_id = entry.key, entry.msg_id
            offset = append(key, entry.value, now, msg_id, producer)
            offsets.append(offset)
            if record is not None:
                record(now, name, partition, offset, key, msg_id, producer)
        appended = tuple(offsets)
        self._changed()
        if first_seq is not None:
            recent[first_seq] = appended
            if len(recent) > 5:  # like Kafka, remember the last five batches per partition
                del recent[min(recent)]
            self._sequences[seq_key] = (first_seq + len(msg.entries) - 1, recent)
        return ProduceReply(appended)

    def _read(self, msg: Fetch) -> FetchReply:
        out = []
        budget = msg.max_records
        for position in msg.positions:
            topic = self.topics.get(position.topic)
            if topic is None or budget <= 0:
                continue
            log = topic.partitions[position.partition]
            # A position below the log start (deleted by retention) jumps to the start.
            records = log.read(max(position.offset, log.start_offset), budget)
            if records:
                budget -= len(records)
                out.append(Fetched(position.topic, position.partition, tuple(records)))
        return FetchReply(tuple(out))

    # -- group coordination -----------------------------------------------------------------
    @property
    def groups(self) -> dict[str, Group]:
        """The consumer groups by name (the coordinator's state)."""
        return self.coordinator.groups

    def group(self, name: str, strategy: str = "range") -> Group:
        """The coordinator state of group ``name`` (created with ``strategy`` on first use)."""
        return self.coordinator.group(name, strategy)

    def _maintenance(self) -> Generator[Any, Any, None]:
        env = self.world.env
        while True:
            yield env.timeout(self.maintenance_interval)
            now = env.now
            for topic in self.topics.values():
                topic.apply_retention(now)
            self.coordinator.tick()

    # -- direct access for scenarios and tests ----------------------------------------------
    def records(self, topic: str, partition: int) -> list[Record]:
        """The records currently stored in one partition."""
        return list(self.topic(topic).partitions[partition].records)

    def committed(self, group: str) -> dict[TopicPartition, int]:
        """Committed offsets of a group."""
        return dict(self.groups[group].committed) if group in self.groups else {}
