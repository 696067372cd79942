"""The group coordinator: consumer-group membership, rebalances and committed offsets.

The broker hands it the group requests (:class:`~labsim.kafka.messages.JoinGroup`,
:class:`~labsim.kafka.messages.Heartbeat`, :class:`~labsim.kafka.messages.LeaveGroup`,
:class:`~labsim.kafka.messages.Commit`, :class:`~labsim.kafka.messages.OffsetFetch`), as
Kafka's coordinator does. A rebalance starts when a member joins, leaves or goes silent
for its session timeout; it completes when every member has rejoined (or the rebalance
timeout passed), and then each waiting :class:`~labsim.kafka.messages.JoinGroup` gets its
:class:`~labsim.kafka.messages.JoinReply` with the new generation's assignment.

Recorded tables: ``commits`` (every accepted offset commit) and ``rebalances`` (one row per
completed rebalance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labsim.errors import ConfigError, check_choice
from labsim.kafka.assignors import ASSIGNORS, TopicPartition, assign, rebalance_protocol
from labsim.kafka.lag import ignore_change
from labsim.kafka.log import Topic
from labsim.kafka.messages import (
    ILLEGAL_GENERATION,
    REBALANCE_IN_PROGRESS,
    UNKNOWN_MEMBER_ID,
    Commit,
    CommitReply,
    ErrorReply,
    Heartbeat,
    HeartbeatReply,
    JoinGroup,
    JoinReply,
    LeaveGroup,
    LeaveReply,
    OffsetFetch,
    OffsetFetchReply,
    PartitionOffsets,
)
from labsim.transport import Endpoint, Request

__all__ = ["Group", "GroupCoordinator", "Member"]


@dataclass
class Member:
    """A group member as the coordinator sees it."""

    member_id: str
    client: str
    topics: tuple[str, ...]
    session_timeout: float
    last_heartbeat: float
    owned: tuple[TopicPartition, ...] = ()


@dataclass
class Group:
    """A consumer group as the coordinator sees it."""

    name: str
    strategy: str
    members: dict[str, Member] = field(default_factory=dict)
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
        """The rebalance protocol of the group's assignor (``"eager"``/``"cooperative"``)."""
        return rebalance_protocol(self.strategy)


