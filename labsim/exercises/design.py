"""Exercises of lesson 07, event design: a causal chain, the high-water mark, schema policies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from labsim.events import Event
from labsim.eventsourcing.schema import EVOLUTIONS, SchemaError, compatibility
from labsim.exercises.base import ExerciseResult, diagnose
from labsim.world import World

__all__ = ["CHAIN_TYPES", "check_causal_chain", "check_high_water", "check_schema_policies"]

#: The chain the learner builds after the root ``order.placed``.
CHAIN_TYPES = ("payment.charged", "order.shipped")


def _roots() -> list[Event]:
    request = Event("checkout.requested", {"cart": "k1"}, event_id="req-9", source="web")
    return [
        Event("order.placed", {"order_id": "o1"}, event_id="ord-1", source="orders", timestamp=3.0),
        request.caused(
            "order.placed", {"order_id": "o2"}, event_id="ord-2", source="orders", timestamp=5.0
        ),
    ]


def _chain_problem(root: Event, got: Any) -> str | None:
    if not isinstance(got, (list, tuple)) or not all(isinstance(e, Event) for e in got):
        return "return a list of Event objects (build each with parent.caused(...))"
    types = tuple(e.event_type for e in got)
    if types != CHAIN_TYPES:
        return f"the chain should be {list(CHAIN_TYPES)} in that order, you returned {list(types)}"
    payment, shipped = got
    ids = [root.event_id, payment.event_id, shipped.event_id]
    if len(set(ids)) < 3:
        return (
            "two events share an event_id: every event needs its own id (evolve() keeps the "
            "id; caused() makes a new one)"
        )
    for e in got:
        if e.correlation_id != root.correlation_id:
            return (
                f"{e.event_type} has correlation_id {e.correlation_id!r}, but the flow's is "
                f"{root.correlation_id!r}: caused events keep the root's correlation id "
                "(the whole business flow shares one)"
            )
    if payment.causation_id != root.event_id:
        hint = (
            " — you used the correlation id; the causation id is the *event id* of the direct cause"
            if payment.causation_id == root.correlation_id
            else ""
        )
        return f"payment.charged should name order.placed ({root.event_id!r}) as its cause{hint}"
    if shipped.causation_id != payment.event_id:
        hint = (
            ": you made both events children of order.placed (a fan, not a chain) — "
            "the shipment was caused by the payment"
            if shipped.causation_id == root.event_id
            else ""
        )
        return (
            f"order.shipped should name payment.charged ({payment.event_id!r}) as its cause{hint}"
        )
    if any(e.timestamp < root.timestamp for e in got):
        return "a caused event cannot happen before its cause: give it a timestamp >= the root's"
    if not all(e.source for e in got):
        return "fill in source: the service that emitted each event (payments, shipping)"
    return None


def check_causal_chain(build: Callable[[Event], Any]) -> ExerciseResult:
    """Check ``build(root) -> [payment.charged, order.shipped]`` forming a causal chain.

    The chain must keep the root's correlation id, name each event's direct cause in
    ``causation_id``, have fresh event ids, timestamps not before the root's, and a source.
    """
    name = "causal chain"
    for root in _roots():
        with World(11):
            try:
                got = build(root)
            except Exception as exc:  # the learner's code
                return ExerciseResult(
                    name, False, f"building from {root.event_type} raised {exc!r}"
                )
        if got is None:
            return ExerciseResult(name, False, "your function returns None: finish the `return`")
        problem = _chain_problem(root, got)
        if problem:
            return ExerciseResult(name, False, problem)
    return ExerciseResult(
        name,
        True,
        "one correlation id for the flow, each causation id naming the direct cause: "
        "causal_graph() draws it as a path",
    )


_HW_CASES = [(10, frozenset()), (10, frozenset({7, 9})), (5, frozenset({1})), (6, frozenset({6}))]


def _high_water(allocated: int, in_flight: frozenset[int]) -> int:
    return min(in_flight) - 1 if in_flight else allocated


def check_high_water(answer: Callable[[int, frozenset[int]], int]) -> ExerciseResult:
    """Check ``answer(allocated, in_flight) -> high-water mark``."""
    return diagnose(
        "high-water mark",
        answer,
        _HW_CASES,
        _high_water,
        [
            (
                lambda a, f: a,
                "that is the naive reader's position: positions still in flight below it "
                "would be skipped when they commit",
            ),
            (
                lambda a, f: min(f) if f else a,
                "off by one: the lowest in-flight position itself is not committed yet",
            ),
            (
                lambda a, f: max(f) - 1 if f else a,
                "stop below the *lowest* in-flight position, not the highest: a lower one can "
                "still commit",
            ),
            (
                lambda a, f: a - len(f),
                "counting the open transactions does not tell where they are: stop below the "
                "lowest in-flight position",
            ),
        ],
        "the mark is just below the lowest position still in flight (everything if none is)",
        "a reader that stops at this mark never moves past a transaction that may still commit",
    )


def _why(policy: str, change: str) -> str:
    evo = next(e for e in EVOLUTIONS.values() if e.change == change)
    parts = []
    for reader, writer, who in (
        (evo.v1, evo.v2, "a v1 consumer"),
        (evo.v2, evo.v1, "a v2 consumer"),
    ):
        try:
            reader.read(writer.example())
            parts.append(f"{who} reads the other version's events")
        except SchemaError as exc:
            parts.append(f"{who} cannot read the other version's events ({exc})")
    return f"not {policy!r}: " + "; ".join(parts)


def check_schema_policies(answers: Mapping[str, str]) -> ExerciseResult:
    """Check ``{change: policy}`` for each change in :data:`EVOLUTIONS` (computed answers).

    Policies: ``"full"``, ``"backward"`` (new consumers read old events), ``"forward"`` (old
    consumers read new events), ``"none"``.
    """
    name = "schema policies"
    changes = [e.change for e in EVOLUTIONS.values()]
    missing = [c for c in changes if not str(answers.get(c, "")).strip()]
    if missing:
        return ExerciseResult(name, False, f"no answer yet for {missing[0]!r}")
    for evo in EVOLUTIONS.values():
        given = str(answers[evo.change]).strip()
        right = compatibility(evo.v1, evo.v2)
        if given != right:
            return ExerciseResult(name, False, f"{evo.change!r}: {_why(given, evo.change)}")
    return ExerciseResult(name, True, f"all {len(changes)} changes classified as the reads show")
