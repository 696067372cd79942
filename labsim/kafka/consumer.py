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

Every conversation with the broker is a typed message of :mod:`labsim.kafka.messages`.

Recorded tables: ``consumed`` (every processed record), ``consumer_events`` (one row per
``joined``, ``revoked``, ``lost``, ``left`` or ``commit-failed``: the ``generation``, the
``partitions`` the event concerns as ``(topic, partition)`` pairs, how many partitions the
member holds after it (``assigned``) and, for ``left`` and ``commit-failed``, the ``reason``),
``pauses`` (one row per completed (re)join).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import replace
from typing import Any

from labsim.errors import ConfigError
from labsim.kafka.assignors import TopicPartition
from labsim.kafka.broker import Broker
from labsim.kafka.config import ConsumerConfig
from labsim.kafka.messages import (
    REBALANCE_IN_PROGRESS,
    UNKNOWN_MEMBER_ID,
    Commit,
    CommitReply,
    ErrorReply,
    Fetch,
    Fetched,
    FetchReply,
    Heartbeat,
    JoinGroup,
    JoinReply,
    LeaveGroup,
    OffsetFetch,
    OffsetFetchReply,
    Position,
)
from labsim.kafka.processing import process_batch
from labsim.network import Network, Node
from labsim.transport import Endpoint

__all__ = ["CONSUMER_EVENTS", "Consumer"]

#: Columns of the ``consumer_events`` table.
CONSUMER_EVENTS = (
    "time",
    "consumer",
    "member",
    "generation",
    "event",
    "partitions",
    "assigned",
    "reason",
)
#: ``reason`` of a ``left`` event: processing a batch took longer than ``max_poll_interval``.
MAX_POLL_INTERVAL_EXCEEDED = "max-poll-interval-exceeded"
#: ``reason`` of a ``commit-failed`` event when the broker did not answer in time.
TIMEOUT = "timeout"