class GroupCoordinator:
    """Coordinates the consumer groups of one broker.

    Args:
        endpoint: The broker's endpoint (replies go out through it; its network gives the world).
        topics: The broker's topics by name (read, never changed).
        rebalance_timeout: How long a rebalance waits for members to rejoin (seconds).
        initial_rebalance_delay: How long the first rebalance of an empty group waits for more
            members (Kafka's ``group.initial.rebalance.delay.ms``).
        on_change: Called after each commit and each change of a group's members (the
            broker's lag sampler).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        topics: dict[str, Topic],
        *,
        rebalance_timeout: float,
        initial_rebalance_delay: float,
        on_change: Callable[[], Any] | None = None,
    ):
        world = endpoint.network.world
        # Told of every change to what the lag is made of: commits and members.
        self._changed = on_change or ignore_change
        self.env = world.env
        self.endpoint = endpoint
        self.topics = topics
        self.rebalance_timeout = rebalance_timeout
        self.initial_rebalance_delay = initial_rebalance_delay
        self.groups: dict[str, Group] = {}
        self._commits = world.table(
            "commits", ("time", "group", "member", "topic", "partition", "offset", "generation")
        ).add
        self._rebalances = world.table(
            "rebalances",
            ("group", "generation", "start", "end", "reason", "protocol", "members", "moved"),
            level="summary",
        ).add

    def group(self, name: str, strategy: str = "range") -> Group:
        """The state of group ``name`` (created with ``strategy`` on first use)."""
        group = self.groups.get(name)
        if group is None:
            check_choice("strategy", strategy, ASSIGNORS, "consumer group")
            group = self.groups[name] = Group(name, strategy)
        return group

    # -- requests ---------------------------------------------------------------------------
    def commit(self, request: Request, msg: Commit) -> None:
        """Store the offsets, unless the member is not part of the current generation."""
        group = self.groups.get(msg.group)
        if group is None or msg.member not in group.members or msg.generation != group.generation:
            # Kafka fences commits from members that are no longer part of this generation.
            self.endpoint.reply(request, ErrorReply(ILLEGAL_GENERATION))
            return
        now = self.env.now
        for position in msg.offsets:
            group.committed[position.tp] = position.offset
            self._commits(
                now,
                msg.group,
                msg.member,
                position.topic,
                position.partition,
                position.offset,
                msg.generation,
            )
        self._changed()
        self.endpoint.reply(request, CommitReply())

    def offset_fetch(self, request: Request, msg: OffsetFetch) -> None:
        """The committed offset (or ``None``) and the log end offset of each partition."""
        group = self.groups.get(msg.group)
        committed = group.committed if group is not None else {}
        offsets = tuple(
            PartitionOffsets(
                topic, partition, committed.get((topic, partition)), self._end(topic, partition)
            )
            for topic, partition in msg.partitions
        )
        self.endpoint.reply(request, OffsetFetchReply(offsets))

    def _end(self, topic: str, partition: int) -> int:
        return self.topics[topic].partitions[partition].end_offset

    def join(self, request: Request, msg: JoinGroup) -> None:
        """Admit or re-admit a member; the reply waits for the rebalance to complete."""
        group = self.group(msg.group, msg.strategy)
        now = self.env.now
        member_id = msg.member
        if member_id is None or member_id not in group.members:
            group.next_member += 1
            member_id = f"{request.src}-{group.next_member}"
            group.members[member_id] = Member(
                member_id, request.src, msg.topics, msg.session_timeout, now
            )
            self._changed()
            reason = "join"
        else:
            reason = "rejoin"
        member = group.members[member_id]
        member.last_heartbeat = now
        member.owned = msg.owned
        group.pending_joins[member_id] = request
        if not group.rebalancing:
            self._start_rebalance(group, reason)
        self._maybe_complete(group)

    def heartbeat(self, request: Request, msg: Heartbeat) -> None:
        """Note the member alive; tell it to rejoin if a rebalance waits for it."""
        group = self.groups.get(msg.group)
        if group is None or msg.member not in group.members:
            self.endpoint.reply(request, ErrorReply(UNKNOWN_MEMBER_ID))
            return
        group.members[msg.member].last_heartbeat = self.env.now
        stale = group.rebalancing or msg.generation != group.generation
        if stale and msg.member not in group.pending_joins:
            self.endpoint.reply(request, ErrorReply(REBALANCE_IN_PROGRESS))
        else:
            self.endpoint.reply(request, HeartbeatReply())

    def leave(self, request: Request, msg: LeaveGroup) -> None:
        """Remove the member at once (its partitions move in the next rebalance)."""
        group = self.groups.get(msg.group)
        if group is not None and msg.member in group.members:
            self._remove(group, msg.member, "leave")
        self.endpoint.reply(request, LeaveReply())

    # -- time -------------------------------------------------------------------------------
    def tick(self) -> None:
        """Drop members silent for longer than their session; end overdue rebalances."""
        now = self.env.now
        for group in self.groups.values():
            for m, info in list(group.members.items()):
                if now - info.last_heartbeat > info.session_timeout:
                    self._remove(group, m, "session-timeout")
            if group.rebalancing and now >= group.deadline:
                self._maybe_complete(group, force=True)
            elif group.rebalancing and group.not_before and now >= group.not_before:
                group.not_before = 0.0
                self._maybe_complete(group)

    # -- rebalancing ------------------------------------------------------------------------
    def _start_rebalance(self, group: Group, reason: str) -> None:
        now = self.env.now
        group.rebalancing = True
        group.rebalance_started = now
        group.rebalance_reason = reason
        group.deadline = now + self.rebalance_timeout
        if not group.assignment:
            group.not_before = now + self.initial_rebalance_delay

    def _remove(self, group: Group, member_id: str, reason: str) -> None:
        del group.members[member_id]
        self._changed()
        group.pending_joins.pop(member_id, None)
        group.assignment.pop(member_id, None)
        if group.rebalancing:
            self._maybe_complete(group)
        elif group.members:
            self._start_rebalance(group, reason)

    def _target(self, group: Group) -> dict[str, list[TopicPartition]]:
        """The assignor's assignment of the group's current members."""
        subs = {m: list(info.topics) for m, info in group.members.items()}
        for m, topics in subs.items():
            missing = [t for t in topics if t not in self.topics]
            if missing:
                raise ConfigError(
                    "topics", missing, f"existing topics {sorted(self.topics)}", f"member {m}"
                )
        counts = {name: len(t.partitions) for name, t in self.topics.items()}
        return assign(group.strategy, subs, counts, group.assignment)

    def _maybe_complete(self, group: Group, force: bool = False) -> None:
        if not group.rebalancing:
            return
        waiting = [m for m in group.members if m not in group.pending_joins]
        if (waiting or self.env.now < group.not_before) and not force:
            return
        for m in waiting:  # did not rejoin before the rebalance timeout
            del group.members[m]
        if waiting:
            self._changed()
        if not group.members:
            group.rebalancing = False
            group.assignment = {}
            return
        previous = group.assignment
        target = self._target(group)
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
        moved = sum(1 for m, tps in result.items() for tp in tps if before.get(tp) != m)
        group.generation += 1
        group.assignment = result
        group.rebalancing = False
        now = self.env.now
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
                reply = JoinReply(m, group.generation, tuple(result[m]))
                self.endpoint.reply(request, reply)
        if follow_up:
            self._start_rebalance(group, "cooperative-follow-up")
