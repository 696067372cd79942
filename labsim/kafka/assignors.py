"""Consumer-group partition assignors: range, roundrobin, sticky and cooperative-sticky.

``range`` and ``roundrobin`` reproduce Kafka's ``RangeAssignor`` and ``RoundRobinAssignor``
exactly (members sorted by id; no rack awareness). ``sticky`` keeps each partition with its
previous owner when that keeps the assignment balanced, and moves as few partitions as it can
otherwise. ``cooperative-sticky`` computes the same target; the difference is the protocol —
the consumer group revokes only the partitions that move, in two rounds, instead of stopping
every member (see :mod:`labsim.kafka.consumer`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from labsim.errors import ConfigError, check_choice, check_int

__all__ = ["ASSIGNORS", "PROTOCOLS", "TopicPartition", "assign", "rebalance_protocol"]

TopicPartition = tuple[str, int]
ASSIGNORS = ("range", "roundrobin", "sticky", "cooperative-sticky")
#: Rebalance protocols: every member revokes everything, or only the partitions that move.
PROTOCOLS = ("eager", "cooperative")


def rebalance_protocol(strategy: str) -> str:
    """The rebalance protocol an assignor runs under.

    ``"cooperative"`` for ``cooperative-sticky``, ``"eager"`` for the others (as in Kafka,
    where the assignor declares the protocol it supports).
    """
    return "cooperative" if strategy == "cooperative-sticky" else "eager"


def _validate(subscriptions: Mapping[str, Sequence[str]], partitions: Mapping[str, int]) -> None:
    for topic, count in partitions.items():
        check_int(f"partitions[{topic!r}]", count, 1, "assign")
    for member, topics in subscriptions.items():
        if isinstance(topics, str) or not isinstance(topics, Sequence | set | frozenset):
            raise ConfigError(
                f"subscriptions[{member!r}]", topics, "a list of topic names", "assign"
            )
        if not topics:
            raise ConfigError(f"subscriptions[{member!r}]", topics, "at least one topic", "assign")
        for t in topics:
            if t not in partitions:
                raise ConfigError(
                    f"subscriptions[{member!r}]",
                    t,
                    f"an existing topic, one of {sorted(partitions)}",
                    "assign",
                )


def _range(
    subs: Mapping[str, Sequence[str]], partitions: Mapping[str, int]
) -> dict[str, list[TopicPartition]]:
    out: dict[str, list[TopicPartition]] = {m: [] for m in subs}
    for topic in sorted(partitions):
        members = sorted(m for m, ts in subs.items() if topic in ts)
        if not members:
            continue
        per_member, extra = divmod(partitions[topic], len(members))
        for i, member in enumerate(members):
            start = per_member * i + min(i, extra)
            length = per_member + (1 if i < extra else 0)
            out[member].extend((topic, p) for p in range(start, start + length))
    return out


def _roundrobin(
    subs: Mapping[str, Sequence[str]], partitions: Mapping[str, int]
) -> dict[str, list[TopicPartition]]:
    out: dict[str, list[TopicPartition]] = {m: [] for m in subs}
    members = sorted(subs)
    subscribed = sorted({t for ts in subs.values() for t in ts})
    i = 0
    for topic in subscribed:
        for p in range(partitions[topic]):
            # Walk the circle until a member subscribed to this topic comes up.
            while topic not in subs[members[i % len(members)]]:
                i += 1
            out[members[i % len(members)]].append((topic, p))
            i += 1
    return out


def _sticky(
    subs: Mapping[str, Sequence[str]],
    partitions: Mapping[str, int],
    previous: Mapping[str, Sequence[TopicPartition]] | None,
) -> dict[str, list[TopicPartition]]:
    members = sorted(subs)
    all_parts = [
        (t, p)
        for t in sorted(partitions)
        for p in range(partitions[t])
        if any(t in subs[m] for m in members)
    ]
    eligible = {tp: [m for m in members if tp[0] in subs[m]] for tp in all_parts}
    owner: dict[TopicPartition, str] = {}
    load = dict.fromkeys(members, 0)
    # Fair share if every member could take every partition; used to cap what a member keeps.
    cap = -(-len(all_parts) // len(members)) if members else 0
    for member in sorted(previous or {}):
        if member not in subs:
            continue
        for tp in sorted(map(tuple, previous[member])):  # type: ignore[arg-type]
            if tp in eligible and member in eligible[tp] and tp not in owner and load[member] < cap:
                owner[tp] = member
                load[member] += 1
    for tp in all_parts:
        if tp not in owner:
            best = min(eligible[tp], key=lambda m: (load[m], m))
            owner[tp] = best
            load[best] += 1
    # Balance: move a partition from a member with two more than another eligible member.
    moved = True
    while moved:
        moved = False
        for tp in sorted(owner, key=lambda tp: (-load[owner[tp]], tp)):
            src = owner[tp]
            dst = min(eligible[tp], key=lambda m: (load[m], m))
            if load[src] - load[dst] >= 2:
                owner[tp] = dst
                load[src] -= 1
                load[dst] += 1
                moved = True
                break
    out: dict[str, list[TopicPartition]] = {m: [] for m in members}
    for tp, m in owner.items():
        out[m].append(tp)
    return out


def assign(
    strategy: str,
    subscriptions: Mapping[str, Sequence[str]],
    partitions: Mapping[str, int],
    previous: Mapping[str, Sequence[TopicPartition]] | None = None,
) -> dict[str, list[TopicPartition]]:
    """Assign topic partitions to group members.

    Args:
        strategy: ``"range"``, ``"roundrobin"``, ``"sticky"`` or ``"cooperative-sticky"``.
        subscriptions: member id -> topics it subscribes to.
        partitions: topic -> partition count.
        previous: The last assignment, member -> [(topic, partition)] (sticky kinds use it).

    Returns:
        member -> sorted list of ``(topic, partition)``, with every member present (possibly
        with an empty list: more consumers than partitions leaves some idle).
    """
    check_choice("strategy", strategy, ASSIGNORS, "assign")
    _validate(subscriptions, partitions)
    if strategy == "range":
        out = _range(subscriptions, partitions)
    elif strategy == "roundrobin":
        out = _roundrobin(subscriptions, partitions)
    else:
        out = _sticky(subscriptions, partitions, previous)
    return {m: sorted(out.get(m, [])) for m in sorted(subscriptions)}