class Consumer:
    """One member of a consumer group, running on a network node.

    Args:
        network: The network (its world runs and records the consumer).
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
        self.world = world = network.world
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
        # A twin of the stream for batched processing (see process_batch); ``_twin_synced``
        # says whether it is in the stream's state, which the consumer's other draws end.
        self._twin = random.Random(0)  # its state is set from the stream before first use
        self._twin_synced = False
        consumed = world.recorder.table(
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
            order_by="time",  # a batch's rows are added at its end, each with its own time
            typed={"time": "d"},  # a float per record: compact in long runs
        )
        self._consumed = consumed.add
        self._consumed_on = consumed.enabled
        self._events = world.table("consumer_events", CONSUMER_EVENTS, level="summary").add
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
        self._twin_synced = False
        self.last_poll = self.world.env.now
        self.last_commit = self.world.env.now
        self.node.process(self._poll_loop())
        self.node.process(self._heartbeats())

    def _event(
        self,
        event: str,
        partitions: Iterable[TopicPartition],
        *,
        held: int | None = None,
        reason: str | None = None,
    ) -> None:
        # ``held``: partitions the member holds after the event, when that is not (yet) the
        # size of its assignment.
        assigned = len(self.assignment) if held is None else held
        self._events(
            self.world.env.now,
            self.name,
            self.member_id,
            self.generation,
            event,
            tuple(partitions),
            assigned,
            reason,
        )

    def _call(self, body: Any, timeout: float | None = None) -> Generator[Any, Any, Any]:
        # The endpoint's own generator (use with ``yield from``): one frame less per wake-up.
        return self.endpoint.call(self.broker.name, body, timeout or self.config.request_timeout)

    def _positions(self, partitions: Iterable[TopicPartition]) -> tuple[Position, ...]:
        """The current position in each of ``partitions`` that has one, in order."""
        positions = self.positions
        return tuple(
            [Position(tp[0], tp[1], positions[tp]) for tp in partitions if tp in positions]
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
            revoked_all, self.assignment, self.positions = self.assignment, [], {}
            self._event("revoked", revoked_all)
        while True:
            self.need_rejoin = False
            request = JoinGroup(
                cfg.group,
                cfg.strategy,
                self.member_id,
                self.topics,
                cfg.session_timeout,
                tuple(self.assignment),
            )
            reply = yield from self._call(
                request, self.broker.rebalance_timeout + cfg.request_timeout
            )
            if isinstance(reply, JoinReply):
                break
            yield env.timeout(cfg.fetch_wait)
        self.member_id, self.generation = reply.member, reply.generation
        old, new = set(self.assignment), set(reply.assignment)
        revoked = old - new
        if revoked:
            if cfg.commit in ("after", "auto"):
                yield from self._commit(sorted(revoked))
            self._event("revoked", sorted(revoked), held=len(old & new))
            for tp in revoked:
                self.positions.pop(tp, None)
        added = tuple(sorted(new - old))
        while added:
            offsets = yield from self._call(OffsetFetch(cfg.group, added))
            if not isinstance(offsets, OffsetFetchReply):
                yield env.timeout(cfg.fetch_wait)
                continue
            for o in offsets.offsets:
                if o.committed is not None:
                    self.positions[o.tp] = o.committed
                else:
                    self.positions[o.tp] = 0 if cfg.auto_offset_reset == "earliest" else o.end
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
        phase = self._rng.uniform(0, cfg.heartbeat_interval)
        self._twin_synced = False
        yield env.timeout(phase)
        while True:
            yield env.timeout(cfg.heartbeat_interval)
            if self.member_id is None:
                continue
            if not self.joining and env.now - self.last_poll > cfg.max_poll_interval:
                # Processing took too long: leave so the group can move on without us.
                self._event("left", self.assignment, reason=MAX_POLL_INTERVAL_EXCEEDED)
                yield from self._call(LeaveGroup(cfg.group, self.member_id))
                self.member_id = None
                self.need_rejoin = True
                continue
            reply = yield from self._call(Heartbeat(cfg.group, self.member_id, self.generation))
            if reply == ErrorReply(REBALANCE_IN_PROGRESS):
                self.need_rejoin = True
            elif reply == ErrorReply(UNKNOWN_MEMBER_ID) and not self.joining:
                # The coordinator dropped us (session timeout): our partitions are lost.
                lost, self.assignment, self.positions = self.assignment, [], {}
                self._event("lost", lost)
                self.member_id = None
                self.need_rejoin = True

    # -- consuming --------------------------------------------------------------------------
    def _commit(self, partitions: Sequence[TopicPartition]) -> Generator[Any, Any, bool]:
        cfg = self.config
        offsets = self._positions(partitions)
        if not offsets or self.member_id is None:
            return False
        generation = self.generation
        reply = yield from self._call(Commit(cfg.group, self.member_id, generation, offsets))
        self.last_commit = self.world.env.now
        if isinstance(reply, CommitReply):
            return True
        reason = TIMEOUT if reply is None else reply.reason
        self._event("commit-failed", (o.tp for o in offsets), reason=reason)
        if reply is not None and not self.joining and generation == self.generation:
            # Fenced: we are no longer part of the current generation; rejoin.
            self.need_rejoin = True
        return False

    def _accept(self, reply: FetchReply) -> list[Fetched]:
        """The fetched batches still wanted, moving the positions past them."""
        accepted = []
        for fetched in reply.batches:
            tp, first = fetched.tp, fetched.records[0].offset
            if tp not in self.positions or self.positions[tp] > first:
                continue  # revoked meanwhile, or an answer to an older position
            accepted.append(fetched)
            self.positions[tp] = fetched.records[-1].offset + 1
        return accepted

    def _row(self, member: str | None, generation: int) -> Callable[[float, Any, Any], None] | None:
        """``row(time, fetched, record)``: one row of ``consumed`` for this member (``None``
        when the recording level leaves the table out)."""
        if not self._consumed_on:
            return None
        add, name, group = self._consumed, self.name, self.config.group

        def row(time: float, fetched: Fetched, r: Any) -> None:
            add(time, name, member, generation, group, fetched.topic, fetched.partition,
                r.offset, r.key, r.msg_id, r.timestamp)  # fmt: skip

        return row

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
            reply = yield from self._call(Fetch(self._positions(assignment), cfg.max_poll_records))
            if not isinstance(reply, FetchReply) or not reply.batches:
                yield env.timeout(cfg.fetch_wait)
                continue
            batches = self._accept(reply)
            if cfg.commit == "before":
                yield from self._commit(assignment)
            member, generation = self.member_id, self.generation
            if self.handler is None:
                if not self._twin_synced:
                    self._twin.setstate(rng.getstate())
                    self._twin_synced = True
                yield from process_batch(
                    env, rng, processing, batches, self._row(member, generation), self._twin
                )
                if cfg.commit == "after":
                    yield from self._commit(assignment)
                continue
            self._twin_synced = False
            for fetched in batches:
                for r in fetched.records:
                    yield env.timeout(processing.sample(rng))
                    record_row(
                        env.now,
                        self.name,
                        member,
                        generation,
                        cfg.group,
                        fetched.topic,
                        fetched.partition,
                        r.offset,
                        r.key,
                        r.msg_id,
                        r.timestamp,
                    )
                    if self.handler is not None:
                        self.handler(r, self)
            if cfg.commit == "after":
                yield from self._commit(assignment)
