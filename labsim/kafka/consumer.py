"""A Kafka-like consumer in a consumer group: poll loop, heartbeats, commits, rebalances.

The loop follows the real client: ``poll`` fetches up to ``max_poll_records`` records from the
assigned partitions, the records are processed one by one (a processing-time distribution),
and offsets are committed by policy:

* ``"after"`` — commit after processing the batch (at-least-once: a crash re-delivers the
  unfinished batch, so duplicates appear);
* ``"before"`` — commit right after ``poll``, before processing (at-most-once: a crash loses the
  unfinished batch);
* ``"auto"`` — commit the position every ``auto_commit_interval`` at poll time (and before a
  revocation): duplicates up to one interval after a crash.

A heartbeat process keeps the membership alive; if it stops (crash, partition) the coordinator
removes the member after ``session_timeout`` and rebalances. If processing a batch takes longer
than ``max_poll_interval`` the consumer leaves the group itself and its later commits are
refused. With the *eager* protocol every member revokes everything and pauses during a
rebalance; with the *cooperative* protocol (assignor ``cooperative-sticky``) members keep
consuming the partitions they keep, and only moved partitions pause.

Recorded tables: ``consumed`` (every processed record), ``consumer_events`` (joins, revocations,
failed commits, ...; ``assigned`` is the number of partitions the member holds after the
event), ``pauses`` (one row per completed (re)join).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from labsim.dists import Constant, Distribution, as_distribution
from labsim.errors import ConfigError, check_choice, check_int, check_positive
from labsim.kafka.assignors import ASSIGNORS, TopicPartition
from labsim.kafka.broker import Broker
from labsim.network import Network, Node
from labsim.transport import Endpoint
from labsim.world import World

__all__ = ["COMMIT_POLICIES", "Consumer", "ConsumerConfig"]

COMMIT_POLICIES = ("after", "before", "auto")


@dataclass(frozen=True)
class ConsumerConfig:
    """Consumer settings (Kafka names in brackets; Kafka's defaults where sensible).

    Attributes:
        group: Consumer group id (``group.id``).
        strategy: Assignor (``partition.assignment.strategy``); ``cooperative-sticky`` selects
            the cooperative rebalance protocol.
        commit: ``"after"``, ``"before"`` or ``"auto"`` (see the module docs).
        auto_commit_interval: Seconds between auto-commits (``auto.commit.interval.ms``).
        max_poll_records: Records per poll at most (``max.poll.records``).
        processing: Processing time per record (a distribution or seconds).
        heartbeat_interval: Seconds between heartbeats (``heartbeat.interval.ms``).
        session_timeout: Silence before the coordinator drops a member (``session.timeout.ms``).
        max_poll_interval: Longest allowed gap between polls (``max.poll.interval.ms``).
        request_timeout: Seconds to wait for any broker response.
        fetch_wait: Seconds to wait before polling again after an empty poll.
        auto_offset_reset: Where to start without a committed offset: ``"earliest"``/``"latest"``.
    """

    group: str = "group"
    strategy: str = "range"
    commit: str = "after"
    auto_commit_interval: float = 5.0
    max_poll_records: int = 500
    processing: Distribution | float = field(default_factory=lambda: Constant(0.001))
    heartbeat_interval: float = 3.0
    session_timeout: float = 45.0
    max_poll_interval: float = 300.0
    request_timeout: float = 0.5
    fetch_wait: float = 0.05
    auto_offset_reset: str = "earliest"

    def __post_init__(self) -> None:
        c = "Consumer"
        check_choice("strategy", self.strategy, ASSIGNORS, c)
        check_choice("commit", self.commit, COMMIT_POLICIES, c)
        check_choice("auto_offset_reset", self.auto_offset_reset, ("earliest", "latest"), c)
        check_positive("auto_commit_interval", self.auto_commit_interval, c)
        check_int("max_poll_records", self.max_poll_records, 1, c)
        object.__setattr__(self, "processing", as_distribution(self.processing, "processing"))
        check_positive("heartbeat_interval", self.heartbeat_interval, c)
        check_positive("session_timeout", self.session_timeout, c)
        check_positive("max_poll_interval", self.max_poll_interval, c)
        check_positive("request_timeout", self.request_timeout, c)
        check_positive("fetch_wait", self.fetch_wait, c)
        if self.heartbeat_interval >= self.session_timeout:
            raise ConfigError(
                "heartbeat_interval",
                self.heartbeat_interval,
                f"less than session_timeout ({self.session_timeout})",
                c,
            )

    @property
    def protocol(self) -> str:
        """``"cooperative"`` for ``cooperative-sticky``, else ``"eager"``."""
        return "cooperative" if self.strategy == "cooperative-sticky" else "eager"


class Consumer:
    """One member of a consumer group, running on a network node.

    Args:
        world: The world.
        network: The network.
        node: Node the consumer runs on (its crash stops the consumer; a restart rejoins).
        broker: The broker (coordinator and data).
        topics: Topics to subscribe to.
        config: A :class:`ConsumerConfig`; keyword arguments override single settings.
        handler: Optional ``handler(record, consumer)`` called for each processed record — the
            side effect.
        name: Consumer name (defaults to the node name).
    """

    def __init__(
        self,
        world: World,
        network: Network,
        node: str,
        broker: Broker,
        topics: Sequence[str],
        *,
        config: ConsumerConfig | None = None,
        handler: Callable[[Any, Consumer], Any] | None = None,
        name: str | None = None,
        **settings: Any,
    ):
        self.world = world
        self.network = network
        self.node: Node = network.node(node)
        self.broker = broker
        self.name = name or node
        base = config or ConsumerConfig()
        self.config = replace(base, **settings) if settings else base
        if isinstance(topics, str) or not topics:
            raise ConfigError("topics", topics, "a non-empty list of topic names", self.name)
        for t in topics:
            broker.topic(t)  # ConfigError naming the missing topic
        self.topics = tuple(topics)
        self.handler = handler
        self.endpoint = Endpoint.of(network, node)
        self._rng = world.rng(f"consumer-{self.name}")
        self._consumed = world.table(
            "consumed",
            (
                "time",
                "consumer",
                "member",
                "generation",
                "group",
                "topic",
                "partition",
                "offset",
                "key",
                "msg_id",
                "produced_at",
            ),
        ).add
        self._events = world.table(
            "consumer_events",
            ("time", "consumer", "member", "event", "detail", "assigned"),
            level="summary",
        ).add
        self._pauses = world.table(
            "pauses",
            ("consumer", "member", "start", "end", "protocol", "partitions_paused", "kept"),
            level="summary",
        ).add
        self.node.on_restart(lambda _node: self._start())
        self._start()

    # -- life cycle -------------------------------------------------------------------------
    def _start(self) -> None:
        self.member_id: str | None = None
        self.generation = -1
        self.assignment: list[TopicPartition] = []
        self.positions: dict[TopicPartition, int] = {}
        self.need_rejoin = True
        self.joining = False
        self.last_poll = self.world.env.now
        self.last_commit = self.world.env.now
        self.node.process(self._poll_loop())
        self.node.process(self._heartbeats())

    def _event(self, event: str, detail: Any = "", assigned: int | None = None) -> None:
        # ``assigned``: partitions held after the event, as a number a summary can count on
        # (``detail`` is text for people).
        held = len(self.assignment) if assigned is None else assigned
        self._events(self.world.env.now, self.name, self.member_id, event, str(detail), held)

    def _call(
        self, kind: str, payload: Any, timeout: float | None = None
    ) -> Generator[Any, Any, Any]:
        return (
            yield from self.endpoint.call(
                self.broker.name, kind, payload, timeout or self.config.request_timeout
            )
        )

    # -- group membership -------------------------------------------------------------------
    def _join(self) -> Generator[Any, Any, None]:
        cfg = self.config
        env = self.world.env
        self.joining = True
        started = env.now
        owned_before = list(self.assignment)
        if cfg.protocol == "eager" and self.assignment:
            # Eager protocol: revoke everything before rejoining (commit what was processed).
            if cfg.commit in ("after", "auto"):
                yield from self._commit(self.assignment)
            self._event("revoked", len(self.assignment), assigned=0)
            self.assignment, self.positions = [], {}
        while True:
            self.need_rejoin = False
            payload = (
                cfg.group,
                cfg.strategy,
                self.member_id,
                self.topics,
                cfg.session_timeout,
                list(self.assignment),
            )
            reply = yield from self._call(
                "join", payload, self.broker.rebalance_timeout + cfg.request_timeout
            )
            if reply is not None:
                break
            yield env.timeout(cfg.fetch_wait)
        _, self.member_id, self.generation, new_assignment = reply
        old, new = set(self.assignment), set(new_assignment)
        revoked = old - new
        if revoked:
            if cfg.commit in ("after", "auto"):
                yield from self._commit(sorted(revoked))
            self._event("revoked", len(revoked), assigned=len(old & new))
            for tp in revoked:
                self.positions.pop(tp, None)
        added = sorted(new - old)
        while added:
            offsets = yield from self._call("offsets", (cfg.group, added))
            if offsets is None:
                yield env.timeout(cfg.fetch_wait)
                continue
            for tp, committed, end in offsets:
                if committed is not None:
                    self.positions[tp] = committed
                else:
                    self.positions[tp] = 0 if cfg.auto_offset_reset == "earliest" else end
            break
        self.assignment = sorted(new)
        self._event("joined", self.assignment)
        paused = len(owned_before) if cfg.protocol == "eager" else len(revoked)
        self._pauses(
            self.name, self.member_id, started, env.now, cfg.protocol, paused, len(old & new)
        )
        self.last_poll = env.now
        self.joining = False

    def _heartbeats(self) -> Generator[Any, Any, None]:
        cfg = self.config
        env = self.world.env
        # Members started together must not heartbeat in lockstep: start at a random phase.
        yield env.timeout(self._rng.uniform(0, cfg.heartbeat_interval))
        while True:
            yield env.timeout(cfg.heartbeat_interval)
            if self.member_id is None:
                continue
            if not self.joining and env.now - self.last_poll > cfg.max_poll_interval:
                # Processing took too long: leave so the group can move on without us.
                self._event("left", "max_poll_interval exceeded")
                yield from self._call("leave", (cfg.group, self.member_id))
                self.member_id = None
                self.need_rejoin = True
                continue
            reply = yield from self._call("heartbeat", (cfg.group, self.member_id, self.generation))
            if reply == "rebalance":
                self.need_rejoin = True
            elif reply == "unknown-member" and not self.joining:
                # The coordinator dropped us (session timeout): our partitions are lost.
                self._event("lost", len(self.assignment), assigned=0)
                self.member_id = None
                self.assignment, self.positions = [], {}
                self.need_rejoin = True

    # -- consuming --------------------------------------------------------------------------
    def _commit(self, partitions: Sequence[TopicPartition]) -> Generator[Any, Any, bool]:
        cfg = self.config
        offsets = [(tp, self.positions[tp]) for tp in partitions if tp in self.positions]
        if not offsets or self.member_id is None:
            return False
        generation = self.generation
        reply = yield from self._call("commit", (cfg.group, self.member_id, generation, offsets))
        self.last_commit = self.world.env.now
        if reply is None or reply[0] != "ok":
            self._event("commit-failed", "timeout" if reply is None else reply[1])
            if reply is not None and not self.joining and generation == self.generation:
                # Fenced: we are no longer part of the current generation; rejoin.
                self.need_rejoin = True
            return False
        return True

    def _poll_loop(self) -> Generator[Any, Any, None]:
        cfg = self.config
        env = self.world.env
        processing = cfg.processing
        rng = self._rng
        record_row = self._consumed
        while True:
            if self.need_rejoin and not self.joining:
                if cfg.protocol == "eager":
                    yield from self._join()
                else:
                    self.node.process(self._join())
            self.last_poll = env.now
            if cfg.commit == "auto" and env.now - self.last_commit >= cfg.auto_commit_interval:
                yield from self._commit(self.assignment)
            if not self.assignment:
                yield env.timeout(cfg.fetch_wait)
                continue
            assignment = list(self.assignment)
            positions = [(tp, self.positions[tp]) for tp in assignment if tp in self.positions]
            reply = yield from self._call("fetch", (positions, cfg.max_poll_records))
            if not reply:
                yield env.timeout(cfg.fetch_wait)
                continue
            batch = []
            for tp, records in reply:
                if tp not in self.positions or self.positions[tp] > records[0].offset:
                    continue  # revoked meanwhile, or an answer to an older position
                batch.extend((tp, r) for r in records)
                self.positions[tp] = records[-1].offset + 1
            if cfg.commit == "before":
                yield from self._commit(assignment)
            member, generation = self.member_id, self.generation
            for (topic, partition), r in batch:
                yield env.timeout(processing.sample(rng))
                record_row(
                    env.now,
                    self.name,
                    member,
                    generation,
                    cfg.group,
                    topic,
                    partition,
                    r.offset,
                    r.key,
                    r.msg_id,
                    r.timestamp,
                )
                if self.handler is not None:
                    self.handler(r, self)
            if cfg.commit == "after":
                yield from self._commit(assignment)
