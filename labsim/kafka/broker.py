"""The broker: topics on a network node, produce/fetch, committed offsets, group coordination.

Clients reach the broker only through the network (:mod:`labsim.transport`), so latency,
loss, partitions and crashes between them behave as they do in a real deployment. The broker
itself is a single node that does not crash in these lessons (a crash of the broker node drops
requests until it restarts; its logs survive, as they are on disk).

Recorded tables: ``log`` (every append), ``commits`` (every accepted offset commit),
``rebalances`` (one row per completed rebalance), ``lag`` (sampled per group and partition).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from labsim.errors import ConfigError, check_choice, check_non_negative, check_positive
from labsim.kafka.assignors import ASSIGNORS, TopicPartition, assign
from labsim.kafka.log import Topic, TopicConfig
from labsim.network import Network
from labsim.transport import Request, Response
from labsim.world import World

__all__ = ["Broker", "Group"]


@dataclass
class _Member:
    member_id: str
    client: str
    topics: tuple[str, ...]
    session_timeout: float
    last_heartbeat: float
    owned: list[TopicPartition] = field(default_factory=list)


@dataclass
class Group:
    """A consumer group as the coordinator sees it."""

    name: str
    strategy: str
    members: dict[str, _Member] = field(default_factory=dict)
    generation: int = 0
    rebalancing: bool = False
    rebalance_started: float = 0.0
    rebalance_reason: str = ""
    deadline: float = 0.0
    not_before: float = 0.0
    assignment: dict[str, list[TopicPartition]] = field(default_factory=dict)
    pending_joins: dict[str, Request] = field(default_factory=dict)
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    next_member: int = 0

    @property
    def protocol(self) -> str:
        """``"cooperative"`` for the cooperative-sticky assignor, else ``"eager"``."""
        return "cooperative" if self.strategy == "cooperative-sticky" else "eager"


class Broker:
    """A Kafka-like broker hosted on node ``node`` of ``network``.

    Args:
        world: The world.
        network: The network whose node hosts the broker.
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
        world: World,
        network: Network,
        node: str = "broker",
        *,
        rebalance_timeout: float = 5.0,
        initial_rebalance_delay: float = 0.1,
        metrics_interval: float | None = 0.1,
        maintenance_interval: float = 0.05,
    ):
        self.world = world
        self.network = network
        self.node = network.node(node)
        self.name = node
        self.rebalance_timeout = check_positive("rebalance_timeout", rebalance_timeout, "Broker")
        self.initial_rebalance_delay = check_non_negative(
            "initial_rebalance_delay", initial_rebalance_delay, "Broker"
        )
        self.maintenance_interval = check_positive(
            "maintenance_interval", maintenance_interval, "Broker"
        )
        if metrics_interval is not None:
            check_positive("metrics_interval", metrics_interval, "Broker")
        self.topics: dict[str, Topic] = {}
        self.groups: dict[str, Group] = {}
        # Idempotent producers: (producer id, topic, partition) -> (last sequence, offsets of
        # the recent batches by first sequence): a retried batch is acknowledged, not appended.
        self._sequences: dict[tuple[str, str, int], tuple[int, dict[int, list[int]]]] = {}
        self._log = world.table(
            "log", ("time", "topic", "partition", "offset", "key", "msg_id", "producer")
        ).add
        self._commits = world.table(
            "commits", ("time", "group", "member", "topic", "partition", "offset", "generation")
        ).add
        self._rebalances = world.table(
            "rebalances",
            ("group", "generation", "start", "end", "reason", "protocol", "members", "moved"),
            level="summary",
        ).add
        self._lag = world.table(
            "lag",
            ("time", "group", "topic", "partition", "end_offset", "committed", "lag"),
            level="summary",
        ).add
        self.node.process(self._serve())
        self.node.process(self._maintenance())
        if metrics_interval is not None:
            self.node.process(self._sample_lag(metrics_interval))
        self.node.on_restart(self._restart)

    def _restart(self, node: Any) -> None:
        node.process(self._serve())
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
        topic = Topic(name, cfg)
        self.topics[name] = topic
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
    def _reply(self, request: Request, payload: Any) -> None:
        self.network.send(self.name, request.src, Response(request.corr, payload))

    def _serve(self) -> Generator[Any, Any, None]:
        inbox = self.node.inbox
        handlers = {
            "produce": self._produce,
            "fetch": self._fetch,
            "commit": self._commit,
            "offsets": self._offsets,
            "join": self._join,
            "heartbeat": self._heartbeat,
            "leave": self._leave,
        }
        while True:
            request = yield inbox.get()
            if isinstance(request, Request):
                handlers[request.kind](request)

    def _produce(self, request: Request) -> None:
        producer, topic_name, partition, first_seq, records = request.payload
        topic = self.topics.get(topic_name)
        if topic is None or not 0 <= partition < len(topic.partitions):
            self._reply(request, ("error", "unknown-topic-or-partition"))
            return
        log = topic.partitions[partition]
        now = self.world.env.now
        if first_seq is not None:
            key = (producer, topic_name, partition)
            last_seq, recent = self._sequences.get(key, (-1, {}))
            if first_seq in recent:
                self._reply(request, ("ok", recent[first_seq]))  # a retried batch: ack again
                return
            if first_seq <= last_seq:
                self._reply(request, ("error", "duplicate-sequence"))
                return
            if first_seq != last_seq + 1:
                self._reply(request, ("error", "out-of-order-sequence"))
                return
        offsets = []
        for key_, value, msg_id in records:
            offset = log.append(key_, value, now, msg_id, producer)
            offsets.append(offset)
            self._log(now, topic_name, partition, offset, key_, msg_id, producer)
        if first_seq is not None:
            key = (producer, topic_name, partition)
            _, recent = self._sequences.get(key, (-1, {}))
            recent[first_seq] = offsets
            if len(recent) > 5:  # like Kafka, remember the last five batches per partition
                del recent[min(recent)]
            self._sequences[key] = (first_seq + len(records) - 1, recent)
        self._reply(request, ("ok", offsets))

    def _fetch(self, request: Request) -> None:
        positions, max_records = request.payload
        out = []
        budget = max_records
        for (topic_name, partition), offset in positions:
            topic = self.topics.get(topic_name)
            if topic is None or budget <= 0:
                continue
            log = topic.partitions[partition]
            # A position below the log start (deleted by retention) jumps to the start.
            records = log.read(max(offset, log.start_offset), budget)
            if records:
                budget -= len(records)
                out.append(((topic_name, partition), records))
        self._reply(request, out)

    def _commit(self, request: Request) -> None:
        group_name, member_id, generation, offsets = request.payload
        group = self.groups.get(group_name)
        if group is None or member_id not in group.members or generation != group.generation:
            # Kafka fences commits from members that are no longer part of this generation.
            self._reply(request, ("error", "illegal-generation"))
            return
        now = self.world.env.now
        for (topic, partition), offset in offsets:
            group.committed[(topic, partition)] = offset
            self._commits(now, group_name, member_id, topic, partition, offset, generation)
        self._reply(request, ("ok", None))

    def _offsets(self, request: Request) -> None:
        group_name, tps = request.payload
        group = self.groups.get(group_name)
        committed = group.committed if group is not None else {}
        self._reply(
            request,
            [
                (tp, committed.get(tp), self.topics[tp[0]].partitions[tp[1]].end_offset)
                for tp in tps
            ],
        )

    # -- group coordination -----------------------------------------------------------------
    def group(self, name: str, strategy: str = "range") -> Group:
        """The coordinator state of group ``name`` (created with ``strategy`` on first use)."""
        group = self.groups.get(name)
        if group is None:
            check_choice("strategy", strategy, ASSIGNORS, "consumer group")
            group = self.groups[name] = Group(name, strategy)
        return group

    def _join(self, request: Request) -> None:
        group_name, strategy, member_id, topics, session_timeout, owned = request.payload
        group = self.group(group_name, strategy)
        now = self.world.env.now
        if member_id is None or member_id not in group.members:
            group.next_member += 1
            member_id = f"{request.src}-{group.next_member}"
            group.members[member_id] = _Member(
                member_id, request.src, tuple(topics), session_timeout, now
            )
            reason = "join"
        else:
            reason = "rejoin"
        member = group.members[member_id]
        member.last_heartbeat = now
        member.owned = list(owned)
        group.pending_joins[member_id] = request
        if not group.rebalancing:
            self._start_rebalance(group, reason)
        self._maybe_complete(group)

    def _start_rebalance(self, group: Group, reason: str) -> None:
        group.rebalancing = True
        group.rebalance_started = self.world.env.now
        group.rebalance_reason = reason
        group.deadline = self.world.env.now + self.rebalance_timeout
        if not group.assignment:
            group.not_before = self.world.env.now + self.initial_rebalance_delay

    def _maybe_complete(self, group: Group, force: bool = False) -> None:
        if not group.rebalancing:
            return
        waiting = [m for m in group.members if m not in group.pending_joins]
        if (waiting or self.world.env.now < group.not_before) and not force:
            return
        for m in waiting:  # did not rejoin before the rebalance timeout
            del group.members[m]
        if not group.members:
            group.rebalancing = False
            group.assignment = {}
            return
        subs = {m: list(info.topics) for m, info in group.members.items()}
        for m, topics in subs.items():
            missing = [t for t in topics if t not in self.topics]
            if missing:
                raise ConfigError(
                    "topics", missing, f"existing topics {sorted(self.topics)}", f"member {m}"
                )
        previous = group.assignment
        target = assign(group.strategy, subs, self.partition_counts(), previous)
        follow_up = False
        if group.protocol == "cooperative":
            owner = {tp: m for m, info in group.members.items() for tp in info.owned}
            result = {}
            for m, tps in target.items():
                # Keep what you own and what nobody owns; wait for partitions still owned
                # elsewhere until their owner has revoked them (the second round).
                result[m] = [tp for tp in tps if owner.get(tp) in (m, None)]
                follow_up |= len(result[m]) < len(tps)
        else:
            result = target
        before = {tp: m for m, tps in previous.items() for tp in tps}
        moved = sum(1 for m, tps in result.items() for tp in tps if before.get(tp) not in (m,))
        group.generation += 1
        group.assignment = result
        group.rebalancing = False
        now = self.world.env.now
        self._rebalances(
            group.name,
            group.generation,
            group.rebalance_started,
            now,
            group.rebalance_reason,
            group.protocol,
            len(group.members),
            moved,
        )
        pending, group.pending_joins = group.pending_joins, {}
        for m, request in pending.items():
            if m in group.members:
                group.members[m].last_heartbeat = now
                self._reply(request, ("ok", m, group.generation, result[m]))
        if follow_up:
            self._start_rebalance(group, "cooperative-follow-up")

    def _heartbeat(self, request: Request) -> None:
        group_name, member_id, generation = request.payload
        group = self.groups.get(group_name)
        if group is None or member_id not in group.members:
            self._reply(request, "unknown-member")
            return
        group.members[member_id].last_heartbeat = self.world.env.now
        stale = group.rebalancing or generation != group.generation
        if stale and member_id not in group.pending_joins:
            self._reply(request, "rebalance")
        else:
            self._reply(request, "ok")

    def _leave(self, request: Request) -> None:
        group_name, member_id = request.payload
        group = self.groups.get(group_name)
        if group is not None and member_id in group.members:
            self._remove(group, member_id, "leave")
        self._reply(request, "ok")

    def _remove(self, group: Group, member_id: str, reason: str) -> None:
        del group.members[member_id]
        group.pending_joins.pop(member_id, None)
        group.assignment.pop(member_id, None)
        if group.rebalancing:
            self._maybe_complete(group)
        elif group.members:
            self._start_rebalance(group, reason)

    def _maintenance(self) -> Generator[Any, Any, None]:
        env = self.world.env
        while True:
            yield env.timeout(self.maintenance_interval)
            now = env.now
            for topic in self.topics.values():
                topic.apply_retention(now)
            for group in self.groups.values():
                for m, info in list(group.members.items()):
                    if now - info.last_heartbeat > info.session_timeout:
                        self._remove(group, m, "session-timeout")
                if group.rebalancing and now >= group.deadline:
                    self._maybe_complete(group, force=True)
                elif group.rebalancing and group.not_before and now >= group.not_before:
                    group.not_before = 0.0
                    self._maybe_complete(group)

    def _sample_lag(self, interval: float) -> Generator[Any, Any, None]:
        env = self.world.env
        while True:
            yield env.timeout(interval)
            now = env.now
            for group in self.groups.values():
                topics = {t for m in group.members.values() for t in m.topics} | {
                    tp[0] for tp in group.committed
                }
                for name in sorted(topics):
                    topic = self.topics.get(name)
                    if topic is None:
                        continue
                    for p, log in enumerate(topic.partitions):
                        committed = group.committed.get((name, p), 0)
                        self._lag(
                            now,
                            group.name,
                            name,
                            p,
                            log.end_offset,
                            committed,
                            log.end_offset - committed,
                        )

    # -- direct access for scenarios and tests ----------------------------------------------
    def records(self, topic: str, partition: int) -> list[Any]:
        """The records currently stored in one partition."""
        return list(self.topic(topic).partitions[partition].records)

    def committed(self, group: str) -> dict[TopicPartition, int]:
        """Committed offsets of a group."""
        return dict(self.groups[group].committed) if group in self.groups else {}
